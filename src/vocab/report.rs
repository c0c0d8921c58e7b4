//! The Report: one host's findings and scores — the single source every renderer reads.
//! Its JSON form is the contract in design.md (schema_version 1): fields may be added, never
//! removed or changed in meaning.

use super::finding::is_false;
use super::finding::Finding;
use super::host::HostBlock;
use super::tally::{RuleTotal, Score, VmScore};
use super::verdict::Profile;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const REPORT_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
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
    /// libvirt manages the VM (its command line carries libvirt's master-key secret): its
    /// fixes are `virt-xml` edits of the domain definition.
    #[serde(default, skip_serializing_if = "is_false")]
    pub libvirt: bool,
    /// `defined, not running` for a libvirt definition audited without a process (its
    /// score is its own and stays out of the host's); absent for running VMs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl VmEntry {
    /// A definition audited before it runs (kept out of the running score).
    pub fn is_defined_only(&self) -> bool {
        self.state.is_some()
    }

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
    pub host: HostBlock,
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
    /// Operator labels (`scan --label KEY=VALUE`, the config file's `[labels]`): keys are
    /// Prometheus label names, values printable text of at most 256 characters.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
}
