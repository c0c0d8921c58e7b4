//! A strict JSON scanner: it checks the grammar of every byte it passes (RFC 8259: strings
//! without raw control characters and with valid escapes, numbers, literals, structure,
//! nesting) and keeps nothing, eight bytes at a time through strings and indentation.
//!
//! It exists for speed only (issue 17: 100,000 reports, 14 GiB, in seconds): the roll-up's
//! authority on what a report says stays serde_json ([`super::document`]). The scanner may
//! refuse what serde_json accepts — the caller then asks serde_json — but never the reverse:
//! each rule below is at least as strict as serde_json's (noted where it is stricter).

/// The scanner gave up: the bytes are not JSON, or are JSON it does not handle fast. Carries
/// no reason on purpose: the full parser is asked again and gives the one users see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Invalid;

pub(crate) type Scan<T> = Result<T, Invalid>;

/// Nesting allowed, the top-level value included. serde_json refuses a 128th level; lower is
/// stricter, and kvmaudit's reports nest 6 deep.
pub(crate) const MAX_DEPTH: u32 = 100;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Bytes of `x` equal to zero flagged (0x80). The lowest flag is exact; a flag above a true
/// zero byte may be a borrow's false positive, which is why only the lowest is used.
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGH
}

/// Bytes of `x` below 0x20 (the control characters) flagged; lowest flag exact, as above.
#[inline(always)]
fn control_bytes(x: u64) -> u64 {
    x.wrapping_sub(0x20 * ONES) & !x & HIGH
}

/// Where the next `"`, `\` or control character is in the 8 bytes of `x` (8 when none).
#[inline(always)]
fn string_stop(x: u64) -> u32 {
    let m = zero_bytes(x ^ (b'"' as u64 * ONES))
        | zero_bytes(x ^ (b'\\' as u64 * ONES))
        | control_bytes(x);
    m.trailing_zeros() / 8
}

/// Bytes of `x` equal to `c`, each flagged exactly (0x80): no carry crosses a byte.
#[inline(always)]
fn equal_bytes(x: u64, c: u8) -> u64 {
    let t = x ^ (c as u64 * ONES);
    !((t & !HIGH).wrapping_add(!HIGH) | t) & HIGH
}

/// How many of the 8 bytes of `x` are spaces or line feeds before the first other byte: a
/// line break and its indentation in one step.
#[inline(always)]
fn blank_run(x: u64) -> u32 {
    let other = !(equal_bytes(x, b' ') | equal_bytes(x, b'\n')) & HIGH;
    other.trailing_zeros() / 8
}

#[inline(always)]
fn word(b: &[u8], i: usize) -> Option<u64> {
    let chunk = b.get(i..i + 8)?;
    Some(u64::from_le_bytes(chunk.try_into().ok()?))
}

/// A position in a JSON text.
pub(crate) struct Scanner<'a> {
    pub b: &'a [u8],
    pub i: usize,
    depth: u32,
}

/// A string's content, quotes excluded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Str {
    pub start: usize,
    pub end: usize,
    /// Holds a backslash escape: the raw bytes are not its value.
    pub escaped: bool,
}

impl<'a> Scanner<'a> {
    pub fn new(b: &'a [u8]) -> Scanner<'a> {
        Scanner { b, i: 0, depth: 0 }
    }

    #[inline(always)]
    pub fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// JSON whitespace (space, tab, LF, CR); a pretty-printed report's line break and
    /// indentation a word at a time. Most calls find none: one compare then.
    #[inline(always)]
    pub fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.i += 1;
            while let Some(w) = word(self.b, self.i) {
                let n = blank_run(w);
                self.i += n as usize;
                if n < 8 {
                    break;
                }
            }
        }
    }

    /// Skip whitespace, then require byte `c`.
    #[inline(always)]
    pub fn expect(&mut self, c: u8) -> Scan<()> {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    /// A string starting at the current `"`.
    #[inline]
    pub fn string(&mut self) -> Scan<Str> {
        if self.peek() != Some(b'"') {
            return Err(Invalid);
        }
        self.i += 1;
        let start = self.i;
        let mut escaped = false;
        loop {
            while let Some(w) = word(self.b, self.i) {
                let n = string_stop(w);
                self.i += n as usize;
                if n < 8 {
                    break;
                }
            }
            match self.peek() {
                None => return Err(Invalid),
                Some(b'"') => {
                    let end = self.i;
                    self.i += 1;
                    return Ok(Str {
                        start,
                        end,
                        escaped,
                    });
                }
                Some(b'\\') => {
                    escaped = true;
                    self.i += 1;
                    self.escape()?;
                }
                Some(c) if c < 0x20 => return Err(Invalid),
                Some(_) => self.i += 1,
            }
        }
    }

    /// The escape after a backslash: one of `"\/bfnrt`, or `u` and four hex digits. (Which
    /// code point `\u` names is not checked: serde_json does not check it either in a value it
    /// skips, and every value the roll-up keeps is read by serde_json again.)
    fn escape(&mut self) -> Scan<()> {
        match self.peek() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.i += 1;
                Ok(())
            }
            Some(b'u') => {
                let hex = self.b.get(self.i + 1..self.i + 5).ok_or(Invalid)?;
                if hex.iter().all(u8::is_ascii_hexdigit) {
                    self.i += 5;
                    Ok(())
                } else {
                    Err(Invalid)
                }
            }
            _ => Err(Invalid),
        }
    }

    fn digits(&mut self) -> usize {
        let from = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - from
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Scan<()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.i += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return Err(Invalid);
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(Invalid),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(Invalid);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(Invalid);
            }
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Scan<()> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    /// Enter an object or array: one level deeper, within [`MAX_DEPTH`].
    pub fn enter(&mut self) -> Scan<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Invalid);
        }
        Ok(())
    }

    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Skip one value (after optional whitespace), checking all of it.
    pub fn value(&mut self) -> Scan<()> {
        self.ws();
        match self.peek().ok_or(Invalid)? {
            b'"' => self.string().map(|_| ()),
            b'{' => {
                self.i += 1;
                self.enter()?;
                let mut first = true;
                while self.members(&mut first)? {
                    self.ws();
                    self.string()?;
                    self.expect(b':')?;
                    self.value()?;
                }
                self.leave();
                Ok(())
            }
            b'[' => {
                self.i += 1;
                self.enter()?;
                let mut first = true;
                while self.elements(&mut first)? {
                    self.value()?;
                }
                self.leave();
                Ok(())
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(Invalid),
        }
    }

    /// Inside an object, after `{` or a member: whether another member follows (consuming
    /// the `,`), or the object ended (consuming the `}`). No trailing comma.
    #[inline]
    pub fn members(&mut self, first: &mut bool) -> Scan<bool> {
        self.next_item(first, b'}')
    }

    /// Inside an array, after `[` or an element: as [`Scanner::members`], for `]`.
    #[inline]
    pub fn elements(&mut self, first: &mut bool) -> Scan<bool> {
        self.next_item(first, b']')
    }

    #[inline(always)]
    fn next_item(&mut self, first: &mut bool, close: u8) -> Scan<bool> {
        self.ws();
        let c = self.peek().ok_or(Invalid)?;
        if c == close {
            self.i += 1;
            return Ok(false);
        }
        if std::mem::replace(first, false) {
            return Ok(true);
        }
        if c != b',' {
            return Err(Invalid);
        }
        self.i += 1;
        self.ws();
        // `[1,]` and `{"a":1,}`: a comma promises another item.
        if self.peek() == Some(close) {
            return Err(Invalid);
        }
        Ok(true)
    }

    /// Only whitespace remains.
    pub fn end(&mut self) -> Scan<()> {
        self.ws();
        if self.i == self.b.len() {
            Ok(())
        } else {
            Err(Invalid)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> bool {
        let mut s = Scanner::new(text.as_bytes());
        s.value().and_then(|_| s.end()).is_ok()
    }

    #[test]
    fn accepts_only_what_serde_json_accepts() {
        let cases = [
            "{}",
            "[]",
            " {\"a\" : [1, -0.5e+3, true, false, null, \"x\\u00e9\\n\"]}\n",
            "\"a long string with no escapes, longer than a word\"",
            "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
            "{\"a\":1,}",
            "[1,]",
            "[,1]",
            "[1 2]",
            "{\"a\" 1}",
            "{1:2}",
            "01",
            "-",
            "1.",
            "1e",
            "1e+",
            ".5",
            "+1",
            "tru",
            "nul",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\u12g4\"",
            "\"tab\there\"",
            "\"line\nbreak\"",
            "\"cut",
            "[1",
            "{\"a\":",
            "{} {}",
            "\u{feff}{}",
            "[\"\u{7f}\", \"\u{e9}\"]",
            "{\"a\":{\"b\":[[[]]]}}",
        ];
        for text in cases {
            let serde = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
            // Stricter than serde_json is allowed (the caller asks serde_json), laxer is not;
            // on these, the two agree.
            assert_eq!(ok(text), serde, "{text:?}");
        }
    }

    #[test]
    fn every_position_of_a_word_finds_its_stop() {
        for at in 0..8 {
            for stop in [b'"', b'\\', 0x00, 0x1f] {
                let mut w = [b'a'; 8];
                w[at] = stop;
                assert_eq!(string_stop(u64::from_le_bytes(w)), at as u32);
                // A UTF-8 lead byte or DEL before it is not a stop.
                if at > 0 {
                    w[at - 1] = 0xc3;
                    assert_eq!(string_stop(u64::from_le_bytes(w)), at as u32);
                    w[at - 1] = 0x7f;
                    assert_eq!(string_stop(u64::from_le_bytes(w)), at as u32);
                }
            }
        }
        assert_eq!(string_stop(u64::from_le_bytes(*b"abcdefgh")), 8);
        assert_eq!(string_stop(u64::from_le_bytes([0x20; 8])), 8);
    }

    #[test]
    fn blank_runs_are_counted_exactly() {
        assert_eq!(blank_run(u64::from_le_bytes(*b"\n      \"")), 7);
        assert_eq!(blank_run(u64::from_le_bytes(*b"        ")), 8);
        assert_eq!(blank_run(u64::from_le_bytes(*b"\n\n \n  \n ")), 8);
        assert_eq!(blank_run(u64::from_le_bytes(*b"x       ")), 0);
        // Bytes that differ from a blank by one bit, or hold the high bit, are not blank.
        for (at, c) in [(0, b'!'), (3, 0xa0), (5, 0x0b), (7, 0x00), (2, b'\t')] {
            let mut w = [b' '; 8];
            w[at] = c;
            assert_eq!(blank_run(u64::from_le_bytes(w)), at as u32, "{c:#x}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = |n: usize| "[".repeat(n) + &"]".repeat(n);
        assert!(ok(&deep(MAX_DEPTH as usize)));
        assert!(!ok(&deep(MAX_DEPTH as usize + 1)));
        assert!(!ok(&deep(100_000)), "no stack overflow");
    }
}
