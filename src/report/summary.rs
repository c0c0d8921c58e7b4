//! What every renderer shows beside the raw findings: guide section titles, the display order of
//! statuses, findings grouped by section, observed-vs-expected in one line, and the top fixes.

use super::{Finding, Report, Severity, Status};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Section titles of Intel's KVM/QEMU tuning guide for Ice Lake (../guide/).
const SECTIONS: &[(&str, &str)] = &[
    ("1", "Introduction"),
    ("2", "Hardware Tuning"),
    ("2.1", "BIOS Setting"),
    ("3", "Software Tuning"),
    ("3.1", "The KVM/Qemu Virtualization Architecture"),
    ("3.2", "Linux Kernel & KVM Tuning"),
    ("3.2.1", "NUMA Affinity"),
    ("3.2.2", "Processor Frequency"),
    ("3.2.3", "Enable Huge Page"),
    ("3.2.4", "Avoid Entering CPU C State"),
    ("3.2.5", "Enable Kernel Samepage Merging (KSM)"),
    ("3.2.6", "Tuning KVM Halt Polling"),
    ("3.2.7", "Using Exitless Local APIC Timer"),
    ("3.3", "Qemu Tuning"),
    ("3.3.1", "Hints about host resource overcommit"),
    ("3.3.2", "Qemu Device Model Tuning"),
    ("3.3.3", "Tuning virtio-net & vhost-net"),
    ("3.3.4", "Tuning Virtio-blk"),
    ("3.4", "Guest Kernel Tuning"),
    ("3.4.1", "Enable Guest Halt Polling"),
    (
        "3.4.2",
        "Request Queue Affinity for Multiqueue Block Device",
    ),
    ("4", "Intel Optane Persistent Memory"),
    ("4.1", "App-Direct Mode Setting"),
    ("4.2", "App-Direct Mode NVDIMM for Virtual Machines"),
    ("5", "Intel QuickAssist Accelerator"),
];

/// The first section a finding cites (`"2.1, 5"` → `"2.1"`), trimmed.
pub fn primary_section(section: &str) -> &str {
    section
        .split([',', ' ', ';'])
        .find(|s| !s.is_empty())
        .unwrap_or("")
}

/// The guide's title of a section id, if it is one.
pub fn section_title(section: &str) -> Option<&'static str> {
    let id = primary_section(section).trim_end_matches('.');
    SECTIONS.iter().find(|(k, _)| *k == id).map(|(_, t)| *t)
}

/// `§3.3.4 Tuning Virtio-blk`, or `§X` for a section the guide does not have.
pub fn section_heading(section: &str) -> String {
    let s = if section.trim().is_empty() {
        "?"
    } else {
        section.trim()
    };
    match section_title(section) {
        Some(t) => format!("§{s} {t}"),
        None => format!("§{s}"),
    }
}

/// Numeric order of section ids: 2.1 < 3.2.2 < 3.2.10 < 4; non-numeric parts sort last.
pub fn cmp_sections(a: &str, b: &str) -> Ordering {
    fn key(s: &str) -> Vec<u32> {
        primary_section(s)
            .split('.')
            .map(|p| p.parse::<u32>().unwrap_or(u32::MAX))
            .collect()
    }
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

/// Display order: what needs attention first.
pub fn status_rank(s: Status) -> u8 {
    match s {
        Status::Fail => 0,
        Status::Warn => 1,
        Status::Unknown => 2,
        Status::Info => 3,
        Status::Waived => 4,
        Status::Pass => 5,
        Status::NotApplicable => 6,
    }
}

/// Every status, in display order.
pub const STATUSES: [Status; 7] = [
    Status::Fail,
    Status::Warn,
    Status::Unknown,
    Status::Info,
    Status::Waived,
    Status::Pass,
    Status::NotApplicable,
];

/// Every severity, highest first.
pub const SEVERITIES: [Severity; 4] = [
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Info,
];

/// Upper-case label for terminals (`N/A` for not applicable).
pub fn status_label(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Warn => "WARN",
        Status::Info => "INFO",
        Status::NotApplicable => "N/A",
        Status::Unknown => "UNKNOWN",
        Status::Waived => "WAIVED",
    }
}

/// Findings of one guide section, in display order.
pub struct SectionGroup<'a> {
    pub section: String,
    pub heading: String,
    pub findings: Vec<&'a Finding>,
}

/// Findings grouped by (first-cited) guide section in guide order; within a section, the
/// statuses needing attention first, then by rule and target.
pub fn by_section(r: &Report) -> Vec<SectionGroup<'_>> {
    let mut groups: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for f in &r.results {
        groups
            .entry(primary_section(&f.section).to_string())
            .or_default()
            .push(f);
    }
    let mut out: Vec<SectionGroup> = groups
        .into_iter()
        .map(|(section, mut findings)| {
            findings.sort_by(|a, b| {
                status_rank(a.status)
                    .cmp(&status_rank(b.status))
                    .then_with(|| b.severity.cmp(&a.severity))
                    .then_with(|| a.rule.cmp(&b.rule))
                    .then_with(|| a.target.cmp(&b.target))
            });
            SectionGroup {
                heading: section_heading(&section),
                section,
                findings,
            }
        })
        .collect();
    out.sort_by(|a, b| cmp_sections(&a.section, &b.section));
    out
}

/// Observed and expected values of a finding in one line each: the first piece of evidence
/// (each value at most `max` characters), with `(+N more)` when there are more.
pub fn observed_expected(f: &Finding, max: usize) -> (String, String) {
    let Some(first) = f.evidence.first() else {
        return (String::new(), String::new());
    };
    let more = f.evidence.len() - 1;
    let suffix = if more > 0 {
        format!(" (+{more} more)")
    } else {
        String::new()
    };
    (
        format!("{}{suffix}", super::table::clip(&first.observed, max)),
        super::table::clip(first.expected.as_deref().unwrap_or_default(), max),
    )
}

/// One rule worth fixing first: its weight times its failing targets (a warning counts half,
/// as in the score).
#[derive(Debug, Clone, PartialEq)]
pub struct TopFix {
    pub rule: String,
    pub title: String,
    pub section: String,
    pub severity: Severity,
    pub failing: u32,
    pub warning: u32,
    pub impact: f64,
    pub targets: Vec<String>,
    pub summary: String,
    pub reboot: bool,
}

/// Rules with failing or warning findings, by weight × (fail + ½ warn), highest first; rules of
/// weight 0 (`info`) never make the list. At most `n`.
pub fn top_fixes(r: &Report, n: usize) -> Vec<TopFix> {
    let mut by_rule: BTreeMap<&str, TopFix> = BTreeMap::new();
    for f in &r.results {
        if !matches!(f.status, Status::Fail | Status::Warn) {
            continue;
        }
        let e = by_rule.entry(&f.rule).or_insert_with(|| TopFix {
            rule: f.rule.clone(),
            title: f.title.to_string(),
            section: f.section.to_string(),
            severity: f.severity,
            failing: 0,
            warning: 0,
            impact: 0.0,
            targets: Vec::new(),
            summary: f.remediation.summary.to_string(),
            reboot: f.remediation.reboot,
        });
        e.severity = e.severity.max(f.severity);
        if f.status == Status::Fail {
            e.failing += 1;
        } else {
            e.warning += 1;
        }
        e.targets.push(f.target.clone());
    }
    let mut v: Vec<TopFix> = by_rule
        .into_values()
        .map(|mut t| {
            t.impact = f64::from(t.severity.weight())
                * (f64::from(t.failing) + 0.5 * f64::from(t.warning));
            t
        })
        .filter(|t| t.impact > 0.0)
        .collect();
    v.sort_by(|a, b| {
        b.impact
            .partial_cmp(&a.impact)
            .unwrap_or(Ordering::Equal)
            .then_with(|| b.severity.cmp(&a.severity))
            .then_with(|| a.rule.cmp(&b.rule))
    });
    v.truncate(n);
    v
}

/// `87.5` or `n/a`.
pub fn fmt_score(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.1}"),
        _ => "n/a".into(),
    }
}

/// `93%` or `n/a` for a 0–1 ratio.
pub fn fmt_ratio(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{:.0}%", x * 100.0),
        _ => "n/a".into(),
    }
}

/// A score band for colouring: `good` ≥ 90, `fair` ≥ 70, `poor` below, `none` without a score.
pub fn grade(v: Option<f64>) -> &'static str {
    match v {
        Some(x) if x >= 90.0 => "good",
        Some(x) if x >= 70.0 => "fair",
        Some(x) if x.is_finite() => "poor",
        _ => "none",
    }
}

/// `4 GiB`, `512 MiB`: binary units, one decimal when not whole.
pub fn fmt_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if (v - v.round()).abs() < 0.05 {
        format!("{:.0} {}", v, UNITS[i])
    } else {
        format!("{:.1} {}", v, UNITS[i])
    }
}

/// The findings' counts in display order with their labels, zeros included.
pub fn counts_in_order(c: &super::Counts) -> [(Status, u32); 7] {
    STATUSES.map(|s| (s, count_of(c, s)))
}

pub fn count_of(c: &super::Counts, s: Status) -> u32 {
    match s {
        Status::Pass => c.pass,
        Status::Fail => c.fail,
        Status::Warn => c.warn,
        Status::Info => c.info,
        Status::NotApplicable => c.not_applicable,
        Status::Unknown => c.unknown,
        Status::Waived => c.waived,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_sort_numerically_and_have_titles() {
        let mut v = vec!["3.2.10", "4", "2.1", "3.2.2", "1, 2", "x"];
        v.sort_by(|a, b| cmp_sections(a, b));
        assert_eq!(v, ["1, 2", "2.1", "3.2.2", "3.2.10", "4", "x"]);
        assert_eq!(section_heading("3.3.4"), "§3.3.4 Tuning Virtio-blk");
        assert_eq!(section_heading("2.1, 5"), "§2.1, 5 BIOS Setting");
        assert_eq!(section_heading("9.9"), "§9.9");
        assert_eq!(section_heading(""), "§?");
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_bytes(4 << 30), "4 GiB");
        assert_eq!(fmt_bytes(1536 << 20), "1.5 GiB");
        assert_eq!(fmt_bytes(0), "0 B");
        assert_eq!(fmt_score(Some(87.46)), "87.5");
        assert_eq!(fmt_score(Some(f64::NAN)), "n/a");
        assert_eq!(fmt_ratio(Some(0.934)), "93%");
        assert_eq!(grade(Some(95.0)), "good");
        assert_eq!(grade(None), "none");
    }
}
