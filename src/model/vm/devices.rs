//! `-global` defaults, the generic `-device` list, VFIO, memory devices and IOThreads.

use super::build::Ctx;
use super::{Device, IoThread, MemoryDevice, MemoryDeviceKind, VfioDevice, VmModel};
use crate::parse::qemu::pci::{bdf_from_sysfs, normalize_bdf};
use crate::parse::qemu::{CommandLine, Props};
use serde_json::Value;
use std::collections::HashMap;

/// Device properties a `-global` can usefully default for the model. Only these are looked
/// up, so a command line with millions of globals and devices stays linear.
const GLOBAL_KEYS: &[&str] = &[
    "packed",
    "num-queues",
    "num_queues",
    "queue-size",
    "mq",
    "vectors",
    "write-cache",
    "iothread",
    "label-size",
];

/// `-global` defaults, applied to devices whose type (or an ancestor type) they name.
#[derive(Debug, Clone, Default)]
pub(super) struct Globals {
    /// (type, property) → value; a later `-global` for the same pair wins.
    by_type: HashMap<(String, String), String>,
}

impl Globals {
    pub fn from_cl(cl: &CommandLine) -> Self {
        let mut by_type = HashMap::new();
        for g in &cl.globals {
            if GLOBAL_KEYS.contains(&g.property.as_str()) {
                by_type.insert((g.driver.clone(), g.property.clone()), g.value.clone());
            }
        }
        Globals { by_type }
    }

    /// The device's properties with matching globals in front, so the device's own value wins
    /// (QEMU applies globals first, then the `-device` properties). Among globals, the more
    /// specific type wins over its ancestors.
    pub fn apply(&self, driver: &str, props: &Props) -> Props {
        let mut out = Props::new();
        if !self.by_type.is_empty() {
            for t in type_ancestry(driver).iter().rev() {
                for key in GLOBAL_KEYS {
                    if let Some(v) = self.by_type.get(&(t.clone(), (*key).to_string())) {
                        out.push(*key, Value::String(v.clone()));
                    }
                }
            }
        }
        for (k, v) in props.iter() {
            out.push(k, v.clone());
        }
        out
    }
}

/// Suffixes of the transport variants of a virtio device (`virtio-blk-pci` → `virtio-blk`).
const VIRTIO_VARIANTS: &[&str] = &[
    "-pci-non-transitional",
    "-pci-transitional",
    "-pci-base",
    "-pci",
    "-ccw",
    "-device",
    "-mmio",
];

/// The QOM types a `-global` may name to reach a device: itself, its abstract parents, and for
/// virtio proxies the inner virtio device (whose properties the proxy aliases). Approximate: it
/// covers the types that carry tuning properties (virtio, IDE, SCSI), not the whole QOM tree.
pub(super) fn type_ancestry(driver: &str) -> Vec<String> {
    let mut out = vec![driver.to_string()];
    if let Some(family) = virtio_family(driver) {
        out.push(format!("{family}-device"));
        if driver.contains("-pci") {
            out.push(format!("{family}-pci-base"));
            out.push("virtio-pci".to_string());
        }
        if driver.ends_with("-ccw") {
            out.push("virtio-ccw-device".to_string());
        }
    }
    match driver {
        "ide-hd" | "ide-cd" | "ide-drive" => out.push("ide-device".into()),
        "scsi-hd" | "scsi-cd" | "scsi-disk" => {
            out.push("scsi-disk-base".into());
            out.push("scsi-device".into());
        }
        d if d.starts_with("scsi-") => out.push("scsi-device".into()),
        d if d.starts_with("usb-") => out.push("usb-device".into()),
        _ => {}
    }
    out
}

/// `virtio-net-pci` → `virtio-net`; `None` for non-virtio drivers.
pub(super) fn virtio_family(driver: &str) -> Option<&str> {
    let has_prefix = driver.starts_with("virtio-") || driver.starts_with("vhost-user-");
    if !has_prefix {
        return None;
    }
    for suffix in VIRTIO_VARIANTS {
        if let Some(f) = driver.strip_suffix(suffix) {
            return Some(f);
        }
    }
    Some(driver)
}

pub(super) fn build(ctx: &mut Ctx<'_>, vm: &mut VmModel) {
    let cl = ctx.cl;
    let backends = backend_index(vm);
    for o in cl.all(&["device"]) {
        let driver = o.props.str("driver").unwrap_or_default();
        if driver.is_empty() {
            ctx.notes
                .push(format!("-device at argv[{}] has no driver", o.index));
            continue;
        }
        let p = ctx.globals.apply(&driver, &o.props);
        let packed = ctx.take(p.bool("packed"), &format!("-device {driver}"));
        let numa_node = if driver.starts_with("pxb") {
            ctx.take(p.u32("numa_node"), &format!("-device {driver}"))
        } else {
            None
        };
        vm.devices.push(Device {
            driver: driver.clone(),
            id: p.str("id"),
            bus: p.str("bus"),
            packed,
            numa_node,
        });
        // vfio-pci-igd-lpc-bridge is an emulated bridge, not an assigned device.
        if driver == "vfio-pci" || driver == "vfio-pci-nohotplug" {
            vm.vfio_devices.push(vfio(ctx, &driver, &p));
        }
        if let Some(kind) = memory_device_kind(&driver) {
            let md = memory_device(ctx, vm, &backends, kind, &driver, &p);
            vm.memory_devices.push(md);
        }
    }
    for o in cl.all(&["object"]) {
        if o.props.str("qom-type").as_deref() == Some("iothread") {
            let p = &o.props;
            let t = IoThread {
                id: p.str("id").unwrap_or_default(),
                poll_max_ns: ctx.take(p.u64("poll-max-ns"), "iothread"),
                thread_pool_min: ctx.take(p.u64("thread-pool-min"), "iothread"),
                thread_pool_max: ctx.take(p.u64("thread-pool-max"), "iothread"),
            };
            vm.iothreads.push(t);
        }
    }
}

/// Memory backend id → position (first definition wins, as QEMU refuses duplicates anyway).
pub(super) fn backend_index(vm: &VmModel) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for (i, b) in vm.memory_backends.iter().enumerate() {
        m.entry(b.id.clone()).or_insert(i);
    }
    m
}

fn vfio(ctx: &mut Ctx<'_>, driver: &str, p: &Props) -> VfioDevice {
    let host = p.str("host");
    let sysfsdev = p.str("sysfsdev");
    let host_bdf = match (&host, &sysfsdev) {
        (Some(h), _) => normalize_bdf(h),
        (None, Some(s)) => bdf_from_sysfs(s),
        (None, None) => None,
    };
    if host.is_some() && host_bdf.is_none() {
        ctx.notes.push(format!(
            "{driver}: host={:?} is not a PCI address",
            host.unwrap_or_default()
        ));
    }
    VfioDevice {
        id: p.str("id"),
        driver: driver.to_string(),
        host_bdf,
        sysfsdev,
    }
}

fn memory_device_kind(driver: &str) -> Option<MemoryDeviceKind> {
    Some(match driver {
        "pc-dimm" => MemoryDeviceKind::PcDimm,
        "nvdimm" => MemoryDeviceKind::Nvdimm,
        d if d.starts_with("virtio-mem") => MemoryDeviceKind::VirtioMem,
        d if d.starts_with("virtio-pmem") => MemoryDeviceKind::VirtioPmem,
        _ => return None,
    })
}

fn memory_device(
    ctx: &mut Ctx<'_>,
    vm: &VmModel,
    backends: &HashMap<String, usize>,
    kind: MemoryDeviceKind,
    driver: &str,
    p: &Props,
) -> MemoryDevice {
    let what = format!("-device {driver}");
    let memdev = p.str("memdev");
    let backend = memdev
        .as_deref()
        .and_then(|id| backends.get(id))
        .and_then(|i| vm.memory_backends.get(*i))
        .cloned();
    if let (Some(id), None) = (&memdev, &backend) {
        ctx.notes
            .push(format!("{what}: memdev={id} names no memory backend"));
    }
    MemoryDevice {
        id: p.str("id"),
        kind,
        driver: driver.to_string(),
        memdev,
        node: ctx.take(p.u32("node"), &what),
        slot: ctx.take(p.u32("slot"), &what),
        label_size_bytes: ctx.take(p.size("label-size", 1), &what),
        backend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestry() {
        let a = type_ancestry("virtio-blk-pci");
        assert!(a.contains(&"virtio-blk-device".to_string()));
        assert!(a.contains(&"virtio-pci".to_string()));
        assert_eq!(
            virtio_family("virtio-net-pci-non-transitional"),
            Some("virtio-net")
        );
        assert_eq!(virtio_family("e1000"), None);
        assert!(type_ancestry("ide-hd").contains(&"ide-device".to_string()));
    }
}
