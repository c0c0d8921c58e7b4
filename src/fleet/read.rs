//! Reading one report for the roll-up: only the fields the fleet needs are kept (evidence,
//! messages and remediation are skipped by the parser), so memory grows with the number of
//! hosts, not with the size of their reports. Anything that is not a usable kvmaudit report
//! is classified (corrupt, foreign, newer schema, ...) with a reason.
//!
//! Reports are uploaded by the hosts they describe, so a report is evidence to check, not a
//! fact: it must parse whole, its scores must be in range, its totals must agree with its
//! findings and its identity must be well-formed, or it is skipped with the reason.

use super::cache::FileId;
use super::model::{
    HostIdentity, HostReport, HostSummary, RuleHit, RuleText, SkipKind, Skipped, VmRow,
};
use crate::report::{Counts, Severity, Status, REPORT_SCHEMA_VERSION};
use document::{Document, Tally};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

mod document;

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
    machine_id: Option<String>,
    #[serde(default)]
    smbios_uuid: Option<String>,
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
    /// `defined, not running`: a definition audited before it starts, not one of the host's
    /// running VMs.
    #[serde(default)]
    state: Option<String>,
}

#[derive(Deserialize)]
struct LiteFinding {
    rule: String,
    title: String,
    section: String,
    status: Status,
    severity: Severity,
}

/// One entry of a report's `rule_totals`.
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
    info: u32,
    #[serde(default)]
    not_applicable: u32,
    #[serde(default)]
    unknown: u32,
    #[serde(default)]
    waived: u32,
}

impl From<LiteTotal> for RuleHit {
    fn from(t: LiteTotal) -> RuleHit {
        RuleHit {
            text: RuleText::new(t.rule, t.title, t.section),
            severity: t.severity,
            fail: t.fail,
            warn: t.warn,
            unknown: t.unknown,
            pass: t.pass,
        }
    }
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
        // A key twice is no document at all: parsers disagree on which copy counts.
        Err(e) if e.to_string().starts_with("duplicate field") => {
            return Skipped::new(path, SkipKind::Corrupt, first_line(e))
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
///
/// The whole file is parsed ([`document`]): reading only a report's head was faster, but
/// accepted files whose body a full parser rejects or reads differently.
pub fn read(path: &Path) -> Result<HostReport, Skipped> {
    read_identified(path).0
}

/// [`read`], with the identity of the file as it was opened, before any byte was read (so a
/// file changed while read never matches it later: [`super::cache`]).
pub fn read_identified(path: &Path) -> (Result<HostReport, Skipped>, Option<FileId>) {
    // Through the checked open: a FIFO or device among the inputs is skipped, never read.
    match crate::input::open_regular_with_metadata(path) {
        Ok((file, meta)) => (read_open(path, file, meta.len()), Some(FileId::of(&meta))),
        Err(e) => (
            Err(Skipped::new(path, SkipKind::Unreadable, e.to_string())),
            None,
        ),
    }
}

fn read_open(path: &Path, mut file: std::fs::File, len: u64) -> Result<HostReport, Skipped> {
    let unreadable = |e: std::io::Error| Skipped::new(path, SkipKind::Unreadable, e.to_string());
    if len > MAX_REPORT_BYTES {
        return Err(Skipped::new(
            path,
            SkipKind::Foreign,
            format!("{len} bytes: too large to be a kvmaudit report"),
        ));
    }
    // One buffer per reader thread, kept at the largest size read: a fresh 150 KB allocation
    // per report is fresh pages from the kernel each time, which cost as much as reading them.
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with_borrow_mut(|buf| {
        let r = crate::input::read_capped(&mut file, len, MAX_REPORT_BYTES, buf)
            .map_err(unreadable)
            .and_then(|n| match n {
                Some(n) => parse(path, &buf[..n]),
                None => Err(Skipped::new(
                    path,
                    SkipKind::Foreign,
                    "grew past the size limit while read: not a kvmaudit report",
                )),
            });
        if buf.len() > 16 << 20 {
            *buf = Vec::new();
        }
        r
    })
}

/// Summarise one report's bytes.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<HostReport, Skipped> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Skipped::new(path, SkipKind::Corrupt, "empty file"));
    }
    match document::parse(bytes) {
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
                    text: RuleText::new(f.rule, f.title, f.section),
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

/// Why a report's own numbers cannot be believed, if they cannot: scores out of range, or
/// totals that disagree with each other or with the findings. kvmaudit never writes such a
/// report; one that says so was edited, or damaged in a way that still parses.
fn implausible(r: &Document) -> Option<String> {
    let in_range = |v: Option<f64>, max: f64| v.map_or(true, |x| (0.0..=max).contains(&x));
    let s = &r.score;
    if !in_range(s.value, 100.0) || !in_range(s.host, 100.0) {
        return Some(format!(
            "score {:?} / host score {:?} outside 0-100",
            s.value, s.host
        ));
    }
    if !in_range(s.coverage, 1.0) {
        return Some(format!("coverage {:?} outside 0-1", s.coverage));
    }
    if let Some(v) = r
        .vms
        .iter()
        .find(|v| !in_range(v.score.value, 100.0) || !in_range(v.score.coverage, 1.0))
    {
        return Some(format!(
            "a VM's score {:?} or coverage {:?} is out of range",
            v.score.value, v.score.coverage
        ));
    }
    let c = &s.counts;
    let mut counts = Tally::default();
    counts.add(c);
    if counts != r.tally {
        return Some(format!(
            "score.counts {} disagree with the findings {}",
            tally_words(&counts),
            tally_words(&r.tally)
        ));
    }
    if let Some(totals) = &r.rule_totals {
        let mut sum = Tally::default();
        for t in totals {
            sum.add_status(Status::Pass, u64::from(t.pass));
            sum.add_status(Status::Fail, u64::from(t.fail));
            sum.add_status(Status::Warn, u64::from(t.warn));
            sum.add_status(Status::Info, u64::from(t.info));
            sum.add_status(Status::NotApplicable, u64::from(t.not_applicable));
            sum.add_status(Status::Unknown, u64::from(t.unknown));
            sum.add_status(Status::Waived, u64::from(t.waived));
        }
        if sum != counts {
            return Some(format!(
                "rule_totals add up to {}, score.counts say {}",
                tally_words(&sum),
                tally_words(&counts)
            ));
        }
    }
    None
}

fn tally_words(t: &Tally) -> String {
    format!(
        "(pass {}, fail {}, warn {}, info {}, n/a {}, unknown {}, waived {})",
        t.pass, t.fail, t.warn, t.info, t.not_applicable, t.unknown, t.waived
    )
}

/// The report's identity, each part in its one valid spelling (kvmaudit writes nothing else,
/// so another spelling means the report was made or edited by something else).
fn identity(path: &Path, h: &LiteHost) -> Result<HostIdentity, Skipped> {
    use crate::model::identity::{machine_id, smbios_uuid};
    let bad = |what: &str, v: &str| {
        let shown: String = v.chars().take(40).collect();
        Skipped::new(
            path,
            SkipKind::Corrupt,
            format!("host.{what} {shown:?} is not one kvmaudit writes"),
        )
    };
    let machine = match &h.machine_id {
        None => None,
        Some(v) => Some(
            machine_id(v)
                .filter(|m| m == v)
                .ok_or_else(|| bad("machine_id", v))?,
        ),
    };
    let uuid = match &h.smbios_uuid {
        None => None,
        Some(v) => Some(
            smbios_uuid(v)
                .filter(|u| u == v)
                .ok_or_else(|| bad("smbios_uuid", v))?,
        ),
    };
    Ok(HostIdentity {
        hostname: h.hostname.clone().filter(|n| !n.trim().is_empty()),
        machine_id: machine,
        smbios_uuid: uuid,
    })
}

/// What the roll-up keeps of one report.
fn summarise(path: &Path, r: Document) -> Result<HostReport, Skipped> {
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
    if let Some(why) = implausible(&r) {
        return Err(Skipped::new(path, SkipKind::Corrupt, why));
    }
    let identity = identity(path, &r.host)?;
    // Labels become table cells, group names and Prometheus label values: only what `scan
    // --label` accepts is rolled up.
    let labels = r.labels.unwrap_or_default();
    crate::labels::check(&labels)
        .map_err(|m| Skipped::new(path, SkipKind::Corrupt, format!("labels: {m}")))?;
    let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
    // The fleet counts and ranks running VMs, as the host's own score does.
    let running: Vec<LiteVm> = r.vms.into_iter().filter(|v| v.state.is_none()).collect();
    let vm_count = running.len();
    let mut vms: Vec<VmRow> = running
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
    // Collected in place from the report's VMs: without this a host of 500 VMs would keep
    // room for 500 while it holds 25, for the whole roll-up.
    vms.shrink_to_fit();
    let rules = match (r.rule_totals, r.findings) {
        (Some(t), _) => t.into_iter().map(RuleHit::from).collect(),
        (None, Some(f)) => rule_hits(f),
        (None, None) => Vec::new(),
    };
    Ok(HostReport {
        path: path.to_path_buf(),
        epoch: crate::util::parse_rfc3339(&r.generated_at),
        identity,
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
            labels,
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
        assert_eq!(h.identity.hostname.as_deref(), Some("hv03"));
        assert_eq!(h.summary.score, r.score.value);
        assert_eq!(h.summary.counts, r.score.counts);
        assert_eq!(h.vm_count, 3);
        let fails: u32 = h.rules.iter().map(|x| x.fail).sum();
        assert_eq!(fails, r.score.counts.fail);
        assert_eq!(h.epoch, Some(1_795_694_400));
    }

    #[test]
    fn defined_not_running_vms_are_not_counted_or_ranked() {
        let mut r = sample::report(&sample::Spec::new(3, "hv03"));
        r.vms[0].state = Some("defined, not running".into());
        r.vms[0].score.value = Some(0.0);
        let name = r.vms[0].name.clone();
        let bytes = serde_json::to_vec(&r).unwrap();
        let h = parse(Path::new("hv03.json"), &bytes).unwrap();
        assert_eq!(h.vm_count, 2);
        assert!(h.vms.iter().all(|v| v.name != name), "{name} ranked");
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

    /// A report as `scan --json` writes it, with a few hundred VMs.
    fn big_report() -> (crate::report::Report, Vec<u8>) {
        let mut spec = sample::Spec::new(11, "hv11");
        spec.vms = 200;
        let r = sample::report(&spec);
        let mut bytes = serde_json::to_vec_pretty(&r).unwrap();
        bytes.push(b'\n');
        (r, bytes)
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn old_reports_are_tallied_from_their_findings() {
        let (r, bytes) = big_report();
        let path = Path::new("hv11.json");
        let whole = parse(path, &bytes).unwrap();
        assert_eq!(whole.vm_count, 200);
        let fails: u32 = whole.rules.iter().map(|x| x.fail).sum();
        assert_eq!(fails, r.score.counts.fail);
        assert!(fails > 0);
        // A report without rule_totals (written before they existed) is counted from its
        // findings, to the same tallies.
        let mut old = serde_json::to_value(&r).unwrap();
        old.as_object_mut().unwrap().remove("rule_totals");
        let old = serde_json::to_vec_pretty(&old).unwrap();
        assert_eq!(parse(path, &old).unwrap(), whole);
    }

    #[test]
    fn read_parses_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let (r, bytes) = big_report();
        let good = write(dir, "good.json", &bytes);
        let h = read(&good).unwrap();
        assert_eq!(h, parse(&good, &bytes).unwrap());

        // Cut short anywhere: corrupt.
        for cut in [bytes.len() * 3 / 4, bytes.len() - 3] {
            let p = write(dir, "cut.json", &bytes[..cut]);
            assert_eq!(read(&p).unwrap_err().kind, SkipKind::Corrupt, "{cut}");
        }

        // Compact JSON (e.g. passed through `jq -c`) reads to the same summary.
        let compact = serde_json::to_vec(&r).unwrap();
        let c = write(dir, "compact.json", &compact);
        let mut hc = read(&c).unwrap();
        hc.path = good.clone();
        assert_eq!(hc, h);

        // A newer schema is still refused.
        let mut v = serde_json::to_value(&r).unwrap();
        v["schema_version"] = 9.into();
        let newer = write(dir, "newer.json", &serde_json::to_vec_pretty(&v).unwrap());
        assert_eq!(read(&newer).unwrap_err().kind, SkipKind::NewerSchema);
    }

    /// The report's JSON with `extra` members added at the end of the top-level object.
    fn with_members(r: &crate::report::Report, extra: &str) -> Vec<u8> {
        let mut text = serde_json::to_string(r).unwrap();
        text.pop();
        text.push_str(extra);
        text.push('}');
        text.into_bytes()
    }

    #[test]
    fn documents_are_read_as_a_full_parser_reads_them() {
        let r = sample::report(&sample::Spec::new(4, "hv04"));
        for key in [
            "schema_version",
            "tool",
            "generated_at",
            "profile",
            "host",
            "score",
            "vms",
            "rule_totals",
            "results",
        ] {
            let v = serde_json::to_value(&r).unwrap();
            let dup = with_members(&r, &format!(",\"{key}\":{}", v[key]));
            let e = parse(Path::new("x.json"), &dup).unwrap_err();
            assert_eq!(e.kind, SkipKind::Corrupt, "{key}");
            assert!(e.reason.contains("duplicate field"), "{key}: {}", e.reason);
        }
        // Fields it does not read may repeat, as for any JSON parser that keeps one of them.
        let ok = with_members(&r, ",\"notes\":[],\"notes\":[\"x\"]");
        assert!(parse(Path::new("x.json"), &ok).is_ok());
        // Anything after the object is not JSON.
        let mut after = serde_json::to_vec(&r).unwrap();
        after.extend_from_slice(b" {}");
        assert_eq!(kind(&after), SkipKind::Corrupt);

        // Each finding has exactly one known status, however its key is spelled; and every
        // string of the file is UTF-8, counted or not.
        let text = serde_json::to_string(&r).unwrap();
        let first = text.find("\"status\":").unwrap();
        let edits: [(&str, bool); 5] = [
            ("\"status\":\"pass\",\"status\":", false),
            ("\"st\\u0061tus\":", true),
            ("\"state\":", false),
            ("\"x\":\"\u{fffd}\",\"status\":", true),
            ("\"x\":\"\\u12\",\"status\":", false),
        ];
        for (with, good) in edits {
            let t = format!("{}{with}{}", &text[..first], &text[first + 9..]);
            let got = parse(Path::new("x.json"), t.as_bytes());
            assert_eq!(got.is_ok(), good, "{with}: {got:?}");
        }
        let mut bad = text.into_bytes();
        let at = bad.windows(7).position(|w| w == b"message").unwrap() + 12;
        bad[at] = 0xff;
        let e = parse(Path::new("x.json"), &bad).unwrap_err();
        assert_eq!(e.kind, SkipKind::Corrupt);
        assert!(e.reason.contains("not UTF-8"), "{}", e.reason);

        // Findings before their totals (a reordering tool) are read to the same summary.
        let normal = parse(Path::new("x.json"), &serde_json::to_vec(&r).unwrap()).unwrap();
        // Move rule_totals after results (serde_json's map keeps insertion order only with
        // preserve_order, so build the text by hand).
        let v = serde_json::to_value(&r).unwrap();
        let mut text = String::from("{");
        for key in ["schema_version", "tool", "generated_at", "profile", "host"] {
            text.push_str(&format!("\"{key}\":{},", v[key]));
        }
        for key in ["score", "vms", "results", "rule_totals"] {
            text.push_str(&format!("\"{key}\":{},", v[key]));
        }
        text.pop();
        text.push('}');
        let moved = parse(Path::new("x.json"), text.as_bytes()).unwrap();
        assert_eq!(moved, normal);
    }
}
