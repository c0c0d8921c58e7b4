//! qemu.blk.num-queues: one virtio-blk queue per vCPU.
use super::{device_desc, is_virtio_blk, not_data};
use crate::rules::context::Ctx;
use crate::rules::facts::vm_args::{argv_src, machine_at_least};
use crate::rules::outcome::Outcome;
use crate::rules::units::DriveUnit;

pub(super) fn num_queues(ctx: &Ctx, u: &DriveUnit) -> Outcome {
    let (vm, disk, target) = (u.vm, u.disk, u.target.clone());
    if !is_virtio_blk(disk) {
        return Outcome::na(target, format!("{} is not virtio-blk", device_desc(disk)));
    }
    if let Some(why) = not_data(disk) {
        return Outcome::na(target, format!("the disk is {why}"));
    }
    let src = argv_src(vm);
    let Some(vcpus) = crate::rules::facts::flags::vcpus(ctx, vm) else {
        return Outcome::unknown(target, "the VM's vCPU count is unknown");
    };
    if vcpus <= 1 {
        return Outcome::na(target, "single-vCPU VM: one queue is all it can use")
            .ev(src, "1 vCPU", "");
    }
    let want = format!("num-queues > 1 (up to {vcpus}, one per vCPU)");
    match disk.num_queues {
        Some(0) => Outcome::unknown(target, "num-queues=0 is not a valid queue count").ev(
            src,
            "num-queues=0",
            want,
        ),
        Some(1) => Outcome::warn(
            target,
            format!(
                "a single virtqueue for {vcpus} vCPUs: every vCPU's I/O funnels through one queue"
            ),
        )
        .ev(src, format!("num-queues=1, {vcpus} vCPUs"), want),
        Some(n) => Outcome::pass(target, format!("{n} virtqueues for {vcpus} vCPUs")).ev(
            src,
            format!("num-queues={n}, {vcpus} vCPUs"),
            want,
        ),
        None => {
            let (recent, what) = machine_at_least(&vm.model.machine, (5, 2));
            match recent {
                Some(true) => Outcome::pass(
                    target,
                    format!("num-queues not set: {what} (≥ 5.2) defaults to one queue per vCPU ({vcpus})"),
                ),
                Some(false) => Outcome::warn(
                    target,
                    format!("num-queues not set and {what} (≤ 5.1) defaults to a single queue: set num-queues={vcpus}"),
                ),
                None => Outcome::pass(
                    target,
                    format!("num-queues not set: {what} resolves to the binary's newest machine type, assumed ≥ 5.2 (QEMU ≥ 5.2), which defaults to one queue per vCPU ({vcpus})"),
                ),
            }
            .ev(src, format!("num-queues unset, {what}, {vcpus} vCPUs"), want)
        }
    }
}
