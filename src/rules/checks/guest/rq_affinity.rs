//! guest.blk.rq-affinity: `rq_affinity` on multi-queue virtio disks.

use super::{in_guest, NO_CHANNEL};
use crate::model::vm::DiskBus;
use crate::report::Status;
use crate::rules::context::Ctx;
use crate::rules::facts::guest_side::virtio_disks;
use crate::rules::outcome::Outcome;
use crate::rules::units::VmUnit;

/// Run inside a guest, the guest itself is judged (target `host`); on the hypervisor, each VM.
pub(super) fn rq_affinity_inside(ctx: &Ctx) -> Option<Vec<Outcome>> {
    in_guest(ctx).then(|| rq_affinity_of_this_guest(ctx))
}

fn rq_affinity_of_this_guest(ctx: &Ctx) -> Vec<Outcome> {
    vec![rq_affinity_guest(ctx)]
}

pub(super) fn rq_affinity(ctx: &Ctx, u: &VmUnit) -> Outcome {
    let vm = u.vm;
    let target = u.target.clone();
    let vcpus = crate::rules::facts::flags::vcpus(ctx, vm);
    if vcpus == Some(1) {
        return Outcome::na(
            target,
            "single-vCPU VM: completion steering has nowhere to go",
        );
    }
    let virtio_disks = vm.model.disks.iter().any(|d| {
        matches!(d.bus, DiskBus::VirtioBlk | DiskBus::VirtioScsi) && !d.cdrom && !d.read_only
    });
    if !virtio_disks {
        return Outcome::na(target, "the VM has no virtio data disks");
    }
    Outcome::unknown(
        target,
        format!("rq_affinity is a guest block-queue setting; {NO_CHANNEL}"),
    )
}

fn rq_affinity_guest(ctx: &Ctx) -> Outcome {
    let vcpus = ctx.host.topology.online.as_ref().map(|s| s.len() as u32);
    if vcpus == Some(1) {
        return Outcome::na(
            "host",
            "single-vCPU guest: completion steering has nowhere to go",
        );
    }
    let disks = match virtio_disks(ctx) {
        Ok(disks) => disks,
        Err(why) => return Outcome::unknown("host", why),
    };
    if disks.is_empty() {
        return Outcome::na("host", "no virtio-blk disks (vd*) in this guest");
    }
    // Worst first: warn > unknown > pass > info.
    let rank = |s: Status| match s {
        Status::Warn => 3,
        Status::Unknown => 2,
        Status::Pass => 1,
        _ => 0,
    };
    let mut worst = (Status::Info, String::new());
    let mut evidence = Vec::new();
    for disk in disks {
        let (d, got, path, queues) = (
            disk.name,
            disk.rq_affinity,
            disk.rq_affinity_source,
            disk.hw_queues,
        );
        let q_txt = queues.map_or("queue count unknown".to_string(), |q| {
            format!("{q} hardware queue(s)")
        });
        let (st, msg) = match got.val().map(str::trim) {
            Some("2") => (Status::Pass, format!("{d}: rq_affinity=2")),
            Some("1") => match (queues, vcpus) {
                (Some(q), Some(v)) if q >= v => (
                    Status::Info,
                    format!("{d}: rq_affinity=1 with one queue per vCPU ({q}): completions already land near the submitter"),
                ),
                (Some(q), Some(v)) => (
                    Status::Warn,
                    format!("{d}: rq_affinity=1 with {q} queue(s) for {v} vCPUs: completions may concentrate; write 2"),
                ),
                _ => (
                    Status::Unknown,
                    format!("{d}: rq_affinity=1; queue or vCPU count unknown"),
                ),
            },
            Some(v) => (
                Status::Warn,
                format!("{d}: rq_affinity={v}: completions are not steered to the submitting CPU; write 2"),
            ),
            None => (
                Status::Unknown,
                format!("{d}: rq_affinity could not be read ({})", got.why()),
            ),
        };
        evidence.push((path, format!("{} ({q_txt})", got.why()), "2".to_string()));
        if rank(st) > rank(worst.0) || worst.1.is_empty() {
            worst = (st, msg);
        } else if rank(st) == rank(worst.0) {
            worst.1 = format!("{}; {msg}", worst.1);
        }
    }
    let mut o = Outcome::new("host", worst.0, worst.1);
    for (s, obs, exp) in evidence {
        o = o.ev(s, obs, exp);
    }
    o
}
