//! Reading one report for the roll-up: only the fields the fleet needs are kept (evidence,
//! messages and remediation are skipped by the parser), so memory grows with the number of
//! hosts, not with the size of their reports. Anything that is not a usable kvmaudit report
//! is classified (corrupt, foreign, newer schema, ...) with a reason.

use super::model::{HostReport, HostSummary, RuleHit, SkipKind, Skipped, VmRow};
use crate::report::{Counts, Severity, Status, REPORT_SCHEMA_VERSION};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

mod head;

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

/// One entry of a report's `rule_totals` (the statuses the roll-up does not count are
/// ignored).
#[derive(Deserialize)]
struct LiteTotal {
    rule: String,
    title: String,
    section: String,
    severity: Severity,
    #[serde(default)]
    pass: u32,
    #[serde(default)]
    fail: u32,
    #[serde(default)]
    warn: u32,
    #[serde(default)]
    unknown: u32,
}

impl From<LiteTotal> for RuleHit {
    fn from(t: LiteTotal) -> RuleHit {
        RuleHit {
            rule: t.rule,
            title: t.title,
            section: t.section,
            severity: t.severity,
            fail: t.fail,
            warn: t.warn,
            unknown: t.unknown,
            pass: t.pass,
        }
    }
}

/// The fields of a report the roll-up keeps. The per-rule tallies are `rule_totals`, or are
/// counted from `results` in a report written before `rule_totals` existed; a report read
/// head-first ([`head::summary`]) has `rule_totals` and no `results`.
#[derive(Deserialize)]
struct LiteReport {
    schema_version: u64,
    tool: LiteTool,
    generated_at: String,
    profile: String,
    host: LiteHost,
    score: LiteScore,
    vms: Vec<LiteVm>,
    #[serde(default)]
    rule_totals: Option<Vec<LiteTotal>>,
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

/// How much of a report is read before trying its head, and then once more. A kvmaudit
/// report puts everything the roll-up needs (host, score, VMs, `rule_totals`, ~15 KiB for a
/// host with a few VMs) before its findings, which are 90% of its bytes.
const HEAD_BYTES: [usize; 2] = [32 << 10, 256 << 10];

/// Read and summarise one report file.
///
/// A report written by kvmaudit (pretty-printed, `rule_totals` ahead of `results`) is
/// summarised from its head: reading 10,000 whole reports was most of a fleet roll-up, and
/// the findings add nothing the head does not already count. The file must still be complete
/// — its last line is the top-level closing brace — so a truncated copy is read in full and
/// reported as corrupt. Anything else (compact JSON from jq, older reports without
/// `rule_totals`, foreign files) is read and parsed whole.
pub fn read(path: &Path) -> Result<HostReport, Skipped> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| Skipped::new(path, SkipKind::Unreadable, e.to_string());
    // Through the checked open: a FIFO or device among the inputs is skipped, never read.
    let mut file = crate::input::open_regular(path)
        .map_err(|e| Skipped::new(path, SkipKind::Unreadable, e.to_string()))?;
    let len = file.metadata().map_err(unreadable)?.len();
    if len > MAX_REPORT_BYTES {
        return Err(Skipped::new(
            path,
            SkipKind::Foreign,
            format!("{len} bytes: too large to be a kvmaudit report"),
        ));
    }
    let mut bytes = Vec::new();
    for want in HEAD_BYTES {
        if (bytes.len() as u64) >= len {
            break;
        }
        let more = want.saturating_sub(bytes.len()) as u64;
        (&mut file)
            .take(more)
            .read_to_end(&mut bytes)
            .map_err(unreadable)?;
        if (bytes.len() as u64) < len {
            if let Some(r) = head::summary(&bytes) {
                if ends_complete(&file, len) {
                    return summarise(path, r);
                }
                break;
            }
        }
    }
    file.read_to_end(&mut bytes).map_err(unreadable)?;
    parse(path, &bytes)
}

/// Whether the file's last line is a lone `}`: in pretty-printed JSON a raw newline never
/// occurs inside a string and only the top-level object closes at column 0, so this proves
/// the document was not cut short (the head check made sure it is indented JSON).
fn ends_complete(file: &std::fs::File, len: u64) -> bool {
    use std::os::unix::fs::FileExt;
    let mut tail = [0u8; 64];
    let n = tail.len().min(len as usize);
    if file.read_exact_at(&mut tail[..n], len - n as u64).is_err() {
        return false;
    }
    let t = tail[..n].trim_ascii_end();
    t.ends_with(b"\n}")
}

/// Summarise one report's bytes.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<HostReport, Skipped> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Skipped::new(path, SkipKind::Corrupt, "empty file"));
    }
    match serde_json::from_slice(bytes) {
        Ok(r) => summarise(path, r),
        Err(e) => Err(classify(path, bytes, e)),
    }
}

/// Per-rule tallies from the findings, for reports without `rule_totals`.
fn rule_hits(results: Vec<LiteFinding>) -> Vec<RuleHit> {
    let mut rules: Vec<RuleHit> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for f in results {
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
    rules
}

/// What the roll-up keeps of one report, however it was read.
fn summarise(path: &Path, r: LiteReport) -> Result<HostReport, Skipped> {
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
    let rules = match r.rule_totals {
        Some(t) => t.into_iter().map(RuleHit::from).collect(),
        None => rule_hits(r.results),
    };
    Ok(HostReport {
        path: path.to_path_buf(),
        epoch: crate::util::parse_rfc3339(&r.generated_at),
        hostname: r.host.hostname.filter(|h| !h.trim().is_empty()),
        generated_at: r.generated_at,
        summary: HostSummary {
            profile: r.profile,
            tool_version: r.tool.version,
            cpu: r.host.cpu.codename,
            kernel: r.host.kernel.release,
            score: finite(r.score.value),
            host_score: finite(r.score.host),
            coverage: finite(r.score.coverage),
            counts: r.score.counts,
            blockers: r.score.blockers,
        },
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
        assert_eq!(h.summary.score, r.score.value);
        assert_eq!(h.summary.counts, r.score.counts);
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

    /// A report big enough to be read head-first, as `scan --json` writes it.
    fn big_report() -> (crate::report::Report, Vec<u8>) {
        let mut spec = sample::Spec::new(11, "hv11");
        spec.vms = 200;
        let r = sample::report(&spec);
        let mut bytes = serde_json::to_vec_pretty(&r).unwrap();
        bytes.push(b'\n');
        assert!(bytes.len() > 2 * HEAD_BYTES[1], "{} bytes", bytes.len());
        (r, bytes)
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn tmpdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("kvmaudit-read-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn the_head_holds_what_the_whole_report_says() {
        let (r, bytes) = big_report();
        let path = Path::new("hv11.json");
        let whole = parse(path, &bytes).unwrap();
        let head = summarise(path, head::summary(&bytes[..HEAD_BYTES[1]]).expect("head")).unwrap();
        assert_eq!(head, whole);
        assert_eq!(whole.vm_count, 200);
        let fails: u32 = whole.rules.iter().map(|x| x.fail).sum();
        assert_eq!(fails, r.score.counts.fail);
        assert!(fails > 0);

        // A report without rule_totals (written before they existed) is counted from its
        // findings, to the same tallies.
        let mut old = serde_json::to_value(&r).unwrap();
        old.as_object_mut().unwrap().remove("rule_totals");
        let old = serde_json::to_vec_pretty(&old).unwrap();
        assert!(head::summary(&old[..HEAD_BYTES[1]]).is_none());
        assert_eq!(parse(path, &old).unwrap(), whole);
    }

    #[test]
    fn read_takes_the_head_only_of_a_complete_report() {
        let dir = tmpdir("head");
        let (r, bytes) = big_report();
        let good = write(&dir, "good.json", &bytes);
        let h = read(&good).unwrap();
        assert_eq!(h, parse(&good, &bytes).unwrap());

        // Cut short after the head: the missing closing brace sends it to the full parser,
        // which calls it corrupt.
        let cut = write(&dir, "cut.json", &bytes[..bytes.len() * 3 / 4]);
        assert_eq!(read(&cut).unwrap_err().kind, SkipKind::Corrupt);
        // Cut just inside the last brace.
        let end = bytes.len() - 3;
        let cut2 = write(&dir, "cut2.json", &bytes[..end]);
        assert_eq!(read(&cut2).unwrap_err().kind, SkipKind::Corrupt);

        // Compact JSON (e.g. passed through `jq -c`) is parsed whole, to the same summary.
        let compact = serde_json::to_vec(&r).unwrap();
        let c = write(&dir, "compact.json", &compact);
        let mut hc = read(&c).unwrap();
        hc.path = good.clone();
        assert_eq!(hc, h);

        // A newer schema in a complete head is still refused.
        let mut v = serde_json::to_value(&r).unwrap();
        v["schema_version"] = 9.into();
        let newer = write(&dir, "newer.json", &serde_json::to_vec_pretty(&v).unwrap());
        assert_eq!(read(&newer).unwrap_err().kind, SkipKind::NewerSchema);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
