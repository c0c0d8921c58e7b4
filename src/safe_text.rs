//! Text from outside (VM names, file contents, paths, parser complaints) made safe to show on a
//! terminal, in a script's comments and on stderr.
//!
//! One list of dangerous characters serves every place text is shown: C0 and C1 controls (ESC
//! can rewrite the screen or the window title), DEL, the Unicode line and paragraph separators
//! (an editor or a log viewer starts a new line there) and the bidirectional overrides and
//! isolates (U+202A–U+202E, U+2066–U+2069: "Trojan Source", text that reads differently from
//! what it is). Each is shown as a visible escape, never passed through.

/// Longest excerpt of an input that an error message quotes (a parser's complaint can embed the
/// offending line, and an input line can be megabytes long).
pub const EXCERPT_CHARS: usize = 200;

/// Longest line kvmaudit writes to stderr: room for a long path and a parser's short excerpt.
pub const STDERR_LINE_CHARS: usize = 1000;

/// Whether `c` must not reach a terminal, a comment or a log as it is.
pub fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `s` with every hazard escaped (`\u{1b}`, `\u{202e}`); newlines, carriage returns and tabs
/// become spaces, so the text stays on one line, unless `keep_lines` keeps `\n`.
pub fn sanitize(s: &str, keep_lines: bool) -> String {
    if !s.chars().any(is_hazard) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' if keep_lines => out.push('\n'),
            '\n' | '\r' | '\t' => out.push(' '),
            c if is_hazard(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// A message for stderr: one line, hazards escaped, at most `max` characters (with `…`).
pub fn one_line(s: &str, max: usize) -> String {
    let clipped = clip_chars(s.trim_end(), max);
    sanitize(&clipped, false)
}

/// The first `max` characters of `s`, with `…` when something was cut. Linear in `max`, not in
/// the length of `s`.
pub fn clip_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((at, _)) => {
            let keep: String = s[..at].chars().take(max.saturating_sub(1)).collect();
            format!("{keep}…")
        }
    }
}

/// A parser's complaint for an error message: its text as a one-line excerpt, then where in the
/// input it happened (kept whole: clipping must not cut the location off).
pub fn complaint(message: &str, line_column: Option<(usize, usize)>) -> String {
    let text = one_line(message, EXCERPT_CHARS);
    match line_column {
        Some((l, c)) => format!("{text} at line {l} column {c}"),
        None => text,
    }
}

/// [`complaint`] for serde_json, whose messages quote the offending value whole (`invalid type:
/// string "…400 KB…"`) before ` at line L column C`.
pub fn json_complaint(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    if e.line() == 0 {
        return complaint(message, None);
    }
    complaint(message, Some((e.line(), e.column())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hazards_are_escaped_and_plain_text_is_kept() {
        assert_eq!(sanitize("vm-01 é 漢", false), "vm-01 é 漢");
        assert_eq!(sanitize("a\x1b[2Jb\u{9b}c", false), "a\\u{1b}[2Jb\\u{9b}c");
        assert_eq!(
            sanitize("x\u{202e}y\u{2066}z\u{2028}w\u{2029}", false),
            "x\\u{202e}y\\u{2066}z\\u{2028}w\\u{2029}"
        );
        assert_eq!(sanitize("a\r\nb\tc", false), "a  b c");
        assert_eq!(sanitize("a\nb\r", true), "a\nb ");
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{2067}', '\u{2069}',
        ] {
            assert!(is_hazard(c), "{c:?}");
        }
        assert!(!is_hazard('\u{2065}') && !is_hazard('\u{2070}') && !is_hazard('\u{2027}'));
    }

    #[test]
    fn one_line_is_short() {
        let long = format!("{}\n{}", "x".repeat(400_000), "tail");
        let l = one_line(&long, EXCERPT_CHARS);
        assert_eq!(l.chars().count(), EXCERPT_CHARS);
        assert!(l.ends_with('…') && !l.contains('\n'));
        assert_eq!(one_line("short\n", 10), "short");
        assert_eq!(clip_chars("abc", 3), "abc");
        assert_eq!(clip_chars("abcd", 3), "ab…");
    }

    #[test]
    fn json_complaints_keep_their_location() {
        let doc = format!("{{\"a\": [\"{}\"]}}", "x".repeat(100_000));
        let e = serde_json::from_str::<std::collections::BTreeMap<String, u32>>(&doc).unwrap_err();
        let c = json_complaint(&e);
        assert!(c.len() < EXCERPT_CHARS * 4 + 40, "{}", c.len());
        assert!(c.starts_with("invalid type: sequence"), "{c}");
        assert!(
            c.ends_with(&format!("at line 1 column {}", e.column())),
            "{c}"
        );
        let e =
            serde_json::from_str::<String>(&format!("\"{}", "\u{202e}".repeat(300))).unwrap_err();
        assert!(!json_complaint(&e).contains('\u{202e}'));
    }
}
