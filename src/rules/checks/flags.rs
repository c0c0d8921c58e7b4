//! The context flags of catalogue §2, computed once per run from the snapshot.

use crate::model::host::Vm;
use crate::rules::context::{Ctx, Flags};
use std::collections::{BTreeMap, BTreeSet};

/// vCPU count of a VM: from its command line, else from its "CPU n/..." threads.
pub fn vcpus(ctx: &Ctx, vm: &Vm) -> Option<u32> {
    vm_model_vcpus(vm).or_else(|| {
        ctx.vm_facts
            .get(vm.index)
            .and_then(|f| f.threads.as_ref())
            .map(|t| t.vcpus.len() as u32)
            .filter(|n| *n > 0)
    })
}

fn vm_model_vcpus(vm: &Vm) -> Option<u32> {
    vm.model.vcpus()
}

pub fn compute(ctx: &Ctx) -> Flags {
    let nodes_with_cpus = ctx
        .host
        .nodes
        .as_ref()
        .map(|n| n.iter().filter(|n| !n.cpus.is_empty()).count());
    let mut flags = Flags {
        multi_node: nodes_with_cpus.map(|n| n >= 2),
        nested: ctx.host.cpu.hypervisor,
        ..Default::default()
    };
    flags.cpu_overcommitted = cpu_overcommitted(ctx);
    flags
}

/// Σ vCPUs > online pCPUs, or any pCPU reachable by vCPU threads of two VMs.
fn cpu_overcommitted(ctx: &Ctx) -> Option<bool> {
    if ctx.host.vms.is_empty() {
        return Some(false);
    }
    let online = ctx.host.topology.online.as_ref()?.len() as u32;
    let mut total = 0u32;
    let mut owners: BTreeMap<u32, BTreeSet<usize>> = BTreeMap::new();
    let mut affinity_known = true;
    for vm in &ctx.host.vms {
        total += vcpus(ctx, vm)?;
        match ctx.vm_facts.get(vm.index).and_then(|f| f.threads.as_ref()) {
            Some(t) => {
                for cpus in t.vcpus.values() {
                    for c in cpus {
                        owners.entry(*c).or_default().insert(vm.index);
                    }
                }
            }
            None => affinity_known = false,
        }
    }
    if total > online {
        return Some(true);
    }
    if owners.values().any(|o| o.len() > 1) {
        return Some(true);
    }
    affinity_known.then_some(false)
}
