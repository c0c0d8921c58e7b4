//! qemu.blk.virtio-bus: data disks on virtio-blk or virtio-scsi.
use super::{device_desc, not_data};
use crate::model::vm::DiskBus;
use crate::rules::context::Ctx;
use crate::rules::facts::vm_args::argv_src;
use crate::rules::outcome::Outcome;
use crate::rules::units::DriveUnit;

pub(super) fn virtio_bus(_ctx: &Ctx, u: &DriveUnit) -> Outcome {
    let (vm, disk, target) = (u.vm, u.disk, u.target.clone());
    if let Some(why) = not_data(disk) {
        return Outcome::na(target, format!("the disk is {why}"));
    }
    let dev = device_desc(disk);
    let o = match disk.bus {
        DiskBus::VirtioBlk | DiskBus::VhostUserBlk => {
            Outcome::pass(target, format!("the disk uses the paravirtual {dev}"))
        }
        DiskBus::VirtioScsi => Outcome::info(
            target,
            "the disk sits on virtio-scsi: acceptable for many LUNs or SCSI pass-through, otherwise virtio-blk has the shorter path",
        ),
        DiskBus::Ide | DiskBus::Sata | DiskBus::Usb | DiskBus::Scsi => Outcome::fail(
            target,
            format!("the data disk uses {dev}: every request traps into QEMU's device emulation; switch to virtio-blk"),
        ),
        DiskBus::Nvme => Outcome::warn(
            target,
            "the disk is an emulated NVMe controller: faster than IDE/SATA but still emulated; virtio-blk is the paravirtual choice",
        ),
        DiskBus::Floppy | DiskBus::Sd | DiskBus::Pflash => {
            Outcome::na(target, format!("{dev} is not a data disk"))
        }
        DiskBus::Other => Outcome::unknown(
            target,
            format!("unrecognised disk device {dev}: cannot tell whether it is paravirtual"),
        ),
    };
    o.ev(argv_src(vm), format!("device {dev}"), "virtio-blk-pci")
}
