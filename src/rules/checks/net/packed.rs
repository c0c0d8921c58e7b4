//! qemu.net.packed: the packed virtqueue layout is negotiated on virtio-net NICs.

use super::{backend_of, is_virtio, not_virtio, Backend};
use crate::rules::context::Ctx;
use crate::rules::facts::vm_args::{argv_src, opt_on_off};
use crate::rules::outcome::Outcome;
use crate::rules::units::NicUnit;

pub(super) fn packed(_ctx: &Ctx, u: &NicUnit) -> Outcome {
    let (vm, nic, target) = (u.vm, u.nic, u.target.clone());
    if !is_virtio(vm, nic) {
        return not_virtio(vm, nic, target);
    }
    let src = argv_src(vm);
    let kernel_vhost = backend_of(nic).0 == Backend::Tap && nic.vhost() == Some(true);
    match nic.packed {
        Some(true) if kernel_vhost => Outcome::warn(
            target,
            "packed=on with kernel vhost-net: vhost-net does not implement packed rings, so QEMU masks the feature and the ring stays split (keep vhost, it is the bigger win)",
        )
        .ev(src, "packed=on, vhost=on", "packed ring negotiated"),
        Some(true) => Outcome::unknown(
            target,
            "packed=on is requested; whether the guest negotiated it (feature bit 34) is visible only inside the guest: run kvmaudit there",
        )
        .ev(src, "packed=on", "packed ring negotiated")
        .ev(
            "guest /sys/bus/virtio/devices/virtio*/features",
            "no guest channel",
            "character 35 (bit 34) = 1",
        ),
        other => Outcome::info(
            target,
            "packed virtqueue not requested (split ring): optional, and no gain with kernel vhost-net",
        )
        .ev(src, format!("packed={}", opt_on_off(other)), "packed=on (optional)"),
    }
}
