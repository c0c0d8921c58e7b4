//! qemu.numa.memory-locality: the share of guest RAM the kernel really placed on the VM's
//! home node (or on each guest node's bound host node), from numa_maps.
use super::{guest_nodes_on, list};
use crate::model::host::Vm;
use crate::parse::numa_maps::Vma;
use crate::report::target::Target;
use crate::report::Status;
use crate::rules::context::Ctx;
use crate::rules::facts::guest_ram::guest_ram_maps;
use crate::rules::facts::placement::{cpu_place, mem_bind, CpuPlace, MemBind};
use crate::rules::facts::units::human;
use crate::rules::outcome::Outcome;
use crate::rules::units::VmUnit;
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn memory_locality(ctx: &Ctx, u: &VmUnit) -> Outcome {
    let vm = u.vm;
    let target = u.target.clone();
    let Some(nm) = ctx.process(vm).and_then(|p| p.numa_maps.as_ref()) else {
        return Outcome::unknown(
            target,
            "no /proc/PID/numa_maps for this VM (not a live process)",
        );
    };
    // `None` exactly when the text is unreadable.
    let Some(maps) = guest_ram_maps(ctx, vm) else {
        return Outcome::unknown(
            target,
            format!(
                "{} unreadable ({}): measuring locality needs root",
                nm.path,
                nm.fact.error().map(|e| e.describe()).unwrap_or_default()
            ),
        );
    };
    let ram = &maps.ram;
    let mut per_node: BTreeMap<u32, u64> = BTreeMap::new();
    for v in ram {
        for n in v.nodes.keys() {
            let e = per_node.entry(*n).or_default();
            *e = e.saturating_add(v.node_bytes(*n));
        }
    }
    let total: u64 = per_node.values().fold(0u64, |a, b| a.saturating_add(*b));
    if total == 0 {
        return Outcome::unknown(
            target.clone(),
            "no guest-RAM mapping found in numa_maps (guest memory not yet touched?)",
        )
        .ev(nm.path.clone(), format!("{} mappings", maps.mappings), "");
    }
    let huge = ram.iter().all(|v| v.huge);
    let pass_at = if huge { 95.0 } else { 90.0 };
    if let Some(bound) = ctx.facts(vm).bound_guest_nodes() {
        return per_guest_node_locality(vm, target, &nm.path, ram, &bound, pass_at);
    }
    let (home, how) = match (cpu_place(ctx, vm), mem_bind(ctx, vm)) {
        (CpuPlace::One(n), _) => (n, "the vCPUs' node".to_string()),
        (_, MemBind::Bound(s, _)) if s.len() == 1 => (
            s.iter().next().copied().unwrap_or(0),
            "the bound memory node".into(),
        ),
        _ => {
            let (n, _) = per_node
                .iter()
                .max_by_key(|(_, b)| **b)
                .map(|(n, b)| (*n, *b))
                .unwrap_or((0, 0));
            (n, "the node holding most of it (VM not placed)".into())
        }
    };
    let local = per_node.get(&home).copied().unwrap_or(0);
    let pct = local as f64 * 100.0 / total as f64;
    let dist = per_node
        .iter()
        .map(|(n, b)| {
            format!(
                "N{n}={} ({:.0} %)",
                human(*b),
                *b as f64 * 100.0 / total as f64
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let status = locality_status(pct, pass_at);
    // The vCPUs' node is where the memory belongs: the fix binds it there.
    let vcpu_node = match cpu_place(ctx, vm) {
        CpuPlace::One(n) => Some(n),
        _ => None,
    };
    let o = Outcome::new(
        target,
        status,
        format!(
            "{pct:.0} % of resident guest RAM ({}) is on node {home}, {how}{}",
            human(total),
            match status {
                Status::Pass => String::new(),
                _ => format!(
                    "; the rest is remote (want ≥ {pass_at:.0} %{})",
                    if huge { " for hugetlb RAM" } else { "" }
                ),
            }
        ),
    )
    .ev(
        nm.path.clone(),
        dist,
        format!("≥ {pass_at:.0} % on node {home}"),
    );
    match vcpu_node {
        Some(node) => o.datum(crate::vocab::Datum::NumaNode { node }),
        None => o,
    }
}

/// The locality status for a local share (catalogue thresholds).
pub(super) fn locality_status(pct: f64, pass_at: f64) -> Status {
    if pct >= pass_at {
        Status::Pass
    } else if pct >= 70.0 {
        Status::Warn
    } else {
        Status::Fail
    }
}

/// The memory backend a guest-RAM mapping belongs to, from the name QEMU gives a file backend's
/// file: `qemu_back_mem.<region>.XXXXXX`, the region being the backend id or its QOM path
/// `/objects/<id>` with '/' made '_' (`qemu_back_mem._objects_ram-node0.Qm4sLe`).
pub(super) fn vma_backend_id(v: &Vma) -> Option<String> {
    let file = v.file.as_deref()?;
    let file = file.strip_suffix(" (deleted)").unwrap_or(file);
    let base = file.rsplit('/').next()?;
    let (region, _) = base.strip_prefix("qemu_back_mem.")?.rsplit_once('.')?;
    Some(
        region
            .strip_prefix("_objects_")
            .unwrap_or(region)
            .to_string(),
    )
}

/// Locality of a VM whose guest NUMA nodes are each bound to one host node: every guest-RAM
/// mapping is judged against the host node of the guest node it belongs to (by its backend's
/// file name, else by a single-node `bind`/`prefer` policy on one of the VM's nodes); a
/// mapping that belongs to no identifiable guest node counts as local on any of the VM's nodes.
pub(super) fn per_guest_node_locality(
    vm: &Vm,
    target: Target,
    src: &str,
    ram: &[Vma],
    bound: &BTreeMap<u32, u32>,
    pass_at: f64,
) -> Outcome {
    let vm_nodes: BTreeSet<u32> = bound.values().copied().collect();
    let backend_node: BTreeMap<&str, u32> = vm
        .model
        .numa_nodes
        .iter()
        .enumerate()
        .filter_map(|(i, g)| {
            let h = bound.get(&g.nodeid.unwrap_or(i as u32))?;
            Some((g.memdev.as_deref()?, *h))
        })
        .collect();
    // Host node → (local bytes, total bytes) of the mappings bound to it; None = unattributed.
    let mut per: BTreeMap<Option<u32>, (u64, u64)> = BTreeMap::new();
    let mut dist: BTreeMap<u32, u64> = BTreeMap::new();
    for v in ram {
        let by_file = vma_backend_id(v).and_then(|id| backend_node.get(id.as_str()).copied());
        let by_policy = || {
            ["bind", "prefer"].iter().find_map(|k| {
                v.policy_nodes(k)
                    .filter(|s| s.len() == 1)
                    .and_then(|s| s.into_iter().next())
                    .filter(|n| vm_nodes.contains(n))
            })
        };
        let want = by_file.or_else(by_policy);
        let e = per.entry(want).or_default();
        for n in v.nodes.keys() {
            let b = v.node_bytes(*n);
            let d = dist.entry(*n).or_default();
            *d = d.saturating_add(b);
            e.1 = e.1.saturating_add(b);
            let local = match want {
                Some(w) => *n == w,
                None => vm_nodes.contains(n),
            };
            if local {
                e.0 = e.0.saturating_add(b);
            }
        }
    }
    let (local, total) = per.values().fold((0u64, 0u64), |(l, target), (a, b)| {
        (l.saturating_add(*a), target.saturating_add(*b))
    });
    let total_f = total.max(1) as f64;
    let pct = local as f64 * 100.0 / total_f;
    let status = locality_status(pct, pass_at);
    let parts: Vec<String> = per
        .iter()
        .filter(|(_, (_, b))| *b > 0)
        .map(|(w, (l, b))| {
            let share = *l as f64 * 100.0 / *b as f64;
            match w {
                Some(h) => format!(
                    "guest node {} → host node {h}: {share:.0} % of {}",
                    guest_nodes_on(bound, *h),
                    human(*b)
                ),
                None => format!(
                    "RAM of no identifiable guest node: {share:.0} % of {} on the VM's nodes {}",
                    human(*b),
                    list(&vm_nodes)
                ),
            }
        })
        .collect();
    let dist = dist
        .iter()
        .map(|(n, b)| format!("N{n}={} ({:.0} %)", human(*b), *b as f64 * 100.0 / total_f))
        .collect::<Vec<_>>()
        .join(", ");
    Outcome::new(
        target,
        status,
        format!(
            "{pct:.0} % of resident guest RAM ({}) is on the host node its guest NUMA node is bound to ({}){}",
            human(total),
            parts.join("; "),
            match status {
                Status::Pass => String::new(),
                _ => format!("; the rest is remote (want ≥ {pass_at:.0} %)"),
            }
        ),
    )
    .ev(
        src.to_string(),
        dist,
        format!("≥ {pass_at:.0} % of each guest node's RAM on its bound host node"),
    )
}
