//! `<devices>` lowered as libvirt lowers them: controllers, disks (`-blockdev` chain + device),
//! interfaces, PCI host devices and memory devices, with libvirt's aliases as device ids.

use super::lower::{Argv, MemPlan};
use super::tree::Element;
use super::units::bytes_of;
use serde_json::{json, Map, Value};

pub(super) fn lower(dom: &Element, mem: &MemPlan, a: &mut Argv) {
    let Some(devs) = dom.child("devices") else {
        return;
    };
    let q35 = dom
        .at(&["os", "type"])
        .and_then(|t| t.attr("machine"))
        .is_some_and(|m| m.contains("q35"));
    let root_bus = if q35 { "pcie.0" } else { "pci.0" };
    for c in devs.all("controller") {
        controller(c, root_bus, a);
    }
    let mut node = 0usize;
    for (i, d) in devs.all("disk").enumerate() {
        disk(d, i, q35, root_bus, &mut node, devs, a);
    }
    for (i, n) in devs.all("interface").enumerate() {
        interface(n, i, root_bus, a);
    }
    let mut hostdevs = 0usize;
    for h in devs.all("hostdev") {
        hostdev(h, &mut hostdevs, root_bus, a);
    }
    let mut counters = [0usize; 4];
    for m in devs.all("memory") {
        memory_device(m, mem, &mut counters, a);
    }
}

fn obj(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

/// `bus` of a device with a PCI `<address>`: `pci.N` (`pcie.0`/`pci.0` for bus 0).
fn pci_bus(e: &Element, root_bus: &str) -> String {
    let bus = e
        .child("address")
        .filter(|ad| ad.attr("type") == Some("pci"))
        .and_then(|ad| ad.attr("bus"))
        .and_then(parse_int);
    match bus {
        Some(0) | None => root_bus.to_string(),
        Some(n) => format!("pci.{n}"),
    }
}

fn parse_int(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn on_off(v: Option<&str>) -> Option<bool> {
    match v {
        Some("on" | "yes") => Some(true),
        Some("off" | "no") => Some(false),
        _ => None,
    }
}

fn controller(c: &Element, root_bus: &str, a: &mut Argv) {
    let index = c.attr("index").unwrap_or("0");
    let drv = c.child("driver");
    match (c.attr("type"), c.attr("model")) {
        (Some("scsi"), model) => {
            let driver = match model {
                Some("virtio-scsi") => "virtio-scsi-pci",
                Some("virtio-transitional") => "virtio-scsi-pci-transitional",
                Some("virtio-non-transitional") => "virtio-scsi-pci-non-transitional",
                Some("lsisas1068") => "mptsas1068",
                Some("lsisas1078") => "megasas",
                Some("vmpvscsi") => "pvscsi",
                _ => "lsi",
            };
            let mut m = obj(&[
                ("driver", json!(driver)),
                ("id", json!(format!("scsi{index}"))),
            ]);
            if let Some(d) = drv {
                if let Some(t) = d.attr("iothread") {
                    m.insert("iothread".into(), json!(format!("iothread{t}")));
                }
                if let Some(q) = d.attr("queues").and_then(|q| q.parse::<u32>().ok()) {
                    m.insert("num_queues".into(), json!(q));
                }
                if let Some(p) = on_off(d.attr("packed")) {
                    m.insert("packed".into(), json!(p));
                }
            }
            m.insert("bus".into(), json!(pci_bus(c, root_bus)));
            a.json("device", m);
        }
        (Some("sata"), _) if index != "0" => {
            let m = obj(&[
                ("driver", json!("ich9-ahci")),
                ("id", json!(format!("sata{index}"))),
                ("bus", json!(pci_bus(c, root_bus))),
            ]);
            a.json("device", m);
        }
        (Some("pci"), Some(model @ ("pci-expander-bus" | "pcie-expander-bus"))) => {
            let mut m = obj(&[
                (
                    "driver",
                    json!(if model == "pci-expander-bus" {
                        "pxb"
                    } else {
                        "pxb-pcie"
                    }),
                ),
                ("id", json!(format!("pci.{index}"))),
            ]);
            if let Some(n) = c
                .at(&["target", "node"])
                .and_then(|n| n.text.parse::<u32>().ok())
            {
                m.insert("numa_node".into(), json!(n));
            }
            m.insert("bus".into(), json!(pci_bus(c, root_bus)));
            a.json("device", m);
        }
        (Some("pci"), Some(model)) if !matches!(model, "pci-root" | "pcie-root") => {
            let driver = match model {
                "pcie-root-port" => "pcie-root-port",
                "pcie-switch-upstream-port" => "x3130-upstream",
                "pcie-switch-downstream-port" => "xio3130-downstream",
                "dmi-to-pci-bridge" => "i82801b11-bridge",
                _ => "pci-bridge",
            };
            let m = obj(&[
                ("driver", json!(driver)),
                ("id", json!(format!("pci.{index}"))),
                ("bus", json!(pci_bus(c, root_bus))),
            ]);
            a.json("device", m);
        }
        _ => {}
    }
}

/// Index of a target name (`vda` → 0, `sdb` → 1, `hdaa` → 26), as libvirt computes it.
fn target_index(dev: &str) -> Option<usize> {
    let letters = dev
        .strip_prefix("vd")
        .or_else(|| dev.strip_prefix("sd"))
        .or_else(|| dev.strip_prefix("hd"))
        .or_else(|| dev.strip_prefix("fd"))
        .or_else(|| dev.strip_prefix("xvd"))?;
    if letters.is_empty() || letters.len() > 4 || !letters.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let mut idx = 0usize;
    for b in letters.bytes() {
        idx = (idx + 1) * 26 + usize::from(b - b'a');
    }
    Some(idx - 26)
}

/// Cache mode to (direct, no-flush, write-cache), catalogue §5.11.
fn cache_flags(mode: &str) -> Option<(bool, bool, bool)> {
    Some(match mode {
        "none" => (true, false, true),
        "writeback" => (false, false, true),
        "writethrough" => (false, false, false),
        "directsync" => (true, false, false),
        "unsafe" => (false, true, true),
        _ => return None,
    })
}

/// What one `<disk>` says, read once: the steps below decide and write from it.
struct DiskXml<'e> {
    disk: &'e Element,
    /// `type`: file, block, network, nvme, vhostuser, volume, ...
    kind: &'e str,
    /// `device`: disk, cdrom, lun, floppy.
    device: &'e str,
    /// `<target bus>`, libvirt's default when absent (virtio for `vd*`, else ide).
    bus: &'e str,
    /// The target's index (`vdb` → 1), or the disk's position when the name is not one.
    index: usize,
    driver: Option<&'e Element>,
    source: Option<&'e Element>,
    /// `<disk dev='...'>`, how notes name the disk.
    label: String,
}

impl<'e> DiskXml<'e> {
    fn read(d: &'e Element, pos: usize) -> Self {
        let target = d.child("target");
        let dev = target.and_then(|t| t.attr("dev")).unwrap_or("");
        let bus = target
            .and_then(|t| t.attr("bus"))
            .unwrap_or(if dev.starts_with("vd") {
                "virtio"
            } else {
                "ide"
            });
        DiskXml {
            disk: d,
            kind: d.attr("type").unwrap_or("file"),
            device: d.attr("device").unwrap_or("disk"),
            bus,
            index: target_index(dev).unwrap_or(pos),
            driver: d.child("driver"),
            source: d.child("source"),
            label: format!("<disk dev='{dev}'>"),
        }
    }

    fn cdrom(&self) -> bool {
        self.device == "cdrom"
    }

    /// A number of the `<address type='drive'>` (controller, bus, target, unit).
    fn drive_address(&self, key: &str) -> Option<u64> {
        self.disk
            .child("address")
            .filter(|ad| ad.attr("type") == Some("drive"))
            .and_then(|ad| ad.attr(key))
            .and_then(parse_int)
    }
}

fn disk(
    d: &Element,
    pos: usize,
    q35: bool,
    root_bus: &str,
    node: &mut usize,
    devs: &Element,
    a: &mut Argv,
) {
    let xml = DiskXml::read(d, pos);
    if xml.kind == "vhostuser" {
        vhost_user_disk(&xml, root_bus, a);
        return;
    }
    *node += 1;
    let chain = write_blockdev_chain(&xml, *node, a);
    let Some(frontend) = disk_frontend(&xml, q35, root_bus, devs) else {
        a.notes
            .push(format!("{}: bus '{}' is not modelled", xml.label, xml.bus));
        return;
    };
    write_disk_device(&xml, frontend, &chain, a);
}

/// A vhost-user disk: no block nodes in QEMU, a chardev to the backend and the device.
fn vhost_user_disk(xml: &DiskXml, root_bus: &str, a: &mut Argv) {
    let id = format!("virtio-disk{}", xml.index);
    let path = xml.source.and_then(|s| s.attr("path")).unwrap_or("");
    a.opt(
        "chardev",
        format!("socket,id=chr-vu-{id},path={}", super::lower::esc(path)),
    );
    let mut m = obj(&[("driver", json!("vhost-user-blk-pci"))]);
    virtio_opts(xml.driver, &mut m);
    m.insert("bus".into(), json!(pci_bus(xml.disk, root_bus)));
    m.insert("chardev".into(), json!(format!("chr-vu-{id}")));
    m.insert("id".into(), json!(id));
    a.json("device", m);
}

/// The protocol node's driver and filename for the disk's type; what libvirt resolves itself
/// (unknown network protocols, storage pool volumes) is noted.
fn protocol_source<'e>(xml: &DiskXml<'e>, a: &mut Argv) -> (&'e str, Option<String>) {
    let src = xml.source;
    match xml.kind {
        "file" => ("file", src.and_then(|s| s.attr("file")).map(str::to_string)),
        "block" => (
            if xml.cdrom() {
                "host_cdrom"
            } else {
                "host_device"
            },
            src.and_then(|s| s.attr("dev")).map(str::to_string),
        ),
        "network" => {
            let p = src.and_then(|s| s.attr("protocol")).unwrap_or("");
            let name = src.and_then(|s| s.attr("name")).unwrap_or("");
            let host = src
                .and_then(|s| s.child("host"))
                .and_then(|h| h.attr("name"))
                .unwrap_or("");
            let proto = match p {
                "rbd" | "nbd" | "iscsi" | "gluster" | "http" | "https" | "ftp" | "ftps" | "ssh"
                | "sheepdog" | "vxhs" | "nfs" => p,
                _ => {
                    a.notes.push(format!(
                        "{}: network protocol '{p}' is not modelled",
                        xml.label
                    ));
                    "network"
                }
            };
            (proto, Some(format!("{p}://{host}/{name}")))
        }
        "nvme" => ("nvme", None),
        other => {
            a.notes.push(format!(
                "{}: disk type '{other}' is resolved by libvirt at start (a storage pool volume)",
                xml.label
            ));
            ("file", None)
        }
    }
}

/// What the device needs from the block nodes written for it.
struct BlockChain {
    /// `libvirt-N-format`, the node the device's `drive` names.
    format_node: String,
    /// (direct, no-flush, write-cache) of the disk's cache mode, when it has a valid one.
    cache_flags: Option<(bool, bool, bool)>,
}

/// Writes the disk's `-blockdev` pair, protocol node then format node, as libvirt numbers
/// them (`libvirt-N-storage`, `libvirt-N-format`); an invalid cache mode is noted.
fn write_blockdev_chain(xml: &DiskXml, n: usize, a: &mut Argv) -> BlockChain {
    let (proto, filename) = protocol_source(xml, a);
    let storage = format!("libvirt-{n}-storage");
    let format_node = format!("libvirt-{n}-format");
    let cache = xml.driver.and_then(|d| d.attr("cache"));
    let flags = cache.and_then(cache_flags);
    if cache.is_some() && flags.is_none() {
        a.notes.push(format!(
            "{}: cache='{}' is not a libvirt cache mode",
            xml.label,
            cache.unwrap_or("")
        ));
    }
    let cache_obj =
        flags.map(|(direct, no_flush, _)| json!({"direct": direct, "no-flush": no_flush}));
    let mut s = obj(&[("driver", json!(proto))]);
    if let Some(f) = &filename {
        s.insert("filename".into(), json!(f));
    }
    s.insert("node-name".into(), json!(storage));
    if let Some(c) = &cache_obj {
        s.insert("cache".into(), c.clone());
    }
    if let Some(io) = xml.driver.and_then(|d| d.attr("io")) {
        if matches!(proto, "file" | "host_device" | "host_cdrom") {
            s.insert("aio".into(), json!(io));
        }
    }
    a.json("blockdev", s);
    let readonly = xml.disk.child("readonly").is_some() || xml.cdrom();
    let fmt = xml.driver.and_then(|d| d.attr("type")).unwrap_or("raw");
    let mut f = obj(&[
        ("node-name", json!(format_node)),
        ("read-only", json!(readonly)),
    ]);
    if let Some(c) = &cache_obj {
        f.insert("cache".into(), c.clone());
    }
    f.insert("driver".into(), json!(fmt));
    f.insert("file".into(), json!(storage));
    a.json("blockdev", f);
    BlockChain {
        format_node,
        cache_flags: flags,
    }
}

/// The guest-visible device a disk's bus makes: QEMU driver, libvirt's default id, the bus it
/// plugs into (empty: none) and, for IDE, its unit.
struct DiskFrontend {
    driver: &'static str,
    default_id: String,
    bus: String,
    ide_unit: Option<u64>,
}

/// The device for the disk's bus, with libvirt's default ids and unit numbering (SCSI: 7 units
/// per controller; SATA: 6; IDE: 2 per bus); `None` for a bus not modelled.
fn disk_frontend(xml: &DiskXml, q35: bool, root_bus: &str, devs: &Element) -> Option<DiskFrontend> {
    let idx = xml.index;
    let frontend = |driver, default_id, bus| DiskFrontend {
        driver,
        default_id,
        bus,
        ide_unit: None,
    };
    let ide_driver = if xml.cdrom() { "ide-cd" } else { "ide-hd" };
    Some(match xml.bus {
        "virtio" => frontend(
            "virtio-blk-pci",
            format!("virtio-disk{idx}"),
            pci_bus(xml.disk, root_bus),
        ),
        "scsi" => {
            let c = xml.drive_address("controller").unwrap_or((idx / 7) as u64);
            let unit = xml.drive_address("unit").unwrap_or((idx % 7) as u64);
            let b = xml.drive_address("bus").unwrap_or(0);
            let tgt = xml.drive_address("target").unwrap_or(0);
            // libvirt names a virtio-scsi disk by its target too, an emulated HBA's not.
            let virtio = devs.all("controller").any(|ct| {
                ct.attr("type") == Some("scsi")
                    && ct.attr("index").and_then(parse_int) == Some(c)
                    && ct.attr("model").is_some_and(|m| m.starts_with("virtio"))
            });
            let driver = match xml.device {
                "cdrom" => "scsi-cd",
                "lun" => "scsi-block",
                _ => "scsi-hd",
            };
            let id = if virtio {
                format!("scsi{c}-{b}-{tgt}-{unit}")
            } else {
                format!("scsi{c}-{b}-{unit}")
            };
            frontend(driver, id, format!("scsi{c}.0"))
        }
        "sata" => {
            let c = xml.drive_address("controller").unwrap_or((idx / 6) as u64);
            let unit = xml.drive_address("unit").unwrap_or((idx % 6) as u64);
            let b = xml.drive_address("bus").unwrap_or(0);
            // q35's built-in AHCI controller is QEMU's `ide` bus.
            let busname = if c == 0 && q35 {
                format!("ide.{unit}")
            } else {
                format!("sata{c}.{unit}")
            };
            frontend(ide_driver, format!("sata{c}-{b}-{unit}"), busname)
        }
        "ide" => {
            let b = xml.drive_address("bus").unwrap_or((idx / 2) as u64);
            let unit = xml.drive_address("unit").unwrap_or((idx % 2) as u64);
            DiskFrontend {
                ide_unit: Some(unit),
                ..frontend(ide_driver, format!("ide0-{b}-{unit}"), format!("ide.{b}"))
            }
        }
        "usb" => frontend("usb-storage", format!("usb-disk{idx}"), "usb.0".to_string()),
        "fdc" => frontend("floppy", format!("fdc0-0-{idx}"), String::new()),
        "sd" => frontend("sd-card", format!("sd-disk{idx}"), String::new()),
        _ => return None,
    })
}

/// Writes the disk's `-device`: the frontend, its virtio options, the drive it reads through
/// and the write cache its cache mode implies; the `<alias>` wins over the default id.
fn write_disk_device(xml: &DiskXml, fe: DiskFrontend, chain: &BlockChain, a: &mut Argv) {
    let mut m = Map::new();
    if let Some(unit) = fe.ide_unit {
        m.insert("unit".into(), json!(unit));
    }
    let id = xml
        .disk
        .child("alias")
        .and_then(|al| al.attr("name"))
        .map_or(fe.default_id, str::to_string);
    m.insert("driver".into(), json!(fe.driver));
    if fe.driver == "virtio-blk-pci" {
        if let Some(dr) = xml.driver {
            if let Some(t) = dr.attr("iothread") {
                m.insert("iothread".into(), json!(format!("iothread{t}")));
            }
            if let Some(q) = dr.attr("queues").and_then(|q| q.parse::<u32>().ok()) {
                m.insert("num-queues".into(), json!(q));
            }
            if let Some(q) = dr.attr("queue_size").and_then(|q| q.parse::<u32>().ok()) {
                m.insert("queue-size".into(), json!(q));
            }
        }
        virtio_opts(xml.driver, &mut m);
    }
    if !fe.bus.is_empty() {
        m.insert("bus".into(), json!(fe.bus));
    }
    m.insert("drive".into(), json!(chain.format_node));
    m.insert("id".into(), json!(id));
    if let Some((_, _, wce)) = chain.cache_flags {
        m.insert("write-cache".into(), json!(if wce { "on" } else { "off" }));
    }
    a.json("device", m);
}

/// virtio `<driver packed='on'>` (disks, interfaces).
fn virtio_opts(drv: Option<&Element>, m: &mut Map<String, Value>) {
    if let Some(p) = drv.and_then(|d| on_off(d.attr("packed"))) {
        m.insert("packed".into(), json!(p));
    }
}

fn interface(n: &Element, i: usize, root_bus: &str, a: &mut Argv) {
    let kind = n.attr("type").unwrap_or("");
    let drv = n.child("driver");
    let model = n
        .child("model")
        .and_then(|m| m.attr("type"))
        .unwrap_or("rtl8139");
    let id = n
        .child("alias")
        .and_then(|al| al.attr("name"))
        .map_or_else(|| format!("net{i}"), str::to_string);
    if kind == "hostdev" {
        let mut m = obj(&[("driver", json!("vfio-pci"))]);
        if let Some(bdf) = n.at(&["source", "address"]).and_then(pci_address) {
            m.insert("host".into(), json!(bdf));
        }
        m.insert("id".into(), json!(id));
        a.json("device", m);
        return;
    }
    let driver = match model {
        "virtio" => "virtio-net-pci",
        "virtio-transitional" => "virtio-net-pci-transitional",
        "virtio-non-transitional" => "virtio-net-pci-non-transitional",
        other => other,
    };
    let queues = drv
        .and_then(|d| d.attr("queues"))
        .and_then(|q| q.parse::<u32>().ok())
        .filter(|q| *q > 1);
    let netdev = format!("host{id}");
    let mut b = Map::new();
    match kind {
        "user" => {
            b.insert("type".into(), json!("user"));
        }
        "vhostuser" => {
            let path = n.at(&["source"]).and_then(|s| s.attr("path")).unwrap_or("");
            a.opt(
                "chardev",
                format!("socket,id=char{netdev},path={}", super::lower::esc(path)),
            );
            b.insert("type".into(), json!("vhost-user"));
            b.insert("chardev".into(), json!(format!("char{netdev}")));
        }
        "vdpa" => {
            b.insert("type".into(), json!("vhost-vdpa"));
        }
        _ => {
            // network, bridge, ethernet, direct (macvtap): libvirt opens the tap (and
            // /dev/vhost-net for a virtio model unless <driver name='qemu'>) and passes fds.
            b.insert("type".into(), json!("tap"));
            let vhost = driver.starts_with("virtio-net")
                && drv.and_then(|d| d.attr("name")) != Some("qemu");
            if vhost {
                b.insert("vhost".into(), json!(true));
            }
        }
    }
    if let Some(q) = queues {
        b.insert("queues".into(), json!(q));
    }
    b.insert("id".into(), json!(netdev));
    a.json("netdev", b);
    let mut m = obj(&[("driver", json!(driver)), ("netdev", json!(netdev))]);
    if let Some(q) = queues.filter(|_| driver.starts_with("virtio-net")) {
        m.insert("mq".into(), json!(true));
        m.insert("vectors".into(), json!(2 * q + 2));
    }
    virtio_opts(drv, &mut m);
    m.insert("id".into(), json!(id));
    if let Some(mac) = n.child("mac").and_then(|m| m.attr("address")) {
        m.insert("mac".into(), json!(mac));
    }
    m.insert("bus".into(), json!(pci_bus(n, root_bus)));
    a.json("device", m);
}

/// `<address domain bus slot function>` as `0000:3d:01.1`.
fn pci_address(ad: &Element) -> Option<String> {
    let f = |k: &str, d: u64| ad.attr(k).map_or(Some(d), parse_int);
    let (dom, bus, slot, func) = (
        f("domain", 0)?,
        f("bus", 0)?,
        f("slot", 0)?,
        f("function", 0)?,
    );
    if dom > 0xffff || bus > 0xff || slot > 0x1f || func > 7 {
        return None;
    }
    Some(format!("{dom:04x}:{bus:02x}:{slot:02x}.{func:x}"))
}

fn hostdev(h: &Element, n: &mut usize, root_bus: &str, a: &mut Argv) {
    if h.attr("mode") != Some("subsystem") {
        return;
    }
    let id = h
        .child("alias")
        .and_then(|al| al.attr("name"))
        .map_or_else(|| format!("hostdev{n}"), str::to_string);
    let mut m = obj(&[("driver", json!("vfio-pci"))]);
    match h.attr("type") {
        Some("pci") => {
            let Some(bdf) = h.at(&["source", "address"]).and_then(pci_address) else {
                a.notes
                    .push("<hostdev type='pci'> without a readable source address".into());
                return;
            };
            m.insert("host".into(), json!(bdf));
        }
        Some("mdev") => {
            let Some(uuid) = h.at(&["source", "address"]).and_then(|ad| ad.attr("uuid")) else {
                return;
            };
            m.insert(
                "sysfsdev".into(),
                json!(format!("/sys/bus/mdev/devices/{uuid}")),
            );
        }
        _ => return,
    }
    *n += 1;
    m.insert("id".into(), json!(id));
    m.insert("bus".into(), json!(pci_bus(h, root_bus)));
    a.json("device", m);
}

fn memory_device(m: &Element, mem: &MemPlan, counters: &mut [usize; 4], a: &mut Argv) {
    let (slot, driver, prefix) = match m.attr("model") {
        Some("dimm") => (0, "pc-dimm", "dimm"),
        Some("nvdimm") => (1, "nvdimm", "nvdimm"),
        Some("virtio-mem") => (2, "virtio-mem-pci", "virtiomem"),
        Some("virtio-pmem") => (3, "virtio-pmem-pci", "virtiopmem"),
        Some(other) => {
            a.notes
                .push(format!("<memory model='{other}'> is not modelled"));
            return;
        }
        None => return,
    };
    let n = counters[slot];
    counters[slot] += 1;
    let id = format!("{prefix}{n}");
    let memdev = format!("mem{id}");
    let t = m.child("target");
    let size = t
        .and_then(|t| t.child("size"))
        .and_then(|s| bytes_of(Some(s.text.as_str()), s.attr("unit").or(Some("KiB"))));
    let node = t
        .and_then(|t| t.text_at(&["node"]))
        .and_then(|n| n.parse::<u32>().ok());
    let path = m.at(&["source", "path"]).map(|p| p.text.clone());
    let shared = match m.attr("access") {
        Some(s) => s == "shared",
        None => mem.shared,
    };
    let mut b = match (driver, &path) {
        ("pc-dimm" | "virtio-mem-pci", None) => mem.backend(&memdev, size, node, Some(shared)),
        (_, p) => {
            let mut b = obj(&[
                ("qom-type", json!("memory-backend-file")),
                ("id", json!(memdev)),
            ]);
            if let Some(p) = p {
                b.insert("mem-path".into(), json!(p));
            }
            b.insert("share".into(), json!(shared));
            b.insert("prealloc".into(), json!(true));
            if let Some(s) = size {
                b.insert("size".into(), json!(s));
            }
            b
        }
    };
    if driver == "nvdimm" && m.at(&["source", "pmem"]).is_some() {
        b.insert("pmem".into(), json!(true));
    }
    a.json("object", b);
    let mut d = obj(&[("driver", json!(driver))]);
    if let Some(n) = node {
        d.insert("node".into(), json!(n));
    }
    if driver == "nvdimm" {
        if let Some(l) = t
            .and_then(|t| t.at(&["label", "size"]))
            .and_then(|s| bytes_of(Some(s.text.as_str()), s.attr("unit").or(Some("KiB"))))
        {
            d.insert("label-size".into(), json!(l));
        }
        if t.and_then(|t| t.child("readonly")).is_some() {
            d.insert("unarmed".into(), json!(true));
        }
    }
    d.insert("memdev".into(), json!(memdev));
    d.insert("id".into(), json!(id));
    if driver == "pc-dimm" || driver == "nvdimm" {
        d.insert("slot".into(), json!(n));
    }
    a.json("device", d);
}
