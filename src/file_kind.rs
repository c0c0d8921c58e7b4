//! Which kvmaudit file a JSON input is, so that handing one command another command's file
//! (`scan --snapshot report.json`, `fix --report fleet.json`) is answered with what the file
//! is and what to use it with, instead of a serde message about a missing field.

/// The JSON files kvmaudit writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `scan --json`: one host's report.
    Report,
    /// `fleet --json`: the roll-up of many reports.
    Fleet,
    /// `collect -o`: facts without verdicts.
    Snapshot,
}

/// What `bytes` is, judged by the top-level keys each kind always carries; `None` for
/// anything else (another tool's JSON, a damaged file).
pub fn detect(bytes: &[u8]) -> Option<FileKind> {
    // Only the top level is looked at; the values are skipped without being kept.
    #[derive(serde::Deserialize)]
    struct Head {
        kind: Option<serde::de::IgnoredAny>,
        tool: Option<serde_json::Value>,
        results: Option<serde::de::IgnoredAny>,
        collected_at: Option<serde::de::IgnoredAny>,
        #[serde(default)]
        hosts: Option<serde::de::IgnoredAny>,
    }
    let h: Head = serde_json::from_slice(bytes).ok()?;
    let tool = h.tool?;
    let fleet_kind = h.kind.is_some() && h.hosts.is_some();
    match tool {
        serde_json::Value::String(t) if t == "kvmaudit" && h.collected_at.is_some() => {
            Some(FileKind::Snapshot)
        }
        serde_json::Value::Object(o)
            if o.get("name").and_then(|n| n.as_str()) == Some("kvmaudit") =>
        {
            if fleet_kind {
                Some(FileKind::Fleet)
            } else if h.results.is_some() {
                Some(FileKind::Report)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The sentence for a file of kind `found` given where a `wanted` one belongs.
pub fn misuse(found: FileKind, wanted: FileKind) -> Option<String> {
    if found == wanted {
        return None;
    }
    let what = match found {
        FileKind::Report => {
            "is a kvmaudit report (from `scan --json`); use it with `fix --generate-script \
             --report FILE` or `explain ID --report FILE`, or roll reports up with `fleet`"
        }
        FileKind::Fleet => {
            "is a fleet roll-up (from `fleet --json`); it holds no host's findings: give \
             `fix --report` or `explain --report` one host's report (`scan --json`)"
        }
        FileKind::Snapshot => {
            "is a kvmaudit snapshot (from `collect`); it holds facts, not findings: audit it \
             with `scan --snapshot FILE` or `fix --generate-script --snapshot FILE`"
        }
    };
    let wanted = match wanted {
        FileKind::Report => "a report",
        FileKind::Fleet => "a fleet roll-up",
        FileKind::Snapshot => "a snapshot",
    };
    Some(format!("not {wanted}: this file {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_their_keys() {
        let report =
            br#"{"schema_version":1,"tool":{"name":"kvmaudit","version":"0.1.0"},"results":[]}"#;
        let fleet = br#"{"kind":"kvmaudit-fleet","tool":{"name":"kvmaudit"},"hosts":[]}"#;
        let snap = br#"{"schema_version":1,"tool":"kvmaudit","collected_at":"x"}"#;
        assert_eq!(detect(report), Some(FileKind::Report));
        assert_eq!(detect(fleet), Some(FileKind::Fleet));
        assert_eq!(detect(snap), Some(FileKind::Snapshot));
        assert_eq!(detect(br#"{"tool":{"name":"other"},"results":[]}"#), None);
        assert_eq!(detect(b"[1,2]"), None);
        assert_eq!(detect(b"not json"), None);
        let m = misuse(FileKind::Report, FileKind::Snapshot).unwrap();
        assert!(
            m.starts_with("not a snapshot: this file is a kvmaudit report"),
            "{m}"
        );
        assert!(m.contains("fix --generate-script --report FILE"));
        assert_eq!(misuse(FileKind::Report, FileKind::Report), None);
    }
}
