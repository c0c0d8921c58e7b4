//! Waivers: accepted deviations. A matching finding becomes `waived` — shown and counted,
//! never hidden — until the waiver expires, after which the report says so and the finding
//! counts again.
//!
//! ```toml
//! [[waiver]]
//! rule = "host.thp"            # rule id; `*` wildcards allowed ("qemu.blk.*")
//! target = "vm:db-*"           # target glob (default "*")
//! reason = "vendor requires THP off for this database"
//! expires = "2027-03-31"       # optional, YYYY-MM-DD (UTC)
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    pub rule: String,
    #[serde(default = "any")]
    pub target: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

fn any() -> String {
    "*".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverFile {
    #[serde(default)]
    waiver: Vec<Waiver>,
}

/// Parse waiver TOML; the error says what is wrong.
pub fn parse(text: &str) -> std::result::Result<Vec<Waiver>, String> {
    // toml's Display quotes the offending line whole (a 400 KB line printed 400 KB); say where
    // and what, with a short excerpt.
    let f: WaiverFile = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| line_column(text, s.start));
        crate::safe_text::complaint(e.message(), at)
    })?;
    for (i, w) in f.waiver.iter().enumerate() {
        if w.reason.trim().is_empty() {
            return Err(format!("waiver {} ({}): reason is empty", i + 1, w.rule));
        }
        if let Some(e) = &w.expires {
            if !is_date(e) {
                return Err(format!(
                    "waiver {} ({}): expires = {e:?} is not a YYYY-MM-DD date",
                    i + 1,
                    w.rule
                ));
            }
        }
    }
    Ok(f.waiver)
}

/// A waivers file lists a few dozen rules; anything near this is not one.
const MAX_WAIVERS_BYTES: u64 = 16 << 20;

pub fn load(path: &Path) -> Result<Vec<Waiver>> {
    let bytes = crate::input::read_input_file(path, MAX_WAIVERS_BYTES, "a waivers file")?;
    let text = String::from_utf8(bytes).map_err(|_| Error::parse(path, "not UTF-8 text"))?;
    parse(&text).map_err(|m| Error::parse(path, m))
}

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && matches!(s[5..7].parse::<u32>(), Ok(1..=12))
        && matches!(s[8..10].parse::<u32>(), Ok(1..=31))
}

/// `*` matches any run of characters.
///
/// Iterative, with one backtrack point (the last `*`): O(pattern × subject) at worst. The
/// recursive form took exponential time on `a*a*a*...b` against a long VM name, and VM names
/// come from the audited host's command lines.
pub fn glob(pat: &str, s: &str) -> bool {
    let (p, s) = (pat.as_bytes(), s.as_bytes());
    let (mut pi, mut si) = (0usize, 0usize);
    // Where the last `*` was, and the subject position it is currently made to cover up to.
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more byte and retry from there.
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi.min(p.len())..].iter().all(|&c| c == b'*')
}

impl Waiver {
    pub fn matches(&self, rule: &str, target: &str) -> bool {
        glob(&self.rule, rule) && glob(&self.target, target)
    }
    /// Expired when `today` (YYYY-MM-DD) is after the expiry date.
    pub fn expired(&self, today: &str) -> bool {
        self.expires.as_deref().is_some_and(|e| today > e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_match() {
        let w = parse(
            "[[waiver]]\nrule = \"qemu.blk.*\"\ntarget = \"vm:db-*\"\nreason = \"r\"\nexpires = \"2027-01-31\"\n",
        )
        .unwrap();
        assert!(w[0].matches("qemu.blk.cache", "vm:db-1/drive:d0"));
        assert!(!w[0].matches("qemu.net.vhost", "vm:db-1"));
        assert!(!w[0].expired("2027-01-31"));
        assert!(w[0].expired("2027-02-01"));
        assert!(parse("[[waiver]]\nrule=\"x\"\nreason=\"\"\n").is_err());
        assert!(parse("[[waiver]]\nrule=\"x\"\nreason=\"r\"\nexpires=\"31.01.2027\"\n").is_err());
        assert!(parse("[[waiver]]\nrule=\"x\"\nreason=\"r\"\nbogus=1\n").is_err());
    }

    #[test]
    fn errors_quote_a_short_excerpt_on_one_line() {
        // toml quoted the whole offending line: a 400 KB line gave a 400 KB message.
        let text = format!(
            "[[waiver]]\nrule = \"x\"\nreason = \"r\"\nbogus = {}\n",
            "x".repeat(400_000)
        );
        let e = parse(&text).unwrap_err();
        assert!(e.len() < 400, "{} bytes", e.len());
        assert!(!e.contains('\n'), "{e}");
        assert!(e.ends_with("at line 4 column 9"), "{e}");
    }

    #[test]
    fn globs() {
        for (p, s, want) in [
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("a*", "abc", true),
            ("*c", "abc", true),
            ("a*c", "ac", true),
            ("a*c", "ab", false),
            ("*a*b", "xaxxb", true),
            ("a**b", "ab", true),
            ("qemu.blk.*", "qemu.blk.cache", true),
            ("vm:db-*", "vm:web-1", false),
            ("*x*", "abc", false),
            ("ab*", "a", false),
        ] {
            assert_eq!(glob(p, s), want, "{p} vs {s}");
        }
        let t = std::time::Instant::now();
        assert!(!glob(&format!("{}b", "a*".repeat(30)), &"a".repeat(5000)));
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }
}
