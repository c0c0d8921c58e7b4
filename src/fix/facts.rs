//! The host facts a plan is made from: the scan's snapshot, or — when only a JSON report is
//! given — a snapshot rebuilt from the evidence the findings carry (path → observed value).

use crate::report::Report;
use crate::snapshot::{Fact, Snapshot, SourceInfo, Sourced, SNAPSHOT_VERSION};
use crate::snapshot::{ReadError, ReadErrorKind};

/// Read-only access to the recorded facts.
pub struct Facts<'a> {
    pub snap: &'a Snapshot,
    /// The facts came from a report's evidence only (fewer of them, and as rules quoted them).
    pub from_report: bool,
}

impl<'a> Facts<'a> {
    pub fn new(snap: &'a Snapshot, from_report: bool) -> Self {
        Facts { snap, from_report }
    }

    /// A file's content, trimmed.
    pub fn text(&self, path: &str) -> Option<&'a str> {
        match self.snap.files.get(path) {
            Some(Fact::Value(v)) => Some(v.trim()),
            _ => None,
        }
    }

    /// The bracketed word of a select-one attribute, or the whole value when it has none.
    pub fn bracketed(&self, path: &str) -> Option<&'a str> {
        self.text(path).map(|t| {
            t.find('[')
                .and_then(|a| t[a + 1..].find(']').map(|b| &t[a + 1..a + 1 + b]))
                .unwrap_or(t)
        })
    }

    /// Recorded files (with a value) whose path matches `pattern` component by component
    /// (`*` = anything within one component), sorted in natural (numeric-aware) order.
    pub fn files_like(&self, pattern: &str) -> Vec<(&'a str, &'a str)> {
        let mut out: Vec<(&str, &str)> = self
            .snap
            .files
            .iter()
            .filter(|(p, _)| path_matches(pattern, p))
            .filter_map(|(p, f)| f.value().map(|v| (p.as_str(), v.trim())))
            .collect();
        out.sort_by(|a, b| natural_cmp(a.0, b.0));
        out
    }

    /// The flags line of `/proc/cpuinfo` contains `flag`; `None` when cpuinfo is unknown.
    pub fn cpu_flag(&self, flag: &str) -> Option<bool> {
        let info = self.text("/proc/cpuinfo")?;
        let line = info
            .lines()
            .find(|l| l.starts_with("flags") && l.contains(':'))?;
        let list = line.split_once(':').map(|(_, v)| v).unwrap_or("");
        Some(list.split_whitespace().any(|f| f == flag))
    }

    /// `vendor_id` of `/proc/cpuinfo`.
    pub fn cpu_vendor(&self) -> Option<&'a str> {
        let info = self.text("/proc/cpuinfo")?;
        info.lines()
            .find(|l| l.starts_with("vendor_id"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim())
    }
}

/// Component-wise glob: `*` matches any run of characters inside one component.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let n: Vec<&str> = path.split('/').collect();
    p.len() == n.len()
        && p.iter()
            .zip(n.iter())
            .all(|(a, b)| crate::collect::paths::matches(a, b))
}

/// Compare paths so that `cpu2` sorts before `cpu10`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let b = s.as_bytes();
        for i in 1..=b.len() {
            if i == b.len() || b[i].is_ascii_digit() != b[start].is_ascii_digit() {
                out.push((b[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(cb.iter()) {
        let ord = match (x, y) {
            ((true, u), (true, v)) => {
                let (u, v) = (u.trim_start_matches('0'), v.trim_start_matches('0'));
                u.len().cmp(&v.len()).then_with(|| u.cmp(v))
            }
            ((_, u), (_, v)) => u.cmp(v),
        };
        if ord != std::cmp::Ordering::Equal {
            return ord;
        }
    }
    ca.len().cmp(&cb.len()).then_with(|| a.cmp(b))
}

/// A snapshot holding only what a report's findings quote: every evidence `source` that is an
/// absolute path becomes a file with the `observed` value; the kernel command line and host
/// name come from the report's host block.
pub fn snapshot_from_report(r: &Report) -> Snapshot {
    let na = || ReadError::new(ReadErrorKind::NotAvailable, "not in the report");
    let mut files = std::collections::BTreeMap::new();
    for f in &r.results {
        for e in &f.evidence {
            if e.source.starts_with('/') && !e.source.contains('\0') {
                files
                    .entry(e.source.clone())
                    .or_insert_with(|| Fact::Value(e.observed.clone()));
            }
        }
    }
    if let Some(c) = &r.host.kernel.cmdline {
        files.insert("/proc/cmdline".to_string(), Fact::Value(c.clone()));
    }
    Snapshot {
        schema_version: SNAPSHOT_VERSION,
        tool: r.tool.name.clone(),
        tool_version: r.tool.version.clone(),
        collected_at: r.generated_at.clone(),
        source: SourceInfo {
            kind: "report".into(),
            root: None,
            overrides: Default::default(),
            sos: None,
        },
        hostname: match &r.host.hostname {
            Some(h) => Sourced::value("report", h.clone()),
            None => Sourced::error("report", na()),
        },
        cpuid: Sourced::error("report", na()),
        smbios: Sourced::error("report", na()),
        kconfig: Sourced::error("report", na()),
        msr: Sourced::error("report", na()),
        files,
        dirs: Default::default(),
        links: Default::default(),
        domain_xml: Vec::new(),
        qemu: Sourced::value("report", Vec::new()),
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_and_order() {
        assert!(path_matches("/a/policy*/g", "/a/policy12/g"));
        assert!(path_matches("/a/policy*/g", "/a/policy0 $(x)\n/g"));
        assert!(!path_matches("/a/policy*/g", "/a/policy1/b/g"));
        let mut v = vec!["cpu10/x", "cpu2/x", "cpu1/x"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, vec!["cpu1/x", "cpu2/x", "cpu10/x"]);
        assert_eq!(natural_cmp("", "a"), std::cmp::Ordering::Less);
    }
}
