//! qemu.blk.iothread: each virtio disk on an IOThread, pinned apart from the vCPUs.
use super::{device_desc, not_data};
use crate::model::host::Vm;
use crate::model::vm::DiskBus;
use crate::report::Status;
use crate::rules::context::Ctx;
use crate::rules::facts::vm_args::argv_src;
use crate::rules::outcome::Outcome;
use crate::rules::units::DriveUnit;
use std::collections::BTreeSet;

pub(super) fn iothread(ctx: &Ctx, u: &DriveUnit) -> Outcome {
    let (vm, disk, target) = (u.vm, u.disk, u.target.clone());
    match disk.bus {
        DiskBus::VirtioBlk | DiskBus::VirtioScsi => {}
        DiskBus::VhostUserBlk => {
            return Outcome::na(
                target,
                "vhost-user-blk: the external backend's threads serve the I/O, not QEMU IOThreads",
            )
        }
        _ => {
            return Outcome::na(
                target,
                format!(
                    "{}: IOThreads serve virtio-blk and virtio-scsi only (see qemu.blk.virtio-bus)",
                    device_desc(disk)
                ),
            )
        }
    }
    if let Some(why) = not_data(disk) {
        return Outcome::na(target, format!("the disk is {why}"));
    }
    let src = argv_src(vm);
    if disk.iothreads.is_empty() {
        return Outcome::fail(
            target,
            "no IOThread serves the disk: its I/O runs in QEMU's main loop, next to device emulation and monitor work",
        )
        .ev(src, "no iothread=", "iothread=<id> (pinned to the VM's node)");
    }
    let bound = format!("iothread={}", disk.iothreads.join(","));
    let judged: Vec<(Status, String, String)> = disk
        .iothreads
        .iter()
        .map(|id| judge_iothread(ctx, vm, id))
        .collect();
    // The worst IOThread decides (iothread-vq-mapping can name several).
    let rank = |s: Status| match s {
        Status::Pass => 0,
        Status::Unknown => 1,
        Status::Warn => 2,
        _ => 3,
    };
    let worst = judged
        .iter()
        .max_by_key(|(s, _, _)| rank(*s))
        .map(|(s, m, _)| (*s, m.clone()))
        .unwrap_or((Status::Unknown, "no IOThread judged".into()));
    let mut o = Outcome::new(target, worst.0, worst.1).ev(src, bound, "iothread=<id>");
    let thr_src = ctx
        .process(vm)
        .and_then(|p| p.pid)
        .map(|pid| format!("/proc/{pid}/task/*/status Cpus_allowed_list"))
        .unwrap_or_else(|| "IOThread affinity".into());
    for (id, (_, _, obs)) in disk.iothreads.iter().zip(judged.iter()) {
        o = o.ev(
            thr_src.clone(),
            format!("IO {id}: {obs}"),
            "CPUs of the VM's node, not its vCPU CPUs",
        );
    }
    o
}

/// One IOThread's placement: (status, message, observed affinity).
pub(super) fn judge_iothread(ctx: &Ctx, vm: &Vm, id: &str) -> (Status, String, String) {
    let facts = ctx.facts(vm);
    let Some(threads) = facts.threads.as_ref() else {
        let why = match ctx.process(vm).and_then(|p| p.pid) {
            Some(_) => "the process's threads could not be read",
            None => "no running process (argv only)",
        };
        return (
            Status::Unknown,
            format!("served by IOThread {id}; its pinning is not visible ({why})"),
            "affinity unknown".into(),
        );
    };
    let Some(cpus) = threads.iothreads.get(id) else {
        let hint = if vm.model.debug_threads == Some(true) {
            ""
        } else {
            " (threads are named only with -name ...,debug-threads=on)"
        };
        return (
            Status::Unknown,
            format!("served by IOThread {id}, but no thread named \"IO {id}\" was found{hint}"),
            "thread not found".into(),
        );
    };
    let obs = crate::parse::cpulist::format(cpus);
    if cpus.is_empty() {
        return (
            Status::Unknown,
            format!("IOThread {id} has an unreadable CPU affinity"),
            obs,
        );
    }
    if ctx.node_cpus().is_empty() {
        return (
            Status::Unknown,
            format!("IOThread {id} runs on CPUs {obs}; the host's NUMA topology is not readable"),
            obs,
        );
    }
    if let Some(online) = ctx.host.topology.online.as_ref() {
        if online.len() > 1 && online.is_subset(cpus) {
            return (
                Status::Warn,
                format!("IOThread {id} is not pinned: it may run on any host CPU"),
                format!("{obs} (all CPUs)"),
            );
        }
    }
    let Some(node) = ctx.node_of_cpus(cpus) else {
        return (
            Status::Warn,
            format!("IOThread {id} may run on CPUs {obs}, which span NUMA nodes"),
            obs,
        );
    };
    // A VM whose guest NUMA nodes are each bound to a host node is local on every one of them
    // (which guest node a disk's requests come from is not knowable from the host).
    let spanning = facts
        .bound_host_nodes()
        .filter(|nodes| nodes.contains(&node))
        .map(|_| node);
    let Some(vm_node) = facts.cpu_node.or(spanning) else {
        return (
            Status::Warn,
            format!("IOThread {id} is pinned to node {node}, but the VM's vCPUs are not confined to one node, so it cannot be local (see qemu.numa.vm-placement)"),
            obs,
        );
    };
    if node != vm_node {
        return (
            Status::Warn,
            format!("IOThread {id} is pinned to node {node}, remote from the VM's vCPUs on node {vm_node}"),
            obs,
        );
    }
    // When the vCPUs are dedicated (pinned one-to-one, no emulator thread on their CPUs) the
    // IOThread must stay off them. If the emulator shares them anyway they are not dedicated
    // and an IOThread there is no extra harm (the card: "when those are dedicated"). The
    // context flag cannot be used: an IOThread on those CPUs already makes it false.
    let pinned_1to1 = !threads.vcpus.is_empty() && threads.vcpus.values().all(|s| s.len() == 1);
    let vcpu_cpus: BTreeSet<u32> = threads.vcpus.values().flatten().copied().collect();
    let emulator_shares = threads
        .emulator
        .iter()
        .any(|set| !set.is_disjoint(&vcpu_cpus));
    if pinned_1to1 && !emulator_shares {
        let shared: BTreeSet<u32> = cpus.intersection(&vcpu_cpus).copied().collect();
        if !shared.is_empty() {
            return (
                Status::Warn,
                format!(
                    "IOThread {id} may run on the VM's own pinned vCPU CPUs ({}): it competes with the guest",
                    crate::parse::cpulist::format(&shared)
                ),
                obs,
            );
        }
    }
    (
        Status::Pass,
        if facts.cpu_node.is_some() {
            format!("served by IOThread {id}, pinned to CPUs {obs} on the VM's node {vm_node}")
        } else {
            format!("served by IOThread {id}, pinned to CPUs {obs} on node {vm_node}, a host node one of the VM's guest NUMA nodes is bound to")
        },
        obs,
    )
}
