//! Renderers of the Report (table, terminal, JSON schema, HTML, JUnit, Prometheus) and the
//! stage that builds a report's host block. The Report itself and its parts are vocabulary
//! shared with `rules/`: they live in [`crate::vocab`] and are re-exported here, so
//! `crate::report::Finding` keeps working. Nothing here imports `crate::rules`.

pub mod host_block;
pub mod html;
pub mod junit;
pub mod oscal;
pub mod platform_note;
pub mod prom;
pub mod prom_failure;
pub mod rules_doc;
/// Old path of [`crate::testkit::sample_report`], for tests written against it.
#[cfg(any(test, feature = "test-support"))]
pub use crate::testkit::sample_report as sample;
pub mod schema;
pub mod summary;
pub mod table;
pub mod target;
pub mod terminal;

pub use crate::vocab::{
    Counts, Datum, Evidence, Finding, Profile, Remediation, Report, RuleTotal, Score, Severity,
    Status, ToolInfo, VmEntry, VmScore, WaiverNote, REPORT_SCHEMA_VERSION,
};

impl Report {
    /// A report of the snapshot's host and VMs. Rules are added by the evaluation stage.
    pub fn new(
        snap: &crate::snapshot::Snapshot,
        host: &crate::model::host::HostModel,
        profile: Profile,
    ) -> Report {
        let vms = host
            .all_vms()
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
                libvirt: vm.model.libvirt,
                state: (vm.state != crate::model::host::VmState::Running)
                    .then(|| vm.state.as_str().to_string()),
            })
            .collect();
        let mut notes = snap.notes.clone();
        notes.extend(host.domain_notes.iter().cloned());
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
            labels: Default::default(),
        }
    }
}
