//! Prometheus textfile (`scan --prom PATH`) for node_exporter's textfile collector.
//!
//! Text exposition format 0.0.4: `# HELP` and `# TYPE` for every metric, label values escaped
//! (`\\`, `\"`, `\n`), no timestamps on samples (the collector stamps them; the scan time is its
//! own metric). Every series is unique: a rule that gives the same target twice keeps its worst
//! status, so node_exporter never sees a duplicate. The file is written atomically by the
//! caller ([`crate::util::write_output`]).

use super::summary::{status_rank, SEVERITIES, STATUSES};
use super::{Report, Severity, Status};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A label value in exposition format: backslash, double quote and newline escaped, CR shown as
/// the text `\r`.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            // The format has no escape for CR, and a reader that translates line endings (Python
            // opening the file as text) ends the line there: every later sample is then lost.
            // Written as the visible text `\r` (an escaped backslash and `r`), which every
            // parser accepts.
            '\r' => out.push_str("\\\\r"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text: backslash and newline escaped.
pub fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value: Prometheus spells the special floats `NaN`, `+Inf`, `-Inf`.
pub fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// Builds a textfile metric by metric.
#[derive(Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    /// Start a metric family.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    /// One sample of the current family.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(val));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", value(v));
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// Which findings get a `kvmaudit_rule_status` series (`scan --prom-detail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detail {
    /// Only findings that are not `pass`: a tuned host writes a handful of series instead of
    /// one per rule and target (~164), which at fleet scale (10,000 hosts) is the difference
    /// between thousands and millions of series in Prometheus.
    #[default]
    Failing,
    /// Every rule and target, pass included.
    All,
}

/// The textfile of one report with every rule's series (`--prom-detail all`). `duration` is how
/// long the scan took, when measured.
pub fn render(r: &Report, duration: Option<f64>) -> String {
    render_with(r, duration, Detail::All)
}

/// The textfile of one report; `detail` chooses which per-rule series are written (the summary
/// families are always complete). The families come in a fixed order, one step each.
pub fn render_with(r: &Report, duration: Option<f64>, detail: Detail) -> String {
    let mut w = Writer::new();
    write_platform_note(&mut w, r);
    write_scores(&mut w, r);
    write_coverage(&mut w, r);
    write_insufficient_evidence(&mut w, r);
    write_unevaluated(&mut w, r);
    write_finding_counts(&mut w, r);
    write_rule_status(&mut w, r, detail);
    write_scan_totals(&mut w, r);
    super::prom_failure::success_families(&mut w, crate::util::parse_rfc3339(&r.generated_at));
    write_scan_meta(&mut w, r, duration);
    write_operator_labels(&mut w, r);
    w.finish()
}

/// `kvmaudit_platform_note`, only when the host is not the guide's platform.
fn write_platform_note(w: &mut Writer, r: &Report) {
    if let Some(note) = &r.host.platform_note {
        w.family(
            "kvmaudit_platform_note",
            "gauge",
            "Present (always 1) when the host is not the guide's platform (Intel Ice Lake-SP) or \
             cannot run KVM; the note label says which. Read the score with it.",
        );
        w.sample("kvmaudit_platform_note", &[("note", note)], 1.0);
    }
}

/// `kvmaudit_score`: overall, host, and each VM once (two QEMU processes may share a label).
fn write_scores(w: &mut Writer, r: &Report) {
    w.family(
        "kvmaudit_score",
        "gauge",
        "Tuning score 0-100 (scope overall: 0.4 x host + 0.6 x vCPU-weighted VM mean; host; vm). \
         Absent when nothing scored could be evaluated.",
    );
    if let Some(v) = r.score.value {
        w.sample(
            "kvmaudit_score",
            &[("scope", "overall"), ("target", "host")],
            v,
        );
    }
    if let Some(v) = r.score.host {
        w.sample(
            "kvmaudit_score",
            &[("scope", "host"), ("target", "host")],
            v,
        );
    }
    let mut vm_seen = std::collections::BTreeSet::new();
    for vm in &r.vms {
        let target = format!("vm:{}", vm.display());
        if let (Some(v), true) = (vm.score.value, vm_seen.insert(target.clone())) {
            w.sample("kvmaudit_score", &[("scope", "vm"), ("target", &target)], v);
        }
    }
}

/// `kvmaudit_coverage_ratio`: overall and each VM once.
fn write_coverage(w: &mut Writer, r: &Report) {
    w.family(
        "kvmaudit_coverage_ratio",
        "gauge",
        "Share (0-1) of the applicable rule weight that could be evaluated; low coverage means \
         many rules were unknown.",
    );
    if let Some(v) = r.score.coverage {
        w.sample(
            "kvmaudit_coverage_ratio",
            &[("scope", "overall"), ("target", "host")],
            v,
        );
    }
    let mut vm_seen = std::collections::BTreeSet::new();
    for vm in &r.vms {
        let target = format!("vm:{}", vm.display());
        if let (Some(v), true) = (vm.score.coverage, vm_seen.insert(target.clone())) {
            w.sample(
                "kvmaudit_coverage_ratio",
                &[("scope", "vm"), ("target", &target)],
                v,
            );
        }
    }
}

/// `kvmaudit_insufficient_evidence`: for the overall score and every scored VM.
fn write_insufficient_evidence(w: &mut Writer, r: &Report) {
    w.family(
        "kvmaudit_insufficient_evidence",
        "gauge",
        "1 when the score rests on less than half the applicable rule weight (coverage < 0.5): \
         read it as insufficient evidence, not as a grade.",
    );
    if r.score.value.is_some() {
        w.sample(
            "kvmaudit_insufficient_evidence",
            &[("scope", "overall"), ("target", "host")],
            f64::from(u8::from(r.score.insufficient_evidence)),
        );
    }
    for vm in r.vms.iter().filter(|vm| vm.score.value.is_some()) {
        let target = format!("vm:{}", vm.display());
        w.sample(
            "kvmaudit_insufficient_evidence",
            &[("scope", "vm"), ("target", &target)],
            f64::from(u8::from(vm.score.insufficient_evidence)),
        );
    }
}

/// `kvmaudit_unevaluated_ratio` by reason, only when the score says why weight was unknown.
fn write_unevaluated(w: &mut Writer, r: &Report) {
    if r.score.not_readable.is_some() || r.score.not_evaluated.is_some() {
        w.family(
            "kvmaudit_unevaluated_ratio",
            "gauge",
            "Share (0-1) of the applicable rule weight left unknown, by reason: not_readable (the \
         evidence was unreadable or absent here) or not_evaluated (kvmaudit cannot evaluate it \
         from what it reads, e.g. inside guests).",
        );
        for (reason, v) in [
            ("not_readable", r.score.not_readable),
            ("not_evaluated", r.score.not_evaluated),
        ] {
            if let Some(v) = v {
                w.sample("kvmaudit_unevaluated_ratio", &[("reason", reason)], v);
            }
        }
    }
}

/// `kvmaudit_findings`: every status × severity pair, zeros included, so a rate never sees a
/// series vanish.
fn write_finding_counts(w: &mut Writer, r: &Report) {
    w.family(
        "kvmaudit_findings",
        "gauge",
        "Number of findings by status and severity in the last scan.",
    );
    let mut by: BTreeMap<(Status, Severity), u32> = BTreeMap::new();
    for f in &r.results {
        *by.entry((f.status, f.severity)).or_default() += 1;
    }
    for s in STATUSES {
        for sev in SEVERITIES {
            let n = by.get(&(s, sev)).copied().unwrap_or(0);
            w.sample(
                "kvmaudit_findings",
                &[("status", s.as_str()), ("severity", sev.as_str())],
                f64::from(n),
            );
        }
    }
}

/// `kvmaudit_rule_status`: one series per rule and target with its worst status (a rule may
/// give one target twice; node_exporter rejects duplicate series), pass only with `All`.
fn write_rule_status(w: &mut Writer, r: &Report, detail: Detail) {
    w.family(
        "kvmaudit_rule_status",
        "gauge",
        "One series per rule and target, always 1; the verdict is the status label (pass, fail, \
         warn, info, not_applicable, unknown, waived). Pass findings are left out unless the scan \
         ran with --prom-detail all. Alert on kvmaudit_rule_status{status=\"fail\"}.",
    );
    let mut per: BTreeMap<(&str, &str), (Status, Severity)> = BTreeMap::new();
    for f in &r.results {
        per.entry((&f.rule, &f.target))
            .and_modify(|e| {
                if status_rank(f.status) < status_rank(e.0) {
                    *e = (f.status, f.severity);
                }
            })
            .or_insert((f.status, f.severity));
    }
    let shown = per
        .iter()
        .filter(|(_, (status, _))| detail == Detail::All || *status != Status::Pass);
    for ((rule, target), (status, severity)) in shown {
        w.sample(
            "kvmaudit_rule_status",
            &[
                ("rule", rule),
                ("target", target),
                ("status", status.as_str()),
                ("severity", severity.as_str()),
            ],
            1.0,
        );
    }
}

/// `kvmaudit_blockers` and `kvmaudit_vms`.
fn write_scan_totals(w: &mut Writer, r: &Report) {
    w.family(
        "kvmaudit_blockers",
        "gauge",
        "Data-integrity failures (e.g. a disk with cache=unsafe), whatever the score says.",
    );
    w.sample("kvmaudit_blockers", &[], r.score.blockers.len() as f64);

    w.family("kvmaudit_vms", "gauge", "QEMU VMs found by the last scan.");
    w.sample("kvmaudit_vms", &[], r.vms.len() as f64);
}

/// `kvmaudit_scan_duration_seconds` (a sample only when measured) and `kvmaudit_info`.
fn write_scan_meta(w: &mut Writer, r: &Report, duration: Option<f64>) {
    w.family(
        "kvmaudit_scan_duration_seconds",
        "gauge",
        "Wall time of the last scan (collection, evaluation and scoring).",
    );
    if let Some(d) = duration {
        w.sample("kvmaudit_scan_duration_seconds", &[], d);
    }

    w.family(
        "kvmaudit_info",
        "gauge",
        "Always 1; labels carry the kvmaudit version, profile and report schema version.",
    );
    w.sample(
        "kvmaudit_info",
        &[
            ("version", &r.tool.version),
            ("profile", r.profile.as_str()),
            ("schema_version", &r.schema_version.to_string()),
        ],
        1.0,
    );
}

/// `kvmaudit_labels`, when the report carries valid operator labels.
fn write_operator_labels(w: &mut Writer, r: &Report) {
    // Operator labels as one info-style series, to join on (`* on() group_left(site)`): on
    // every series they would multiply the cardinality and could collide with rule, vm, status.
    let labels: Vec<(&str, &str)> = r
        .labels
        .iter()
        .filter(|(k, v)| {
            crate::labels::check_key(k).is_ok() && crate::labels::check_value(k, v).is_ok()
        })
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if !labels.is_empty() {
        w.family(
            "kvmaudit_labels",
            "gauge",
            "Always 1; labels carry the operator's labels (scan --label, the config file's [labels]).",
        );
        w.sample("kvmaudit_labels", &labels, 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn escapes_labels() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(escape_label("vm\r01"), "vm\\\\r01");
        assert_eq!(escape_help("x\\y\nz"), "x\\\\y\\nz");
        assert_eq!(value(f64::NAN), "NaN");
        assert_eq!(value(87.5), "87.5");
        assert_eq!(value(3.0), "3");
    }

    #[test]
    fn every_family_has_help_and_type_and_no_timestamps() {
        let mut r = sample::report(&sample::Spec::new(9, "hv09"));
        r.vms[0].name = "we\"ird\\name\nx".into();
        let text = render(&r, Some(1.25));
        let mut families = 0;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                families += 1;
                assert!(rest.ends_with(" gauge"), "{line}");
            } else if !line.starts_with('#') {
                // name{labels} value — exactly one value after the labels, no timestamp.
                let after = line.rsplit_once('}').map(|(_, v)| v).unwrap_or(line);
                let fields: Vec<&str> = after.split_whitespace().collect();
                let n = if line.contains('}') { 1 } else { 2 };
                assert_eq!(fields.len(), n, "{line}");
            }
        }
        assert_eq!(families, 11);
        assert!(text.contains("target=\"vm:we\\\"ird\\\\name\\nx\""));
        assert!(text.contains("kvmaudit_scan_duration_seconds 1.25\n"));
        assert!(text.contains("kvmaudit_last_scan_timestamp_seconds 1795694400\n"));
    }

    #[test]
    fn duplicate_rule_targets_collapse_to_the_worst() {
        let mut r = sample::report(&sample::Spec::new(2, "hv"));
        let mut dup = r.results[0].clone();
        dup.status = Status::Fail;
        r.results[0].status = Status::Pass;
        r.results.push(dup);
        let text = render(&r, None);
        let key = format!(
            "kvmaudit_rule_status{{rule=\"{}\",target=\"{}\"",
            r.results[0].rule, r.results[0].target
        );
        let lines: Vec<&str> = text.lines().filter(|l| l.starts_with(&key)).collect();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("status=\"fail\""));
    }
}
