//! Intel Optane persistent memory (guide §4): kernel support, App Direct provisioning,
//! device-DAX namespaces, vNVDIMM wiring and what the guest sees.
//!
//! Every rule here needs `pmem_present` (ACPI NFIT, an nd bus, or an Optane DIMM in SMBIOS).

use super::CheckFn;
use crate::model::host::Vm;
use crate::model::vm::BackendKind;
use crate::parse::kconfig::Symbol;
use crate::report::target::Target;
use crate::report::Status;
use crate::rules::context::Ctx;
use crate::rules::facts::kernel::kernel_version;
use crate::rules::facts::mounts::{host_mounts, mount_of};
use crate::rules::facts::placement::home_node;
use crate::rules::facts::units::human;
use crate::rules::outcome::Outcome;

pub const CHECKS: &[(&str, CheckFn)] = &[
    ("host.pmem.kconfig", pmem_kconfig),
    ("host.pmem.appdirect", pmem_appdirect),
    ("host.pmem.devdax", pmem_devdax),
    ("qemu.pmem.nvdimm", pmem_nvdimm),
    ("guest.pmem.visible", pmem_visible),
];

const ND: &str = "/sys/bus/nd/devices";
const DAX: &str = "/sys/bus/dax/devices";

/// `Err(outcome)` when PMem is absent or undeterminable.
fn need_pmem(ctx: &Ctx, target: impl Into<Target>) -> Result<(), Outcome> {
    match ctx.flags.pmem_present {
        Some(true) => Ok(()),
        Some(false) => Err(Outcome::na(
            target,
            "no persistent memory (no ACPI NFIT table, no nd bus, no Optane DIMM in SMBIOS)",
        )),
        None => Err(Outcome::unknown(
            target,
            "whether persistent memory is present could not be read (ACPI table list, /sys/bus/nd, SMBIOS)",
        )),
    }
}

fn num(ctx: &Ctx, path: &str) -> Option<u64> {
    ctx.text(path).and_then(|t| {
        let t = t.trim();
        t.strip_prefix("0x")
            .map_or_else(|| t.parse().ok(), |h| u64::from_str_radix(h, 16).ok())
    })
}

// ---------------------------------------------------------------------------------------------
// host.pmem.kconfig

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// y or m.
    Tristate,
    /// y only.
    Bool,
}

/// The corrected list of catalogue §5.13: what PMem + device-DAX need.
const REQUIRED: &[(&str, Kind)] = &[
    ("ACPI_NFIT", Kind::Tristate),
    ("LIBNVDIMM", Kind::Tristate),
    ("BLK_DEV_PMEM", Kind::Tristate),
    ("ND_BTT", Kind::Tristate),
    ("BTT", Kind::Bool),
    ("ND_PFN", Kind::Tristate),
    ("NVDIMM_PFN", Kind::Bool),
    ("NVDIMM_DAX", Kind::Bool),
    ("DAX", Kind::Tristate),
    ("DEV_DAX", Kind::Tristate),
    ("DEV_DAX_PMEM", Kind::Tristate),
    ("FS_DAX", Kind::Bool),
    ("ZONE_DEVICE", Kind::Bool),
    ("TRANSPARENT_HUGEPAGE", Kind::Bool),
];

/// Symbols that only exist before a release: (symbol, kind, first release without it).
const VERSIONED: &[(&str, Kind, (u32, u32))] = &[
    ("ND_BLK", Kind::Tristate, (5, 18)),
    ("DAX_DRIVER", Kind::Bool, (5, 17)),
];

/// Symbols a config may leave out because another one proves them on: (symbol, symbols that
/// depend on it or `select` it). Packaging configs (RHEL's) omit selected symbols, e.g.
/// `CONFIG_DEV_DAX=m` without a `CONFIG_DAX` line although DEV_DAX sits inside `if DAX`.
const IMPLIED_BY: &[(&str, &[&str])] = &[
    // drivers/dax/Kconfig: DEV_DAX and DEV_DAX_PMEM are inside `if DAX`; BLK_DEV_PMEM and
    // FS_DAX `select DAX`.
    (
        "DAX",
        &["DEV_DAX", "DEV_DAX_PMEM", "BLK_DEV_PMEM", "FS_DAX"],
    ),
    // drivers/nvdimm/Kconfig before 5.17: BLK_DEV_PMEM `select DAX_DRIVER`.
    ("DAX_DRIVER", &["BLK_DEV_PMEM"]),
];

/// The enabled symbol that proves `sym` on although the config does not list it.
fn implied_by(k: &crate::parse::kconfig::KernelConfig, sym: &str) -> Option<String> {
    let (_, deps) = IMPLIED_BY.iter().find(|(s, _)| *s == sym)?;
    deps.iter().find_map(|d| match k.get(d) {
        Symbol::Set(v) if v == "y" || v == "m" => Some(format!("{d}={v}")),
        _ => None,
    })
}

/// Reported, never demanded: derived automatically, or optional.
const REPORTED: &[&str] = &["ND_CLAIM", "FS_DAX_PMD", "DEV_DAX_KMEM", "X86_PMEM_LEGACY"];

/// The kernel release the config belongs to: the running kernel, else the config header.
fn config_release(ctx: &Ctx) -> Option<String> {
    ctx.host.kernel_release.clone().or_else(|| {
        ctx.snap.kconfig.get().and_then(|t| {
            t.lines().take(8).find_map(|l| {
                let rest = l.strip_prefix("# Linux/")?;
                let mut w = rest.split_whitespace();
                w.next()?;
                let v = w.next()?;
                kernel_version(v).map(|_| v.to_string())
            })
        })
    })
}

fn pmem_kconfig(ctx: &Ctx) -> Vec<Outcome> {
    if let Err(o) = need_pmem(ctx, "host") {
        return vec![o];
    }
    let Some(k) = &ctx.host.kconfig else {
        return vec![Outcome::unknown(
            "host",
            format!(
                "kernel configuration unavailable ({}: {})",
                ctx.snap.kconfig.path,
                ctx.snap
                    .kconfig
                    .fact
                    .error()
                    .map(|e| e.describe())
                    .unwrap_or_default()
            ),
        )];
    };
    let release = config_release(ctx);
    let version = release.as_deref().and_then(kernel_version);
    // A full .config lists every visible symbol; a packaging input or a fragment says nothing
    // about absent ones.
    let complete = k.is_complete();
    let mut needed: Vec<(&str, Kind)> = REQUIRED.to_vec();
    let mut notes = Vec::new();
    for (sym, kind, gone) in VERSIONED {
        match version {
            Some(v) if v < *gone => needed.push((sym, *kind)),
            Some(_) => notes.push(format!(
                "{sym} no longer exists since {}.{} (not required)",
                gone.0, gone.1
            )),
            None => notes.push(format!("{sym}: kernel release unknown, not judged")),
        }
    }
    let mut missing = Vec::new();
    let mut unknown = Vec::new();
    let mut seen = Vec::new();
    for (sym, kind) in &needed {
        match k.get(sym) {
            Symbol::Set(v) => {
                let ok = match kind {
                    Kind::Tristate => v == "y" || v == "m",
                    Kind::Bool => v == "y",
                };
                seen.push(format!("{sym}={v}"));
                if !ok {
                    missing.push(format!(
                        "{sym}={v} ({} needed)",
                        if *kind == Kind::Bool { "y" } else { "y or m" }
                    ));
                }
            }
            Symbol::NotSet => {
                seen.push(format!("{sym} not set"));
                missing.push(format!("{sym} is not set"));
            }
            Symbol::Absent if complete => {
                seen.push(format!("{sym} absent"));
                missing.push(format!("{sym} is absent (its dependencies are off)"));
            }
            Symbol::Absent => match implied_by(k, sym) {
                Some(by) => seen.push(format!("{sym} implied by {by}")),
                None => {
                    seen.push(format!("{sym} absent"));
                    unknown.push(sym.to_string());
                }
            },
        }
    }
    let reported: Vec<String> = REPORTED
        .iter()
        .map(|s| match k.get(s) {
            Symbol::Set(v) => format!("{s}={v}"),
            Symbol::NotSet => format!("{s} not set"),
            Symbol::Absent => format!("{s} absent"),
        })
        .collect();
    let mut o = if !missing.is_empty() {
        Outcome::fail(
            "host",
            format!("the kernel lacks PMem/DAX support: {}", missing.join(", ")),
        )
    } else if !unknown.is_empty() {
        Outcome::unknown(
            "host",
            format!(
                "the configuration is not a complete .config (no kconfig header, or a packaging input) and does not mention {}: absent there is not off",
                unknown.join(", ")
            ),
        )
    } else {
        Outcome::pass(
            "host",
            format!(
                "the kernel has the whole PMem/device-DAX stack ({} symbols, ACPI_NFIT included)",
                needed.len()
            ),
        )
    };
    if !notes.is_empty() && o.status != Status::Fail {
        o.message.push_str(&format!("; {}", notes.join("; ")));
    }
    o = o
        .ev(
            format!(
                "{} (kernel {})",
                ctx.snap.kconfig.path,
                release.as_deref().unwrap_or("?")
            ),
            seen.join(", "),
            "tristates y or m, bools y",
        )
        .ev("kconfig (derived / optional)", reported.join(", "), "");
    vec![o]
}

// ---------------------------------------------------------------------------------------------
// host.pmem.appdirect

struct Region {
    name: String,
    devtype: Option<String>,
    size: Option<u64>,
    node: Option<String>,
}

fn regions(ctx: &Ctx) -> Result<Vec<Region>, Option<String>> {
    let names = match ctx.dir(ND) {
        Ok(n) => n,
        Err(None) => return Err(None),
        Err(Some(e)) => return Err(Some(format!("{ND}: {}", e.describe()))),
    };
    Ok(names
        .iter()
        .filter(|n| n.starts_with("region"))
        .map(|n| Region {
            name: n.clone(),
            devtype: ctx.text(&format!("{ND}/{n}/devtype")).map(str::to_string),
            size: num(ctx, &format!("{ND}/{n}/size")),
            node: ctx.text(&format!("{ND}/{n}/numa_node")).map(str::to_string),
        })
        .collect())
}

fn is_pmem_region(r: &Region) -> bool {
    r.devtype.as_deref() == Some("nd_pmem") && r.size.unwrap_or(0) > 0
}

fn pmem_appdirect(ctx: &Ctx) -> Vec<Outcome> {
    if let Err(o) = need_pmem(ctx, "host") {
        return vec![o];
    }
    let regs = match regions(ctx) {
        Ok(r) => r,
        Err(None) => {
            return vec![Outcome::unknown(
                "host",
                "PMem is present but there is no nd bus (nfit/libnvdimm not loaded?): App Direct and Memory Mode cannot be told apart",
            )
            .ev(ND, "absent", "region* with devtype nd_pmem")]
        }
        Err(Some(why)) => return vec![Outcome::unknown("host", why)],
    };
    let pmem: Vec<&Region> = regs.iter().filter(|r| is_pmem_region(r)).collect();
    let desc = regs
        .iter()
        .map(|r| {
            format!(
                "{} {} {}{}",
                r.name,
                r.devtype.as_deref().unwrap_or("?"),
                r.size.map(human).unwrap_or_else(|| "size ?".into()),
                r.node
                    .as_deref()
                    .map(|n| format!(" node {n}"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let o = if !pmem.is_empty() {
        let total: u64 = pmem
            .iter()
            .filter_map(|r| r.size)
            .fold(0u64, u64::saturating_add);
        Outcome::pass(
            "host",
            format!(
                "{} of persistent memory is provisioned in App Direct mode ({} region{})",
                human(total),
                pmem.len(),
                if pmem.len() == 1 { "" } else { "s" }
            ),
        )
    } else {
        Outcome::fail(
            "host",
            "PMem is present but no App Direct (nd_pmem) region exists: the modules are in Memory Mode (or a new goal is pending a reboot)",
        )
    };
    let mut o = o.ev(
        format!("{ND}/region*"),
        if desc.is_empty() {
            "no regions".into()
        } else {
            desc
        },
        "a region with devtype nd_pmem and non-zero size",
    );
    if let Some(p) = &ctx.host.platform {
        let optane: Vec<String> = p
            .memory_devices
            .iter()
            .filter(|d| {
                d.technology
                    .as_deref()
                    .is_some_and(|t| t.to_ascii_lowercase().contains("optane"))
            })
            .map(|d| {
                format!(
                    "{}: non-volatile {} volatile {}",
                    d.locator,
                    d.non_volatile_size.map(human).unwrap_or_else(|| "?".into()),
                    d.volatile_size.map(human).unwrap_or_else(|| "?".into())
                )
            })
            .collect();
        if !optane.is_empty() {
            o = o.ev(
                "SMBIOS type 17",
                optane.join("; "),
                "non-volatile capacity > 0",
            );
        }
    }
    vec![o]
}

// ---------------------------------------------------------------------------------------------
// host.pmem.devdax

/// `/dev/dax0.1` → `dax0.1`.
fn dax_name(path: &str) -> Option<&str> {
    let n = path.strip_prefix("/dev/")?;
    (n.starts_with("dax") && !n.contains('/')).then_some(n)
}

fn dax_driver(ctx: &Ctx, dax: &str) -> Option<String> {
    ctx.link(&format!("{DAX}/{dax}/driver")).map(|l| {
        l.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(l)
            .to_string()
    })
}

fn pmem_devdax(ctx: &Ctx) -> Vec<Outcome> {
    if let Err(o) = need_pmem(ctx, "host") {
        return vec![o];
    }
    match regions(ctx) {
        Ok(r) if r.iter().any(is_pmem_region) => {}
        Ok(_) | Err(None) => {
            return vec![Outcome::na(
                "host",
                "no App Direct region: there is nothing to carve devdax namespaces from",
            )]
        }
        Err(Some(why)) => return vec![Outcome::unknown("host", why)],
    }
    let names = match ctx.dir(ND) {
        Ok(n) => n,
        Err(_) => return vec![Outcome::unknown("host", format!("{ND} unreadable"))],
    };
    let mut ns_desc = Vec::new();
    let mut devdax_ns = 0;
    for n in names.iter().filter(|n| n.starts_with("namespace")) {
        let size = num(ctx, &format!("{ND}/{n}/size")).unwrap_or(0);
        if size == 0 {
            continue; // seed namespace
        }
        let mode = ctx
            .text(&format!("{ND}/{n}/mode"))
            .unwrap_or("?")
            .to_string();
        if mode == "dax" || mode == "devdax" {
            devdax_ns += 1;
        }
        ns_desc.push(format!("{n} mode {mode} {}", human(size)));
    }
    let daxes: Vec<String> = match ctx.dir(DAX) {
        Ok(d) => d.iter().filter(|n| n.starts_with("dax")).cloned().collect(),
        Err(None) => Vec::new(),
        Err(Some(e)) => return vec![Outcome::unknown("host", format!("{DAX}: {}", e.describe()))],
    };
    let mut device_dax = Vec::new();
    let mut kmem = Vec::new();
    let mut dax_desc = Vec::new();
    for d in &daxes {
        let drv = dax_driver(ctx, d);
        match drv.as_deref() {
            Some("device_dax") => device_dax.push(d.clone()),
            Some("kmem") => kmem.push(d.clone()),
            _ => {}
        }
        dax_desc.push(format!("{d} → {}", drv.as_deref().unwrap_or("no driver")));
    }
    // VM backends that name a /dev/daxX.Y.
    let mut missing = Vec::new();
    for vm in &ctx.host.vms {
        for d in vm.model.nvdimms() {
            let Some(path) = d.backend.as_ref().and_then(|b| b.mem_path.as_deref()) else {
                continue;
            };
            let Some(name) = dax_name(path) else { continue };
            let exists = ctx.dir_has("/dev", name) == Some(true) || daxes.iter().any(|x| x == name);
            if !exists {
                missing.push(format!("{}: {path}", vm.name()));
            } else if kmem.iter().any(|k| k == name) {
                missing.push(format!(
                    "{}: {path} is bound to kmem (system RAM)",
                    vm.name()
                ));
            }
        }
    }
    let o = if !missing.is_empty() {
        Outcome::fail(
            "host",
            format!(
                "vNVDIMM backends are missing or unusable: {}",
                missing.join("; ")
            ),
        )
    } else if !device_dax.is_empty() {
        let mut o = Outcome::pass(
            "host",
            format!("device-DAX available for VMs: {}", device_dax.join(", ")),
        );
        if !kmem.is_empty() {
            o.message.push_str(&format!(
                "; {} became system RAM (kmem) and cannot back a vNVDIMM",
                kmem.join(", ")
            ));
        }
        o
    } else if !kmem.is_empty() {
        Outcome::warn(
            "host",
            format!(
                "{} bound to kmem: the PMem became system RAM and cannot back a vNVDIMM",
                kmem.join(", ")
            ),
        )
    } else {
        Outcome::warn(
            "host",
            format!(
                "no devdax namespace bound to device_dax{}: create one with ndctl create-namespace --mode=devdax",
                if devdax_ns > 0 { " (a dax namespace exists but no daxX.Y device is bound)" } else { "" }
            ),
        )
    };
    vec![o
        .ev(
            format!("{ND}/namespace*/mode"),
            if ns_desc.is_empty() {
                "no namespaces".into()
            } else {
                ns_desc.join(", ")
            },
            "mode dax (devdax)",
        )
        .ev(
            format!("{DAX}/*/driver"),
            if dax_desc.is_empty() {
                "no dax devices".into()
            } else {
                dax_desc.join(", ")
            },
            "device_dax",
        )]
}

// ---------------------------------------------------------------------------------------------
// qemu.pmem.nvdimm

const LABEL_MIN: u64 = 128 * 1024;

fn pmem_nvdimm(ctx: &Ctx) -> Vec<Outcome> {
    ctx.host
        .vms
        .iter()
        .map(|vm| {
            let t = ctx.vm_target(vm);
            let nvdimms: Vec<_> = vm.model.nvdimms().collect();
            if let Err(mut o) = need_pmem(ctx, &t) {
                if !nvdimms.is_empty() && o.status == Status::NotApplicable {
                    o.message
                        .push_str(": the VM's vNVDIMM is emulated on ordinary storage or RAM");
                }
                return o;
            }
            if nvdimms.is_empty() {
                return Outcome::na(t, "the VM has no nvdimm device");
            }
            nvdimm_verdict(ctx, vm, t, &nvdimms)
        })
        .collect()
}

fn nvdimm_verdict(
    ctx: &Ctx,
    vm: &Vm,
    t: Target,
    nvdimms: &[&crate::model::vm::MemoryDevice],
) -> Outcome {
    let mut fails = Vec::new();
    let mut warns = Vec::new();
    let mut ev: Vec<(String, String, String)> = Vec::new();
    match vm.model.machine.nvdimm {
        Some(true) => {}
        _ => fails.push("-machine nvdimm=on is missing".to_string()),
    }
    ev.push((
        format!("{} -machine", vm.source),
        format!(
            "nvdimm={}",
            match vm.model.machine.nvdimm {
                Some(true) => "on",
                Some(false) => "off",
                None => "unset",
            }
        ),
        "nvdimm=on".into(),
    ));
    let home = home_node(ctx, vm);
    let mounts = host_mounts(ctx).ok();
    for (i, d) in nvdimms.iter().enumerate() {
        let id = d.id.clone().unwrap_or_else(|| format!("nvdimm{i}"));
        if let Some(l) = d.label_size_bytes {
            if l < LABEL_MIN {
                fails.push(format!("{id}: label-size {} is below 128 KiB", human(l)));
            }
        }
        let Some(b) = &d.backend else {
            fails.push(format!(
                "{id}: memdev {} names no memory backend",
                d.memdev.as_deref().unwrap_or("(none)")
            ));
            continue;
        };
        let path = b.mem_path.as_deref().unwrap_or("");
        ev.push((
            format!("{} {} backend {}", vm.source, id, b.id),
            format!(
                "{} mem-path={} share={} size={} align={}{}",
                b.qom_type,
                if path.is_empty() { "(none)" } else { path },
                match b.share {
                    Some(true) => "on",
                    Some(false) => "off",
                    None => "unset",
                },
                b.size_bytes.map(human).unwrap_or_else(|| "?".into()),
                b.align_bytes.map(human).unwrap_or_else(|| "unset".into()),
                d.label_size_bytes
                    .map(|l| format!(" label-size={}", human(l)))
                    .unwrap_or_default()
            ),
            "memory-backend-file on /dev/daxX.Y, share=on, align ≥ the device's".into(),
        ));
        if b.kind != BackendKind::File {
            fails.push(format!(
                "{id}: backend {} is {} rather than a file on PMem",
                b.id, b.qom_type
            ));
            continue;
        }
        if let Some(dax) = dax_name(path) {
            let listed = ctx.dir_has("/dev", dax) == Some(true)
                || ctx.dir(DAX).is_ok_and(|d| d.iter().any(|x| x == dax));
            if !listed {
                fails.push(format!("{id}: {path} does not exist on the host"));
                continue;
            }
            if b.share != Some(true) {
                fails.push(format!(
                    "{id}: share=on is missing (device-DAX refuses private mappings)"
                ));
            }
            let dev_align = num(ctx, &format!("{DAX}/{dax}/align"));
            let dev_size = num(ctx, &format!("{DAX}/{dax}/size"));
            match (b.align_bytes, dev_align) {
                (Some(a), Some(da)) if a < da => fails.push(format!(
                    "{id}: align {} is below {dax}'s alignment {}",
                    human(a),
                    human(da)
                )),
                (None, Some(da)) if da > 4096 => warns.push(format!(
                    "{id}: align is not set while {dax} is aligned to {} (set align={})",
                    human(da),
                    human(da)
                )),
                _ => {}
            }
            let align = b.align_bytes.or(dev_align).filter(|a| *a > 0);
            if let (Some(size), Some(a)) = (b.size_bytes, align) {
                if size % a != 0 {
                    fails.push(format!(
                        "{id}: size {} is not a multiple of the alignment {}",
                        human(size),
                        human(a)
                    ));
                }
            }
            if let (Some(size), Some(ds)) = (b.size_bytes, dev_size) {
                if size > ds {
                    fails.push(format!(
                        "{id}: size {} exceeds {dax}'s {}",
                        human(size),
                        human(ds)
                    ));
                }
            }
            if let (Some(ds), Some(da)) = (dev_size, dev_align) {
                ev.push((
                    format!("{DAX}/{dax}"),
                    format!("size {} align {}", human(ds), human(da)),
                    String::new(),
                ));
            }
            // daxX.Y lives in regionX.
            let region = dax
                .strip_prefix("dax")
                .and_then(|r| r.split('.').next())
                .map(|r| format!("{ND}/region{r}/numa_node"));
            if let (Some(rp), Some(h)) = (region, &home) {
                if let Some(n) = ctx
                    .text(&rp)
                    .and_then(|v| v.parse::<i64>().ok())
                    .filter(|n| *n >= 0)
                {
                    ev.push((
                        rp.clone(),
                        n.to_string(),
                        format!("{} (the VM's node)", h.node),
                    ));
                    if n as u32 != h.node {
                        warns.push(format!(
                            "{id}: {dax} is on node {n} but the VM runs on node {}",
                            h.node
                        ));
                    }
                }
            }
        } else {
            let m = mounts.as_ref().and_then(|m| mount_of(m, path));
            let fsdax = m.is_some_and(|m| {
                m.has_opt("dax")
                    || m.opt("dax") == Some("always")
                    || m.source.starts_with("/dev/pmem")
            });
            if fsdax {
                warns.push(format!(
                    "{id}: {path} is a file on an fsdax filesystem rather than a devdax device{}",
                    if b.pmem == Some(true) {
                        ""
                    } else {
                        " (and pmem=on is not set)"
                    }
                ));
            } else {
                fails.push(format!(
                    "{id}: {path} is not on persistent memory{}",
                    m.map(|m| format!(" ({} {})", m.fstype, m.target))
                        .unwrap_or_default()
                ));
            }
        }
    }
    let mut o = if !fails.is_empty() {
        Outcome::fail(t, format!("vNVDIMM wiring is wrong: {}", fails.join("; ")))
    } else if !warns.is_empty() {
        Outcome::warn(t, format!("vNVDIMM works but: {}", warns.join("; ")))
    } else {
        Outcome::pass(
            t,
            format!(
                "{} vNVDIMM{} backed by device-DAX with share=on and matching alignment",
                nvdimms.len(),
                if nvdimms.len() == 1 { "" } else { "s" }
            ),
        )
    };
    for (s, ob, ex) in ev {
        o = o.ev(s, ob, ex);
    }
    o
}

// ---------------------------------------------------------------------------------------------
// guest.pmem.visible

fn pmem_visible(ctx: &Ctx) -> Vec<Outcome> {
    if ctx.flags.nested == Some(true) {
        return vec![visible_in_guest(ctx)];
    }
    ctx.host
        .vms
        .iter()
        .map(|vm| {
            let t = ctx.vm_target(vm);
            if let Err(o) = need_pmem(ctx, &t) {
                return o;
            }
            if vm.model.nvdimms().next().is_none() {
                return Outcome::na(t, "the VM has no vNVDIMM");
            }
            Outcome::unknown(
                t,
                "the guest's view of its vNVDIMM needs a guest channel: run kvmaudit inside the guest",
            )
        })
        .collect()
}

/// kvmaudit runs inside a guest: judge its own /dev/pmem* and their mounts.
fn visible_in_guest(ctx: &Ctx) -> Outcome {
    let devs: Vec<String> = match ctx.dir("/dev") {
        Ok(d) => d
            .iter()
            .filter(|n| n.starts_with("pmem"))
            .cloned()
            .collect(),
        Err(_) => return Outcome::unknown("host", "/dev unreadable"),
    };
    if ctx.flags.pmem_present != Some(true) && devs.is_empty() {
        return Outcome::na(
            "host",
            "this guest has no vNVDIMM (no NFIT table, no nd bus, no /dev/pmem*)",
        );
    }
    if devs.is_empty() {
        return Outcome::warn(
            "host",
            "the guest sees an NVDIMM (NFIT / nd bus) but no /dev/pmem*: a labelled DIMM needs a namespace (ndctl create-namespace)",
        )
        .ev("/dev", "no pmem*", "/dev/pmem*");
    }
    let mounts = match host_mounts(ctx) {
        Ok(m) => m,
        Err(why) => return Outcome::unknown("host", why),
    };
    let on_pmem: Vec<_> = mounts
        .iter()
        .filter(|m| m.source.starts_with("/dev/pmem"))
        .collect();
    let no_dax: Vec<String> = on_pmem
        .iter()
        .filter(|m| !(m.opt("dax") == Some("") || m.opt("dax") == Some("always")))
        .map(|m| format!("{} on {} ({})", m.source, m.target, m.opts.join(",")))
        .collect();
    let desc = on_pmem
        .iter()
        .map(|m| {
            format!(
                "{} {} {} {}",
                m.source,
                m.target,
                m.fstype,
                m.opts.join(",")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let o = if !no_dax.is_empty() {
        Outcome::warn(
            "host",
            format!(
                "pmem filesystems mounted without DAX go through the page cache: {} (remount with -o dax)",
                no_dax.join("; ")
            ),
        )
    } else if on_pmem.is_empty() {
        Outcome::info("host", format!("{} visible, not mounted", devs.join(", ")))
    } else {
        Outcome::info(
            "host",
            format!("{} visible and mounted with DAX", devs.join(", ")),
        )
    };
    o.ev("/dev", devs.join(", "), "/dev/pmem*").ev(
        "/proc/mounts",
        if desc.is_empty() {
            "no pmem mount".into()
        } else {
            desc
        },
        "-o dax",
    )
}

#[cfg(test)]
mod tests {
    use crate::report::Profile::Throughput;
    use crate::rules::testkit::{findings, status, SnapBuilder};

    const GIB: u64 = 1 << 30;

    /// A 2-node host with PMem in App Direct: region0 (node 0) with a devdax namespace dax0.0.
    fn pmem_host() -> SnapBuilder {
        SnapBuilder::new()
            .icx("vmx")
            .topology(2, 4, 2)
            .file("/proc/sys/kernel/osrelease", "6.1.0-50-amd64")
            .dir("/sys/firmware/acpi/tables", &["DMAR", "NFIT", "SRAT"])
            .dir(
                "/sys/bus/nd/devices",
                &["ndbus0", "nmem0", "region0", "namespace0.0", "namespace0.1"],
            )
            .file("/sys/bus/nd/devices/region0/devtype", "nd_pmem")
            .file("/sys/bus/nd/devices/region0/size", &(256 * GIB).to_string())
            .file("/sys/bus/nd/devices/region0/numa_node", "0")
            .file("/sys/bus/nd/devices/namespace0.0/mode", "dax")
            .file(
                "/sys/bus/nd/devices/namespace0.0/size",
                &(252 * GIB).to_string(),
            )
            .file("/sys/bus/nd/devices/namespace0.1/size", "0")
            .dir("/sys/bus/dax/devices", &["dax0.0"])
            .link(
                "/sys/bus/dax/devices/dax0.0/driver",
                "../../../../bus/dax/drivers/device_dax",
            )
            .file("/sys/bus/dax/devices/dax0.0/align", "2097152")
            .file("/sys/bus/dax/devices/dax0.0/size", &(252 * GIB).to_string())
            .dir("/dev", &["kvm", "dax0.0", "null"])
    }

    fn kconfig(full: bool, drop: &[&str], release_extra: &str) -> String {
        let mut t = String::from("#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 6.1.0 Kernel Configuration\n#\n");
        for (sym, v) in [
            ("ACPI_NFIT", "m"),
            ("LIBNVDIMM", "m"),
            ("BLK_DEV_PMEM", "m"),
            ("ND_BTT", "m"),
            ("BTT", "y"),
            ("ND_PFN", "m"),
            ("NVDIMM_PFN", "y"),
            ("NVDIMM_DAX", "y"),
            ("DAX", "y"),
            ("DEV_DAX", "m"),
            ("DEV_DAX_PMEM", "m"),
            ("FS_DAX", "y"),
            ("ZONE_DEVICE", "y"),
            ("TRANSPARENT_HUGEPAGE", "y"),
            ("ND_CLAIM", "y"),
        ] {
            if !drop.contains(&sym) {
                t.push_str(&format!("CONFIG_{sym}={v}\n"));
            }
        }
        t.push_str(release_extra);
        if full {
            t.push_str("CONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14) 12.2.0\"\n");
            for i in 0..1000 {
                t.push_str(&format!("CONFIG_FILLER_{i}=y\n"));
            }
        }
        t
    }

    #[test]
    fn kconfig_rule() {
        let good = pmem_host().kconfig(&kconfig(true, &[], "")).build();
        let f = &findings(&good, Throughput, "host.pmem.kconfig")[0];
        assert_eq!(f.status.as_str(), "pass", "{}", f.message);
        assert!(
            f.message.contains("ND_BLK no longer exists"),
            "{}",
            f.message
        );

        let no_nfit = pmem_host()
            .kconfig(&kconfig(true, &["ACPI_NFIT"], ""))
            .build();
        let f = &findings(&no_nfit, Throughput, "host.pmem.kconfig")[0];
        assert_eq!(f.status.as_str(), "fail");
        assert!(f.message.contains("ACPI_NFIT"), "{}", f.message);

        // A bool set to m is not enough.
        let fs_dax_m = pmem_host()
            .kconfig(&kconfig(true, &["FS_DAX"], "CONFIG_FS_DAX=m\n"))
            .build();
        assert_eq!(
            status(&fs_dax_m, Throughput, "host.pmem.kconfig", "host"),
            "fail"
        );

        // A 5.12 kernel still needs ND_BLK and DAX_DRIVER.
        let old = pmem_host()
            .file("/proc/sys/kernel/osrelease", "5.12.0")
            .kconfig(&kconfig(
                true,
                &[],
                "CONFIG_DAX_DRIVER=y\n# CONFIG_ND_BLK is not set\n",
            ))
            .build();
        let f = &findings(&old, Throughput, "host.pmem.kconfig")[0];
        assert_eq!(f.status.as_str(), "fail");
        assert!(f.message.contains("ND_BLK"), "{}", f.message);

        // A short fragment that does not mention a symbol proves nothing.
        let fragment = pmem_host()
            .kconfig(&kconfig(false, &["ZONE_DEVICE"], ""))
            .build();
        assert_eq!(
            status(&fragment, Throughput, "host.pmem.kconfig", "host"),
            "unknown"
        );

        // A whole .config without DAX: off (its dependencies are off).
        let no_dax = pmem_host().kconfig(&kconfig(true, &["DAX"], "")).build();
        assert_eq!(
            status(&no_dax, Throughput, "host.pmem.kconfig", "host"),
            "fail"
        );

        let no_pmem = SnapBuilder::new()
            .icx("vmx")
            .dir("/sys/firmware/acpi/tables", &["DMAR"])
            .kconfig(&kconfig(true, &[], ""))
            .build();
        assert_eq!(
            status(&no_pmem, Throughput, "host.pmem.kconfig", "host"),
            "not_applicable"
        );
        let no_config = pmem_host().build();
        assert_eq!(
            status(&no_config, Throughput, "host.pmem.kconfig", "host"),
            "unknown"
        );
    }

    /// RHEL's packaging config (what `kernel-x86_64-rhel.config` holds) omits what kconfig
    /// selects or defaults: no CONFIG_DAX line next to CONFIG_DEV_DAX=m, no DAX_DRIVER. That is
    /// not a kernel without DAX.
    #[test]
    fn kconfig_packaging_input_is_not_a_full_config() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/kconfig/el9_3-kernel-5.14.0-362.24.1-x86_64-rhel.config"
        ))
        .unwrap();
        let s = pmem_host()
            .file("/proc/sys/kernel/osrelease", "5.14.0-362.24.1.el9_3.x86_64")
            .kconfig(&text)
            .build();
        let f = &findings(&s, Throughput, "host.pmem.kconfig")[0];
        assert_eq!(f.status.as_str(), "pass", "{}", f.message);
        let seen = &f.evidence[0].observed;
        assert!(seen.contains("DAX implied by DEV_DAX=m"), "{seen}");
        // Without the symbols that prove it, an absent one stays unknown, never off.
        let cut: String = text
            .lines()
            .filter(|l| !l.contains("CONFIG_ZONE_DEVICE"))
            .map(|l| format!("{l}\n"))
            .collect();
        let s = pmem_host()
            .file("/proc/sys/kernel/osrelease", "5.14.0-362.24.1.el9_3.x86_64")
            .kconfig(&cut)
            .build();
        let f = &findings(&s, Throughput, "host.pmem.kconfig")[0];
        assert_eq!(f.status.as_str(), "unknown", "{}", f.message);
        assert!(f.message.contains("ZONE_DEVICE"), "{}", f.message);
    }

    #[test]
    fn appdirect() {
        let s = pmem_host().build();
        assert_eq!(
            status(&s, Throughput, "host.pmem.appdirect", "host"),
            "pass"
        );
        let memory_mode = pmem_host()
            .dir("/sys/bus/nd/devices", &["ndbus0", "nmem0", "nmem1"])
            .build();
        assert_eq!(
            status(&memory_mode, Throughput, "host.pmem.appdirect", "host"),
            "fail"
        );
        let no_bus = SnapBuilder::new()
            .icx("vmx")
            .dir("/sys/firmware/acpi/tables", &["NFIT"])
            .build();
        assert_eq!(
            status(&no_bus, Throughput, "host.pmem.appdirect", "host"),
            "unknown"
        );
        let none = SnapBuilder::new()
            .icx("vmx")
            .dir("/sys/firmware/acpi/tables", &[])
            .build();
        assert_eq!(
            status(&none, Throughput, "host.pmem.appdirect", "host"),
            "not_applicable"
        );
    }

    const NV_VM: &str = "qemu-system-x86_64 -name guest=pm,debug-threads=on -machine q35,nvdimm=on -m 8G,slots=4,maxmem=64G -smp 2 \
        -object memory-backend-file,id=mem1,share=on,mem-path=/dev/dax0.0,size=32G,align=2M \
        -device nvdimm,memdev=mem1,id=nv1,label-size=128k";

    fn node0() -> Vec<(&'static str, &'static str, &'static str)> {
        vec![
            ("qemu-system-x86", "1", "0"),
            ("CPU 0/KVM", "2", "0"),
            ("CPU 1/KVM", "3", "0"),
        ]
    }

    #[test]
    fn devdax() {
        let s = pmem_host().vm(NV_VM, &node0()).build();
        assert_eq!(status(&s, Throughput, "host.pmem.devdax", "host"), "pass");

        let kmem = pmem_host()
            .link(
                "/sys/bus/dax/devices/dax0.0/driver",
                "../../../../bus/dax/drivers/kmem",
            )
            .build();
        assert_eq!(
            status(&kmem, Throughput, "host.pmem.devdax", "host"),
            "warn"
        );

        let missing = pmem_host()
            .vm(&NV_VM.replace("dax0.0", "dax1.0"), &node0())
            .build();
        let f = &findings(&missing, Throughput, "host.pmem.devdax")[0];
        assert_eq!(f.status.as_str(), "fail");
        assert!(f.message.contains("/dev/dax1.0"), "{}", f.message);

        let no_region = pmem_host().dir("/sys/bus/nd/devices", &["ndbus0"]).build();
        assert_eq!(
            status(&no_region, Throughput, "host.pmem.devdax", "host"),
            "not_applicable"
        );
    }

    #[test]
    fn nvdimm() {
        let s = pmem_host().vm(NV_VM, &node0()).build();
        let f = &findings(&s, Throughput, "qemu.pmem.nvdimm")[0];
        assert_eq!(f.status.as_str(), "pass", "{}", f.message);

        let private = pmem_host()
            .vm(&NV_VM.replace("share=on", "share=off"), &node0())
            .build();
        let f = &findings(&private, Throughput, "qemu.pmem.nvdimm")[0];
        assert_eq!(f.status.as_str(), "fail");
        assert!(f.message.contains("share=on"), "{}", f.message);

        let misaligned = pmem_host()
            .vm(&NV_VM.replace("align=2M", "align=4k"), &node0())
            .build();
        assert_eq!(
            status(&misaligned, Throughput, "qemu.pmem.nvdimm", "vm:pm"),
            "fail"
        );

        let small_label = pmem_host()
            .vm(
                &NV_VM.replace("label-size=128k", "label-size=64k"),
                &node0(),
            )
            .build();
        assert_eq!(
            status(&small_label, Throughput, "qemu.pmem.nvdimm", "vm:pm"),
            "fail"
        );

        // The VM runs on node 1, its devdax region is on node 0.
        let remote = pmem_host()
            .vm(
                NV_VM,
                &[
                    ("qemu-system-x86", "4", "1"),
                    ("CPU 0/KVM", "5", "1"),
                    ("CPU 1/KVM", "6", "1"),
                ],
            )
            .build();
        assert_eq!(
            status(&remote, Throughput, "qemu.pmem.nvdimm", "vm:pm"),
            "warn"
        );

        let plain = pmem_host()
            .vm("qemu-system-x86_64 -name guest=app -m 4G", &node0())
            .build();
        assert_eq!(
            status(&plain, Throughput, "qemu.pmem.nvdimm", "vm:app"),
            "not_applicable"
        );
        let no_pmem = SnapBuilder::new()
            .icx("vmx")
            .topology(2, 4, 2)
            .dir("/sys/firmware/acpi/tables", &["DMAR"])
            .vm(NV_VM, &node0())
            .build();
        assert_eq!(
            status(&no_pmem, Throughput, "qemu.pmem.nvdimm", "vm:pm"),
            "not_applicable"
        );
    }

    #[test]
    fn guest_visible() {
        // On the hypervisor: no guest channel.
        let s = pmem_host()
            .vm(NV_VM, &node0())
            .vm("qemu-system-x86_64 -name guest=app -m 4G", &node0())
            .build();
        assert_eq!(
            status(&s, Throughput, "guest.pmem.visible", "vm:pm"),
            "unknown"
        );
        assert_eq!(
            status(&s, Throughput, "guest.pmem.visible", "vm:app"),
            "not_applicable"
        );

        // Inside a guest.
        let guest = |mounts: &str| {
            SnapBuilder::new()
                .icx("vmx hypervisor")
                .dir("/sys/firmware/acpi/tables", &["NFIT"])
                .dir("/dev", &["pmem0", "vda"])
                .file("/proc/mounts", mounts)
                .build()
        };
        let dax =
            guest("/dev/vda1 / ext4 rw 0 0\n/dev/pmem0 /mnt/pmem xfs rw,relatime,dax=always 0 0");
        assert_eq!(
            status(&dax, Throughput, "guest.pmem.visible", "host"),
            "info"
        );
        let cached = guest("/dev/pmem0 /mnt/pmem ext4 rw,relatime 0 0");
        let f = &findings(&cached, Throughput, "guest.pmem.visible")[0];
        assert_eq!(f.status.as_str(), "warn");
        assert!(f.message.contains("-o dax"), "{}", f.message);
        let no_ns = SnapBuilder::new()
            .icx("vmx hypervisor")
            .dir("/sys/firmware/acpi/tables", &["NFIT"])
            .dir("/dev", &["vda"])
            .build();
        assert_eq!(
            status(&no_ns, Throughput, "guest.pmem.visible", "host"),
            "warn"
        );
        let none = SnapBuilder::new()
            .icx("vmx hypervisor")
            .dir("/sys/firmware/acpi/tables", &[])
            .dir("/dev", &["vda"])
            .build();
        assert_eq!(
            status(&none, Throughput, "guest.pmem.visible", "host"),
            "not_applicable"
        );
    }
}
