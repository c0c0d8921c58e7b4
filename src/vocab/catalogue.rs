//! Rule metadata from `rules/*.toml`, embedded in the binary so that `kvmaudit rules` and
//! `explain` work anywhere.

use super::verdict::Severity;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The TOML files, in guide order. Adding a file here is all it takes to load it.
const FILES: &[(&str, &str)] = &[
    (
        "rules/baseline.toml",
        include_str!("../../rules/baseline.toml"),
    ),
    ("rules/bios.toml", include_str!("../../rules/bios.toml")),
    (
        "rules/cpufreq.toml",
        include_str!("../../rules/cpufreq.toml"),
    ),
    ("rules/numa.toml", include_str!("../../rules/numa.toml")),
    ("rules/memory.toml", include_str!("../../rules/memory.toml")),
    ("rules/idle.toml", include_str!("../../rules/idle.toml")),
    (
        "rules/overcommit.toml",
        include_str!("../../rules/overcommit.toml"),
    ),
    ("rules/net.toml", include_str!("../../rules/net.toml")),
    ("rules/blk.toml", include_str!("../../rules/blk.toml")),
    ("rules/guest.toml", include_str!("../../rules/guest.toml")),
    ("rules/pmem.toml", include_str!("../../rules/pmem.toml")),
    ("rules/qat.toml", include_str!("../../rules/qat.toml")),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Host,
    /// One QEMU process (the catalogue's `qemu-process`).
    Vm,
    /// The OS inside a VM.
    Guest,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Host => "host",
            Scope::Vm => "vm",
            Scope::Guest => "guest",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Automatable {
    Yes,
    /// Only with an explicit opt-in flag and pre-checks.
    Guarded,
    No,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationMeta {
    pub summary: String,
    #[serde(default)]
    pub runtime: String,
    #[serde(default)]
    pub persistent: String,
    #[serde(default)]
    pub libvirt: String,
    /// none | mod | vm | boot | bios | g-boot, possibly combined ("none / bios").
    pub disruption: String,
    pub automatable: Automatable,
    #[serde(default)]
    pub rollback: String,
}

impl RemediationMeta {
    /// Whether applying the fix needs a host reboot (kernel cmdline or firmware).
    pub fn needs_reboot(&self) -> bool {
        self.disruption
            .split(['/', ' ', ','])
            .any(|d| d == "boot" || d == "bios")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleMeta {
    pub id: String,
    pub title: String,
    /// Guide section(s), e.g. "3.3.4".
    pub section: String,
    pub scope: Scope,
    pub severity: Severity,
    /// When the rule escalates and to what, in words ("high when any VM has a VFIO device").
    #[serde(default)]
    pub escalation: String,
    /// A failure is a data-integrity blocker (reported apart from the score).
    #[serde(default)]
    pub data_integrity: bool,
    /// Judges firmware or the host's KVM: not applicable when kvmaudit runs inside a VM.
    #[serde(default)]
    pub bare_metal: bool,
    pub rationale: String,
    /// What is read, with the privilege it needs.
    pub evidence: Vec<String>,
    /// The pass condition in words.
    pub pass: String,
    pub remediation: RemediationMeta,
    /// Where the guide is wrong, incomplete or dated on this point.
    #[serde(default)]
    pub slip: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleMeta>,
}

/// Parse one TOML file of rules; the error names the file.
pub fn parse_file(name: &str, text: &str) -> Result<Vec<RuleMeta>, String> {
    toml::from_str::<RuleFile>(text)
        .map(|f| f.rule)
        .map_err(|e| format!("{name}: {e}"))
}

/// Every rule's metadata. The embedded files are checked by the test suite, so a parse error
/// here is a build defect; it is reported, not panicked on.
pub fn catalogue() -> &'static [RuleMeta] {
    static CAT: OnceLock<Vec<RuleMeta>> = OnceLock::new();
    CAT.get_or_init(|| {
        let mut all = Vec::new();
        for (name, text) in FILES {
            match parse_file(name, text) {
                Ok(mut rules) => all.append(&mut rules),
                Err(e) => eprintln!("kvmaudit: internal error in embedded rule metadata: {e}"),
            }
        }
        all
    })
}

pub fn find(id: &str) -> Option<&'static RuleMeta> {
    catalogue().iter().find(|r| r.id == id)
}

/// All embedded files with their text (for tests).
pub fn files() -> &'static [(&'static str, &'static str)] {
    FILES
}
