//! `kvmaudit diff OLD NEW`: what changed on one host between two reports (or snapshots,
//! evaluated here): findings new, resolved and changed per target, score and coverage deltas.
//!
//! Exit status: 2 when something regressed (a finding got worse, a score or a coverage
//! dropped), so a cron job can alert on drift; 0 otherwise; 1 on bad input, including two
//! files of different hosts (unless `--any-host`): a diff across hosts is noise, not drift.

pub mod load;
pub mod render;

use crate::report::{Finding, Report, Severity, Status};
use serde::Serialize;
use std::collections::BTreeMap;

/// A score or coverage that moved by less than this did not move: both are rounded for the
/// report (scores to 0.1, coverage to 0.001), so a smaller delta is rounding.
const SCORE_EPSILON: f64 = 0.05;
const COVERAGE_EPSILON: f64 = 0.0005;

/// How bad a status is, for "got worse": fail > warn > unknown > the rest. `unknown` ranks
/// above pass because losing the evidence for a passing rule is a loss (the rule may fail
/// unseen); `waived`, `info` and `not_applicable` rank with pass (nothing to act on).
pub fn badness(s: Status) -> u8 {
    match s {
        Status::Fail => 3,
        Status::Warn => 2,
        Status::Unknown => 1,
        Status::Pass | Status::Info | Status::Waived | Status::NotApplicable => 0,
    }
}

/// One side of the comparison, as shown.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub path: String,
    /// `report` or `snapshot` (evaluated by this kvmaudit).
    pub kind: &'static str,
    pub generated_at: String,
    pub hostname: Option<String>,
    pub machine_id: Option<String>,
    pub smbios_uuid: Option<String>,
}

/// A value on both sides; `delta` = new − old when both are known.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Delta {
    pub old: Option<f64>,
    pub new: Option<f64>,
    pub delta: Option<f64>,
}

impl Delta {
    fn of(old: Option<f64>, new: Option<f64>) -> Delta {
        let delta = match (old, new) {
            (Some(a), Some(b)) => Some(((b - a) * 1000.0).round() / 1000.0),
            _ => None,
        };
        Delta { old, new, delta }
    }

    /// Lower than before by more than `eps`, or known before and unknown now.
    fn dropped(&self, eps: f64) -> bool {
        match (self.old, self.new) {
            (Some(a), Some(b)) => b < a - eps,
            (Some(_), None) => true,
            _ => false,
        }
    }

    fn moved(&self, eps: f64) -> bool {
        match (self.old, self.new) {
            (Some(a), Some(b)) => (b - a).abs() > eps,
            (a, b) => a.is_some() != b.is_some(),
        }
    }
}

/// A finding on one side only.
#[derive(Debug, Clone, Serialize)]
pub struct Seen {
    pub rule: String,
    pub title: String,
    pub status: Status,
    pub severity: Severity,
    pub message: String,
}

/// A finding whose status (or severity) differs.
#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    pub rule: String,
    pub title: String,
    pub old_status: Status,
    pub new_status: Status,
    pub old_severity: Severity,
    pub new_severity: Severity,
    /// The new status is worse (see [`badness`]), or as bad with a higher severity.
    pub worse: bool,
    pub message: String,
}

/// Everything that changed on one target (`host`, `vm:NAME`, ...).
#[derive(Debug, Clone, Serialize)]
pub struct TargetDiff {
    pub target: String,
    /// The VM's score (for `vm:` targets present on either side).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<Delta>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Delta>,
    pub new: Vec<Seen>,
    pub resolved: Vec<Seen>,
    pub changed: Vec<Changed>,
}

/// The diff as `--format json` writes it.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub kind: &'static str,
    pub old: Side,
    pub new: Side,
    /// The two sides are of different hosts (only with `--any-host`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identity_differences: Vec<String>,
    pub score: Delta,
    pub host_score: Delta,
    pub coverage: Delta,
    pub blockers: Delta,
    /// Why the exit status is 2, one line each; empty when nothing regressed.
    pub regressions: Vec<String>,
    pub regressed: bool,
    /// Targets with at least one change, `host` first.
    pub targets: Vec<TargetDiff>,
}

/// The worst finding of each (target, rule): a rule may report one target twice.
fn by_target(r: &Report) -> BTreeMap<(&str, &str), &Finding> {
    let mut m: BTreeMap<(&str, &str), &Finding> = BTreeMap::new();
    for f in &r.results {
        m.entry((f.target.as_str(), f.rule.as_str()))
            .and_modify(|e| {
                if (badness(f.status), f.severity) > (badness(e.status), e.severity) {
                    *e = f;
                }
            })
            .or_insert(f);
    }
    m
}

fn seen(f: &Finding) -> Seen {
    Seen {
        rule: f.rule.clone(),
        title: f.title.to_string(),
        status: f.status,
        severity: f.severity,
        message: f.message.clone(),
    }
}

/// The VM scores of a report by target (`vm:LABEL`).
fn vm_scores(r: &Report) -> BTreeMap<String, (Option<f64>, Option<f64>)> {
    r.vms
        .iter()
        .map(|v| {
            (
                format!("vm:{}", v.display()),
                (v.score.value, v.score.coverage),
            )
        })
        .collect()
}

fn blank(t: &str) -> TargetDiff {
    TargetDiff {
        target: t.to_string(),
        score: None,
        coverage: None,
        new: Vec::new(),
        resolved: Vec::new(),
        changed: Vec::new(),
    }
}

/// Target order: `host` first, then by name.
fn target_key(t: &str) -> (bool, &str) {
    (t != "host", t)
}

/// Compare two reports of one host: finding by finding (per target and rule), then the VM
/// scores, then the headline numbers; the regressions list the headline first.
pub fn compare(old: &Report, new: &Report, old_side: Side, new_side: Side) -> Diff {
    let mut regressions = Vec::new();
    let mut out: BTreeMap<String, TargetDiff> = BTreeMap::new();
    compare_findings(old, new, &mut out, &mut regressions);
    compare_vm_scores(old, new, &mut out, &mut regressions);
    let score = Delta::of(old.score.value, new.score.value);
    let host_score = Delta::of(old.score.host, new.score.host);
    let coverage = Delta::of(old.score.coverage, new.score.coverage);
    let blockers = Delta::of(
        Some(old.score.blockers.len() as f64),
        Some(new.score.blockers.len() as f64),
    );
    let mut head = headline_regressions(old, new, &score, &host_score, &coverage);
    head.append(&mut regressions);
    let targets = ordered_targets(out);
    let identity_differences = identity(old).differences(&identity(new));
    Diff {
        kind: "kvmaudit-diff",
        old: old_side,
        new: new_side,
        identity_differences,
        score,
        host_score,
        coverage,
        blockers,
        regressed: !head.is_empty(),
        regressions: head,
        targets,
    }
}

/// New, changed and resolved findings per target; a new finding that fails or warns, or a
/// status or severity that got worse, is a regression.
fn compare_findings(
    old: &Report,
    new: &Report,
    out: &mut BTreeMap<String, TargetDiff>,
    regressions: &mut Vec<String>,
) {
    let (a, b) = (by_target(old), by_target(new));
    for (&(target, rule), f) in &b {
        let mut td = out.remove(target).unwrap_or_else(|| blank(target));
        match a.get(&(target, rule)) {
            None => {
                if badness(f.status) >= 2 {
                    regressions.push(format!(
                        "{rule} on {target}: new finding, {}",
                        f.status.as_str()
                    ));
                }
                td.new.push(seen(f));
            }
            Some(o) if o.status != f.status || o.severity != f.severity => {
                let worse = (badness(f.status), f.severity) > (badness(o.status), o.severity)
                    && badness(f.status) > 0;
                if worse {
                    regressions.push(format!(
                        "{rule} on {target}: {} → {}",
                        o.status.as_str(),
                        f.status.as_str()
                    ));
                }
                td.changed.push(Changed {
                    rule: rule.to_string(),
                    title: f.title.to_string(),
                    old_status: o.status,
                    new_status: f.status,
                    old_severity: o.severity,
                    new_severity: f.severity,
                    worse,
                    message: f.message.clone(),
                });
            }
            Some(_) => {}
        }
        out.insert(target.to_string(), td);
    }
    for (&(target, rule), f) in &a {
        if !b.contains_key(&(target, rule)) {
            let mut td = out.remove(target).unwrap_or_else(|| blank(target));
            td.resolved.push(seen(f));
            out.insert(target.to_string(), td);
        }
    }
}

/// Each VM's score and coverage; a drop of a VM present in both is a regression (a VM that is
/// gone is not: its findings are listed as resolved).
fn compare_vm_scores(
    old: &Report,
    new: &Report,
    out: &mut BTreeMap<String, TargetDiff>,
    regressions: &mut Vec<String>,
) {
    let (va, vb) = (vm_scores(old), vm_scores(new));
    let vms: std::collections::BTreeSet<&String> = va.keys().chain(vb.keys()).collect();
    for t in vms {
        let (sa, ca) = va.get(t).copied().unwrap_or((None, None));
        let (sb, cb) = vb.get(t).copied().unwrap_or((None, None));
        let (score, coverage) = (Delta::of(sa, sb), Delta::of(ca, cb));
        // A VM that is gone is not a drop: its findings are listed as resolved.
        if vb.contains_key(t) && va.contains_key(t) {
            if score.dropped(SCORE_EPSILON) {
                regressions.push(format!("score of {t}: {}", render::delta_words(&score, 1)));
            }
            if coverage.dropped(COVERAGE_EPSILON) {
                regressions.push(format!(
                    "coverage of {t}: {}",
                    render::delta_words(&coverage, 3)
                ));
            }
        }
        if score.moved(SCORE_EPSILON) || coverage.moved(COVERAGE_EPSILON) {
            let mut td = out.remove(t).unwrap_or_else(|| blank(t));
            td.score = Some(score);
            td.coverage = Some(coverage);
            out.insert(t.clone(), td);
        }
    }
}

/// The host-wide regressions: overall score, host score and coverage drops, more blockers.
fn headline_regressions(
    old: &Report,
    new: &Report,
    score: &Delta,
    host_score: &Delta,
    coverage: &Delta,
) -> Vec<String> {
    let mut head = Vec::new();
    if score.dropped(SCORE_EPSILON) {
        head.push(format!("score: {}", render::delta_words(score, 1)));
    }
    if host_score.dropped(SCORE_EPSILON) {
        head.push(format!(
            "host score: {}",
            render::delta_words(host_score, 1)
        ));
    }
    if coverage.dropped(COVERAGE_EPSILON) {
        head.push(format!("coverage: {}", render::delta_words(coverage, 3)));
    }
    if new.score.blockers.len() > old.score.blockers.len() {
        head.push(format!(
            "blockers: {} → {}",
            old.score.blockers.len(),
            new.score.blockers.len()
        ));
    }
    head
}

/// The targets with something to say, `host` first then by name, each list by rule.
fn ordered_targets(out: BTreeMap<String, TargetDiff>) -> Vec<TargetDiff> {
    let mut targets: Vec<TargetDiff> = out
        .into_values()
        .filter(|t| {
            t.score.is_some()
                || !t.new.is_empty()
                || !t.resolved.is_empty()
                || !t.changed.is_empty()
        })
        .collect();
    targets.sort_by(|x, y| target_key(&x.target).cmp(&target_key(&y.target)));
    for t in &mut targets {
        t.new.sort_by(|x, y| x.rule.cmp(&y.rule));
        t.resolved.sort_by(|x, y| x.rule.cmp(&y.rule));
        t.changed.sort_by(|x, y| x.rule.cmp(&y.rule));
    }
    targets
}

/// A report's host identity, each part only in its canonical spelling.
pub fn identity(r: &Report) -> crate::model::identity::HostIdentity {
    crate::model::identity::HostIdentity {
        hostname: r
            .host
            .hostname
            .as_deref()
            .and_then(crate::fix::identity::hostname),
        machine_id: r
            .host
            .machine_id
            .as_deref()
            .and_then(crate::model::identity::machine_id),
        smbios_uuid: r
            .host
            .smbios_uuid
            .as_deref()
            .and_then(crate::model::identity::smbios_uuid),
    }
}

/// What `diff` was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub old: std::path::PathBuf,
    pub new: std::path::PathBuf,
    pub json: bool,
    pub any_host: bool,
    pub profile: crate::report::Profile,
}

/// Run `kvmaudit diff`; the exit status.
pub fn run(o: &Options) -> crate::error::Result<i32> {
    let (old, old_side) = load::load(&o.old, o.profile)?;
    let (new, new_side) = load::load(&o.new, o.profile)?;
    let differences = identity(&old).differences(&identity(&new));
    if !differences.is_empty() && !o.any_host {
        return Err(crate::error::Error::Usage(format!(
            "{} and {} are of different hosts ({}); diff --any-host compares them anyway",
            o.old.display(),
            o.new.display(),
            differences.join("; ")
        )));
    }
    let d = compare(&old, &new, old_side, new_side);
    let bytes = if o.json {
        let mut v = serde_json::to_vec_pretty(&d)
            .map_err(|e| crate::error::Error::Usage(format!("cannot serialize the diff: {e}")))?;
        v.push(b'\n');
        v
    } else {
        render::table(&d).into_bytes()
    };
    crate::util::write_output(std::path::Path::new("-"), &bytes)?;
    Ok(if d.regressed { 2 } else { 0 })
}
