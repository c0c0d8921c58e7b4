//! qemu.numa.vm-placement: each VM confined to one host node (vCPUs and memory), or each of
//! its guest nodes bound to one. The placement verdict is shared with host.numa.balancing.
use super::list;
use crate::model::host::Vm;
use crate::report::{Severity, Status};
use crate::rules::context::Ctx;
use crate::rules::facts::placement::{cpu_place, mem_bind, vcpu_sets, CpuPlace, MemBind};
use crate::rules::outcome::Outcome;
use crate::rules::units::VmUnit;
use std::collections::BTreeSet;

/// A guest with several virtual nodes, each mapped onto one host node (vCPUs and memory).
/// `Some(true)` all map 1:1 with bind, `Some(false)` some do not, `None` no guest NUMA.
pub(super) fn guest_numa_1to1(ctx: &Ctx, vm: &Vm) -> Option<(bool, String)> {
    let f = ctx.facts(vm);
    if f.guest_nodes.is_empty() {
        return None;
    }
    let parts: Vec<String> = f
        .guest_nodes
        .iter()
        .map(|g| {
            format!(
                "guest node {} → host node {}{}",
                g.guest,
                g.host.map_or("?".into(), |h| h.to_string()),
                if g.mem_bound {
                    " (memory bound)"
                } else {
                    " (memory not bound there)"
                }
            )
        })
        .collect();
    Some((f.bound_guest_nodes().is_some(), parts.join("; ")))
}

/// The placement verdict of one VM (shared by the balancing rule).
pub(super) struct Placement {
    pub(super) status: Status,
    pub(super) message: String,
    pub(super) evidence: Vec<(String, String, String)>,
}

pub(super) fn placement(ctx: &Ctx, vm: &Vm) -> Placement {
    let strict = !vm.model.vfio_devices.is_empty()
        || vm.model.uses_hugepages() != crate::model::vm::HugepageUse::None;
    let why_strict = if !vm.model.vfio_devices.is_empty() {
        "VFIO memory is pinned and never migrated"
    } else {
        "hugetlb memory is never migrated by NUMA balancing"
    };
    let mut ev: Vec<(String, String, String)> = Vec::new();
    let pid = vm.pid.map_or("PID".into(), |p| p.to_string());
    let (sets, named) = match vcpu_sets(ctx, vm) {
        Ok(s) => s,
        Err(why) => {
            return Placement {
                status: Status::Unknown,
                message: format!("vCPU thread affinity unreadable ({why})"),
                evidence: vec![(format!("/proc/{pid}/task"), why, String::new())],
            }
        }
    };
    let union: BTreeSet<u32> = sets.iter().flatten().copied().collect();
    let place = cpu_place(ctx, vm);
    ev.push((
        format!("/proc/{pid}/task/*/status Cpus_allowed_list"),
        format!(
            "{} {}{}",
            if named {
                "vCPU threads:"
            } else {
                "all threads (no vCPU thread names):"
            },
            list(&union),
            match &place {
                CpuPlace::One(n) => format!(" (node {n})"),
                CpuPlace::Spans(s) => format!(" (nodes {})", list(s)),
                CpuPlace::Unknown(_) => String::new(),
            }
        ),
        "CPUs of one node".into(),
    ));
    if let Some(t) = &ctx.facts(vm).threads {
        ev.push((
            format!("/proc/{pid}/task/*/status Mems_allowed_list"),
            list(&t.mems),
            "the same node".into(),
        ));
    }
    let bind = mem_bind(ctx, vm);
    ev.push((
        format!("{} memory policy", vm.source),
        match &bind {
            MemBind::Bound(s, how) => format!("bound to {} by {how}", list(s)),
            MemBind::Preferred(s, how) => format!("preferred {} by {how}", list(s)),
            MemBind::Unbound => "no binding (default policy, all nodes allowed)".into(),
        },
        "bind to the vCPUs' node".into(),
    ));
    if let Some((ok, desc)) = guest_numa_1to1(ctx, vm) {
        ev.push((format!("{} -numa", vm.source), desc.clone(), "1:1".into()));
        if ok {
            return Placement {
                status: Status::Pass,
                message: format!(
                    "each guest NUMA node maps onto one host node with bound memory ({desc})"
                ),
                evidence: ev,
            };
        }
    }
    let guest_numa = vm.model.numa_nodes.len() >= 2;
    let (status, message) = match (&place, &bind) {
        (CpuPlace::One(n), MemBind::Bound(s, _)) if s.len() == 1 && s.contains(n) => (
            Status::Pass,
            format!("vCPUs and memory are confined to node {n}"),
        ),
        (CpuPlace::One(n), MemBind::Preferred(s, _)) if s.len() == 1 && s.contains(n) => (
            Status::Warn,
            format!("vCPUs run on node {n} but memory only prefers it: under pressure it spills to other nodes (use policy bind / mode strict)"),
        ),
        (CpuPlace::One(n), MemBind::Unbound) => (
            Status::Warn,
            format!("vCPUs are pinned to node {n} but memory is not bound: pages can land on other nodes"),
        ),
        (CpuPlace::One(n), MemBind::Bound(s, _) | MemBind::Preferred(s, _)) if s.contains(n) => (
            Status::Warn,
            format!("vCPUs run on node {n} but memory may come from nodes {}: part of it can be remote", list(s)),
        ),
        (CpuPlace::One(n), MemBind::Bound(s, _) | MemBind::Preferred(s, _)) => (
            if strict { Status::Fail } else { Status::Warn },
            format!("vCPUs run on node {n} but memory is bound to node(s) {}: guest memory accesses are remote", list(s)),
        ),
        (CpuPlace::Spans(nodes), _) => {
            if strict && !guest_numa {
                (
                    Status::Fail,
                    format!("the VM spans nodes {} without guest NUMA, and {why_strict}: confine it to one node", list(nodes)),
                )
            } else if guest_numa {
                (
                    Status::Warn,
                    format!("the VM spans nodes {} and its guest NUMA nodes do not map 1:1 onto host nodes", list(nodes)),
                )
            } else {
                (
                    Status::Warn,
                    format!("the VM is not confined to one node (vCPUs may run on nodes {})", list(nodes)),
                )
            }
        }
        (CpuPlace::Unknown(why), _) => (Status::Unknown, format!("vCPU placement unknown ({why})")),
    };
    Placement {
        status,
        message,
        evidence: ev,
    }
}

pub(super) fn escalation(vm: &Vm) -> Option<Severity> {
    (!vm.model.vfio_devices.is_empty()
        || vm.model.uses_hugepages() != crate::model::vm::HugepageUse::None)
        .then_some(Severity::High)
}

pub(super) fn vm_placement(ctx: &Ctx, u: &VmUnit) -> Outcome {
    let vm = u.vm;
    let p = placement(ctx, vm);
    let mut o = Outcome::new(u.target.clone(), p.status, p.message).escalate(escalation(vm));
    if let CpuPlace::One(node) = cpu_place(ctx, vm) {
        o = o.datum(crate::vocab::Datum::NumaNode { node });
    }
    for (s, ob, ex) in p.evidence {
        o = o.ev(s, ob, ex);
    }
    o
}
