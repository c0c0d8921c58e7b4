//! Counts and scores as the report carries them: per status, per rule, per VM, overall.

use super::finding::{is_false, Finding};
use super::verdict::{Severity, Status};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
pub struct Counts {
    pub pass: u32,
    pub fail: u32,
    pub warn: u32,
    pub info: u32,
    pub not_applicable: u32,
    pub unknown: u32,
    pub waived: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
pub struct Score {
    /// The overall score, 0–100: 0.4 × host + 0.6 × vCPU-weighted mean of VM scores (the host
    /// score alone when no VM was scored); `null` when no scored rule could be evaluated.
    pub value: Option<f64>,
    pub max: f64,
    /// The host-scope score alone.
    #[serde(default)]
    pub host: Option<f64>,
    /// Targets of data-integrity failures (`cache=unsafe`), whatever the score says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blockers: Vec<String>,
    /// Share of applicable rule weight that could be evaluated (0–1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<f64>,
    /// Share of applicable rule weight unknown because the evidence was unreadable or absent
    /// where kvmaudit looked ("not readable here": privilege, a partial tree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_readable: Option<f64>,
    /// Share of applicable rule weight kvmaudit cannot evaluate from any evidence it reads
    /// ("guest-side": guest rules judged from the host, which only a scan inside the guest decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_evaluated: Option<f64>,
    /// The overall score rests on less than half the applicable rule weight (`coverage` <
    /// 0.5): renderers show "insufficient evidence" instead of a grade.
    #[serde(default, skip_serializing_if = "is_false")]
    pub insufficient_evidence: bool,
    pub counts: Counts,
}

/// One rule's findings counted by status; zero counts are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RuleTotal {
    pub rule: String,
    pub title: Cow<'static, str>,
    pub section: Cow<'static, str>,
    /// The highest severity among the rule's findings (escalation raises some).
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pass: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fail: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub warn: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub info: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_applicable: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unknown: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub waived: u32,
}

pub(crate) fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl RuleTotal {
    /// Totals per rule, in the order each rule first appears in `findings`.
    pub fn of<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<RuleTotal> {
        let mut out: Vec<RuleTotal> = Vec::new();
        let mut index: std::collections::HashMap<&str, usize> = Default::default();
        for f in findings {
            let i = *index.entry(f.rule.as_str()).or_insert_with(|| {
                out.push(RuleTotal {
                    rule: f.rule.clone(),
                    title: f.title.clone(),
                    section: f.section.clone(),
                    severity: f.severity,
                    pass: 0,
                    fail: 0,
                    warn: 0,
                    info: 0,
                    not_applicable: 0,
                    unknown: 0,
                    waived: 0,
                });
                out.len() - 1
            });
            let t = &mut out[i];
            t.severity = t.severity.max(f.severity);
            let n = match f.status {
                Status::Pass => &mut t.pass,
                Status::Fail => &mut t.fail,
                Status::Warn => &mut t.warn,
                Status::Info => &mut t.info,
                Status::NotApplicable => &mut t.not_applicable,
                Status::Unknown => &mut t.unknown,
                Status::Waived => &mut t.waived,
            };
            *n = n.saturating_add(1);
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VmScore {
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<f64>,
    /// The VM's score rests on less than half its applicable rule weight (see `Score`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub insufficient_evidence: bool,
}
