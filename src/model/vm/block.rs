//! Disks: every block device with its backend chain, cache mode, aio engine and queues.
//!
//! Sources: `-device ...,drive=X` (X is a `-drive id` or a `-blockdev node-name`),
//! `vhost-user-blk`, `-drive if=...` creating its own device, `-hda`/`-cdrom`/... shorthands
//! and positional images. Chains follow `file` children (references and inline objects).

use super::build::Ctx;
use super::chain::{backing_of, blockdev_chain, finish, legacy_chain, Nodes};
use super::{Controller, Disk, DiskBus, DiskOrigin, Machine, VmModel};
use crate::parse::qemu::props::Props;
use crate::parse::qemu::ParsedOption;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// What the disk builders look things up in.
struct Index<'a> {
    /// `-drive` options by id.
    drives: HashMap<String, &'a ParsedOption>,
    /// `-blockdev` properties by node-name.
    nodes: Nodes<'a>,
    controllers: &'a [Controller],
    /// Controller id → position in `controllers`.
    controller_ids: HashMap<String, usize>,
    /// The first SCSI controller: where a `scsi-*` device without `bus=` lands.
    first_scsi: Option<&'a Controller>,
    machine: &'a Machine,
}

pub(super) fn build(ctx: &mut Ctx<'_>, vm: &mut VmModel) {
    let cl = ctx.cl;
    vm.controllers = controllers(ctx);
    let mut drives = HashMap::new();
    for o in cl.all(&["drive"]) {
        if let Some(id) = o.props.str("id") {
            drives.insert(id, o);
        }
    }
    let mut nodes = HashMap::new();
    for o in cl.all(&["blockdev"]) {
        match o.props.str("node-name") {
            Some(n) => {
                nodes.insert(n, &o.props);
            }
            None => ctx
                .notes
                .push(format!("-blockdev at argv[{}] has no node-name", o.index)),
        }
    }
    let mut controller_ids = HashMap::new();
    for (i, c) in vm.controllers.iter().enumerate() {
        if let Some(id) = &c.id {
            controller_ids.entry(id.clone()).or_insert(i);
        }
    }
    let idx = Index {
        drives,
        nodes,
        controllers: &vm.controllers,
        controller_ids,
        first_scsi: vm
            .controllers
            .iter()
            .find(|c| matches!(c.bus, DiskBus::VirtioScsi | DiskBus::Scsi)),
        machine: &vm.machine,
    };
    let mut used_drives = HashSet::new();
    let mut disks: Vec<(usize, Disk)> = Vec::new();
    for o in cl.all(&["device"]) {
        let Some(driver) = o.props.str("driver") else {
            continue;
        };
        let p = ctx.globals.apply(&driver, &o.props);
        let is_vhost_user = driver.starts_with("vhost-user-blk");
        if p.contains("drive") || is_vhost_user {
            let d = device_disk(ctx, &idx, &driver, &p, &mut used_drives);
            disks.push((o.index, d));
        }
    }
    for o in cl.all(&["drive"]) {
        let id = o.props.str("id");
        if id.as_ref().is_some_and(|i| used_drives.contains(i)) {
            continue;
        }
        if let Some(d) = implicit_disk(ctx, &idx, &o.props, DiskOrigin::Drive) {
            disks.push((o.index, d));
        }
    }
    shorthand_disks(ctx, &idx, &mut disks);
    disks.sort_by_key(|(i, _)| *i);
    vm.disks = disks.into_iter().map(|(_, d)| d).collect();
}

fn controllers(ctx: &mut Ctx<'_>) -> Vec<Controller> {
    let mut out = Vec::new();
    for o in ctx.cl.all(&["device"]) {
        let Some(driver) = o.props.str("driver") else {
            continue;
        };
        let Some(bus) = controller_bus(&driver) else {
            continue;
        };
        let p = ctx.globals.apply(&driver, &o.props);
        let what = format!("-device {driver}");
        let num_queues = ctx.take(p.u32("num_queues"), &what);
        let packed = ctx.take(p.bool("packed"), &what);
        out.push(Controller {
            id: p.str("id"),
            driver,
            bus,
            iothreads: iothreads_of(&p),
            num_queues,
            packed,
        });
    }
    out
}

fn controller_bus(driver: &str) -> Option<DiskBus> {
    Some(match driver {
        d if d.starts_with("virtio-scsi") => DiskBus::VirtioScsi,
        "lsi53c895a" | "lsi53c810" | "lsi" | "megasas" | "megasas-gen2" | "mptsas1068"
        | "pvscsi" | "am53c974" | "dc390" | "spapr-vscsi" | "esp" => DiskBus::Scsi,
        "ahci" | "ich9-ahci" => DiskBus::Sata,
        "piix3-ide" | "piix4-ide" | "piix3-ide-xen" | "via-ide" | "cmd646-ide" => DiskBus::Ide,
        _ => return None,
    })
}

/// `iothread=X` plus every `iothread` of an `iothread-vq-mapping` list, deduplicated.
fn iothreads_of(p: &Props) -> Vec<String> {
    let mut out: Vec<String> = p.str("iothread").into_iter().collect();
    if let Some(Value::Array(items)) = p.get("iothread-vq-mapping") {
        for it in items {
            if let Some(name) = it.get("iothread").and_then(Value::as_str) {
                out.push(name.to_string());
            }
        }
    }
    // keyval list syntax: iothread-vq-mapping.0.iothread=...
    for (k, v) in p.children("iothread-vq-mapping").iter() {
        if k.ends_with(".iothread") {
            if let Some(s) = v.as_str() {
                out.push(s.to_string());
            }
        }
    }
    let mut seen = HashSet::new();
    out.retain(|x| seen.insert(x.clone()));
    out
}

fn device_disk(
    ctx: &mut Ctx<'_>,
    idx: &Index<'_>,
    driver: &str,
    p: &Props,
    used_drives: &mut HashSet<String>,
) -> Disk {
    let what = format!("-device {driver}");
    let controller_id = p.str("bus").map(|b| bus_controller(&b));
    let controller = find_controller(idx, driver, controller_id.as_deref());
    let mut disk = Disk {
        id: p.str("id"),
        origin: DiskOrigin::Device,
        device_driver: Some(driver.to_string()),
        bus: device_bus(idx, driver, controller),
        // Only SCSI and IDE/SATA disks hang off a controller (virtio-blk's bus= is a PCI bus).
        controller: controller.and_then(|c| c.id.clone()).or_else(|| {
            controller_id.filter(|_| driver.starts_with("scsi-") || driver.starts_with("ide-"))
        }),
        drive: p.str("drive"),
        cdrom: driver.ends_with("-cd"),
        ..Disk::default()
    };
    // A BlockBackend a device creates for a -blockdev node has its write cache on.
    let mut default_wce = true;
    let mut chain = None;
    if let Some(r) = disk.drive.clone() {
        if let Some(d) = idx.drives.get(&r) {
            used_drives.insert(r.clone());
            let legacy = legacy_chain(ctx, &d.props);
            default_wce = legacy.write_cache;
            disk.read_only = legacy.read_only;
            disk.cdrom |= legacy.cdrom;
            disk.interface = d.props.str("if");
            chain = Some(legacy.chain);
        } else if idx.nodes.contains_key(&r) {
            chain = Some(blockdev_chain(ctx, &idx.nodes, &r));
            disk.backing = backing_of(ctx, &idx.nodes, &r);
        } else {
            ctx.notes
                .push(format!("{what}: drive={r:?} names no -drive or -blockdev"));
        }
    }
    // write-cache=auto (or absent) takes the backend's setting.
    let wce = p
        .get("write-cache")
        .and_then(crate::parse::qemu::props::value_bool)
        .unwrap_or(default_wce);
    if let Some(c) = chain {
        finish(&mut disk, c, Some(wce));
    }
    disk.read_only |= disk.chain.first().and_then(|n| n.read_only) == Some(true);
    disk.iothreads = iothreads_of(p);
    disk.num_queues = ctx.take(p.u32("num-queues"), &what);
    disk.queue_size = ctx.take(p.u32("queue-size"), &what);
    disk.packed = ctx.take(p.bool("packed"), &what);
    if let Some(c) = controller.filter(|c| c.bus == DiskBus::VirtioScsi) {
        // The virtqueues belong to the virtio-scsi controller.
        if disk.iothreads.is_empty() {
            disk.iothreads = c.iothreads.clone();
        }
        disk.num_queues = disk.num_queues.or(c.num_queues);
        disk.packed = disk.packed.or(c.packed);
    }
    disk
}

/// `scsi0.0` → `scsi0`; `ide.1` → `ide`.
fn bus_controller(bus: &str) -> String {
    match bus.rsplit_once('.') {
        Some((c, _)) => c.to_string(),
        None => bus.to_string(),
    }
}

fn find_controller<'a>(
    idx: &'a Index<'_>,
    driver: &str,
    id: Option<&str>,
) -> Option<&'a Controller> {
    if let Some(id) = id {
        if let Some(c) = idx
            .controller_ids
            .get(id)
            .and_then(|i| idx.controllers.get(*i))
        {
            return Some(c);
        }
    }
    if driver.starts_with("scsi-") {
        // No bus= (or an unknown one): QEMU picks the first SCSI bus.
        return idx.first_scsi;
    }
    None
}

fn device_bus(idx: &Index<'_>, driver: &str, controller: Option<&Controller>) -> DiskBus {
    match driver {
        d if d.starts_with("virtio-blk") => DiskBus::VirtioBlk,
        d if d.starts_with("vhost-user-blk") => DiskBus::VhostUserBlk,
        d if d.starts_with("scsi-") => controller.map_or(DiskBus::Scsi, |c| c.bus),
        "ide-hd" | "ide-cd" | "ide-drive" => match controller {
            Some(c) => c.bus,
            None if is_q35(idx.machine) => DiskBus::Sata,
            None => DiskBus::Ide,
        },
        d if d.starts_with("usb-") => DiskBus::Usb,
        "nvme" | "nvme-ns" => DiskBus::Nvme,
        "floppy" => DiskBus::Floppy,
        "sd-card" => DiskBus::Sd,
        _ => DiskBus::Other,
    }
}

/// q35's built-in ICH9 AHCI controller is named `ide`: its "IDE" disks are SATA.
fn is_q35(m: &Machine) -> bool {
    m.machine_type.as_deref().is_some_and(|t| t.contains("q35"))
}

/// A `-drive` that creates its own device (`if=` anything but `none`).
fn implicit_disk(
    ctx: &mut Ctx<'_>,
    idx: &Index<'_>,
    p: &Props,
    origin: DiskOrigin,
) -> Option<Disk> {
    let iface = p
        .str("if")
        .unwrap_or_else(|| default_interface(idx.machine).to_string());
    if iface == "none" {
        if p.str("id").is_none() {
            ctx.notes
                .push("-drive if=none without id is unused".to_string());
        }
        return None;
    }
    let legacy = legacy_chain(ctx, p);
    let cdrom = legacy.cdrom;
    let (driver, bus) = interface_device(idx.machine, &iface, cdrom);
    let mut disk = Disk {
        id: p.str("id"),
        origin,
        device_driver: driver.map(str::to_string),
        bus,
        drive: p.str("id"),
        interface: Some(iface),
        read_only: legacy.read_only || cdrom,
        cdrom,
        ..Disk::default()
    };
    finish(&mut disk, legacy.chain, Some(legacy.write_cache));
    Some(disk)
}

/// The machine's default `if=` (QEMU's `block_default_type`).
fn default_interface(m: &Machine) -> &'static str {
    let t = m.machine_type.as_deref().unwrap_or("");
    if t.starts_with("s390") || t.starts_with("virt") || t == "microvm" {
        "virtio"
    } else if t.starts_with("pseries") {
        "scsi"
    } else {
        "ide"
    }
}

fn interface_device(m: &Machine, iface: &str, cdrom: bool) -> (Option<&'static str>, DiskBus) {
    let s390 = m
        .machine_type
        .as_deref()
        .is_some_and(|t| t.starts_with("s390"));
    match iface {
        "virtio" if s390 => (Some("virtio-blk-ccw"), DiskBus::VirtioBlk),
        "virtio" => (Some("virtio-blk-pci"), DiskBus::VirtioBlk),
        "ide" => {
            let d = if cdrom { "ide-cd" } else { "ide-hd" };
            (
                Some(d),
                if is_q35(m) {
                    DiskBus::Sata
                } else {
                    DiskBus::Ide
                },
            )
        }
        // if=scsi adds an lsi53c895a HBA on PC machines.
        "scsi" => (
            Some(if cdrom { "scsi-cd" } else { "scsi-hd" }),
            DiskBus::Scsi,
        ),
        "floppy" => (Some("floppy"), DiskBus::Floppy),
        "pflash" => (None, DiskBus::Pflash),
        "sd" => (Some("sd-card"), DiskBus::Sd),
        _ => (None, DiskBus::Other),
    }
}

/// `-hda`..`-hdd`, `-cdrom`, `-fda`/`-fdb`, `-sd`, `-pflash`, `-mtdblock` and positional images,
/// as the `-drive` QEMU turns each into.
fn shorthand_disks(ctx: &mut Ctx<'_>, idx: &Index<'_>, out: &mut Vec<(usize, Disk)>) {
    let default_if = default_interface(idx.machine);
    let mut pending: Vec<(usize, Props, DiskOrigin)> = Vec::new();
    for o in &ctx.cl.options {
        let (iface, unit, media) = match o.name.as_str() {
            "hda" => (default_if, 0, "disk"),
            "hdb" => (default_if, 1, "disk"),
            "hdc" => (default_if, 2, "disk"),
            "hdd" => (default_if, 3, "disk"),
            "cdrom" => (default_if, 2, "cdrom"),
            "fda" => ("floppy", 0, "disk"),
            "fdb" => ("floppy", 1, "disk"),
            "sd" => ("sd", 0, "disk"),
            "pflash" => ("pflash", 0, "disk"),
            "mtdblock" => ("mtd", 0, "disk"),
            _ => continue,
        };
        let Some(file) = o.raw.clone() else { continue };
        pending.push((
            o.index,
            shorthand_props(&file, iface, unit, media),
            DiskOrigin::Shorthand,
        ));
    }
    // Positional images are -hda.
    for pos in &ctx.cl.positionals {
        let p = shorthand_props(&pos.value, default_if, 0, "disk");
        pending.push((pos.index, p, DiskOrigin::Positional));
    }
    for (i, p, origin) in pending {
        if let Some(d) = implicit_disk(ctx, idx, &p, origin) {
            out.push((i, d));
        }
    }
}

fn shorthand_props(file: &str, iface: &str, index: u32, media: &str) -> Props {
    let mut p = Props::new();
    p.push("file", Value::String(file.to_string()));
    p.push("if", Value::String(iface.to_string()));
    p.push("index", Value::String(index.to_string()));
    p.push("media", Value::String(media.to_string()));
    p
}
