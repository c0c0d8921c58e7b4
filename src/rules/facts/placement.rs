//! Where a VM runs: the host nodes its vCPUs may use, its home node and how its memory is
//! bound; and the CPUs nohz_full takes out of housekeeping.

use super::guest_ram::guest_ram_maps;
use crate::model::host::Vm;
use crate::rules::context::Ctx;
use std::collections::BTreeSet;

/// The CPUs nohz_full removes from housekeeping (empty when inactive).
pub(crate) fn nohz_full_set(ctx: &Ctx) -> Result<BTreeSet<u32>, String> {
    super::nohz::nohz_full(ctx).map(|n| n.active)
}

/// Where a VM's vCPUs may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CpuPlace {
    One(u32),
    Spans(BTreeSet<u32>),
    Unknown(String),
}

/// The vCPU CPU sets (vCPU threads, or every thread when none is named `CPU n/KVM`).
pub(crate) fn vcpu_sets(ctx: &Ctx, vm: &Vm) -> Result<(Vec<BTreeSet<u32>>, bool), String> {
    let f = ctx.facts(vm);
    let Some(t) = &f.threads else {
        return Err(match ctx.process(vm).and_then(|p| p.threads.as_ref()) {
            Some(s) => format!(
                "{}: {}",
                s.path,
                s.fact.error().map(|e| e.describe()).unwrap_or_default()
            ),
            None if vm.pid.is_none() => {
                "command line from a file: no running threads to read affinity from".into()
            }
            None => "thread affinity not collected".into(),
        });
    };
    if !t.vcpus.is_empty() {
        return Ok((t.vcpus.values().cloned().collect(), true));
    }
    let all: Vec<BTreeSet<u32>> = t.all_sets().filter(|s| !s.is_empty()).cloned().collect();
    if all.is_empty() {
        return Err("no thread affinity recorded".into());
    }
    Ok((all, false))
}

pub(crate) fn cpu_place(ctx: &Ctx, vm: &Vm) -> CpuPlace {
    let (sets, _) = match vcpu_sets(ctx, vm) {
        Ok(s) => s,
        Err(why) => return CpuPlace::Unknown(why),
    };
    let union: BTreeSet<u32> = sets.iter().flatten().copied().collect();
    if let Some(n) = ctx.node_of_cpus(&union) {
        return CpuPlace::One(n);
    }
    let nodes: BTreeSet<u32> = ctx
        .node_cpus()
        .into_iter()
        .filter(|(_, cpus)| !cpus.is_disjoint(&union))
        .map(|(n, _)| n)
        .collect();
    CpuPlace::Spans(nodes)
}

/// A VM's home node and how it was found.
pub(crate) struct Home {
    pub node: u32,
    pub how: String,
}

/// The single host node a VM is placed on: its vCPUs' node, else a single bound memory node.
pub(crate) fn home_node(ctx: &Ctx, vm: &Vm) -> Option<Home> {
    match cpu_place(ctx, vm) {
        CpuPlace::One(n) => Some(Home {
            node: n,
            how: "vCPU threads' CPUs".into(),
        }),
        CpuPlace::Spans(_) => None,
        CpuPlace::Unknown(_) => match mem_bind(ctx, vm) {
            MemBind::Bound(s, how) | MemBind::Preferred(s, how) if s.len() == 1 => {
                s.into_iter().next().map(|node| Home { node, how })
            }
            _ => None,
        },
    }
}

/// How a VM's memory is bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MemBind {
    Bound(BTreeSet<u32>, String),
    Preferred(BTreeSet<u32>, String),
    Unbound,
}

pub(crate) fn memory_nodes(ctx: &Ctx) -> BTreeSet<u32> {
    ctx.host.nodes.iter().flatten().map(|n| n.id).collect()
}

pub(crate) fn mem_bind(ctx: &Ctx, vm: &Vm) -> MemBind {
    // cpuset: the kernel enforces it for every allocation.
    if let Some(t) = &ctx.facts(vm).threads {
        let all = memory_nodes(ctx);
        if !t.mems.is_empty() && !all.is_empty() && t.mems.is_subset(&all) && t.mems != all {
            return MemBind::Bound(t.mems.clone(), "Mems_allowed_list (cpuset)".into());
        }
    }
    // Memory backends of guest RAM.
    let ram = vm.model.guest_ram();
    let backends: Vec<_> = ram
        .iter()
        .filter_map(|p| p.backend_id.as_deref().and_then(|id| vm.model.backend(id)))
        .collect();
    if !backends.is_empty()
        && backends.len() == ram.len()
        && backends.iter().all(|b| !b.host_nodes.is_empty())
    {
        let nodes: BTreeSet<u32> = backends.iter().flat_map(|b| b.host_nodes.clone()).collect();
        let how = format!(
            "memory backend host-nodes ({})",
            backends
                .iter()
                .map(|b| format!(
                    "{}: {} policy {}",
                    b.id,
                    b.host_nodes
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                    b.policy.as_deref().unwrap_or("default")
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
        if backends
            .iter()
            .all(|b| matches!(b.policy.as_deref(), Some("bind") | Some("interleave")))
        {
            return MemBind::Bound(nodes, how);
        }
        if backends
            .iter()
            .all(|b| matches!(b.policy.as_deref(), Some("bind") | Some("preferred")))
        {
            return MemBind::Preferred(nodes, how);
        }
    }
    // numa_maps policy of the guest-RAM mappings (numactl --membind shows up here).
    if let Some(maps) = guest_ram_maps(ctx, vm) {
        let ram = &maps.ram;
        if !ram.is_empty() {
            let bind: Option<BTreeSet<u32>> = ram
                .iter()
                .map(|v| v.policy_nodes("bind"))
                .collect::<Option<Vec<_>>>()
                .map(|v| v.into_iter().flatten().collect());
            if let Some(b) = bind {
                return MemBind::Bound(b, "numa_maps bind policy".into());
            }
            let pref: Option<BTreeSet<u32>> = ram
                .iter()
                .map(|v| v.policy_nodes("prefer"))
                .collect::<Option<Vec<_>>>()
                .map(|v| v.into_iter().flatten().collect());
            if let Some(p) = pref {
                return MemBind::Preferred(p, "numa_maps preferred policy".into());
            }
        }
    }
    MemBind::Unbound
}
