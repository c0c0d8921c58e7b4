//! `fleet --baseline DIR`: the roll-up compared with an earlier one (the reports in DIR), host
//! by host, matched by identity: which hosts regressed since (score, host score or coverage
//! dropped, blockers added, rules newly failing or warning), which are new and which are gone.
//!
//! Hosts are matched by machine-id when both sides know it, else by SMBIOS UUID, else by
//! hostname: a re-imaged host keeps its UUID, and a cloned hostname does not make two hosts one.

use super::model::{Fleet, HostEntry};
use serde::Serialize;
use std::fmt::Write;

/// Rounding of the reports' scores (0.1) and coverage (0.001): smaller moves are not drops.
const SCORE_EPSILON: f64 = 0.05;
const COVERAGE_EPSILON: f64 = 0.0005;

#[derive(Debug, Clone, Serialize)]
pub struct Regressed {
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smbios_uuid: Option<String>,
    pub baseline_path: String,
    pub path: String,
    /// What got worse, one line each.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The paths the baseline was rolled up from.
    pub baseline: Vec<String>,
    pub baseline_hosts: usize,
    pub regressed: Vec<Regressed>,
    /// Hosts in the roll-up without a baseline report.
    pub new_hosts: Vec<String>,
    /// Baseline hosts with no report in the roll-up.
    pub missing_hosts: Vec<String>,
}

/// The same host on both sides (see the module doc for the order of the keys).
pub fn same_host(a: &HostEntry, b: &HostEntry) -> bool {
    if let (Some(x), Some(y)) = (&a.machine_id, &b.machine_id) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (&a.smbios_uuid, &b.smbios_uuid) {
        return x == y;
    }
    a.host == b.host
}

fn dropped(old: Option<f64>, new: Option<f64>, eps: f64) -> Option<String> {
    match (old, new) {
        (Some(a), Some(b)) if b < a - eps => Some(format!("{a} → {b}")),
        (Some(a), None) => Some(format!("{a} → none")),
        _ => None,
    }
}

/// What got worse on one host.
pub fn reasons(base: &HostEntry, now: &HostEntry) -> Vec<String> {
    let (b, n) = (&base.summary, &now.summary);
    let mut out = Vec::new();
    if let Some(d) = dropped(b.score, n.score, SCORE_EPSILON) {
        out.push(format!("score {d}"));
    }
    if let Some(d) = dropped(b.host_score, n.host_score, SCORE_EPSILON) {
        out.push(format!("host score {d}"));
    }
    if let Some(d) = dropped(b.coverage, n.coverage, COVERAGE_EPSILON) {
        out.push(format!("coverage {d}"));
    }
    if n.blockers.len() > b.blockers.len() {
        out.push(format!(
            "blockers {} → {}",
            b.blockers.len(),
            n.blockers.len()
        ));
    }
    let failing: Vec<&str> = now
        .failing_rules
        .iter()
        .filter(|r| !base.failing_rules.contains(r))
        .map(String::as_str)
        .collect();
    if !failing.is_empty() {
        out.push(format!("newly failing: {}", failing.join(", ")));
    }
    let warning: Vec<&str> = now
        .warning_rules
        .iter()
        .filter(|r| !base.warning_rules.contains(r) && !base.failing_rules.contains(r))
        .map(String::as_str)
        .collect();
    if !warning.is_empty() {
        out.push(format!("newly warning: {}", warning.join(", ")));
    }
    out
}

/// Compare the roll-up `now` with `base`.
pub fn compare(base: &Fleet, base_paths: &[String], now: &Fleet) -> Comparison {
    let mut regressed = Vec::new();
    let mut new_hosts = Vec::new();
    for h in &now.hosts {
        match base.hosts.iter().find(|b| same_host(b, h)) {
            Some(b) => {
                let why = reasons(b, h);
                if !why.is_empty() {
                    regressed.push(Regressed {
                        host: h.host.clone(),
                        machine_id: h.machine_id.clone(),
                        smbios_uuid: h.smbios_uuid.clone(),
                        baseline_path: b.path.clone(),
                        path: h.path.clone(),
                        reasons: why,
                    });
                }
            }
            None => new_hosts.push(h.host.clone()),
        }
    }
    let missing_hosts = base
        .hosts
        .iter()
        .filter(|b| !now.hosts.iter().any(|h| same_host(b, h)))
        .map(|b| b.host.clone())
        .collect();
    Comparison {
        baseline: base_paths.to_vec(),
        baseline_hosts: base.hosts.len(),
        regressed,
        new_hosts,
        missing_hosts,
    }
}

/// The roll-up JSON with the comparison under `baseline`.
pub fn json(f: &Fleet, c: &Comparison) -> Vec<u8> {
    let mut v = serde_json::to_value(f).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "baseline".into(),
            serde_json::to_value(c).unwrap_or_default(),
        );
    }
    let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
    out.push(b'\n');
    out
}

/// The table's section for the comparison (host names and paths come from the reports:
/// escaped and clipped).
pub fn table(c: &Comparison) -> String {
    let t = |s: &str| crate::report::table::clip(&crate::report::table::sanitize(s, false), 200);
    let mut out = format!(
        "\nSince the baseline ({} host(s) from {}): {} regressed, {} new, {} missing\n",
        c.baseline_hosts,
        t(&c.baseline.join(", ")),
        c.regressed.len(),
        c.new_hosts.len(),
        c.missing_hosts.len()
    );
    for r in &c.regressed {
        let _ = writeln!(
            out,
            "  REGRESSED {}: {}",
            t(&r.host),
            t(&r.reasons.join("; "))
        );
    }
    for h in &c.new_hosts {
        let _ = writeln!(out, "  new       {}", t(h));
    }
    for h in &c.missing_hosts {
        let _ = writeln!(out, "  missing   {}", t(h));
    }
    out
}
