//! The optional defaults file for `scan`: `/etc/kvmaudit/config.toml`, or the file
//! `--config FILE` or `$KVMAUDIT_CONFIG` names. Flags given on the command line override it;
//! labels merge, a flag's value winning for the same key.
//!
//! ```toml
//! profile = "latency"            # throughput (default) or latency
//! waivers = "waivers.toml"       # relative to this file's directory
//! fail_on = "medium"             # high, medium or low
//! [labels]
//! site = "fra1"
//! cluster = "c7"
//! ```
//!
//! A missing default file is normal (most hosts have none). A file that was named explicitly
//! and is missing, or any file that cannot be read or parsed, ends the run with exit 1 naming
//! the file and the problem: a silently ignored typo would change the verdict.

use crate::error::{Error, Result};
use crate::labels::Labels;
use crate::report::Profile;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const DEFAULT_PATH: &str = "/etc/kvmaudit/config.toml";
pub const ENV_VAR: &str = "KVMAUDIT_CONFIG";

/// A defaults file is a few lines; anything near this is not one.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOnName {
    High,
    Medium,
    Low,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub profile: Option<Profile>,
    /// Resolved against the config file's directory when relative.
    #[serde(default)]
    pub waivers: Option<PathBuf>,
    #[serde(default)]
    pub fail_on: Option<FailOnName>,
    #[serde(default)]
    pub labels: Labels,
}

/// The config file to read: `--config`, else `$KVMAUDIT_CONFIG` (if set and not empty), else
/// the default path. The flag says whether it was named explicitly.
pub fn locate(flag: Option<&Path>) -> (PathBuf, bool) {
    if let Some(p) = flag {
        return (p.to_path_buf(), true);
    }
    match std::env::var_os(ENV_VAR) {
        Some(p) if !p.is_empty() => (PathBuf::from(p), true),
        _ => (PathBuf::from(DEFAULT_PATH), false),
    }
}

/// The config in effect (empty when the default file does not exist).
pub fn load(flag: Option<&Path>) -> Result<Config> {
    let (path, explicit) = locate(flag);
    if !explicit {
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            _ => {}
        }
    }
    let bytes = crate::input::read_input_file(&path, MAX_CONFIG_BYTES, "a kvmaudit config file")?;
    let text = String::from_utf8(bytes).map_err(|_| Error::parse(&path, "not UTF-8 text"))?;
    let mut c = parse(&text).map_err(|m| Error::parse(&path, m))?;
    if let Some(w) = &c.waivers {
        if w.is_relative() {
            let base = path.parent().unwrap_or(Path::new("."));
            c.waivers = Some(base.join(w));
        }
    }
    Ok(c)
}

/// Parse the TOML of a config file; the error says what is wrong and where.
pub fn parse(text: &str) -> std::result::Result<Config, String> {
    let c: Config = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| {
            let before = text.get(..s.start).unwrap_or(text);
            (
                before.matches('\n').count() + 1,
                before.rsplit('\n').next().unwrap_or("").chars().count() + 1,
            )
        });
        crate::safe_text::complaint(e.message(), at)
    })?;
    crate::labels::check(&c.labels).map_err(|m| format!("[labels]: {m}"))?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let c = parse(
            "profile = \"latency\"\nwaivers = \"w.toml\"\nfail_on = \"medium\"\n[labels]\nsite = \"fra1\"\n",
        )
        .unwrap();
        assert_eq!(c.profile, Some(Profile::Latency));
        assert_eq!(c.waivers.as_deref(), Some(Path::new("w.toml")));
        assert_eq!(c.fail_on, Some(FailOnName::Medium));
        assert_eq!(c.labels["site"], "fra1");
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn rejects_what_would_be_silently_ignored() {
        assert!(parse("profil = \"latency\"")
            .unwrap_err()
            .contains("unknown field"));
        assert!(parse("profile = \"fast\"").unwrap_err().contains("line 1"));
        assert!(parse("fail_on = \"info\"").is_err());
        assert!(parse("[labels]\n\"2x\" = \"a\"")
            .unwrap_err()
            .contains("[labels]"));
        assert!(parse("[labels]\nsite = 3").is_err());
    }
}
