//! Waivers: accepted deviations. A matching finding becomes `waived` — shown and counted,
//! never hidden — until the waiver expires, after which the report says so and the finding
//! counts again.
//!
//! ```toml
//! [[waiver]]
//! rule = "host.thp"            # rule id; `*` wildcards allowed ("qemu.blk.*"); must name a rule
//! target = "vm:db-*"           # target glob (default "*")
//! vm = "web*"                  # optional: only findings on VMs whose name matches this glob
//! reason = "vendor requires THP off for this database"
//! expires = 2027-03-31         # optional, a TOML date or a "YYYY-MM-DD" string (UTC)
//! ```
//!
//! A waiver that cannot apply as written (an impossible date, a rule id that names no rule)
//! is an error, not a note: a typo would otherwise leave the finding failing, or worse, a
//! misread date would keep a waiver alive.

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
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "date_or_string"
    )]
    pub expires: Option<String>,
    /// Glob on the VM name: the waiver covers only findings on matching VMs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<String>,
}

/// `expires` as written: a TOML date (`2027-01-31`) or a string (`"2027-01-31"`), kept as the
/// text the date checks and comparisons use. A TOML date-time or time is kept as written and
/// then rejected by the date check, naming the entry.
fn date_or_string<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Expires {
        Text(String),
        Date(toml::value::Datetime),
    }
    Ok(Some(match Expires::deserialize(d)? {
        Expires::Text(s) => s,
        Expires::Date(dt) => dt.to_string(),
    }))
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
            if !is_real_date(e) {
                return Err(format!(
                    "waiver {} ({}): expires = {e:?} is not a day of the calendar",
                    i + 1,
                    w.rule
                ));
            }
        }
        if !names_a_rule(&w.rule) {
            return Err(format!(
                "waiver {} (rule = {:?}): no rule matches it; `kvmaudit rules` lists the ids",
                i + 1,
                w.rule
            ));
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

/// A calendar day: the month has that many days (29 February only in a leap year).
fn is_real_date(s: &str) -> bool {
    let (Ok(y), Ok(m), Ok(d)) = (
        s[..4].parse::<u32>(),
        s[5..7].parse::<u32>(),
        s[8..10].parse::<u32>(),
    ) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (1..=days).contains(&d)
}

/// Whether the waiver's rule pattern matches at least one rule of the catalogue.
fn names_a_rule(pattern: &str) -> bool {
    crate::rules::meta::catalogue()
        .iter()
        .any(|m| glob(pattern, &m.id))
}

/// The VM a target is on (`vm:NAME` or `vm:NAME/…`), as the scores group them.
fn vm_of(target: &str) -> Option<&str> {
    let rest = target.strip_prefix("vm:")?;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// Waiver and filter patterns: one glob for both, in [`crate::util`].
pub use crate::util::glob;

impl Waiver {
    pub fn matches(&self, rule: &str, target: &str) -> bool {
        glob(&self.rule, rule)
            && glob(&self.target, target)
            && self
                .vm
                .as_deref()
                .map_or(true, |p| vm_of(target).is_some_and(|name| glob(p, name)))
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
    fn toml_dates_calendar_days_rule_ids_and_vms() {
        let w = parse("[[waiver]]\nrule=\"qemu.blk.cache\"\nreason=\"r\"\nexpires=2027-01-31\n")
            .unwrap();
        assert_eq!(w[0].expires.as_deref(), Some("2027-01-31"));
        assert!(w[0].expired("2027-02-01") && !w[0].expired("2027-01-31"));
        let leap = "[[waiver]]\nrule=\"qemu.blk.cache\"\nreason=\"r\"\nexpires=\"2028-02-29\"\n";
        assert!(parse(leap).is_ok());
        for bad in ["2027-02-29", "2027-02-30", "2027-04-31", "2100-02-29"] {
            let e = parse(&format!(
                "[[waiver]]\nrule=\"qemu.blk.cache\"\nreason=\"r\"\nexpires=\"{bad}\"\n"
            ))
            .unwrap_err();
            assert!(e.contains("not a day of the calendar"), "{bad}: {e}");
        }
        let e = parse("[[waiver]]\nrule=\"qemu.blk.cahce\"\nreason=\"r\"\n").unwrap_err();
        assert!(
            e.contains("waiver 1 (rule = \"qemu.blk.cahce\"): no rule matches"),
            "{e}"
        );
        assert!(parse("[[waiver]]\nrule=\"nosuch.*\"\nreason=\"r\"\n").is_err());
        assert!(parse("[[waiver]]\nrule=\"qemu.blk.*\"\nreason=\"r\"\n").is_ok());
        let w = parse("[[waiver]]\nrule=\"qemu.*\"\nvm=\"web*\"\nreason=\"r\"\n").unwrap();
        assert!(w[0].matches("qemu.blk.cache", "vm:web1/drive:d0"));
        assert!(w[0].matches("qemu.mem.hugepages", "vm:web-2"));
        assert!(!w[0].matches("qemu.mem.hugepages", "vm:db1"));
        assert!(!w[0].matches("qemu.mem.hugepages", "host"));
    }
}
