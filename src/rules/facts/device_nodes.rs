//! The host NUMA node of each device a VM uses: PCI functions, NICs (through bridges, bonds,
//! VLANs and taps), disks (through partitions, device-mapper and mounts).

use super::mounts::{mount_of, vm_mounts};
use super::vm_args::{disk_targets, tap_by_fd};
use crate::model::host::Vm;
use crate::model::vm::DiskBus;
use crate::rules::facts::qat::PCI;
use std::collections::BTreeSet;
const NET: &str = "/sys/class/net";

use crate::rules::context::{Ctx, Got};
use crate::vocab::Target;

/// Where a host device sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DevNode {
    /// On this node; the PCI functions behind it (for interrupts) and how it was found.
    Node(u32, Vec<String>, String),
    /// numa_node -1: single node or firmware without _PXM.
    NoNode(String),
    /// Purely virtual or network backend.
    Virtual(String),
    Unknown(String),
}

pub(crate) fn pci_node(ctx: &Ctx, bdf: &str) -> DevNode {
    let p = format!("{PCI}/{bdf}/numa_node");
    match ctx.get(&p) {
        Got::Val(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 0 => DevNode::Node(n as u32, vec![bdf.to_string()], format!("{p} = {n}")),
            Ok(_) => DevNode::NoNode(format!("{p} = -1 (no NUMA affinity reported)")),
            Err(_) => DevNode::Unknown(format!("{p}: unexpected {v:?}")),
        },
        Got::Absent => DevNode::Unknown(format!("{p} absent (device not present?)")),
        other => DevNode::Unknown(format!("{p}: {}", other.why())),
    }
}

pub(crate) fn basename(p: &str) -> &str {
    p.trim_end_matches('/').rsplit('/').next().unwrap_or(p)
}

pub(crate) fn looks_bdf(s: &str) -> bool {
    s.len() == 12 && s.as_bytes().get(4) == Some(&b':') && s.as_bytes().get(7) == Some(&b':')
}

/// A physical interface's PCI function: the last PCI address in its `/sys/class/net/IF`
/// link target (`../../devices/pci0000:30/0000:30:02.0/0000:31:00.0/net/IF`), else in its
/// `device` link. `None` for virtual interfaces (taps, bridges, bonds).
pub(crate) fn iface_bdf(ctx: &Ctx, ifname: &str) -> Option<String> {
    let from = |l: &str| {
        l.split('/')
            .rev()
            .find(|c| looks_bdf(c))
            .map(str::to_string)
    };
    if let Some(l) = ctx.link(&format!("{NET}/{ifname}")) {
        return from(l);
    }
    ctx.link(&format!("{NET}/{ifname}/device")).and_then(from)
}

/// A physical interface's node; `None` for virtual interfaces.
pub(crate) fn phys_iface(ctx: &Ctx, ifname: &str) -> Option<DevNode> {
    let class_link = ctx.link(&format!("{NET}/{ifname}"));
    let dev_link = ctx.link(&format!("{NET}/{ifname}/device"));
    let bdf = iface_bdf(ctx, ifname);
    if bdf.is_none() && (class_link.is_some() || dev_link.is_none()) {
        return None;
    }
    let p = format!("{NET}/{ifname}/device/numa_node");
    let shown = bdf.clone().unwrap_or_else(|| "?".into());
    let node = match ctx.get(&p) {
        Got::Val(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Some(n as u32),
            Ok(_) => return Some(DevNode::NoNode(format!("{p} = -1"))),
            Err(_) => return Some(DevNode::Unknown(format!("{p}: unexpected {v:?}"))),
        },
        _ => None,
    };
    let node = match (node, &bdf) {
        (Some(n), _) => n,
        (None, Some(b)) => match pci_node(ctx, b) {
            DevNode::Node(n, _, _) => n,
            other => return Some(other),
        },
        (None, None) => return Some(DevNode::Unknown(format!("{p}: {}", ctx.get(&p).why()))),
    };
    Some(DevNode::Node(
        node,
        bdf.into_iter().collect(),
        format!("{ifname} ({shown}) numa_node {node}"),
    ))
}

pub(crate) fn iface_node(ctx: &Ctx, ifname: &str) -> DevNode {
    match ctx.dir_has(NET, ifname) {
        Some(true) => {}
        Some(false) => return DevNode::Unknown(format!("interface {ifname} not found in {NET}")),
        None => return DevNode::Unknown(format!("{NET} unreadable")),
    }
    if let Some(d) = phys_iface(ctx, ifname) {
        return d;
    }
    let Some(master) = ctx.link(&format!("{NET}/{ifname}/master")).map(basename) else {
        return DevNode::Virtual(format!(
            "{ifname} has no physical device and no bridge: host-internal network"
        ));
    };
    if master == "ovs-system" {
        return DevNode::Unknown(format!(
            "{ifname} is an Open vSwitch port: its uplink is not resolved"
        ));
    }
    let members = match ctx.dir(&format!("{NET}/{master}/brif")) {
        Ok(m) => m,
        Err(_) => {
            return DevNode::Unknown(format!(
                "bridge {master} of {ifname}: member list unreadable"
            ))
        }
    };
    let mut nodes = BTreeSet::new();
    let mut bdfs = Vec::new();
    let mut descs = Vec::new();
    let mut other = Vec::new();
    for m in members {
        if m == ifname {
            continue;
        }
        match phys_iface(ctx, m) {
            Some(DevNode::Node(n, b, d)) => {
                nodes.insert(n);
                bdfs.extend(b);
                descs.push(d);
            }
            Some(DevNode::NoNode(w)) => return DevNode::NoNode(w),
            Some(DevNode::Unknown(w)) => return DevNode::Unknown(w),
            Some(DevNode::Virtual(_)) | None => {
                if !(m.starts_with("vnet") || m.starts_with("tap") || m.starts_with("veth")) {
                    other.push(m.clone());
                }
            }
        }
    }
    match nodes.len() {
        1 => DevNode::Node(
            nodes.into_iter().next().unwrap_or(0),
            bdfs,
            format!("{ifname} → bridge {master} → {}", descs.join(", ")),
        ),
        0 if other.is_empty() => DevNode::Virtual(format!(
            "bridge {master} has no physical uplink: host-internal network"
        )),
        0 => DevNode::Unknown(format!(
            "bridge {master}'s uplink {} is not a PCI NIC (bond, VLAN?): not resolved",
            other.join(", ")
        )),
        _ => DevNode::Unknown(format!(
            "bridge {master} has uplinks on several nodes ({})",
            descs.join(", ")
        )),
    }
}

pub(crate) fn nic_node(ctx: &Ctx, vm: &Vm, nic: &crate::model::vm::Nic) -> DevNode {
    let Some(b) = &nic.backend else {
        return DevNode::Virtual("no host network backend".into());
    };
    match b.backend_type.as_str() {
        "tap" | "bridge" => match &b.ifname {
            Some(i) if !i.is_empty() => iface_node(ctx, i),
            _ => match tap_by_fd(ctx, vm, nic) {
                Ok(i) => match iface_node(ctx, &i) {
                    DevNode::Node(n, bdfs, how) => {
                        DevNode::Node(n, bdfs, format!("tun fd → {how}"))
                    }
                    other => other,
                },
                Err(why) => DevNode::Unknown(why),
            },
        },
        "vhost-vdpa" => DevNode::Unknown("vhost-vdpa device: not resolved".into()),
        t => DevNode::Virtual(format!("{t} backend: no host NIC of its own")),
    }
}

/// `nvme0n1p3` → `nvme0n1`, `sda2` → `sda`, `mmcblk0p1` → `mmcblk0`.
pub(crate) fn parent_disk(dev: &str) -> String {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if dev.starts_with("nvme") || dev.starts_with("mmcblk") {
        if let Some(i) = dev.rfind('p') {
            let (head, tail) = dev.split_at(i);
            let part = tail.get(1..).unwrap_or("");
            if digits(part) && (head.starts_with("mmcblk") || head.contains('n')) {
                return head.to_string();
            }
        }
        return dev.to_string();
    }
    if ["sd", "vd", "xvd", "hd"].iter().any(|p| dev.starts_with(p)) {
        return dev
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .to_string();
    }
    dev.to_string()
}

pub(crate) fn block_node(ctx: &Ctx, dev_path: &str, via: &str) -> DevNode {
    let name = dev_path.trim_start_matches("/dev/");
    let dm = if let Some(m) = name.strip_prefix("mapper/") {
        match dm_by_name(ctx, m) {
            Some(d) => Some(d),
            None => {
                return DevNode::Unknown(format!(
                    "{dev_path}{via}: no /sys/block/dm-*/dm/name is {m:?}"
                ))
            }
        }
    } else {
        name.starts_with("dm-").then(|| name.to_string())
    };
    match dm {
        Some(dm) => match dm_node(ctx, &dm, 0) {
            DevNode::Node(n, b, how) => DevNode::Node(n, b, format!("{dev_path}{via} = {how}")),
            other => other,
        },
        None if name.contains('/') || name.starts_with("md") || name.starts_with("loop") => {
            DevNode::Unknown(format!(
                "{dev_path}{via} is an LVM/RAID/loop/alias device: not resolved to a physical disk"
            ))
        }
        None => match sys_disk_node(ctx, &parent_disk(name)) {
            DevNode::Node(n, b, how) => DevNode::Node(n, b, format!("{dev_path}{via} → {how}")),
            DevNode::Unknown(w) => DevNode::Unknown(format!("{dev_path}{via}: {w}")),
            other => other,
        },
    }
}

/// `/dev/mapper/NAME` → `dm-N` through `/sys/block/dm-N/dm/name`.
pub(crate) fn dm_by_name(ctx: &Ctx, name: &str) -> Option<String> {
    ctx.dir("/sys/block")
        .ok()?
        .iter()
        .filter(|d| d.starts_with("dm-"))
        .find(|d| ctx.text(&format!("/sys/block/{d}/dm/name")) == Some(name))
        .cloned()
}

/// A device-mapper volume's node: the node of every device under it, when they agree.
pub(crate) fn dm_node(ctx: &Ctx, dm: &str, depth: u32) -> DevNode {
    let slaves = match ctx.dir(&format!("/sys/block/{dm}/slaves")) {
        Ok(s) if !s.is_empty() => s,
        Ok(_) | Err(None) => {
            return DevNode::Unknown(format!("{dm}: no underlying devices listed in slaves/"))
        }
        Err(Some(e)) => {
            return DevNode::Unknown(format!("/sys/block/{dm}/slaves: {}", e.describe()))
        }
    };
    let mut nodes = BTreeSet::new();
    let mut descs = Vec::new();
    for sl in slaves {
        let d = if sl.starts_with("dm-") && depth < 4 {
            dm_node(ctx, sl, depth + 1)
        } else {
            sys_disk_node(ctx, &parent_disk(sl))
        };
        match d {
            DevNode::Node(n, _, how) => {
                nodes.insert(n);
                descs.push(format!("{sl} ({how})"));
            }
            other => return other,
        }
    }
    match nodes.len() {
        1 => DevNode::Node(
            nodes.into_iter().next().unwrap_or(0),
            Vec::new(),
            format!("{dm} over {}", descs.join(", ")),
        ),
        _ => DevNode::Unknown(format!(
            "{dm} spans devices on several nodes: {}",
            descs.join(", ")
        )),
    }
}

/// A whole disk's node: the PCI controller named by the `/sys/block/DISK` link, else the
/// disk's `device/numa_node`.
pub(crate) fn sys_disk_node(ctx: &Ctx, disk: &str) -> DevNode {
    if let Some(link) = ctx.link(&format!("/sys/block/{disk}")) {
        if let Some(bdf) = link.split('/').rev().find(|c| looks_bdf(c)) {
            return match pci_node(ctx, bdf) {
                DevNode::Node(n, _, _) => {
                    DevNode::Node(n, Vec::new(), format!("{disk} behind {bdf}, numa_node {n}"))
                }
                DevNode::Unknown(_) => device_numa_file(ctx, disk),
                other => other,
            };
        }
    }
    device_numa_file(ctx, disk)
}

pub(crate) fn device_numa_file(ctx: &Ctx, disk: &str) -> DevNode {
    let p = format!("/sys/block/{disk}/device/numa_node");
    match ctx.get(&p) {
        Got::Val(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 0 => DevNode::Node(n as u32, Vec::new(), format!("{p} = {n}")),
            Ok(_) => DevNode::NoNode(format!("{p} = -1")),
            Err(_) => DevNode::Unknown(format!("{p}: unexpected {v:?}")),
        },
        Got::Absent | Got::NotCollected => {
            DevNode::Unknown(match ctx.dir_has("/sys/block", disk) {
                Some(true) => {
                    format!("{disk} reports no NUMA node (no PCI controller in its sysfs path)")
                }
                _ => format!("/sys/block/{disk} not found"),
            })
        }
        other => DevNode::Unknown(format!("{p}: {}", other.why())),
    }
}

pub(crate) const NETWORK_PROTOCOLS: &[&str] = &[
    "rbd", "nbd", "iscsi", "gluster", "ssh", "http", "https", "ftp", "ftps", "sheepdog", "vxhs",
    "nfs", "curl", "blkio",
];

pub(crate) fn disk_node(ctx: &Ctx, vm: &Vm, disk: &crate::model::vm::Disk) -> DevNode {
    if disk.bus == DiskBus::VhostUserBlk {
        return DevNode::Virtual("vhost-user-blk: the storage lives in another process".into());
    }
    let proto = disk.protocol.as_deref().unwrap_or("file");
    if NETWORK_PROTOCOLS.contains(&proto) {
        return DevNode::Virtual(format!("{proto}: network storage"));
    }
    if proto == "nvme" {
        // Userspace NVMe driver: filename nvme://0000:44:00.0/1.
        if let Some(bdf) = disk
            .path
            .as_deref()
            .and_then(|p| p.strip_prefix("nvme://"))
            .and_then(|p| p.split('/').next())
            .and_then(crate::parse::qemu::pci::normalize_bdf)
        {
            return pci_node(ctx, &bdf);
        }
    }
    let Some(path) = disk.path.as_deref().filter(|p| !p.is_empty()) else {
        return DevNode::Virtual("no medium / no host file".into());
    };
    if path.starts_with("/dev/fdset/") {
        return DevNode::Unknown(format!(
            "{path}: passed as an fd set; the file is only visible through /proc/PID/fd"
        ));
    }
    if path.starts_with("/dev/") {
        return block_node(ctx, path, "");
    }
    let Some(view) = vm_mounts(ctx, vm) else {
        return DevNode::Unknown(format!(
            "{path}: no readable mount table to find its filesystem"
        ));
    };
    let Some(m) = mount_of(&view.mounts, path) else {
        return DevNode::Unknown(format!("{path}: no mount found"));
    };
    let fs = m.fstype.as_str();
    if matches!(
        fs,
        "nfs" | "nfs4" | "cifs" | "smb3" | "ceph" | "glusterfs" | "9p" | "virtiofs"
    ) || fs.starts_with("fuse")
    {
        return DevNode::Virtual(format!("{path} is on {fs} {}: network storage", m.target));
    }
    if matches!(fs, "tmpfs" | "ramfs") {
        return DevNode::Virtual(format!("{path} is on {fs}: memory"));
    }
    if m.source.starts_with("/dev/") {
        return block_node(
            ctx,
            &m.source,
            &format!(" (holds {} mounted at {})", path, m.target),
        );
    }
    DevNode::Unknown(format!(
        "{path} is on {fs} from {}: not a block device",
        m.source
    ))
}

/// A host device a VM uses.
pub(crate) struct Dev {
    /// The device as a target of the VM (hostdev, NIC or drive).
    pub target: Target,
    /// The target below the VM, for messages: `hostdev:ID`, `net:ID`, `drive:ID`.
    pub suffix: String,
    pub what: String,
    pub node: DevNode,
    /// PCI functions whose interrupts serve this device (VFIO function, NIC uplinks).
    pub bdfs: Vec<String>,
    /// The guest-side `-device` id, to find the guest NUMA node it sits on.
    pub device_id: Option<String>,
}

/// Every host device a VM uses, with its node.
pub(crate) fn vm_devices(ctx: &Ctx, vm: &Vm) -> Vec<Dev> {
    let mut out = Vec::new();
    for (i, d) in vm.model.vfio_devices.iter().enumerate() {
        let id = d.id.clone().unwrap_or_else(|| format!("hostdev{i}"));
        let node = match &d.host_bdf {
            Some(b) => pci_node(ctx, b),
            None => DevNode::Unknown(format!(
                "{}: no PCI address (mediated device?)",
                d.sysfsdev.as_deref().unwrap_or("vfio device")
            )),
        };
        out.push(Dev {
            suffix: format!("hostdev:{id}"),
            target: Target::Hostdev(vm.index, id),
            what: format!("vfio-pci {}", d.host_bdf.as_deref().unwrap_or("?")),
            node,
            bdfs: d.host_bdf.iter().cloned().collect(),
            device_id: d.id.clone(),
        });
    }
    for (i, n) in vm.model.nics.iter().enumerate() {
        let id = crate::rules::units::nic_id(n, i);
        let what = format!(
            "{} on {}",
            n.model.as_deref().unwrap_or("NIC"),
            n.backend
                .as_ref()
                .map(|b| format!(
                    "{}{}",
                    b.backend_type,
                    b.ifname
                        .as_deref()
                        .map(|i| format!(" ifname={i}"))
                        .unwrap_or_default()
                ))
                .unwrap_or_else(|| "no backend".into())
        );
        let node = nic_node(ctx, vm, n);
        let bdfs = match &node {
            DevNode::Node(_, b, _) => b.clone(),
            _ => Vec::new(),
        };
        out.push(Dev {
            suffix: format!("net:{id}"),
            target: Target::Nic(vm.index, id),
            what,
            node,
            bdfs,
            device_id: n.id.clone(),
        });
    }
    // Drive targets exactly as the blk rules name them (device id, drive id, QEMU's generated
    // id such as ide0-hd0, else the position).
    let targets = disk_targets(ctx, vm);
    for (i, d) in vm.model.disks.iter().enumerate() {
        let target = targets
            .get(i)
            .cloned()
            .unwrap_or_else(|| Target::Drive(vm.index, format!("disk{i}")));
        out.push(Dev {
            suffix: target.vm_part().unwrap_or_default(),
            target,
            what: d.path.clone().unwrap_or_else(|| "(no file)".into()),
            node: disk_node(ctx, vm, d),
            // Disk queue interrupts are kernel-managed: judged by the queue map, not here.
            bdfs: Vec::new(),
            device_id: d.id.clone(),
        });
    }
    out
}
