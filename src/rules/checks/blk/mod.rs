//! virtio-blk of guide §3.3.4: bus, host cache mode, I/O engine, queues, packed ring and
//! IOThreads, judged per data disk (`vm:NAME/drive:ID`) from the VM model and, where the
//! snapshot has it, the running process (fds, thread affinity).
//!
//! What blk shares with the net rules (process fds, machine-type age, per-VM placeholders,
//! the disk targets parsed once per VM) lives in the facts layer, `facts::vm_args`.

use super::{Check, CheckFn};
use crate::model::vm::{Disk, DiskBus};
pub use crate::rules::facts::vm_args::disk_targets;

mod aio;
mod cache;
mod iothread;
mod num_queues;
mod packed;
mod virtio_bus;

pub const CHECKS: &[(&str, CheckFn)] = &[
    ("qemu.blk.virtio-bus", Check::drive(virtio_bus::virtio_bus)),
    ("qemu.blk.cache", Check::drive(cache::cache)),
    ("qemu.blk.aio", Check::drive(aio::aio)),
    ("qemu.blk.num-queues", Check::drive(num_queues::num_queues)),
    ("qemu.blk.packed", Check::drive(packed::packed)),
    ("qemu.blk.iothread", Check::drive(iothread::iothread)),
];

/// Why a disk is not a writable data disk, if it is not one.
fn not_data(d: &Disk) -> Option<&'static str> {
    if d.cdrom {
        Some("a CD-ROM, not a data disk")
    } else if d.read_only {
        Some("read-only, not a data disk")
    } else if d.bus == DiskBus::Pflash {
        Some("firmware flash (pflash), not a data disk")
    } else {
        None
    }
}

/// Network block protocols that bring their own caching and submission path.
const NETWORK_PROTOCOLS: &[&str] = &[
    "rbd", "nbd", "iscsi", "gluster", "ssh", "http", "https", "ftp", "ftps", "nfs", "curl", "vxhs",
    "sheepdog",
];

fn network_protocol(d: &Disk) -> Option<&str> {
    d.protocol
        .as_deref()
        .filter(|p| NETWORK_PROTOCOLS.contains(p))
}

fn bus_name(b: DiskBus) -> &'static str {
    match b {
        DiskBus::VirtioBlk => "virtio-blk",
        DiskBus::VhostUserBlk => "vhost-user-blk",
        DiskBus::VirtioScsi => "virtio-scsi",
        DiskBus::Scsi => "emulated SCSI HBA",
        DiskBus::Ide => "emulated IDE",
        DiskBus::Sata => "emulated SATA (AHCI)",
        DiskBus::Usb => "USB storage",
        DiskBus::Nvme => "emulated NVMe",
        DiskBus::Floppy => "floppy",
        DiskBus::Pflash => "pflash",
        DiskBus::Sd => "SD card",
        DiskBus::Other => "unrecognised",
    }
}

fn device_desc(d: &Disk) -> String {
    let drv = d.device_driver.as_deref().unwrap_or("implicit device");
    format!("{drv} ({})", bus_name(d.bus))
}

fn is_virtio_blk(d: &Disk) -> bool {
    matches!(d.bus, DiskBus::VirtioBlk | DiskBus::VhostUserBlk)
}

#[cfg(test)]
mod tests;
