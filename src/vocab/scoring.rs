//! Scoring, exactly as catalogue §2: credit pass 1, warn 0.5, fail 0; weights by (escalated)
//! severity; a device-level rule's credit is the mean over its devices; coverage is the share of
//! applicable weight that could be evaluated.

use super::finding::Finding;
use super::tally::Counts;
use super::verdict::{Severity, Status};
use std::collections::BTreeMap;

fn credit(s: Status) -> Option<f64> {
    match s {
        Status::Pass => Some(1.0),
        Status::Warn => Some(0.5),
        Status::Fail => Some(0.0),
        _ => None,
    }
}

/// Score of one unit (the host, or one VM): value 0–100 and coverage 0–1.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UnitScore {
    pub value: Option<f64>,
    pub coverage: Option<f64>,
    /// Share of applicable weight left unknown because its evidence was unreadable or absent
    /// where kvmaudit looked: more privilege, a fuller tree or a live scan may evaluate it.
    pub not_readable: Option<f64>,
    /// Share of applicable weight kvmaudit cannot evaluate from any evidence it reads: guest
    /// rules judged from the host (what runs inside the guest needs a guest channel).
    pub not_evaluated: Option<f64>,
}

/// A score is shown as "insufficient evidence", not as a grade, when less than this share of
/// the applicable rule weight could be evaluated: a 0.0 or a 100 from a handful of rules says
/// more about the evidence than about the host.
pub const MIN_COVERAGE: f64 = 0.5;

/// Whether a score stands on too little evidence to be shown as a grade (see [`MIN_COVERAGE`]).
pub fn insufficient_evidence(value: Option<f64>, coverage: Option<f64>) -> bool {
    value.is_some() && coverage.map_or(true, |c| c < MIN_COVERAGE)
}

/// Score the findings that belong to one unit.
pub fn score_unit<'a>(findings: impl Iterator<Item = &'a Finding>) -> UnitScore {
    // rule -> (weight, credits of scored findings, applicable count, evaluated count)
    let mut by_rule: BTreeMap<&str, (u32, Vec<f64>, u32, u32)> = BTreeMap::new();
    // rule -> unknown findings kvmaudit cannot evaluate from what it reads (guest scope)
    let mut beyond: BTreeMap<&str, u32> = BTreeMap::new();
    for f in findings {
        if f.status == Status::Unknown && f.scope == "guest" {
            *beyond.entry(&f.rule).or_default() += 1;
        }
        let e = by_rule.entry(&f.rule).or_insert((0, Vec::new(), 0, 0));
        let w = f.severity.weight();
        let applicable = matches!(
            f.status,
            Status::Pass | Status::Warn | Status::Fail | Status::Unknown
        );
        if applicable {
            e.0 = e.0.max(w);
            e.2 += 1;
        }
        if let Some(c) = credit(f.status) {
            e.1.push(c);
            e.3 += 1;
        }
    }
    let (mut num, mut den, mut cov_num, mut cov_den) = (0.0, 0.0, 0.0, 0.0);
    let mut beyond_num = 0.0;
    for (rule, (w, credits, applicable, evaluated)) in &by_rule {
        let w = f64::from(*w);
        if *applicable == 0 || w == 0.0 {
            continue;
        }
        cov_den += w;
        cov_num += w * f64::from(*evaluated) / f64::from(*applicable);
        let out_of_reach = beyond.get(rule).copied().unwrap_or(0).min(*applicable);
        beyond_num += w * f64::from(out_of_reach) / f64::from(*applicable);
        if !credits.is_empty() {
            let mean = credits.iter().sum::<f64>() / credits.len() as f64;
            num += w * mean;
            den += w;
        }
    }
    let share = |x: f64| (cov_den > 0.0).then(|| round3(x / cov_den));
    UnitScore {
        value: (den > 0.0).then(|| round1(100.0 * num / den)),
        coverage: share(cov_num),
        not_readable: share((cov_den - cov_num - beyond_num).max(0.0)),
        not_evaluated: share(beyond_num),
    }
}

pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// 0.4 × host + 0.6 × vCPU-weighted mean of VM scores; the host score alone without VM scores.
pub fn overall(host: Option<f64>, vms: &[(Option<f64>, u32)]) -> Option<f64> {
    let scored: Vec<(f64, f64)> = vms
        .iter()
        .filter_map(|(v, w)| v.map(|v| (v, f64::from((*w).max(1)))))
        .collect();
    let wsum: f64 = scored.iter().map(|(_, w)| w).sum();
    let vm_mean = (wsum > 0.0).then(|| scored.iter().map(|(v, w)| v * w).sum::<f64>() / wsum);
    match (host, vm_mean) {
        (Some(h), Some(v)) => Some(round1(0.4 * h + 0.6 * v)),
        (Some(h), None) => Some(h),
        (None, Some(v)) => Some(round1(v)),
        (None, None) => None,
    }
}

pub fn counts<'a>(findings: impl Iterator<Item = &'a Finding>) -> Counts {
    let mut c = Counts::default();
    for f in findings {
        match f.status {
            Status::Pass => c.pass += 1,
            Status::Fail => c.fail += 1,
            Status::Warn => c.warn += 1,
            Status::Info => c.info += 1,
            Status::NotApplicable => c.not_applicable += 1,
            Status::Unknown => c.unknown += 1,
            Status::Waived => c.waived += 1,
        }
    }
    c
}

/// Severity threshold test for `--fail-on`.
pub fn at_or_above(s: Severity, threshold: Severity) -> bool {
    s >= threshold
}
