//! NUMA affinity (guide §3.2.1): automatic balancing, VM placement, measured memory locality,
//! device locality and device interrupts.
//!
//! Placement is judged at run time, because libvirt applies it outside argv: vCPU threads'
//! `Cpus_allowed_list`, the process's `Mems_allowed_list`, memory backend `host-nodes`/`policy`
//! and the per-mapping policy in `numa_maps`.

use super::{Check, CheckFn};
use crate::parse::cpulist;
use crate::rules::context::Ctx;
use crate::rules::outcome::Outcome;
use std::collections::{BTreeMap, BTreeSet};

mod balancing;
mod device_locality;
mod irq_affinity;
mod memory_locality;
mod vm_placement;

pub const CHECKS: &[(&str, CheckFn)] = &[
    (
        "host.numa.balancing",
        Check::host(balancing::numa_balancing),
    ),
    (
        "qemu.numa.vm-placement",
        Check::vm(vm_placement::vm_placement).same_for_every_vm(one_node),
    ),
    (
        "qemu.numa.memory-locality",
        Check::vm(memory_locality::memory_locality).same_for_every_vm(one_node),
    ),
    (
        "qemu.numa.device-locality",
        Check::device(device_locality::device_locality).same_for_every_vm(one_node),
    ),
    ("host.irq.affinity", Check::host(irq_affinity::irq_affinity)),
];

fn list(set: &BTreeSet<u32>) -> String {
    if set.is_empty() {
        "(none)".into()
    } else {
        cpulist::format(set)
    }
}

fn parse_list(s: &str) -> Option<BTreeSet<u32>> {
    cpulist::parse(s).ok()
}

/// `None` when the host has several CPU-bearing nodes; otherwise the outcome to return.
fn single_node(ctx: &Ctx, target: &str) -> Option<Outcome> {
    match ctx.flags.multi_node {
        Some(true) => None,
        Some(false) => Some(Outcome::na(
            target,
            "single NUMA node with CPUs: there is nothing to place",
        )),
        None => Some(Outcome::unknown(
            target,
            "NUMA topology unreadable (/sys/devices/system/node)",
        )),
    }
}

/// Per-VM rules on a single-node host: one not-applicable outcome per VM.
/// On a single-node host NUMA placement is moot: every VM gets that one verdict.
fn one_node(ctx: &Ctx) -> Option<Outcome> {
    single_node(ctx, "host")
}

#[cfg(test)]
mod tests;

/// The guest nodes bound to host node `host`, as a list ("0" or "0,2"; empty when none).
fn guest_nodes_on(bound: &BTreeMap<u32, u32>, host: u32) -> String {
    bound
        .iter()
        .filter(|(_, h)| **h == host)
        .map(|(g, _)| g.to_string())
        .collect::<Vec<_>>()
        .join(",")
}
