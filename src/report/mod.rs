//! The Report: one host's findings and scores — the single source every renderer reads.
//! Its JSON form is the contract in design.md (schema_version 1): fields may be added, never
//! removed or changed in meaning.

pub mod host_block;
pub mod html;
pub mod junit;
pub mod oscal;
pub mod platform_note;
pub mod prom;
pub mod prom_failure;
pub mod rules_doc;
pub mod sample;
pub mod schema;
pub mod summary;
pub mod table;
pub mod target;
pub mod terminal;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

pub const REPORT_SCHEMA_VERSION: u32 = 1;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Warn,
    Info,
    NotApplicable,
    Unknown,
    Waived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Info => "info",
            Status::NotApplicable => "not_applicable",
            Status::Unknown => "unknown",
            Status::Waived => "waived",
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn weight(self) -> u32 {
        match self {
            Severity::High => 10,
            Severity::Medium => 5,
            Severity::Low => 2,
            Severity::Info => 0,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// Shared, possibly overcommitted hosts (the default).
    #[default]
    Throughput,
    /// Dedicated CPUs and memory: idle=poll, PLE off, cpu-pm=on, mem-lock=on expected.
    Latency,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Throughput => "throughput",
            Profile::Latency => "latency",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

/// One piece of evidence behind a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    pub source: String,
    pub observed: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Remediation {
    // Rule text, borrowed from the rule catalogue by the engine (see `Finding`).
    pub summary: Cow<'static, str>,
    /// Applying the fix needs a host reboot (kernel command line or firmware).
    pub reboot: bool,
    /// `fix --generate-script` can apply it (possibly only with an opt-in flag, see `mode`).
    pub automatable: bool,
    /// `yes`, `guarded` (script needs an explicit opt-in) or `no` (advice only).
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub mode: Cow<'static, str>,
    /// none | mod | vm | boot | bios | g-boot (catalogue legend).
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub disruption: Cow<'static, str>,
}

/// Why a finding is `waived`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WaiverNote {
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The status the rule gave before the waiver.
    pub original_status: Status,
}

/// One rule's verdict on one target.
// (Not a doc comment: doc comments become schema descriptions.) The rule's own texts (title,
// section, scope, remediation) are `Cow`: the engine borrows them from the rule catalogue,
// which lives for the whole run, instead of copying them for every finding (a host with
// 10,000 VMs has 600,000 findings). A report read back from JSON owns them. Serialized and in
// the schema they are plain strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub rule: String,
    pub title: Cow<'static, str>,
    pub section: Cow<'static, str>,
    pub scope: Cow<'static, str>,
    pub target: String,
    /// The VM this finding belongs to: its index in `vms` (absent for host findings). Group
    /// by this, not by `target`, which is display text and may be shared or hold a `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_index: Option<usize>,
    pub status: Status,
    pub severity: Severity,
    pub evidence: Vec<Evidence>,
    pub message: String,
    pub remediation: Remediation,
    /// The persistent configuration already holds the fix; a reboot or reload applies it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pending_reboot: bool,
    /// A data-integrity failure (`cache=unsafe`), reported apart from the score.
    #[serde(default, skip_serializing_if = "is_false")]
    pub blocker: bool,
    // Boxed: almost no finding has one, and inline it was 48 of a finding's 312 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Box<WaiverNote>>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

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
    /// ("not evaluated by kvmaudit": guest rules judged from the host).
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

fn is_zero(n: &u32) -> bool {
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VmEntry {
    pub name: String,
    /// The name shown when another VM has the same name (`myvm (pid 4242)`), which is also
    /// the `vm:LABEL` of its findings' targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// `-uuid` of the QEMU command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    pub source: String,
    pub score: VmScore,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// Guest NUMA nodes (`-numa node`), when there are two or more: such a VM may span host
    /// nodes by design, so advice never confines it to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_numa_nodes: Option<u32>,
}

impl VmEntry {
    /// The name to show: unique in the report.
    pub fn display(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub generated_at: String,
    pub profile: Profile,
    pub host: host_block::HostBlock,
    pub score: Score,
    pub vms: Vec<VmEntry>,
    /// Each rule's verdicts summed over its targets, in rule order, before `results`; `fleet`
    /// checks them against `score.counts` and the findings.
    #[serde(default)]
    pub rule_totals: Vec<RuleTotal>,
    pub results: Vec<Finding>,
    /// What kvmaudit could not see or had to assume, in words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Report {
    /// A report of the snapshot's host and VMs. Rules are added by the evaluation stage.
    pub fn new(
        snap: &crate::snapshot::Snapshot,
        host: &crate::model::host::HostModel,
        profile: Profile,
    ) -> Report {
        let vms = host
            .vms
            .iter()
            .map(|vm| VmEntry {
                name: vm.name(),
                label: (vm.label != vm.name()).then(|| vm.label.clone()),
                pid: vm.pid,
                uuid: vm.model.uuid.clone(),
                source: vm.source.clone(),
                score: VmScore {
                    value: None,
                    coverage: None,
                    insufficient_evidence: false,
                },
                vcpus: vm.model.vcpus(),
                memory_bytes: vm.model.memory.size_bytes,
                machine: vm.model.machine.machine_type.clone(),
                guest_numa_nodes: u32::try_from(vm.model.numa_nodes.len())
                    .ok()
                    .filter(|n| *n > 1),
            })
            .collect();
        let mut notes = snap.notes.clone();
        notes.extend(host.cpu_notes.iter().cloned());
        if let Some(p) = &host.platform {
            notes.extend(
                p.notes
                    .iter()
                    .map(|n| format!("SMBIOS ({}): {n}", snap.smbios.path)),
            );
        }
        Report {
            schema_version: REPORT_SCHEMA_VERSION,
            tool: ToolInfo {
                name: "kvmaudit".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            generated_at: crate::util::now_rfc3339(),
            profile,
            host: host_block::HostBlock::from_model(snap, host),
            score: Score {
                max: 100.0,
                ..Default::default()
            },
            vms,
            rule_totals: Vec::new(),
            results: Vec::new(),
            notes,
        }
    }
}
