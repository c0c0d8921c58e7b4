//! One fix builder per rule, listed in one table ([`REGISTRY`]) keyed by rule id: the planner
//! finds a rule's builder there, plans rules in the table's order, and a test proves that every
//! rule the catalogue marks automatable (yes/guarded) has one that yields a real step.
//!
//! Builders read facts (the snapshot, or a report's evidence) and the findings' typed data
//! ([`crate::report::Datum`]); they never parse a finding's prose back.

mod boot;
mod cpufreq;
mod guest;
mod idle;
pub mod kit;
mod memory;
mod numa;
mod qat;
pub mod vm;

use super::facts::Facts;
use super::step::Gate;
use crate::report::{Finding, Report};
pub use kit::RulePlan;

/// What a host builder gets: the rule, its gate, its failed/warn findings, the facts.
pub struct Input<'a> {
    pub rule: &'a str,
    pub gate: Gate,
    pub findings: &'a [&'a Finding],
    pub f: &'a Facts<'a>,
    pub report: &'a Report,
}

/// Steps for a host rule's findings, or why there are none (advice).
pub type HostBuilder = fn(&mut RulePlan, &Input) -> Result<(), String>;

/// How a rule's findings become changes.
#[derive(Clone, Copy)]
pub enum Builder {
    /// Host steps (sysfs, configuration files, kernel arguments, ...).
    Host(HostBuilder),
    /// `virt-xml` edits of a libvirt domain's persistent definition (run only with the
    /// script's `--with-vm-changes`).
    Vm(vm::VmBuilder),
}

/// Every rule with a fix builder, in the order the planner plans them: the governor before
/// EPP (a performance governor forces EPP), runtime fixes before the boot-time ones.
pub const REGISTRY: &[(&str, Builder)] = &[
    ("host.cpufreq.governor", Builder::Host(cpufreq::governor)),
    ("bios.power-policy", Builder::Host(cpufreq::power_policy)),
    ("bios.turbo", Builder::Host(cpufreq::turbo)),
    ("bios.c1e", Builder::Host(idle::cstates)),
    ("bios.c6", Builder::Host(idle::cstates)),
    ("host.numa.balancing", Builder::Host(numa::numa_balancing)),
    ("host.thp", Builder::Host(memory::thp)),
    ("host.ksm.tuning", Builder::Host(memory::ksm_tuning)),
    ("host.hugepages.pool", Builder::Host(memory::hugepages_pool)),
    (
        "host.hugepages.mount",
        Builder::Host(memory::hugepages_mount),
    ),
    ("host.irq.affinity", Builder::Host(numa::irq_affinity)),
    ("host.qat.sriov", Builder::Host(qat::sriov)),
    ("host.qat.vfio-bind", Builder::Host(qat::vfio_bind)),
    ("bios.ht", Builder::Host(boot::ht)),
    ("host.kvm.ple", Builder::Host(idle::ple)),
    ("host.iommu.enabled", Builder::Host(boot::iommu)),
    (
        "host.nohz-full.housekeeping",
        Builder::Host(idle::nohz_full),
    ),
    ("guest.blk.rq-affinity", Builder::Host(guest::rq_affinity)),
    ("guest.cmdline.no-idle", Builder::Host(guest::no_idle)),
    ("qemu.numa.vm-placement", Builder::Vm(vm::numatune)),
    ("qemu.numa.memory-locality", Builder::Vm(vm::numatune)),
    ("qemu.mem.merge", Builder::Vm(vm::nosharepages)),
    ("qemu.blk.cache", Builder::Vm(vm::disk_cache)),
    ("qemu.blk.aio", Builder::Vm(vm::disk_aio)),
    ("qemu.net.vhost", Builder::Vm(vm::net_vhost)),
    ("qemu.net.multiqueue", Builder::Vm(vm::net_queues)),
];

/// The builder of `rule`.
pub fn find(rule: &str) -> Option<Builder> {
    REGISTRY.iter().find(|(id, _)| *id == rule).map(|(_, b)| *b)
}

/// The position of `rule` in the planning order (rules without a builder come last).
pub fn rank(rule: &str) -> usize {
    REGISTRY
        .iter()
        .position(|(id, _)| *id == rule)
        .unwrap_or(REGISTRY.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::meta::{catalogue, Automatable};

    /// `automatable` in a rule's TOML is backed by code both ways: a rule is marked yes/guarded
    /// exactly when the registry has a builder for it, and every registry entry is a real rule.
    /// (tests/fix_script.rs proves each builder yields a real step where its rule fails.)
    #[test]
    fn automatable_iff_the_registry_has_a_builder() {
        let mut wrong = Vec::new();
        for m in catalogue() {
            let marked = m.remediation.automatable != Automatable::No;
            let built = find(&m.id).is_some();
            if marked != built {
                wrong.push(format!(
                    "{}: automatable = {:?} but {}",
                    m.id,
                    m.remediation.automatable,
                    if built {
                        "the registry has a builder"
                    } else {
                        "the registry has no builder"
                    }
                ));
            }
        }
        for (id, _) in REGISTRY {
            if crate::rules::meta::find(id).is_none() {
                wrong.push(format!("{id}: in the registry but not in the catalogue"));
            }
        }
        let mut ids: Vec<&str> = REGISTRY.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), REGISTRY.len(), "a rule is in the registry twice");
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        // The VM rules whose only fix is a virt-xml edit are among them (guarded).
        for id in ["qemu.blk.cache", "qemu.net.multiqueue", "qemu.mem.merge"] {
            assert_eq!(
                crate::rules::meta::find(id).map(|m| m.remediation.automatable),
                Some(Automatable::Guarded),
                "{id}"
            );
        }
    }
}
