//! What rules read off a VM's command line and open files: its argv source, its file
//! descriptors, what its machine type proves, and the identity (target) of each disk.

use crate::model::host::Vm;
use crate::model::vm::{DiskOrigin, Machine};
use crate::report::target::Target;
use crate::rules::context::Ctx;
use crate::rules::outcome::Outcome;
use crate::snapshot::Fact;
use std::borrow::Cow;
use std::collections::BTreeSet;

/// What the snapshot knows about a VM process's open files.
pub(crate) enum FdView<'a> {
    /// `/proc/PID/fd` targets, with the path they were read from.
    Listed(&'a [String], String),
    /// A live process whose fds could not be read (not root, or not collected): the reason.
    Unreadable(String),
    /// No running process: the VM comes from an argv file, so no runtime fact exists at all.
    NoProcess,
}

pub(crate) fn fd_view<'a>(ctx: &Ctx<'a>, vm: &Vm) -> FdView<'a> {
    let Some(p) = ctx.process(vm) else {
        return FdView::NoProcess;
    };
    let Some(pid) = p.pid else {
        return FdView::NoProcess;
    };
    match &p.fds {
        Some(s) => match &s.fact {
            Fact::Value(v) => FdView::Listed(v.as_slice(), s.path.clone()),
            Fact::Error(e) => FdView::Unreadable(format!("{}: {}", s.path, e.describe())),
        },
        None => FdView::Unreadable(format!("/proc/{pid}/fd was not collected")),
    }
}

/// Where the VM's command line came from (evidence source).
pub(crate) fn argv_src(vm: &Vm) -> String {
    vm.source.clone()
}

pub(crate) fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// `on`/`off`, or `unset` for `None`.
pub(crate) fn opt_on_off(b: Option<bool>) -> &'static str {
    b.map_or("unset", on_off)
}

/// Is the machine type at least `want` (major, minor)? `None` for aliases (`pc`, `q35`, `virt`,
/// no `-machine`): they resolve to the binary's newest versioned type, which the command line
/// does not tell. The string says what was read.
pub(crate) fn machine_at_least(m: &Machine, want: (u32, u32)) -> (Option<bool>, String) {
    let Some(t) = m.machine_type.as_deref() else {
        return (None, "no -machine (the binary's default alias)".into());
    };
    match machine_compat_version(t) {
        Some(v) => (Some(v >= want), format!("machine type {t}")),
        None => (None, format!("machine type alias {t}")),
    }
}

/// `pc-q35-6.0` → (6, 0); `pc-i440fx-2.12` → (2, 12); `s390-ccw-virtio-8.2`, `pseries-5.1`,
/// `virt-9.0`. RHEL machine types (`pc-q35-rhel8.6.0`) map onto the upstream release they are
/// based on for the 5.2 compat boundary: rhel ≤ 8.3 behave like ≤ 5.1, rhel 8.4+ like 5.2+.
pub(crate) fn machine_compat_version(t: &str) -> Option<(u32, u32)> {
    let last = t.rsplit('-').next()?;
    if let Some(rhel) = last.strip_prefix("rhel") {
        let mut it = rhel.split('.');
        let major: u32 = it.next()?.parse().ok()?;
        let minor: u32 = it.next()?.parse().ok()?;
        return Some(if (major, minor) >= (8, 4) {
            (5, 2)
        } else {
            (5, 1)
        });
    }
    let (a, b) = last.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Per-device rules give one placeholder outcome per VM that has no such device.
pub(crate) fn vm_without(ctx: &Ctx, vm: &Vm, what: &str) -> Outcome {
    Outcome::na(ctx.vm_target(vm), format!("the VM has no {what}"))
}

/// Targets of a VM's disks, parallel to `vm.model.disks`: the device id, else the drive id,
/// else the id QEMU generates for `-drive if=...`/`-hda` (`ide0-hd0`, as `info block` shows),
/// else the position (`disk3`). Public so that tests name disks exactly as the rules do.
/// Worked out once per VM (six blk rules and the device-locality rule ask for it).
pub fn disk_targets<'c>(ctx: &'c Ctx, vm: &Vm) -> Cow<'c, [Target]> {
    match ctx.derived(vm) {
        Some(d) => Cow::Borrowed(d.disk_targets.get_or_init(|| resolve_disk_targets(ctx, vm))),
        None => Cow::Owned(resolve_disk_targets(ctx, vm)),
    }
}

fn resolve_disk_targets(ctx: &Ctx, vm: &Vm) -> Vec<Target> {
    // QEMU's generated ids need the command line parsed again; only do that when some disk
    // has neither its own id nor a drive name (every blk rule calls this for every VM).
    let needs_generated = vm
        .model
        .disks
        .iter()
        .any(|d| d.origin != DiskOrigin::Device && d.id.is_none() && d.drive.is_none());
    let mut auto = if needs_generated {
        ctx.process(vm)
            .map(|p| implicit_drive_ids(&vm.model.machine, &p.argv))
            .unwrap_or_default()
    } else {
        Vec::new()
    }
    .into_iter();
    vm.model
        .disks
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let generated = if d.origin == DiskOrigin::Device {
                None
            } else {
                auto.next().flatten()
            };
            let id =
                d.id.clone()
                    .or_else(|| d.drive.clone())
                    .or(generated)
                    .unwrap_or_else(|| format!("disk{i}"));
            Target::Drive(vm.index, id)
        })
        .collect()
}

/// For every drive that creates its own device (`-drive` with `if=` other than `none`,
/// `-hda`..`-hdd`, `-cdrom`, `-fda`/`-fdb`, `-sd`, `-pflash`, `-mtdblock`, bare images), in argv
/// order: the id QEMU gives it when `id=` is missing (blockdev.c `drive_new()`: interface name,
/// bus and `-hd`/`-cd` for IDE/SCSI, unit; units are allocated as QEMU does), `None` when the
/// drive has its own id.
pub(crate) fn implicit_drive_ids(
    machine: &Machine,
    argv: &[crate::snapshot::RawBytes],
) -> Vec<Option<String>> {
    use crate::parse::qemu::parse_command_line;
    struct Entry {
        at: usize,
        iface: String,
        cdrom: bool,
        index: Option<u32>,
        bus: Option<u32>,
        unit: Option<u32>,
        has_id: bool,
    }
    let t = machine.machine_type.as_deref().unwrap_or("");
    let default_if = if t.starts_with("s390") || t.starts_with("virt") || t == "microvm" {
        "virtio"
    } else if t.starts_with("pseries") {
        "scsi"
    } else {
        "ide"
    };
    let cl = parse_command_line(argv);
    let mut entries: Vec<Entry> = Vec::new();
    let short = |at: usize, iface: &str, cdrom: bool, index: Option<u32>| Entry {
        at,
        iface: iface.to_string(),
        cdrom,
        index,
        bus: None,
        unit: None,
        has_id: false,
    };
    for o in &cl.options {
        let e = match o.name.as_str() {
            "drive" => {
                let p = &o.props;
                let iface = p.str("if").unwrap_or_else(|| default_if.to_string());
                if iface == "none" {
                    continue;
                }
                let num = |k: &str| p.u32(k).ok().flatten();
                Entry {
                    at: o.index,
                    cdrom: p.str("media").as_deref() == Some("cdrom"),
                    index: num("index"),
                    bus: num("bus"),
                    unit: num("unit"),
                    has_id: p.str("id").is_some(),
                    iface,
                }
            }
            "hda" => short(o.index, default_if, false, Some(0)),
            "hdb" => short(o.index, default_if, false, Some(1)),
            "hdc" => short(o.index, default_if, false, Some(2)),
            "hdd" => short(o.index, default_if, false, Some(3)),
            "cdrom" => short(o.index, default_if, true, Some(2)),
            "fda" => short(o.index, "floppy", false, Some(0)),
            "fdb" => short(o.index, "floppy", false, Some(1)),
            "sd" => short(o.index, "sd", false, Some(0)),
            "pflash" => short(o.index, "pflash", false, None),
            "mtdblock" => short(o.index, "mtd", false, None),
            _ => continue,
        };
        entries.push(e);
    }
    for pos in &cl.positionals {
        entries.push(short(pos.index, default_if, false, Some(0)));
    }
    entries.sort_by_key(|e| e.at);
    let mut used: BTreeSet<(String, u32, u32)> = BTreeSet::new();
    entries
        .into_iter()
        .map(|e| {
            let max = match e.iface.as_str() {
                "ide" => 2u32,
                "scsi" => 7,
                _ => 0,
            };
            let mut bus = e.bus.unwrap_or(0);
            let mut unit = e.unit;
            if let Some(index) = e.index {
                match (index.checked_div(max), index.checked_rem(max)) {
                    (Some(b), Some(u)) => {
                        bus = b;
                        unit = Some(u);
                    }
                    _ => unit = Some(index),
                }
            }
            let unit = unit.unwrap_or_else(|| {
                let mut u = 0u32;
                while used.contains(&(e.iface.clone(), bus, u)) {
                    u = u.saturating_add(1);
                    if max > 0 && u >= max {
                        u -= max;
                        bus = bus.saturating_add(1);
                    }
                }
                u
            });
            used.insert((e.iface.clone(), bus, unit));
            if e.has_id {
                return None;
            }
            let media = match (e.iface.as_str(), e.cdrom) {
                ("ide" | "scsi", true) => "-cd",
                ("ide" | "scsi", false) => "-hd",
                _ => "",
            };
            Some(if max > 0 {
                format!("{}{bus}{media}{unit}", e.iface)
            } else {
                format!("{}{media}{unit}", e.iface)
            })
        })
        .collect()
}

/// The tap of a NIC whose backend was handed over as fds (libvirt): the netdev's `fd`/`fds`
/// numbers looked up in the process's tun fds (`/proc/PID/fdinfo`, `iff:`).
pub(crate) fn tap_by_fd(ctx: &Ctx, vm: &Vm, nic: &crate::model::vm::Nic) -> Result<String, String> {
    let Some(src) = ctx.process(vm).and_then(|p| p.fdinfo.as_ref()) else {
        return Err("tap handed over as a file descriptor: its name is only in /proc/PID/fdinfo, not available here".into());
    };
    let Some(infos) = src.get() else {
        return Err(format!(
            "tap handed over as a file descriptor; {} unreadable ({})",
            src.path,
            src.fact.error().map(|e| e.describe()).unwrap_or_default()
        ));
    };
    // The fd numbers the netdev names.
    let id = nic
        .netdev_id
        .as_deref()
        .or(nic.backend.as_ref().and_then(|b| b.id.as_deref()));
    let mut fds: Vec<u32> = Vec::new();
    if let Some(id) = id {
        let argv = ctx.process(vm).map(|p| p.argv.as_slice()).unwrap_or(&[]);
        let cl = crate::parse::qemu::parse_command_line(argv);
        for o in cl.all(&["netdev", "nic"]) {
            if o.props.str("id").as_deref() != Some(id) {
                continue;
            }
            for key in ["fd", "fds"] {
                if let Some(v) = o.props.str(key) {
                    fds.extend(v.split(':').filter_map(|f| f.trim().parse::<u32>().ok()));
                }
            }
        }
    }
    let tuns: Vec<(u32, &str)> = infos
        .iter()
        .filter(|i| i.target == "/dev/net/tun")
        .filter_map(|i| i.iff.as_deref().map(|n| (i.fd, n)))
        .collect();
    let names: BTreeSet<&str> = tuns
        .iter()
        .filter(|(fd, _)| fds.is_empty() || fds.contains(fd))
        .map(|(_, n)| *n)
        .collect();
    let mut it = names.iter();
    match (it.next(), it.next()) {
        (Some(one), None) => Ok((*one).to_string()),
        (None, _) => Err(format!(
            "tap handed over as a file descriptor; no matching tun fd in {}",
            src.path
        )),
        (Some(_), Some(_)) => Err(format!(
            "tap handed over as file descriptors that point to several taps ({})",
            names.iter().copied().collect::<Vec<_>>().join(", ")
        )),
    }
}
