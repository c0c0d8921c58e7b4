//! One rule's verdict on one target, with the evidence behind it and what would fix it.

use super::verdict::{Severity, Status};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

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
    /// Typed observed/expected values (counts, nodes, CPU lists, devices) for the fix
    /// planner; absent when the rule states none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<super::Datum>,
    pub remediation: Remediation,
    /// The persistent configuration already holds the fix; a reboot or reload applies it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pending_reboot: bool,
    /// A data-integrity failure (`cache=unsafe`), reported apart from the score.
    #[serde(default, skip_serializing_if = "is_false")]
    pub blocker: bool,
    // Boxed: almost no finding has one, and inline it would make every finding 48 bytes bigger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Box<WaiverNote>>,
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}
