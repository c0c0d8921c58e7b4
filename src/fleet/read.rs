//! Reading one report for the roll-up: only the fields the fleet needs are kept (evidence,
//! messages and remediation are skipped by the parser), so memory grows with the number of
//! hosts, not with the size of their reports. Anything that is not a usable kvmaudit report
//! is classified (corrupt, foreign, newer schema, ...) with a reason.

use super::model::{HostReport, RuleHit, SkipKind, Skipped, VmRow};
use crate::report::{Counts, Severity, Status, REPORT_SCHEMA_VERSION};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// Larger files are not reports (a report of 500 VMs is a few MiB).
pub const MAX_REPORT_BYTES: u64 = 256 << 20;

/// How many of a host's worst VMs are kept for the fleet's "worst VMs" list.
pub const VMS_PER_HOST: usize = 25;

#[derive(Deserialize)]
struct LiteTool {
    name: String,
    #[serde(default)]
    version: String,
}

#[derive(Deserialize, Default)]
struct LiteCpu {
    #[serde(default)]
    codename: Option<String>,
}

#[derive(Deserialize, Default)]
struct LiteKernel {
    #[serde(default)]
    release: Option<String>,
}

#[derive(Deserialize)]
struct LiteHost {
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    cpu: LiteCpu,
    #[serde(default)]
    kernel: LiteKernel,
}

#[derive(Deserialize)]
struct LiteScore {
    value: Option<f64>,
    #[serde(default)]
    host: Option<f64>,
    #[serde(default)]
    coverage: Option<f64>,
    #[serde(default)]
    blockers: Vec<String>,
    counts: Counts,
}

#[derive(Deserialize)]
struct LiteVmScore {
    value: Option<f64>,
    #[serde(default)]
    coverage: Option<f64>,
}

#[derive(Deserialize)]
struct LiteVm {
    name: String,
    score: LiteVmScore,
    #[serde(default)]
    vcpus: Option<u32>,
}

#[derive(Deserialize)]
struct LiteFinding {
    rule: String,
    title: String,
    section: String,
    status: Status,
    severity: Severity,
}

#[derive(Deserialize)]
struct LiteReport {
    schema_version: u64,
    tool: LiteTool,
    generated_at: String,
    profile: String,
    host: LiteHost,
    score: LiteScore,
    vms: Vec<LiteVm>,
    results: Vec<LiteFinding>,
}

/// Just enough to say what a JSON document that is not a report is.
#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    schema_version: Option<serde_json::Value>,
    #[serde(default)]
    tool: Option<serde_json::Value>,
    #[serde(default)]
    collected_at: Option<serde_json::Value>,
    #[serde(default)]
    kind: Option<serde_json::Value>,
}

fn first_line(e: impl std::fmt::Display) -> String {
    let s = e.to_string();
    let s = s.lines().next().unwrap_or("").to_string();
    if s.chars().count() > 200 {
        s.chars().take(200).collect::<String>() + "…"
    } else {
        s
    }
}

/// Why a JSON document that did not parse as a report is not one.
fn classify(path: &Path, bytes: &[u8], report_error: serde_json::Error) -> Skipped {
    let probe: Probe = match serde_json::from_slice(bytes) {
        Ok(p) => p,
        Err(e) if e.is_syntax() || e.is_eof() || e.is_io() => {
            return Skipped::new(
                path,
                SkipKind::Corrupt,
                format!("not valid JSON: {}", first_line(e)),
            )
        }
        Err(_) => {
            return Skipped::new(
                path,
                SkipKind::Foreign,
                "JSON, but not a kvmaudit report (not an object)",
            )
        }
    };
    let tool_name = match &probe.tool {
        Some(serde_json::Value::String(s)) => Some(s.as_str()),
        Some(serde_json::Value::Object(o)) => o.get("name").and_then(|n| n.as_str()),
        _ => None,
    };
    if tool_name == Some("kvmaudit")
        && probe.kind.as_ref().and_then(|k| k.as_str()) == Some("kvmaudit-fleet")
    {
        return Skipped::new(
            path,
            SkipKind::Foreign,
            "a kvmaudit fleet roll-up (from `fleet --json`), not a host report",
        );
    }
    if tool_name != Some("kvmaudit") {
        return Skipped::new(
            path,
            SkipKind::Foreign,
            "JSON, but not a kvmaudit report (no tool.name \"kvmaudit\")",
        );
    }
    if matches!(probe.tool, Some(serde_json::Value::String(_))) && probe.collected_at.is_some() {
        return Skipped::new(
            path,
            SkipKind::Foreign,
            "a kvmaudit snapshot (from `collect`), not a report: audit it with `kvmaudit scan --snapshot`",
        );
    }
    match probe.schema_version.as_ref().and_then(|v| v.as_u64()) {
        Some(v) if v > u64::from(REPORT_SCHEMA_VERSION) => newer(path, v),
        Some(v) if v < 1 => Skipped::new(
            path,
            SkipKind::Corrupt,
            format!("unsupported schema_version {v}"),
        ),
        Some(_) => Skipped::new(
            path,
            SkipKind::Corrupt,
            format!("invalid kvmaudit report: {}", first_line(report_error)),
        ),
        None => Skipped::new(
            path,
            SkipKind::Corrupt,
            "kvmaudit report without an integer schema_version",
        ),
    }
}

fn newer(path: &Path, v: u64) -> Skipped {
    Skipped::new(
        path,
        SkipKind::NewerSchema,
        format!(
            "report schema_version {v} is newer than this kvmaudit reads ({REPORT_SCHEMA_VERSION}); upgrade kvmaudit"
        ),
    )
}

/// Read and summarise one report file.
pub fn read(path: &Path) -> Result<HostReport, Skipped> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_REPORT_BYTES => {
            return Err(Skipped::new(
                path,
                SkipKind::Foreign,
                format!("{} bytes: too large to be a kvmaudit report", m.len()),
            ))
        }
        Ok(_) => {}
        Err(e) => return Err(Skipped::new(path, SkipKind::Unreadable, e.to_string())),
    }
    let bytes =
        std::fs::read(path).map_err(|e| Skipped::new(path, SkipKind::Unreadable, e.to_string()))?;
    parse(path, &bytes)
}

/// Summarise one report's bytes.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<HostReport, Skipped> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Skipped::new(path, SkipKind::Corrupt, "empty file"));
    }
    let r: LiteReport = match serde_json::from_slice(bytes) {
        Ok(r) => r,
        Err(e) => return Err(classify(path, bytes, e)),
    };
    if r.tool.name != "kvmaudit" {
        return Err(Skipped::new(
            path,
            SkipKind::Foreign,
            format!("a report of another tool ({:?})", r.tool.name),
        ));
    }
    if r.schema_version > u64::from(REPORT_SCHEMA_VERSION) {
        return Err(newer(path, r.schema_version));
    }
    if r.schema_version < 1 {
        return Err(Skipped::new(
            path,
            SkipKind::Corrupt,
            format!("unsupported schema_version {}", r.schema_version),
        ));
    }
    let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
    let mut rules: Vec<RuleHit> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for f in r.results {
        let i = match index.get(&f.rule) {
            Some(&i) => i,
            None => {
                index.insert(f.rule.clone(), rules.len());
                rules.push(RuleHit {
                    rule: f.rule,
                    title: f.title,
                    section: f.section,
                    severity: f.severity,
                    ..RuleHit::default()
                });
                rules.len() - 1
            }
        };
        let h = &mut rules[i];
        h.severity = h.severity.max(f.severity);
        match f.status {
            Status::Fail => h.fail += 1,
            Status::Warn => h.warn += 1,
            Status::Unknown => h.unknown += 1,
            Status::Pass => h.pass += 1,
            _ => {}
        }
    }
    let vm_count = r.vms.len();
    let mut vms: Vec<VmRow> = r
        .vms
        .into_iter()
        .filter_map(|v| {
            finite(v.score.value).map(|score| VmRow {
                name: v.name,
                score,
                coverage: finite(v.score.coverage),
                vcpus: v.vcpus,
            })
        })
        .collect();
    vms.sort_by(|a, b| {
        a.score
            .total_cmp(&b.score)
            .then_with(|| a.name.cmp(&b.name))
    });
    vms.truncate(VMS_PER_HOST);
    Ok(HostReport {
        path: path.to_path_buf(),
        epoch: crate::util::parse_rfc3339(&r.generated_at),
        hostname: r.host.hostname.filter(|h| !h.trim().is_empty()),
        generated_at: r.generated_at,
        profile: r.profile,
        tool_version: r.tool.version,
        codename: r.host.cpu.codename,
        kernel: r.host.kernel.release,
        score: finite(r.score.value),
        host_score: finite(r.score.host),
        coverage: finite(r.score.coverage),
        counts: r.score.counts,
        blockers: r.score.blockers,
        vm_count,
        vms,
        rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    fn kind(bytes: &[u8]) -> SkipKind {
        parse(Path::new("x.json"), bytes).unwrap_err().kind
    }

    #[test]
    fn a_real_report_round_trips() {
        let r = sample::report(&sample::Spec::new(3, "hv03"));
        let bytes = serde_json::to_vec(&r).unwrap();
        let h = parse(Path::new("hv03.json"), &bytes).unwrap();
        assert_eq!(h.hostname.as_deref(), Some("hv03"));
        assert_eq!(h.score, r.score.value);
        assert_eq!(h.counts, r.score.counts);
        assert_eq!(h.vm_count, 3);
        let fails: u32 = h.rules.iter().map(|x| x.fail).sum();
        assert_eq!(fails, r.score.counts.fail);
        assert_eq!(h.epoch, Some(1_795_694_400));
    }

    #[test]
    fn what_is_not_a_report_says_why() {
        assert_eq!(kind(b""), SkipKind::Corrupt);
        assert_eq!(kind(b"{\"schema_version\": 1, \"tool\""), SkipKind::Corrupt);
        assert_eq!(kind(b"\xff\xfe garbage"), SkipKind::Corrupt);
        assert_eq!(kind(b"[1,2,3]"), SkipKind::Foreign);
        assert_eq!(kind(b"{\"name\": \"package.json\"}"), SkipKind::Foreign);
        assert_eq!(
            kind(b"{\"schema_version\": 1, \"tool\": {\"name\": \"other\"}}"),
            SkipKind::Foreign
        );
        assert_eq!(
            kind(b"{\"schema_version\": 1, \"tool\": \"kvmaudit\", \"collected_at\": \"x\"}"),
            SkipKind::Foreign
        );
        assert_eq!(
            kind(b"{\"kind\": \"kvmaudit-fleet\", \"schema_version\": 1, \"tool\": {\"name\": \"kvmaudit\"}}"),
            SkipKind::Foreign
        );
        assert_eq!(
            kind(b"{\"schema_version\": 2, \"tool\": {\"name\": \"kvmaudit\"}}"),
            SkipKind::NewerSchema
        );
        assert_eq!(
            kind(b"{\"schema_version\": 1, \"tool\": {\"name\": \"kvmaudit\"}}"),
            SkipKind::Corrupt
        );
        // A newer report that still parses as version 1 is refused all the same.
        let mut v = serde_json::to_value(sample::report(&sample::Spec::new(1, "h"))).unwrap();
        v["schema_version"] = 7.into();
        assert_eq!(
            kind(&serde_json::to_vec(&v).unwrap()),
            SkipKind::NewerSchema
        );
    }
}
