//! qemu.blk.packed: packed virtqueues for virtio-blk.
use super::{device_desc, is_virtio_blk, not_data};
use crate::rules::context::Ctx;
use crate::rules::facts::vm_args::{argv_src, opt_on_off};
use crate::rules::outcome::Outcome;
use crate::rules::units::DriveUnit;

pub(super) fn packed(_ctx: &Ctx, u: &DriveUnit) -> Outcome {
    let (vm, disk, target) = (u.vm, u.disk, u.target.clone());
    if !is_virtio_blk(disk) {
        return Outcome::na(target, format!("{} is not virtio-blk", device_desc(disk)));
    }
    if let Some(why) = not_data(disk) {
        return Outcome::na(target, format!("the disk is {why}"));
    }
    let src = argv_src(vm);
    match disk.packed {
        Some(true) => Outcome::unknown(
            target,
            "packed=on is requested; whether the guest negotiated it (feature bit 34) is visible only inside the guest: run kvmaudit there",
        )
        .ev(src, "packed=on", "VIRTIO_F_RING_PACKED negotiated")
        .ev(
            "guest /sys/bus/virtio/devices/virtio*/features",
            "no guest channel",
            "character 35 (bit 34) = 1",
        ),
        other => Outcome::info(
            target,
            "packed virtqueue not requested (split ring): optional, needs QEMU ≥ 4.2 and a guest kernel ≥ 5.0",
        )
        .ev(
            src,
            format!("packed={}", opt_on_off(other)),
            "packed=on (optional)",
        ),
    }
}
