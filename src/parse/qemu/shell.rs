//! A byte-level POSIX-shell word splitter, just enough for the command lines libvirt writes.
//!
//! It follows the same rules as `shell-words` (single quotes are literal, double quotes honour
//! `\$ \` \" \\` and line continuation, an unquoted backslash escapes the next byte, `\` + newline
//! joins lines, `#` at the start of a word starts a comment) but works on bytes, so non-UTF-8 paths
//! survive, and it stops at an unquoted newline so a log file's later lines are never read as argv.

use std::fmt;

/// One shell word and the (1-based) line it started on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    pub bytes: Vec<u8>,
    pub line: usize,
}

/// Why a word could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShellErrorKind {
    UnterminatedSingleQuote,
    UnterminatedDoubleQuote,
    /// A quote opened and the line ended before it closed, while line-spanning quotes were refused.
    QuoteSpansLines,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShellError {
    pub kind: ShellErrorKind,
    /// Line on which the offending quote opened.
    pub line: usize,
}

impl fmt::Display for ShellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ShellErrorKind::UnterminatedSingleQuote => "unterminated single quote",
            ShellErrorKind::UnterminatedDoubleQuote => "unterminated double quote",
            ShellErrorKind::QuoteSpansLines => "quote spans lines",
        };
        write!(f, "line {}: {}", self.line, what)
    }
}

/// Reads words from a byte buffer, one command (logical line) at a time.
pub(crate) struct Tokenizer<'a> {
    src: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Tokenizer<'a> {
    /// Starts at byte `pos`, which is on 1-based line `line`.
    pub fn at(src: &'a [u8], pos: usize, line: usize) -> Self {
        Tokenizer { src, pos, line }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.src.get(self.pos + off).copied()
    }

    /// Length of a newline at the cursor: `\n` is 1, `\r\n` is 2 (CRLF files), otherwise 0.
    fn newline_len(&self) -> usize {
        match (self.peek(), self.peek_at(1)) {
            (Some(b'\n'), _) => 1,
            (Some(b'\r'), Some(b'\n')) => 2,
            _ => 0,
        }
    }

    fn eat_newline(&mut self) -> bool {
        let n = self.newline_len();
        if n == 0 {
            return false;
        }
        self.pos += n;
        self.line += 1;
        true
    }

    /// Skips blanks, `\`-newline continuations and comments. Returns false when the command ended
    /// (an unquoted newline, which is consumed, or the end of input).
    fn skip_delimiters(&mut self) -> bool {
        loop {
            match self.peek() {
                None => return false,
                Some(b' ') | Some(b'\t') => self.pos += 1,
                Some(b'\\') => {
                    let save = self.pos;
                    self.pos += 1;
                    if !self.eat_newline() {
                        // A backslash that escapes something else starts a word.
                        self.pos = save;
                        return true;
                    }
                }
                Some(b'#') => {
                    // A comment runs to the end of the line, which also ends the command.
                    while self.peek().is_some() && self.newline_len() == 0 {
                        self.pos += 1;
                    }
                    self.eat_newline();
                    return false;
                }
                Some(_) => {
                    if self.eat_newline() {
                        return false;
                    }
                    return true;
                }
            }
        }
    }

    /// The next word of the current command, or `None` when the command ended.
    /// With `multiline_quotes == false` a quote that reaches the end of its line is an error
    /// (used while deciding whether a line starts a QEMU command at all, to keep that cheap).
    pub fn next_word(&mut self, multiline_quotes: bool) -> Result<Option<Word>, ShellError> {
        if !self.skip_delimiters() {
            return Ok(None);
        }
        let line = self.line;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None | Some(b' ') | Some(b'\t') => break,
                Some(b'\n') => break,
                Some(b'\r') if self.peek_at(1) == Some(b'\n') => break,
                Some(b'\'') => self.single_quoted(&mut out, multiline_quotes)?,
                Some(b'"') => self.double_quoted(&mut out, multiline_quotes)?,
                Some(b'\\') => {
                    self.pos += 1;
                    if self.eat_newline() {
                        continue; // continuation inside a word joins it
                    }
                    match self.peek() {
                        Some(c) => {
                            out.push(c);
                            self.pos += 1;
                        }
                        None => out.push(b'\\'),
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
        Ok(Some(Word { bytes: out, line }))
    }

    fn single_quoted(&mut self, out: &mut Vec<u8>, multiline: bool) -> Result<(), ShellError> {
        let open = self.line;
        self.pos += 1;
        // Copy whole runs between quotes at once: a 100 MB argument stays linear.
        let rest = self.src.get(self.pos..).unwrap_or_default();
        if !multiline {
            // Look no further than this line, so probing a log line stays O(line length).
            let stop = rest.iter().position(|&b| b == b'\'' || b == b'\n');
            if stop.and_then(|i| rest.get(i)) != Some(&b'\'') {
                return Err(ShellError {
                    kind: ShellErrorKind::QuoteSpansLines,
                    line: open,
                });
            }
        }
        let end = rest.iter().position(|&b| b == b'\'');
        let body_len = end.unwrap_or(rest.len());
        let body = rest.get(..body_len).unwrap_or_default();
        let newlines = body.iter().filter(|&&b| b == b'\n').count();
        if end.is_none() {
            return Err(ShellError {
                kind: ShellErrorKind::UnterminatedSingleQuote,
                line: open,
            });
        }
        out.extend_from_slice(body);
        self.line += newlines;
        self.pos += body_len + 1;
        Ok(())
    }

    fn double_quoted(&mut self, out: &mut Vec<u8>, multiline: bool) -> Result<(), ShellError> {
        let open = self.line;
        self.pos += 1;
        let unterminated = ShellError {
            kind: ShellErrorKind::UnterminatedDoubleQuote,
            line: open,
        };
        let spans = ShellError {
            kind: ShellErrorKind::QuoteSpansLines,
            line: open,
        };
        loop {
            match self.peek() {
                None => return Err(unterminated),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        None => return Err(unterminated),
                        Some(b'\n') => {
                            // Continuation: both bytes vanish.
                            if !multiline {
                                return Err(spans);
                            }
                            self.pos += 1;
                            self.line += 1;
                        }
                        Some(c @ (b'$' | b'`' | b'"' | b'\\')) => {
                            out.push(c);
                            self.pos += 1;
                        }
                        Some(c) => {
                            out.push(b'\\');
                            out.push(c);
                            self.pos += 1;
                        }
                    }
                }
                Some(c) => {
                    if c == b'\n' {
                        if !multiline {
                            return Err(spans);
                        }
                        self.line += 1;
                    }
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// Moves to the start of the next physical line (used to skip a line that is not a command).
    pub fn skip_to_next_line(&mut self) {
        let rest = self.src.get(self.pos..).unwrap_or_default();
        match rest.iter().position(|&b| b == b'\n') {
            Some(n) => {
                self.pos += n + 1;
                self.line += 1;
            }
            None => self.pos = self.src.len(),
        }
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Result<Vec<String>, ShellError> {
        let mut t = Tokenizer::at(s.as_bytes(), 0, 1);
        let mut out = Vec::new();
        while let Some(w) = t.next_word(true)? {
            out.push(String::from_utf8_lossy(&w.bytes).into_owned());
        }
        Ok(out)
    }

    #[test]
    fn quoting_rules() {
        assert_eq!(
            words(r#"a 'b c' "d \"e\" \x" f\ g"#).unwrap(),
            vec!["a", "b c", r#"d "e" \x"#, "f g"]
        );
    }

    #[test]
    fn continuation_joins_lines_and_newline_ends_command() {
        assert_eq!(words("a \\\nb \\\r\nc\nd").unwrap(), vec!["a", "b", "c"]);
    }

    #[test]
    fn empty_quotes_make_empty_word() {
        assert_eq!(words("a '' \"\"").unwrap(), vec!["a", "", ""]);
    }

    #[test]
    fn unterminated_quote_reports_opening_line() {
        let e = words("a \\\nb \\\n'c").unwrap_err();
        assert_eq!(e.to_string(), "line 3: unterminated single quote");
        let e = words("\"x").unwrap_err();
        assert_eq!(e.kind, ShellErrorKind::UnterminatedDoubleQuote);
    }

    #[test]
    fn single_line_mode_refuses_spanning_quotes() {
        let mut t = Tokenizer::at(b"'a\nb'", 0, 1);
        assert_eq!(
            t.next_word(false).unwrap_err().kind,
            ShellErrorKind::QuoteSpansLines
        );
    }
}
