//! Firmware (BIOS) settings of guide §2.1, read through their OS-visible consequences, plus
//! the QAT link of §5 and the kernel side of VT-d. kvmaudit never changes firmware.

use super::cpufreq::{self, Policies};
use super::qat;
use super::CheckFn;
use crate::parse::cpulist;
use crate::report::Severity;
use crate::rules::context::{Ctx, Got};
use crate::rules::outcome::Outcome;
use crate::rules::persistent;
use std::collections::{BTreeMap, BTreeSet};

mod eet;
mod msr;

use crate::model::msr as mr;
use msr::{combine, cpus, Field, Says};

use eet::bios_eet;

pub const CHECKS: &[(&str, CheckFn)] = &[
    ("bios.vtx", bios_vtx),
    ("bios.vtd", bios_vtd),
    ("host.iommu.enabled", iommu_enabled),
    ("bios.ht", bios_ht),
    ("bios.numa", bios_numa),
    ("bios.power-policy", power_policy),
    ("bios.eist", bios_eist),
    ("bios.turbo", bios_turbo),
    ("bios.eet", bios_eet),
    ("bios.hwp-native", hwp_native),
    ("bios.c1e", bios_c1e),
    ("bios.c6", bios_c6),
    ("hw.qat.pcie-link", qat_pcie_link),
];

/// Rules of this section judge Intel firmware; on other vendors they do not apply.
fn not_intel(ctx: &Ctx) -> Option<Vec<Outcome>> {
    if ctx.is_intel() {
        return None;
    }
    Some(vec![match &ctx.host.cpu.vendor {
        Some(v) => Outcome::na(
            "host",
            format!("{v} CPU: Intel BIOS settings do not apply (use the vendor's equivalents)"),
        ),
        None => Outcome::unknown("host", "CPU vendor unknown (no CPUID or /proc/cpuinfo)"),
    }])
}

/// VT-x enabled: `/dev/kvm` plus kvm_intel loaded proves it; `vmx` missing from the kernel's
/// flags while CPUID advertises it means firmware locked VT-x off.
fn bios_vtx(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    // A listing that is not there at all (a --root tree without /dev or /sys/module) says
    // nothing about the entries: only a present listing can lack them.
    let listed = |dir: &str, name: &str| match ctx.dir_exists(dir) {
        Some(true) => ctx.dir_has(dir, name),
        _ => None,
    };
    let kvm_dev = listed("/dev", "kvm");
    let kvm_intel = listed("/sys/module", "kvm_intel");
    let kernel_vmx = ctx.cpuinfo_flag("vmx");
    let cpuid_vmx = ctx.host.cpu.vmx;
    let o = if kvm_dev == Some(true) && kvm_intel == Some(true) {
        Outcome::pass(
            "host",
            "VT-x is enabled: /dev/kvm exists and kvm_intel is loaded",
        )
    } else if kernel_vmx == Some(false) && cpuid_vmx == Some(true) {
        Outcome::fail(
            "host",
            "the CPU supports VT-x but the kernel hides it: firmware disabled (locked) VT-x",
        )
    } else if kernel_vmx == Some(false) {
        Outcome::fail(
            "host",
            "no vmx flag: VT-x is disabled in firmware or not supported",
        )
    } else if kernel_vmx == Some(true) && (kvm_dev == Some(false) || kvm_intel == Some(false)) {
        Outcome::warn(
            "host",
            "VT-x is available but KVM is not ready: load kvm_intel (modprobe kvm_intel)",
        )
    } else if kernel_vmx == Some(true) {
        Outcome::unknown(
            "host",
            "the vmx flag is present, but /dev and /sys/module could not be listed here, so whether KVM is usable (/dev/kvm, kvm_intel) cannot be told",
        )
    } else {
        Outcome::unknown("host", "neither /proc/cpuinfo nor /dev/kvm could be read")
    };
    let fc = Field::read(
        ctx,
        mr::FEATURE_CONTROL,
        "bits 0 lock, 1 VMX in SMX, 2 VMX outside SMX",
        |v| v & 7,
    );
    let locked_off = fc.cpus_where(|v| {
        mr::feature_control_locked(v) && !mr::vmx_outside_smx(v) && !mr::vmx_inside_smx(v)
    });
    // Unlocked is no verdict: Linux >= 5.6 enables VMX and locks the register itself.
    let says = if !locked_off.is_empty() {
        Says::Bad(format!(
            "IA32_FEATURE_CONTROL is locked with VMX disabled on {}: firmware disabled VT-x",
            cpus(&locked_off)
        ))
    } else if fc.all(|v| mr::feature_control_locked(v) && mr::vmx_outside_smx(v)) == Some(true) {
        Says::Good("IA32_FEATURE_CONTROL is locked with VMX outside SMX enabled on every CPU: firmware enabled VT-x".into())
    } else {
        Says::Nothing
    };
    let o = fc.row_if_read(
        ctx,
        combine(o, says, true),
        "lock 1 and VMX outside SMX 1 (value 0x5)",
    );
    let show = |b: Option<bool>| match b {
        Some(true) => "present",
        Some(false) => "absent",
        None => "unknown",
    };
    vec![o
        .ev("/dev/kvm", show(kvm_dev), "present")
        .ev("/sys/module/kvm_intel", show(kvm_intel), "present")
        .ev(
            "/proc/cpuinfo flags",
            format!("vmx {}", show(kernel_vmx)),
            "vmx present",
        )
        .ev(
            "CPUID.1:ECX[5]",
            match cpuid_vmx {
                Some(true) => "1",
                Some(false) => "0",
                None => "not recorded",
            },
            "",
        )]
}

// ---------------------------------------------------------------------------------------------
// Shared readers

const ACPI_TABLES: &str = "/sys/firmware/acpi/tables";
const IOMMU_CLASS: &str = "/sys/class/iommu";
const IOMMU_GROUPS: &str = "/sys/kernel/iommu_groups";
const CPU: &str = "/sys/devices/system/cpu";

/// High when a VM uses VFIO or QAT passthrough is in use or prepared (catalogue: VT-d and the
/// kernel IOMMU escalate then).
fn vfio_escalation(ctx: &Ctx) -> Option<Severity> {
    (ctx.flags.vfio_vms || qat::qat_passthrough_planned(ctx)).then_some(Severity::High)
}

fn show_listing(r: &Result<&[String], Option<&crate::snapshot::ReadError>>) -> String {
    match r {
        Ok([]) => "empty".into(),
        Ok(v) => v.join(" "),
        Err(None) => "absent".into(),
        Err(Some(e)) => e.describe(),
    }
}

/// Per-CPU values of `cpuN/<suffix>` that the snapshot holds, by CPU number.
fn per_cpu<'a>(ctx: &Ctx<'a>, suffix: &str) -> BTreeMap<u32, Got<'a>> {
    let prefix = format!("{CPU}/cpu");
    let mut out = BTreeMap::new();
    for (k, _) in ctx
        .snap
        .files
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
    {
        let rest = &k[prefix.len()..];
        let Some((num, tail)) = rest.split_once('/') else {
            continue;
        };
        if tail != suffix {
            continue;
        }
        if let Ok(n) = num.parse::<u32>() {
            out.insert(n, ctx.get(k));
        }
    }
    out
}

/// "6 on cpu 0-15; 0 on cpu 16-31" from per-CPU descriptions.
fn by_cpus(items: impl IntoIterator<Item = (String, u32)>) -> String {
    let mut by: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for (d, c) in items {
        by.entry(d).or_default().insert(c);
    }
    by.iter()
        .map(|(d, cpus)| format!("{d} on cpu {}", cpulist::format(cpus)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A persistent kernel command line holds `name` (with `value`, or any value when `None`).
fn persistent_cmdline_has(ctx: &Ctx, name: &str, value: Option<&str>) -> Option<String> {
    persistent::kernel_cmdlines(ctx.snap)
        .into_iter()
        .find(|(_, c)| match value {
            Some(v) => c.values(name).any(|x| x == v),
            None => c.has(name),
        })
        .map(|(p, _)| p)
}

fn running_cmdline_value<'a>(ctx: &Ctx<'a>, name: &str) -> Option<&'a str> {
    ctx.host.cmdline.as_ref().and_then(|c| c.value(name))
}

// ---------------------------------------------------------------------------------------------
// bios.vtd

/// The firmware's DMAR table is the sound proxy for VT-d (firmware omits it when disabled);
/// registered dmar* units corroborate it when the table list cannot be read.
fn bios_vtd(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    let tables = ctx.dir(ACPI_TABLES);
    let classes = ctx.dir(IOMMU_CLASS);
    let units: Vec<&String> = classes
        .as_ref()
        .map(|v| v.iter().filter(|n| n.starts_with("dmar")).collect())
        .unwrap_or_default();
    let o = match &tables {
        Ok(names) if names.iter().any(|n| n == "DMAR") => Outcome::pass(
            "host",
            "the firmware publishes an ACPI DMAR table: VT-d is enabled",
        ),
        _ if !units.is_empty() => Outcome::pass(
            "host",
            "the kernel registered DMAR remapping units, so the firmware provides VT-d",
        ),
        Ok(names) if !names.is_empty() => Outcome::fail(
            "host",
            "no ACPI DMAR table: VT-d is disabled in firmware (or not supported by the platform)",
        ),
        _ => Outcome::unknown(
            "host",
            format!(
                "the ACPI table list could not be read ({})",
                show_listing(&tables)
            ),
        ),
    };
    vec![o
        .escalate(vfio_escalation(ctx))
        .ev(
            ACPI_TABLES,
            match &tables {
                Ok(n) if n.iter().any(|n| n == "DMAR") => "DMAR present".to_string(),
                Ok(_) => "DMAR absent".to_string(),
                other => show_listing(other),
            },
            "DMAR present",
        )
        .ev(IOMMU_CLASS, show_listing(&classes), "")]
}

// ---------------------------------------------------------------------------------------------
// host.iommu.enabled

/// Interrupt remapping state, with the evidence that decided it.
enum Ir {
    On(String, String),
    Off(String, String),
    Unknown(String),
}

fn parse_hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok()
}

/// Interrupt remapping: `IR-` interrupt chips in /proc/interrupts are runtime proof; otherwise
/// the hardware capability (ecap bit 3), `intremap=off` and CONFIG_IRQ_REMAP.
fn interrupt_remapping(ctx: &Ctx, units: &[&String]) -> Ir {
    if let Some(t) = ctx.text("/proc/interrupts") {
        let chips: BTreeSet<&str> = t
            .split_whitespace()
            .filter(|w| w.ends_with("PCI-MSI") || w.ends_with("IO-APIC") || w.contains("PCI-MSIX"))
            .collect();
        if chips.iter().any(|c| c.starts_with("IR-")) {
            return Ir::On(
                "/proc/interrupts".into(),
                "interrupts delivered through IR-PCI-MSI / IR-IO-APIC chips".into(),
            );
        }
        if !chips.is_empty() {
            return Ir::Off(
                "/proc/interrupts".into(),
                format!(
                    "only {} chips, none remapped (IR-)",
                    chips.into_iter().collect::<Vec<_>>().join("/")
                ),
            );
        }
    }
    if let Some(v) = running_cmdline_value(ctx, "intremap") {
        if v == "off" {
            return Ir::Off("/proc/cmdline".into(), "intremap=off".into());
        }
    }
    if let Some(k) = ctx.host.kconfig.as_ref() {
        if k.enabled("IRQ_REMAP") == Some(false) {
            return Ir::Off("kernel config".into(), "CONFIG_IRQ_REMAP is not set".into());
        }
    }
    let ecaps: Vec<Option<u64>> = units
        .iter()
        .map(|u| {
            ctx.text(&format!("{IOMMU_CLASS}/{u}/intel-iommu/ecap"))
                .and_then(parse_hex)
        })
        .collect();
    if !ecaps.is_empty() && ecaps.iter().all(Option::is_some) {
        let all_ir = ecaps.iter().flatten().all(|e| e & (1 << 3) != 0);
        return if all_ir {
            Ir::On(
                format!("{IOMMU_CLASS}/dmar*/intel-iommu/ecap"),
                "bit 3 (IR) set on every unit and nothing turns it off (proxy)".into(),
            )
        } else {
            Ir::Off(
                format!("{IOMMU_CLASS}/dmar*/intel-iommu/ecap"),
                "bit 3 (IR) clear on some unit: the hardware cannot remap interrupts".into(),
            )
        };
    }
    Ir::Unknown("neither /proc/interrupts nor the units' ecap could be read".into())
}

/// Posted-interrupt support (cap bit 59) over all Intel units, for the evidence.
fn posted_interrupts(ctx: &Ctx, units: &[&String]) -> String {
    let caps: Vec<Option<u64>> = units
        .iter()
        .map(|u| {
            ctx.text(&format!("{IOMMU_CLASS}/{u}/intel-iommu/cap"))
                .and_then(parse_hex)
        })
        .collect();
    if caps.is_empty() || caps.iter().any(Option::is_none) {
        return "not readable".into();
    }
    let n = caps
        .iter()
        .flatten()
        .filter(|c| *c & (1 << 59) != 0)
        .count();
    format!("cap bit 59 (PI) set on {n} of {} units", caps.len())
}

/// Kernel DMA remapping is active: remapping units registered and IOMMU groups populated.
/// What shows that device passthrough is prepared on this host although no VM uses VFIO:
/// a QAT device, or SR-IOV virtual functions (`physfn` links). `Ok(None)` = nothing;
/// `Err` = the PCI device list could not be read.
fn passthrough_planned(ctx: &Ctx) -> Result<Option<String>, String> {
    const PCI: &str = "/sys/bus/pci/devices";
    if ctx.flags.qat_present == Some(true) {
        return Ok(Some("a QAT device is present".into()));
    }
    let devices = match ctx.dir(PCI) {
        Ok(d) => d,
        Err(e) => {
            return Err(format!(
                "{PCI}: {}",
                e.map_or_else(|| "absent".into(), |e| e.describe())
            ))
        }
    };
    let vfs: Vec<&str> = devices
        .iter()
        .filter(|d| ctx.link(&format!("{PCI}/{d}/physfn")).is_some())
        .map(String::as_str)
        .collect();
    if let Some(first) = vfs.first() {
        return Ok(Some(format!(
            "{} SR-IOV virtual function(s), e.g. {first}",
            vfs.len()
        )));
    }
    match ctx.flags.qat_present {
        Some(_) => Ok(None),
        None => Err("the QAT device scan could not be completed".into()),
    }
}

fn iommu_enabled(ctx: &Ctx) -> Vec<Outcome> {
    let esc = vfio_escalation(ctx);
    let tables = ctx.dir(ACPI_TABLES);
    let classes = ctx.dir(IOMMU_CLASS);
    let groups = ctx.dir(IOMMU_GROUPS);
    let has_table = |t: &str| tables.as_ref().ok().map(|v| v.iter().any(|n| n == t));
    let (dmar, ivrs) = (has_table("DMAR"), has_table("IVRS"));
    let all_units: Vec<&String> = classes
        .as_ref()
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let intel_units: Vec<&String> = all_units
        .iter()
        .copied()
        .filter(|n| n.starts_with("dmar"))
        .collect();
    let amd_units: Vec<&String> = all_units
        .iter()
        .copied()
        .filter(|n| n.starts_with("ivhd"))
        .collect();
    let amd = ivrs == Some(true) || !amd_units.is_empty() || (ctx.is_amd() && dmar != Some(true));
    let (units, table_name, unit_glob, param) = if amd {
        (&amd_units, "IVRS", "ivhd*", "amd_iommu")
    } else {
        (&intel_units, "DMAR", "dmar*", "intel_iommu")
    };
    let table = if amd { ivrs } else { dmar };
    let table_ev = |o: Outcome| {
        o.ev(
            ACPI_TABLES,
            match table {
                Some(true) => format!("{table_name} present"),
                Some(false) => format!("{table_name} absent"),
                None => show_listing(&tables),
            },
            format!("{table_name} present"),
        )
    };
    // Applicability: the firmware must offer an IOMMU.
    if units.is_empty() && table != Some(true) {
        let o = if table == Some(false) && dmar != Some(true) && ivrs != Some(true) {
            Outcome::na(
                "host",
                "no DMAR (Intel VT-d) or IVRS (AMD-Vi) table: the firmware offers no IOMMU to enable (see bios.vtd)",
            )
        } else {
            Outcome::unknown(
                "host",
                format!(
                    "cannot tell whether the firmware offers an IOMMU: the ACPI table list is {} and no remapping unit is registered",
                    show_listing(&tables)
                ),
            )
            .escalate(esc)
        };
        return vec![table_ev(o).ev(IOMMU_CLASS, show_listing(&classes), "")];
    }
    let ngroups = groups.as_ref().ok().map(|g| g.len());
    let group_types = {
        let mut by: BTreeMap<&str, usize> = BTreeMap::new();
        for g in groups.as_ref().map(|g| g.iter()).into_iter().flatten() {
            if let Some(t) = ctx.text(&format!("{IOMMU_GROUPS}/{g}/type")) {
                *by.entry(t).or_default() += 1;
            }
        }
        by.iter()
            .map(|(t, n)| format!("{t} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let running = running_cmdline_value(ctx, param);
    let default_on = if amd {
        None
    } else {
        ctx.host
            .kconfig
            .as_ref()
            .and_then(|k| k.enabled("INTEL_IOMMU_DEFAULT_ON"))
    };
    let vfio_used = esc.is_some();
    let base_ev = |o: Outcome| {
        let o = table_ev(o)
            .ev(
                format!("{IOMMU_CLASS}/{unit_glob}"),
                if units.is_empty() {
                    show_listing(&classes)
                } else {
                    units
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                },
                format!("{unit_glob} present"),
            )
            .ev(
                IOMMU_GROUPS,
                match (&groups, ngroups) {
                    (_, Some(n)) if !group_types.is_empty() => {
                        format!("{n} groups ({group_types})")
                    }
                    (_, Some(n)) => format!("{n} groups"),
                    (g, None) => show_listing(g),
                },
                "> 0 groups",
            )
            .ev(
                "/proc/cmdline",
                ctx.host.cmdline.as_ref().map_or_else(
                    || ctx.get("/proc/cmdline").why(),
                    |c| {
                        let keys = [param, "iommu", "intremap"];
                        let v: Vec<String> = c
                            .params
                            .iter()
                            .filter(|p| keys.contains(&p.name.as_str()))
                            .map(|p| match &p.value {
                                Some(v) => format!("{}={v}", p.name),
                                None => p.name.clone(),
                            })
                            .collect();
                        if v.is_empty() {
                            format!("no {param}= / iommu= parameter")
                        } else {
                            v.join(" ")
                        }
                    },
                ),
                if amd {
                    ""
                } else {
                    "intel_iommu=on (unless the kernel defaults to on)"
                },
            );
        match default_on {
            Some(d) => o.ev(
                "kernel config CONFIG_INTEL_IOMMU_DEFAULT_ON",
                if d { "y" } else { "not set" },
                "",
            ),
            None => o,
        }
    };
    let active = !units.is_empty() && ngroups.is_some_and(|n| n > 0);
    if !active {
        if ngroups.is_none() && !units.is_empty() {
            return vec![base_ev(
                Outcome::unknown(
                    "host",
                    format!(
                        "remapping units are registered but {IOMMU_GROUPS} could not be read ({})",
                        show_listing(&groups)
                    ),
                )
                .escalate(esc),
            )];
        }
        if matches!(classes, Err(Some(_))) && matches!(groups, Err(Some(_))) {
            return vec![base_ev(
                Outcome::unknown(
                    "host",
                    "neither /sys/class/iommu nor /sys/kernel/iommu_groups could be read",
                )
                .escalate(esc),
            )];
        }
        let built_in = ctx
            .host
            .kconfig
            .as_ref()
            .and_then(|k| k.enabled("INTEL_IOMMU"));
        let why = match (amd, running, default_on) {
            (false, _, _) if built_in == Some(false) => {
                "the kernel is built without CONFIG_INTEL_IOMMU".to_string()
            }
            (false, Some("off"), _) => "the command line has intel_iommu=off".to_string(),
            (false, None, Some(false)) => {
                "this kernel defaults to off (CONFIG_INTEL_IOMMU_DEFAULT_ON not set) and the command line has no intel_iommu=on".to_string()
            }
            (false, None, _) => "the command line has no intel_iommu=on".to_string(),
            (true, Some("off"), _) => "the command line has amd_iommu=off".to_string(),
            _ => "the IOMMU driver did not initialise DMA remapping".to_string(),
        };
        let pending = if amd {
            (running == Some("off"))
                .then(|| {
                    persistent::kernel_cmdlines(ctx.snap)
                        .into_iter()
                        .find(|(_, c)| c.value("amd_iommu") != Some("off"))
                        .map(|(p, _)| p)
                })
                .flatten()
        } else {
            (running != Some("on"))
                .then(|| persistent_cmdline_has(ctx, "intel_iommu", Some("on")))
                .flatten()
        };
        // Catalogue: FAIL only when VFIO is used or planned; without passthrough the host
        // runs its VMs as well without DMA remapping (stock RHEL 9 / Ubuntu kernels default
        // intel_iommu off), so the finding is informational.
        let planned = passthrough_planned(ctx);
        let needed = vfio_used || pending.is_some() || planned.as_ref().is_ok_and(|p| p.is_some());
        if !needed {
            let o = match &planned {
                Err(e) => Outcome::unknown(
                    "host",
                    format!("DMA remapping is not active ({why}); whether passthrough is planned (QAT or SR-IOV devices) could not be read: {e}"),
                ),
                Ok(_) => Outcome::info(
                    "host",
                    format!("DMA remapping is not active ({why}); no VM uses VFIO and no QAT or SR-IOV virtual function is present, so nothing needs it now: add {param}=on before assigning devices to VMs"),
                ),
            };
            return vec![base_ev(o)];
        }
        let mut msg = format!(
            "DMA remapping is not active: {why}, and no {unit_glob} unit with IOMMU groups exists{}",
            if vfio_used {
                "; VFIO passthrough (VMs or QAT VFs) cannot work without it".to_string()
            } else if let Ok(Some(what)) = &planned {
                format!("; passthrough is prepared ({what}) and cannot work without it")
            } else {
                String::new()
            }
        );
        if let Some(p) = &pending {
            msg.push_str(&format!(
                "; {p} already has the fix ({}), pending a reboot",
                if amd {
                    "no amd_iommu=off"
                } else {
                    "intel_iommu=on"
                }
            ));
        }
        return vec![base_ev(
            Outcome::fail("host", msg)
                .escalate(esc)
                .pending(pending.is_some()),
        )];
    }
    let ir = interrupt_remapping(ctx, units);
    let pi = if amd {
        None
    } else {
        Some(posted_interrupts(ctx, units))
    };
    let n = units.len();
    let g = ngroups.unwrap_or(0);
    let o = match &ir {
        Ir::On(_, _) => Outcome::pass(
            "host",
            format!("DMA remapping is active: {n} {unit_glob} unit(s), {g} IOMMU groups, interrupt remapping on"),
        ),
        Ir::Off(_, why) => Outcome::warn(
            "host",
            format!(
                "DMA remapping is active ({n} units, {g} groups) but interrupt remapping is off ({why}): VFIO then needs allow_unsafe_interrupts and posted interrupts are unavailable"
            ),
        ),
        Ir::Unknown(why) => Outcome::pass(
            "host",
            format!(
                "DMA remapping is active: {n} {unit_glob} unit(s), {g} IOMMU groups (interrupt remapping not verified: {why})"
            ),
        ),
    };
    let mut o = base_ev(o.escalate(esc));
    match ir {
        Ir::On(src, obs) | Ir::Off(src, obs) => o = o.ev(src, obs, "interrupt remapping enabled"),
        Ir::Unknown(why) => o = o.ev("interrupt remapping", why, "enabled"),
    }
    if let Some(pi) = pi {
        o = o.ev(
            format!("{IOMMU_CLASS}/dmar*/intel-iommu/cap"),
            pi,
            "bit 59 (posted interrupts)",
        );
    }
    vec![o]
}

// ---------------------------------------------------------------------------------------------
// bios.ht

const SMT_ACTIVE: &str = "/sys/devices/system/cpu/smt/active";
const SMT_CONTROL: &str = "/sys/devices/system/cpu/smt/control";

/// Vulnerability files that mention SMT with something other than "Not affected".
fn smt_exposures(ctx: &Ctx) -> Vec<String> {
    let prefix = format!("{CPU}/vulnerabilities/");
    ctx.snap
        .files
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter_map(|(k, f)| {
            let v = f.value()?.trim();
            (v.contains("SMT") && !v.starts_with("Not affected"))
                .then(|| format!("{}: {v}", &k[prefix.len()..]))
        })
        .collect()
}

/// SMT active proves HT is on; `notsupported` means firmware (or the SKU) has it off;
/// `off`/`forceoff` means the OS switched it off.
fn bios_ht(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    let active = ctx.text(SMT_ACTIVE);
    let control = ctx.text(SMT_CONTROL);
    let max_siblings = ctx
        .host
        .topology
        .cpus
        .values()
        .map(|c| c.siblings.len())
        .max();
    let tpc = ctx.host.cpu.threads_per_core;
    let exposures = smt_exposures(ctx);
    let waiver_note = if exposures.is_empty() {
        String::new()
    } else {
        format!(
            " (the kernel lists SMT-related exposure — {} — if your security policy requires SMT off, record a waiver)",
            exposures.join("; ")
        )
    };
    let nosmt_now = ctx.host.cmdline.as_ref().and_then(|c| {
        c.params.iter().find(|p| p.name == "nosmt").map(|p| {
            p.value
                .as_deref()
                .map_or("nosmt".to_string(), |v| format!("nosmt={v}"))
        })
    });
    let o = match (active, control) {
        (Some("1"), _) => Outcome::pass(
            "host",
            "Hyper-Threading is active; pin VMs to whole cores (both siblings) and keep housekeeping on whole cores",
        ),
        (Some("0"), Some(c @ ("off" | "forceoff"))) => {
            let persistent_clean = nosmt_now.is_some()
                && !persistent::kernel_cmdlines(ctx.snap).is_empty()
                && persistent::kernel_cmdlines(ctx.snap)
                    .iter()
                    .all(|(_, c)| !c.has("nosmt"));
            let how = match (&nosmt_now, c) {
                (Some(p), _) => format!("the kernel command line has {p}"),
                (None, "forceoff") => "SMT was force-disabled".into(),
                (None, _) => "SMT was switched off at runtime".into(),
            };
            Outcome::fail(
                "host",
                format!(
                    "the firmware has Hyper-Threading enabled but the OS switched it off ({how}; smt/control={c}){}{waiver_note}",
                    if persistent_clean {
                        "; the persistent command line no longer has nosmt, pending a reboot"
                    } else if c == "off" {
                        "; echo on > /sys/devices/system/cpu/smt/control re-enables it"
                    } else {
                        ""
                    }
                ),
            )
            .pending(persistent_clean)
        }
        (Some("0"), Some("notsupported")) => Outcome::fail(
            "host",
            format!("Hyper-Threading is disabled in firmware (smt/control=notsupported: no core has a second thread){waiver_note}"),
        ),
        (Some("0"), c) => Outcome::fail(
            "host",
            format!(
                "SMT is not active (smt/control={}){waiver_note}",
                c.unwrap_or("unreadable")
            ),
        ),
        _ => match (max_siblings, tpc) {
            (Some(n), _) if n >= 2 => Outcome::pass(
                "host",
                "CPUs have thread siblings: Hyper-Threading is active",
            ),
            (_, Some(t)) if t >= 2 => Outcome::pass(
                "host",
                "CPUID reports 2 logical processors per core: Hyper-Threading is active",
            ),
            (Some(1), _) | (_, Some(1)) => Outcome::fail(
                "host",
                format!("no core has a second thread: Hyper-Threading is off{waiver_note}"),
            ),
            _ => Outcome::unknown(
                "host",
                format!(
                    "SMT state not readable ({}) and no thread-sibling information",
                    ctx.get(SMT_ACTIVE).why()
                ),
            ),
        },
    };
    vec![o
        .ev(
            SMT_ACTIVE,
            active.map_or_else(|| ctx.get(SMT_ACTIVE).why(), str::to_string),
            "1",
        )
        .ev(
            SMT_CONTROL,
            control.map_or_else(|| ctx.get(SMT_CONTROL).why(), str::to_string),
            "on",
        )
        .ev(
            "/sys/devices/system/cpu/cpu*/topology/thread_siblings_list",
            max_siblings.map_or_else(
                || "not read".into(),
                |n| format!("up to {n} thread(s) per core"),
            ),
            "2 per core",
        )
        .ev(
            "CPUID leaf 0xB/0x1F SMT level",
            tpc.map_or_else(
                || "not recorded".into(),
                |t| format!("{t} logical processor(s) per core"),
            ),
            "",
        )]
}

// ---------------------------------------------------------------------------------------------
// bios.numa

/// NUMA Optimized: at least one CPU-bearing node per socket, each with local memory. More
/// nodes than sockets is Sub-NUMA Clustering, noted.
fn bios_numa(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    let sockets = ctx.host.topology.sockets.or_else(|| {
        ctx.host
            .platform
            .as_ref()
            .map(|p| p.sockets_populated)
            .filter(|n| *n > 0)
    });
    let srat = ctx.dir_has(ACPI_TABLES, "SRAT");
    let numa_param = ctx.host.cmdline.as_ref().and_then(|c| {
        c.params
            .iter()
            .rev()
            .find(|p| p.name == "numa")
            .map(|p| p.value.clone().unwrap_or_default())
    });
    let kconfig_numa = ctx.host.kconfig.as_ref().and_then(|k| k.enabled("NUMA"));
    let Some(nodes) = ctx.host.nodes.as_ref() else {
        return vec![Outcome::unknown(
            "host",
            "the NUMA node list (/sys/devices/system/node) could not be read",
        )];
    };
    let cpu_nodes: Vec<_> = nodes.iter().filter(|n| !n.cpus.is_empty()).collect();
    let memless: Vec<u32> = cpu_nodes
        .iter()
        .filter(|n| n.mem_total_kb == Some(0))
        .map(|n| n.id)
        .collect();
    let per_socket = sockets
        .filter(|s| *s > 0)
        .map(|s| cpu_nodes.len() as u32 / s);
    let ev = |o: Outcome| {
        o.ev(
            "/sys/devices/system/cpu/cpu*/topology/physical_package_id",
            sockets.map_or_else(|| "unknown".into(), |s| format!("{s} socket(s)")),
            "",
        )
        .ev(
            "/sys/devices/system/node/node*/cpulist",
            format!(
                "{} node(s) with CPUs: {}",
                cpu_nodes.len(),
                cpu_nodes
                    .iter()
                    .map(|n| format!(
                        "node{} cpus {} mem {}",
                        n.id,
                        cpulist::format(&n.cpus),
                        n.mem_total_kb
                            .map_or_else(|| "?".into(), |k| format!("{} MiB", k / 1024))
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            "at least one node with CPUs and memory per socket",
        )
        .ev(
            ACPI_TABLES,
            match srat {
                Some(true) => "SRAT present",
                Some(false) => "SRAT absent",
                None => "unreadable",
            },
            "SRAT present",
        )
        .ev(
            "/proc/cmdline numa=",
            numa_param
                .as_ref()
                .map_or_else(|| "not set".to_string(), |v| format!("numa={v}")),
            "not set",
        )
    };
    let Some(sockets) = sockets else {
        return vec![ev(Outcome::unknown(
            "host",
            "the socket count could not be read (CPU topology and SMBIOS unavailable)",
        ))];
    };
    let o = if sockets < 2 {
        if cpu_nodes.len() > 1 {
            Outcome::info(
                "host",
                format!(
                    "single socket split into {} nodes: Sub-NUMA Clustering is active (pin per sub-NUMA cluster)",
                    cpu_nodes.len()
                ),
            )
        } else {
            Outcome::na(
                "host",
                "single socket without Sub-NUMA Clustering: no NUMA setting to judge",
            )
        }
    } else if let Some(v) = numa_param
        .as_deref()
        .filter(|v| *v == "off" || v.starts_with("fake"))
    {
        Outcome::warn(
            "host",
            format!("the command line has numa={v}: the kernel ignores the firmware's NUMA topology; remove it"),
        )
    } else if (cpu_nodes.len() as u32) < sockets {
        let cause = if kconfig_numa == Some(false) {
            "the kernel is built without CONFIG_NUMA".to_string()
        } else if srat == Some(false) {
            "the firmware publishes no SRAT: NUMA Optimized is disabled (memory interleaved across sockets)".to_string()
        } else {
            "the firmware interleaves memory across sockets (NUMA Optimized disabled / Node Interleaving enabled)".to_string()
        };
        Outcome::fail(
            "host",
            format!(
                "{sockets} sockets but only {} node(s) with CPUs: {cause}",
                cpu_nodes.len()
            ),
        )
    } else if !memless.is_empty() {
        Outcome::warn(
            "host",
            format!(
                "node(s) {} have CPUs but no memory: their CPUs always access remote memory (check DIMM population)",
                memless
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        )
    } else if per_socket.is_some_and(|k| k > 1) {
        Outcome::pass(
            "host",
            format!(
                "NUMA is exposed per socket and Sub-NUMA Clustering is active (SNC-{}, {} nodes on {sockets} sockets): placement and housekeeping are per sub-NUMA cluster",
                per_socket.unwrap_or(2),
                cpu_nodes.len()
            ),
        )
    } else {
        Outcome::pass(
            "host",
            format!(
                "{sockets} sockets, {} NUMA nodes with CPUs and local memory",
                cpu_nodes.len()
            ),
        )
    };
    vec![ev(o)]
}

// ---------------------------------------------------------------------------------------------
// bios.power-policy

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Pass,
    Warn,
    Fail,
    Unknown,
}

/// Two parts in one finding on `host`: the firmware EPB (Linux rewrites a firmware 0 to 6, so 6
/// proves nothing) and the effective hint (EPP or the performance governor).
fn power_policy(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    if ctx.host.cpu.epb == Some(false) {
        return vec![Outcome::na(
            "host",
            "the CPU has no energy/performance bias (CPUID.6:ECX[3] clear)",
        )];
    }
    // Firmware part.
    let epb = per_cpu(ctx, "power/energy_perf_bias");
    let sysfs_vals: BTreeMap<u32, Option<u32>> = epb
        .iter()
        .map(|(c, g)| (*c, g.val().and_then(|v| v.trim().parse().ok())))
        .collect();
    // sysfs reads the same register; the MSR stands in where sysfs is missing (Linux < 5.2,
    // a tree without the files), and a difference between the two is said.
    let epb_msr = Field::read(ctx, mr::ENERGY_PERF_BIAS, "bits 3:0", mr::epb);
    let vals: BTreeMap<u32, Option<u32>> = match (&epb_msr.values, sysfs_vals.is_empty()) {
        (Ok(m), true) => m.iter().map(|(c, v)| (*c, Some(*v))).collect(),
        _ => sysfs_vals.clone(),
    };
    let epb_disagree: Vec<u32> = match &epb_msr.values {
        Ok(m) => m
            .iter()
            .filter(|(c, v)| {
                sysfs_vals
                    .get(c)
                    .copied()
                    .flatten()
                    .is_some_and(|s| s != **v)
            })
            .map(|(c, _)| *c)
            .collect(),
        Err(_) => Vec::new(),
    };
    let tuned = ctx.get("/etc/tuned/active_profile");
    let (fw, fw_msg) = if vals.is_empty() {
        // Only a kernel older than 5.2 lacks the files; otherwise they are missing from this
        // copy (a --root tree or sosreport), which says nothing about the host.
        let old = ctx
            .host
            .kernel_release
            .as_deref()
            .and_then(super::idle::kernel_version)
            .map(|v| v < (5, 2));
        (
            Part::Unknown,
            match old {
                Some(true) => "EPB is not exposed in sysfs before Linux 5.2: the firmware value needs MSR 0x1B0".to_string(),
                _ => format!(
                    "no {CPU}/cpu*/power/energy_perf_bias was recorded (kernel {}), so the firmware value is not visible here; MSR 0x1B0 would show it",
                    ctx.host.kernel_release.as_deref().unwrap_or("release unknown")
                ),
            },
        )
    } else if vals.values().any(Option::is_none) {
        (
            Part::Unknown,
            "EPB could not be read on every CPU".to_string(),
        )
    } else {
        let v: BTreeSet<u32> = vals.values().flatten().copied().collect();
        if v.iter().any(|x| *x > 6) {
            match tuned {
                Got::Absent => (
                    Part::Fail,
                    "EPB leans to power saving (> 6) and no tuned profile wrote it: the firmware policy is not Performance".to_string(),
                ),
                Got::Val(p) => (
                    Part::Unknown,
                    format!("EPB > 6, but the tuned profile '{p}' may have written it"),
                ),
                _ => (
                    Part::Unknown,
                    "EPB > 6, and whether an OS tool (tuned) wrote it is not readable".to_string(),
                ),
            }
        } else if v.iter().any(|x| (1..=5).contains(x)) {
            (
                Part::Warn,
                "EPB is balance-performance, not performance (0)".to_string(),
            )
        } else if v.iter().all(|x| *x == 0) {
            (Part::Pass, "EPB 0 (performance)".to_string())
        } else {
            (
                Part::Unknown,
                "EPB 6 is also what Linux writes over a firmware 0, and the boot log line 'ENERGY_PERF_BIAS: Set to 'normal', was 'performance'' (root dmesg) is not read".to_string(),
            )
        }
    };
    // Effective part.
    let (eff, eff_msg, eff_obs) = match cpufreq::policies(ctx) {
        Policies::List(list) => {
            let mut bad = Vec::new();
            let mut unknown = 0;
            let mut rows = Vec::new();
            for p in &list {
                let gov = p.governor.val().map(str::trim);
                let epp = p.epp.val().map(str::trim);
                rows.push((
                    format!(
                        "governor {}, EPP {}",
                        gov.unwrap_or("?"),
                        epp.map_or_else(|| p.epp.why(), str::to_string)
                    ),
                    p.id,
                ));
                let good = gov == Some("performance") || matches!(epp, Some("performance" | "0"));
                if good {
                    continue;
                }
                if gov.is_none() && epp.is_none() {
                    unknown += 1;
                } else {
                    bad.push(p.id);
                }
            }
            let obs = cpufreq::grouped(rows);
            if !bad.is_empty() {
                let set: BTreeSet<u32> = bad.into_iter().collect();
                (
                    Part::Warn,
                    format!(
                        "{} run neither EPP performance nor the performance governor",
                        cpufreq::policy_label(&set)
                    ),
                    obs,
                )
            } else if unknown > 0 {
                (Part::Unknown, "some policies could not be read".into(), obs)
            } else {
                (
                    Part::Pass,
                    "every policy runs EPP performance or the performance governor".into(),
                    obs,
                )
            }
        }
        Policies::NoDriver => (
            Part::Unknown,
            "no cpufreq driver: the effective hint is not visible to the OS".into(),
            "no cpufreq policies".into(),
        ),
        Policies::Unreadable(why) => (Part::Unknown, why.clone(), why),
    };
    use Part::*;
    let status = match (fw, eff) {
        (Pass, Pass | Unknown) | (Unknown, Pass) => Pass,
        (Unknown, Unknown) => Unknown,
        (Fail, Warn | Unknown) => Fail,
        _ => Warn,
    };
    let mut msg = format!("effective: {eff_msg}; firmware: {fw_msg}");
    if !epb_disagree.is_empty() {
        msg.push_str(&format!(
            "; MSR 0x1B0 and sysfs energy_perf_bias disagree on {} (the MSR value is what the CPU uses)",
            cpus(&epb_disagree)
        ));
    }
    let o = match status {
        Pass => Outcome::pass("host", msg),
        Warn => Outcome::warn("host", msg),
        Fail => Outcome::fail("host", msg),
        Unknown => Outcome::unknown("host", msg),
    };
    let epb_obs = if epb.is_empty() {
        "not exposed".to_string()
    } else {
        by_cpus(
            vals.iter()
                .map(|(c, v)| (v.map_or_else(|| "unreadable".into(), |v| v.to_string()), *c)),
        )
    };
    let o = epb_msr.row_if_read(ctx, o, "0 (performance)");
    let mut o = o
        .ev(
            "/sys/devices/system/cpu/cpu*/power/energy_perf_bias",
            epb_obs,
            "0 (performance)",
        )
        .ev(
            "/sys/devices/system/cpu/cpufreq/policy*/{scaling_governor,energy_performance_preference}",
            eff_obs,
            "EPP performance or governor performance",
        );
    if let Got::Val(p) = tuned {
        o = o.ev("/etc/tuned/active_profile", p, "");
    }
    vec![o]
}

// ---------------------------------------------------------------------------------------------
// bios.eist

const KNOWN_DRIVERS: &[&str] = &["intel_pstate", "intel_cpufreq", "acpi-cpufreq"];

/// EIST: the `est` CPUID flag (it reads 0 when firmware disables SpeedStep) and a registered
/// cpufreq driver.
fn bios_eist(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    let est = ctx.host.cpu.est;
    let pol = cpufreq::policies(ctx);
    let drivers: BTreeSet<String> = match &pol {
        Policies::List(l) => l
            .iter()
            .filter_map(|p| p.driver.val().map(|d| d.trim().to_string()))
            .collect(),
        _ => BTreeSet::new(),
    };
    let drv_obs = match &pol {
        Policies::List(_) if drivers.is_empty() => "scaling_driver unreadable".to_string(),
        Policies::List(_) => drivers.iter().cloned().collect::<Vec<_>>().join(", "),
        Policies::NoDriver => "no cpufreq driver".into(),
        Policies::Unreadable(why) => why.clone(),
    };
    let o = match (est, &pol) {
        (Some(false), _) => Outcome::fail(
            "host",
            "the est flag is missing: Enhanced Intel SpeedStep is disabled in firmware (Turbo and HWP options usually depend on it)",
        ),
        (None, _) => Outcome::unknown(
            "host",
            "the est flag is not known (neither CPUID nor /proc/cpuinfo was recorded)",
        ),
        (Some(true), Policies::List(_)) if drivers.iter().any(|d| KNOWN_DRIVERS.contains(&d.as_str())) => {
            Outcome::pass(
                "host",
                format!("EIST is enabled (est flag) and the {drv_obs} driver controls P-states"),
            )
        }
        (Some(true), Policies::List(_)) if drivers.is_empty() => Outcome::unknown(
            "host",
            "EIST is advertised but the cpufreq driver name could not be read",
        ),
        (Some(true), Policies::List(_)) => Outcome::pass(
            "host",
            format!("EIST is enabled (est flag) and cpufreq driver {drv_obs} is registered"),
        ),
        // A tree without /sys/devices/system/cpu says nothing about cpufreq.
        (Some(true), Policies::NoDriver) if ctx.dir_exists(CPU) != Some(true) => Outcome::unknown(
            "host",
            format!("EIST is advertised; {CPU} is not in this tree, so whether a cpufreq driver is registered is not known"),
        ),
        (Some(true), Policies::NoDriver) => Outcome::warn(
            "host",
            "EIST is advertised but no cpufreq driver is registered: P-states may be under firmware out-of-band control (see bios.hwp-native)",
        ),
        (Some(true), Policies::Unreadable(why)) => Outcome::unknown(
            "host",
            format!("EIST is advertised; the cpufreq driver could not be read ({why})"),
        ),
    };
    let misc = Field::read(ctx, mr::MISC_ENABLE, "bit 16 (EIST enable)", |v| {
        u8::from(mr::eist_enabled(v))
    });
    let off = misc.cpus_where(|b| b == 0);
    let says = if !off.is_empty() {
        Says::Bad(format!("IA32_MISC_ENABLE bit 16 is clear on {}: Enhanced Intel SpeedStep is disabled in firmware", cpus(&off)))
    } else if misc.all(|b| b == 1) == Some(true) {
        Says::Good("IA32_MISC_ENABLE bit 16 is set on every CPU: firmware enables EIST".into())
    } else {
        Says::Nothing
    };
    // EIST enabled in the register does not prove a driver runs: a Good never decides alone.
    let o = misc.row_if_read(ctx, combine(o, says, false), "1 on every CPU");
    vec![o
        .ev(
            "CPUID.1:ECX[7] est",
            match est {
                Some(true) => "present",
                Some(false) => "absent",
                None => "not recorded",
            },
            "present",
        )
        .ev(
            "/sys/devices/system/cpu/cpufreq/policy*/scaling_driver",
            drv_obs,
            "intel_pstate, intel_cpufreq or acpi-cpufreq",
        )]
}

// ---------------------------------------------------------------------------------------------
// bios.turbo

const NO_TURBO: &str = "/sys/devices/system/cpu/intel_pstate/no_turbo";
const BOOST: &str = "/sys/devices/system/cpu/cpufreq/boost";
const MAX_PERF_PCT: &str = "/sys/devices/system/cpu/intel_pstate/max_perf_pct";

/// A tmpfiles.d line that writes `value` to `sysfs_tail` at boot.
fn tmpfiles_writes(ctx: &Ctx, sysfs_tail: &str, value: &str) -> Option<String> {
    ctx.snap
        .files
        .range("/etc/tmpfiles.d/".to_string()..)
        .take_while(|(k, _)| k.starts_with("/etc/tmpfiles.d/"))
        .find(|(_, f)| {
            f.value().is_some_and(|t| {
                t.lines().any(|l| {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    w.first().is_some_and(|c| c.starts_with('w'))
                        && w.get(1).is_some_and(|p| p.ends_with(sysfs_tail))
                        && w.last() == Some(&value)
                })
            })
        })
        .map(|(k, _)| k.clone())
}

/// Turbo: `ida` (CPUID.6:EAX[1], 0 when firmware disables turbo), the OS switch
/// (intel_pstate no_turbo / cpufreq boost) and frequency caps.
/// Neither OS turbo switch exists on this host: both are recorded absent next to a present
/// CPU directory (a `--root` tree without `/sys/devices/system/cpu` proves nothing).
fn no_os_switch(ctx: &Ctx) -> bool {
    matches!(ctx.get(NO_TURBO), Got::Absent)
        && matches!(ctx.get(BOOST), Got::Absent)
        && ctx.dir_exists(CPU) == Some(true)
}

fn bios_turbo(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    let ida = ctx.host.cpu.turbo;
    let no_turbo = ctx.text(NO_TURBO);
    let boost = ctx.text(BOOST);
    let max_pct = ctx.text(MAX_PERF_PCT).and_then(|v| v.parse::<u32>().ok());
    let mut capped = Vec::new();
    if let Policies::List(list) = cpufreq::policies(ctx) {
        for p in &list {
            if let (Some(m), Some(c)) = (p.scaling_max, p.cpuinfo_max) {
                if m < c {
                    capped.push((format!("scaling_max_freq {m} < cpuinfo_max_freq {c}"), p.id));
                }
            }
        }
    }
    let cap_obs = cpufreq::grouped(capped.clone());
    let o = if ida == Some(false) {
        Outcome::fail(
            "host",
            "the ida flag is missing: Turbo Boost is disabled in firmware",
        )
    } else if no_turbo == Some("1") {
        let pending = tmpfiles_writes(ctx, "intel_pstate/no_turbo", "0");
        Outcome::fail(
            "host",
            format!(
                "intel_pstate/no_turbo=1: turbo is switched off{}{}",
                if ida == Some(true) {
                    " by the OS (the CPU offers it): echo 0 > /sys/devices/system/cpu/intel_pstate/no_turbo"
                } else {
                    " (if writing 0 fails with EPERM, firmware disabled it)"
                },
                pending
                    .as_ref()
                    .map(|p| format!("; {p} sets it back at the next boot"))
                    .unwrap_or_default()
            ),
        )
        .pending(pending.is_some())
    } else if boost == Some("0") {
        let pending = tmpfiles_writes(ctx, "cpufreq/boost", "1");
        Outcome::fail(
            "host",
            format!(
                "cpufreq/boost=0: the OS disabled turbo; echo 1 > /sys/devices/system/cpu/cpufreq/boost{}",
                pending
                    .as_ref()
                    .map(|p| format!("; {p} sets it back at the next boot"))
                    .unwrap_or_default()
            ),
        )
        .pending(pending.is_some())
    } else if !capped.is_empty() || max_pct.is_some_and(|p| p < 100) {
        Outcome::warn(
            "host",
            format!(
                "turbo is enabled but the frequency is capped: {}",
                [
                    (!capped.is_empty()).then_some(cap_obs.clone()),
                    max_pct
                        .filter(|p| *p < 100)
                        .map(|p| format!("intel_pstate max_perf_pct {p}")),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; ")
            ),
        )
    } else if no_turbo == Some("0") || boost == Some("1") {
        Outcome::pass(
            "host",
            "Turbo Boost is enabled in firmware and allowed by the OS, with no frequency cap",
        )
    } else if ida == Some(true) && no_os_switch(ctx) {
        Outcome::pass(
            "host",
            "Turbo Boost is enabled in firmware (ida) and the kernel has no turbo switch (neither intel_pstate/no_turbo nor cpufreq/boost exists), with no frequency cap",
        )
    } else if ida == Some(true) {
        Outcome::unknown(
            "host",
            format!(
                "the CPU offers turbo (ida), but whether the OS allows it could not be read ({NO_TURBO}: {}, {BOOST}: {})",
                ctx.get(NO_TURBO).why(),
                ctx.get(BOOST).why()
            ),
        )
    } else {
        Outcome::unknown(
            "host",
            "neither the ida flag nor an OS turbo switch could be read",
        )
    };
    let misc = Field::read(ctx, mr::MISC_ENABLE, "bit 38 (turbo disable)", |v| {
        u8::from(mr::turbo_disabled(v))
    });
    let off = misc.cpus_where(|b| b == 1);
    let says = if !off.is_empty() {
        Says::Bad(format!(
            "IA32_MISC_ENABLE bit 38 (turbo disable) is set on {}: firmware disabled Turbo Boost",
            cpus(&off)
        ))
    } else if misc.all(|b| b == 0) == Some(true) {
        Says::Good(
            "IA32_MISC_ENABLE bit 38 is clear on every CPU: firmware allows Turbo Boost".into(),
        )
    } else {
        Says::Nothing
    };
    // The register shows the firmware half only; the OS switch and caps still decide.
    let o = misc.row_if_read(ctx, combine(o, says, false), "0 on every CPU");
    let mut o = o
        .ev(
            "CPUID.6:EAX[1] ida",
            match ida {
                Some(true) => "present",
                Some(false) => "absent",
                None => "not recorded",
            },
            "present",
        )
        .ev(
            NO_TURBO,
            no_turbo.map_or_else(|| ctx.get(NO_TURBO).why(), str::to_string),
            "0",
        );
    if boost.is_some() {
        o = o.ev(BOOST, boost.unwrap_or_default(), "1");
    }
    if let Some(p) = max_pct {
        o = o.ev(MAX_PERF_PCT, p.to_string(), "100");
    }
    if !capped.is_empty() {
        o = o.ev(
            "/sys/devices/system/cpu/cpufreq/policy*/scaling_max_freq",
            cap_obs,
            "= cpuinfo_max_freq",
        );
    }
    vec![o]
}

// ---------------------------------------------------------------------------------------------
// bios.hwp-native

/// Intel family-6 models with HWP (Skylake and later, server and client): on these a missing
/// `hwp` flag means firmware hid it.
const HWP_MODELS: &[u32] = &[
    0x4E, 0x5E, 0x55, 0x66, 0x6A, 0x6C, 0x7D, 0x7E, 0x8C, 0x8D, 0x8E, 0x8F, 0x97, 0x9A, 0x9E, 0xA5,
    0xA6, 0xA7, 0xAA, 0xAC, 0xAD, 0xAE, 0xAF, 0xB7, 0xBA, 0xBD, 0xBF, 0xC5, 0xC6, 0xCF, 0xDD, 0x5C,
    0x7A, 0x86, 0x96, 0x9C,
];

fn hwp_native(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    let cpu = &ctx.host.cpu;
    let status = cpufreq::pstate_status(ctx);
    let status_got = ctx.get(cpufreq::PSTATE_STATUS);
    let pstate_param: Vec<&str> = ctx
        .host
        .cmdline
        .as_ref()
        .map(|c| {
            c.values("intel_pstate")
                .flat_map(|v| v.split(','))
                .collect()
        })
        .unwrap_or_default();
    let dyn_boost = ctx.get("/sys/devices/system/cpu/intel_pstate/hwp_dynamic_boost");
    let drivers: BTreeSet<String> = match cpufreq::policies(ctx) {
        Policies::List(l) => l
            .iter()
            .filter_map(|p| p.driver.val().map(|d| d.trim().to_string()))
            .collect(),
        _ => BTreeSet::new(),
    };
    let drv = if drivers.is_empty() {
        "no cpufreq driver".to_string()
    } else {
        drivers.iter().cloned().collect::<Vec<_>>().join(", ")
    };
    let hwp_capable_model =
        cpu.family == Some(6) && cpu.model.is_some_and(|m| HWP_MODELS.contains(&m));
    let o = match cpu.hwp {
        None => Outcome::unknown(
            "host",
            "the hwp flag is not known (neither CPUID nor /proc/cpuinfo was recorded)",
        ),
        Some(false) if hwp_capable_model => Outcome::fail(
            "host",
            format!(
                "the hwp flag is missing on a CPU that has HWP: Hardware P-States are disabled in firmware (intel_pstate {}, driver {drv})",
                status.unwrap_or("not loaded")
            ),
        ),
        Some(false) => Outcome::na("host", "the CPU has no Hardware P-States (HWP)"),
        Some(true) if pstate_param.contains(&"no_hwp") => Outcome::warn(
            "host",
            "HWP is available but the command line has intel_pstate=no_hwp: remove it",
        ),
        Some(true) if pstate_param.contains(&"disable") => Outcome::warn(
            "host",
            format!("HWP is available but the command line has intel_pstate=disable ({drv} runs legacy P-states): remove it"),
        ),
        Some(true) => match (status, &status_got) {
            (Some(s @ ("active" | "passive")), _) => Outcome::pass(
                "host",
                format!(
                    "HWP is native: intel_pstate {s}{}",
                    if s == "passive" { " (intel_cpufreq still drives HWP)" } else { "" }
                ),
            ),
            (Some("off"), _) => Outcome::warn(
                "host",
                "HWP is available but intel_pstate was switched off at runtime (status off)",
            ),
            (Some(other), _) => Outcome::unknown(
                "host",
                format!("unexpected intel_pstate status '{other}'"),
            ),
            // A tree without /sys/devices/system/cpu says nothing about intel_pstate.
            (None, Got::Absent) if ctx.dir_exists(CPU) != Some(true) => Outcome::unknown(
                "host",
                format!("{CPU} is not in this tree: whether intel_pstate runs is not known"),
            ),
            (None, Got::Absent) => {
                if ctx.host.kconfig.as_ref().and_then(|k| k.enabled("X86_INTEL_PSTATE")) == Some(false) {
                    Outcome::warn(
                        "host",
                        format!("HWP is available but the kernel is built without intel_pstate ({drv})"),
                    )
                } else {
                    Outcome::fail(
                        "host",
                        format!(
                            "HWP is advertised but intel_pstate is not running ({drv}): P-states are in firmware out-of-band mode (intel_pstate refuses to load then); set Hardware P-States = Native Mode"
                        ),
                    )
                }
            }
            (None, g) => Outcome::unknown(
                "host",
                format!("intel_pstate status could not be read ({})", g.why()),
            ),
        },
    };
    let o = hwp_msr(ctx, o);
    vec![o
        .ev(
            "CPUID.6:EAX[7] hwp / EAX[10] hwp_epp",
            format!(
                "hwp {}, hwp_epp {}",
                match cpu.hwp {
                    Some(true) => "present",
                    Some(false) => "absent",
                    None => "not recorded",
                },
                match cpu.hwp_epp {
                    Some(true) => "present",
                    Some(false) => "absent",
                    None => "not recorded",
                }
            ),
            "both present",
        )
        .ev(
            cpufreq::PSTATE_STATUS,
            status.map_or_else(|| status_got.why(), str::to_string),
            "active (or passive)",
        )
        .ev(
            "/sys/devices/system/cpu/intel_pstate/hwp_dynamic_boost",
            match dyn_boost {
                Got::Val(_) => "present (HWP active)".to_string(),
                g => g.why(),
            },
            "",
        )
        .ev(
            "/proc/cmdline intel_pstate=",
            if pstate_param.is_empty() {
                "not set".to_string()
            } else {
                pstate_param.join(",")
            },
            "no no_hwp / disable",
        )
        .ev(
            "/sys/devices/system/cpu/cpufreq/policy*/scaling_driver",
            drv,
            "",
        )]
}

/// IA32_PM_ENABLE bit 0 (HWP enabled, set by intel_pstate) and MSR_MISC_PWR_MGMT bit 8
/// (out-of-band mode) beside the OS view.
fn hwp_msr(ctx: &Ctx, o: Outcome) -> Outcome {
    let oob = Field::read(
        ctx,
        mr::MISC_PWR_MGMT,
        "bit 8 (HWP out-of-band mode)",
        |v| u8::from(mr::oob_mode(v)),
    );
    let pm = Field::read(ctx, mr::PM_ENABLE, "bit 0 (HWP enable)", |v| {
        u8::from(mr::hwp_enabled(v))
    });
    let oob_on = oob.cpus_where(|b| b == 1);
    let pm_off = pm.cpus_where(|b| b == 0);
    let says = if !oob_on.is_empty() {
        Says::Bad(format!("MSR_MISC_PWR_MGMT bit 8 is set on {}: P-states are in firmware out-of-band mode; set Hardware P-States = Native Mode", cpus(&oob_on)))
    } else if !pm_off.is_empty() {
        Says::Bad(format!(
            "IA32_PM_ENABLE bit 0 is clear on {}: HWP is not enabled",
            cpus(&pm_off)
        ))
    } else if pm.all(|b| b == 1) == Some(true) {
        Says::Good("IA32_PM_ENABLE bit 0 is set on every CPU and no CPU is in out-of-band mode: HWP runs natively".into())
    } else {
        Says::Nothing
    };
    let o = combine(o, says, true);
    let o = oob.row_if_read(ctx, o, "0 on every CPU");
    pm.row_if_read(ctx, o, "1 on every CPU")
}

// ---------------------------------------------------------------------------------------------
// bios.c1e, bios.c6

const CPUIDLE_DRIVER: &str = "/sys/devices/system/cpu/cpuidle/current_driver";
const CPUIDLE_DIR: &str = "/sys/devices/system/cpu/cpuidle";

#[derive(Clone, Copy, PartialEq, Eq)]
enum CState {
    C1e,
    C6,
}

/// One cpuidle state of one CPU, as sysfs names and describes it.
struct IdleState<'a> {
    idx: u32,
    /// `None` when the state's files are there but its name could not be read.
    name: Option<&'a str>,
    desc: Option<&'a str>,
}

/// cpuidle states per CPU: cpu → states in index order.
fn cpuidle_states<'a>(ctx: &Ctx<'a>) -> BTreeMap<u32, Vec<IdleState<'a>>> {
    let prefix = format!("{CPU}/cpu");
    let mut out: BTreeMap<u32, Vec<IdleState>> = BTreeMap::new();
    for (k, _) in ctx
        .snap
        .files
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
    {
        let rest = &k[prefix.len()..];
        let mut parts = rest.split('/');
        // Any file of a state makes it a state: one whose name went missing must not vanish.
        let (Some(cpu), Some("cpuidle"), Some(state), Some(_), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            continue;
        };
        let (Ok(cpu), Some(Ok(idx))) = (
            cpu.parse::<u32>(),
            state.strip_prefix("state").map(str::parse::<u32>),
        ) else {
            continue;
        };
        let states = out.entry(cpu).or_default();
        if states.iter().any(|s| s.idx == idx) {
            continue;
        }
        let base = format!("{CPU}/cpu{cpu}/cpuidle/state{idx}");
        states.push(IdleState {
            idx,
            name: ctx.text(&format!("{base}/name")),
            desc: ctx.text(&format!("{base}/desc")),
        });
    }
    for states in out.values_mut() {
        states.sort_by_key(|s| s.idx);
    }
    // Only CPUs with at least one named state count as having cpuidle states.
    out.retain(|_, v| v.iter().any(|s| s.name.is_some()));
    out
}

/// A state name without intel_idle's per-model suffix: 4.x kernels named the Skylake-SP table
/// `C1-SKX`, `C1E-SKX`, `C6-SKX` (and later tables `-ICX`, `-SPR` ...).
fn base_state_name(name: &str) -> &str {
    match name.split_once('-') {
        Some((base, sfx))
            if !sfx.is_empty()
                && sfx
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) =>
        {
            base
        }
        _ => name,
    }
}

/// The MWAIT hint a state's `desc` names: intel_idle writes `MWAIT 0x01`, acpi_idle
/// `ACPI FFH MWAIT 0x1` (FFH = the _CST entry is an MWAIT hint).
fn mwait_hint(desc: &str) -> Option<u32> {
    let at = desc.find("MWAIT 0x")? + "MWAIT 0x".len();
    let hex: String = desc[at..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    u32::from_str_radix(&hex, 16).ok()
}

/// Whether a cpuidle state is the C1E or the C6 of the guide, by meaning: its name family
/// (any model suffix), or the MWAIT hint in its description (0x01 = C1E, 0x2x = core C6),
/// or under acpi_idle the ACPI C2/C3 that firmware maps onto C6.
/// `None` when it cannot be told: the name is unreadable, or it is not one of the usual names
/// (`POLL`, `C<n>[letters]` with any model suffix) and there is no description to go by.
fn matches_state(which: CState, driver: Option<&str>, st: &IdleState) -> Option<bool> {
    let hint = st.desc.and_then(mwait_hint);
    let by_hint = match which {
        CState::C1e => hint == Some(0x01),
        CState::C6 => hint.is_some_and(|h| h >> 4 == 2),
    };
    if by_hint {
        return Some(true);
    }
    let name = st.name?;
    let base = base_state_name(name);
    let by_name = match which {
        CState::C1e => base == "C1E",
        CState::C6 => {
            base.starts_with("C6") || (driver == Some("acpi_idle") && matches!(name, "C2" | "C3"))
        }
    };
    let usual = base == "POLL"
        || base.strip_prefix('C').is_some_and(|r| {
            r.starts_with(|c: char| c.is_ascii_digit())
                && r.chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        });
    match (by_name, usual || st.desc.is_some()) {
        (true, _) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
    }
}

/// The global CPU latency QoS request, as read from the device (decimal µs after
/// collection). At or above this it is the kernel's "no constraint" default.
const CPU_DMA_LATENCY: &str = "/dev/cpu_dma_latency";
const QOS_NO_CONSTRAINT_US: i64 = 2_000_000_000;

/// The CPU latency limit the idle governor applies on one CPU (µs): the smaller of the
/// global request and the CPU's `power/pm_qos_resume_latency_us`. `Ok(None)` = no limit.
/// `per_cpu_recorded`: some CPU's file was recorded ([`any_resume_latency`]).
fn qos_limit(ctx: &Ctx, cpu: u32, per_cpu_recorded: bool) -> Result<Option<u64>, String> {
    let global = match ctx.get(CPU_DMA_LATENCY) {
        Got::Val(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= QOS_NO_CONSTRAINT_US => None,
            Ok(n) => Some(u64::try_from(n.max(0)).unwrap_or(0)),
            Err(_) => return Err(format!("{CPU_DMA_LATENCY}: unexpected {v:?}")),
        },
        other => return Err(format!("{CPU_DMA_LATENCY}: {}", other.why())),
    };
    let path = format!("{CPU}/cpu{cpu}/power/pm_qos_resume_latency_us");
    let per_cpu = match ctx.get(&path) {
        // Missing for this CPU while other CPUs have it: a copy that lost it.
        Got::Absent | Got::NotCollected if per_cpu_recorded => {
            return Err(format!("{path}: absent while other CPUs have it"))
        }
        // No CPU has one (a kernel before 4.16, or a copy without them): no per-CPU limit.
        Got::Absent | Got::NotCollected => None,
        Got::Val(v) => match crate::parse::sysfs::resume_latency_us(v) {
            Some(l) => l,
            None => return Err(format!("{path}: unexpected {v:?}")),
        },
        Got::Unreadable(e) => return Err(format!("{path}: {}", e.describe())),
    };
    Ok(match (global, per_cpu) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// Whether any CPU's `power/pm_qos_resume_latency_us` was recorded.
fn any_resume_latency(ctx: &Ctx) -> bool {
    let prefix = format!("{CPU}/cpu");
    ctx.snap
        .files
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .any(|(k, f)| k.ends_with("/power/pm_qos_resume_latency_us") && f.value().is_some())
}

/// One state on one CPU.
enum Seen {
    Absent,
    Disabled {
        by_default: bool,
    },
    Entered,
    NotEntered,
    /// Enabled, but its exit latency exceeds the CPU's latency QoS limit: the governor never
    /// selects it while the request stands (`usage` may still count entries from before).
    HeldOff {
        limit: u64,
        latency: u64,
    },
    /// Entered since boot; whether a QoS request holds it off now could not be read.
    LimitUnknown(String),
    Unreadable(String),
}

impl Seen {
    /// How bad, for combining several matching states of one CPU.
    fn rank(&self) -> u8 {
        match self {
            Seen::Absent => 0,
            Seen::Disabled { by_default: true } => 1,
            Seen::Disabled { by_default: false } => 2,
            Seen::HeldOff { .. } => 3,
            Seen::NotEntered => 4,
            Seen::LimitUnknown(_) | Seen::Unreadable(_) => 5,
            Seen::Entered => 6,
        }
    }
}

/// What one enabled state does on `cpu`, given its usage and exit latency.
fn enabled_state(ctx: &Ctx, cpu: u32, base: &str, per_cpu_recorded: bool) -> Seen {
    let usage = ctx
        .text(&format!("{base}/usage"))
        .and_then(|u| u.parse::<u64>().ok());
    let latency = ctx
        .text(&format!("{base}/latency"))
        .and_then(|u| u.parse::<u64>().ok());
    let by_usage = |usage: Option<u64>| match usage {
        Some(0) => Seen::NotEntered,
        Some(_) => Seen::Entered,
        None => Seen::Unreadable("usage".into()),
    };
    match (qos_limit(ctx, cpu, per_cpu_recorded), latency) {
        (Ok(Some(limit)), Some(latency)) if latency > limit => Seen::HeldOff { limit, latency },
        (Ok(Some(_)), None) => match usage {
            Some(0) => Seen::NotEntered,
            _ => Seen::Unreadable(format!(
                "latency: {}",
                ctx.get(&format!("{base}/latency")).why()
            )),
        },
        (Ok(_), _) => by_usage(usage),
        (Err(e), _) => match usage {
            Some(0) => Seen::NotEntered,
            Some(_) => Seen::LimitUnknown(e),
            None => Seen::Unreadable("usage".into()),
        },
    }
}

fn cstate_rule(ctx: &Ctx, which: CState) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    let driver_got = ctx.get(CPUIDLE_DRIVER);
    let driver = driver_got.val().map(str::trim);
    let label = match (which, driver) {
        (CState::C1e, _) => "C1E",
        (CState::C6, Some("acpi_idle")) => "C6 (ACPI C2/C3 under acpi_idle)",
        (CState::C6, _) => "C6",
    };
    let states = cpuidle_states(ctx);
    let idle_poll = ctx.host.cmdline.as_ref().and_then(|c| c.value("idle")) == Some("poll");
    let cpu_pm_vms = ctx.cpu_pm_vm_names();
    let drv_ev = |o: Outcome| {
        o.ev(
            CPUIDLE_DRIVER,
            driver.map_or_else(|| driver_got.why(), str::to_string),
            "",
        )
    };
    if states.is_empty() {
        // "No cpuidle" is a fact only where the CPU directory was seen without a cpuidle
        // directory: a --root tree or sosreport that lacks them says nothing about the host.
        let no_cpuidle = matches!(driver_got, Got::Absent)
            && ctx.dir_exists(CPU) == Some(true)
            && ctx.dir_exists(CPUIDLE_DIR) == Some(false);
        let o = match (driver, &driver_got) {
            _ if idle_poll => Outcome::pass(
                "host",
                format!("idle=poll: the CPUs poll instead of entering C-states, so {label} is never entered"),
            ),
            (Some("none"), _) => none_driver(which, "the cpuidle driver is none"),
            (None, Got::Absent) if no_cpuidle => {
                none_driver(which, "no cpuidle driver (no cpuidle directory)")
            }
            (None, Got::Absent) => Outcome::unknown(
                "host",
                format!(
                    "no cpuidle state or driver was recorded, and {} could not be seen, so this may be a copy without them rather than a kernel without cpuidle",
                    if ctx.dir_exists(CPU) == Some(true) { CPUIDLE_DIR } else { CPU }
                ),
            ),
            (Some(d), _) => Outcome::unknown(
                "host",
                format!("cpuidle driver {d} is registered but no idle state was recorded"),
            ),
            (None, g) => Outcome::unknown(
                "host",
                format!("the cpuidle states could not be read ({})", g.why()),
            ),
        };
        return vec![drv_ev(o)];
    }
    let per_cpu_recorded = any_resume_latency(ctx);
    let mut seen: BTreeMap<u32, Seen> = BTreeMap::new();
    let mut matched_names: BTreeSet<&str> = BTreeSet::new();
    for (cpu, st) in &states {
        // Every matching state counts (a part may have C6 and C6P); the worst one decides.
        let s = st
            .iter()
            .filter_map(|state| match matches_state(which, driver, state) {
                Some(true) => Some(Some(state)),
                Some(false) => None,
                None => Some(None),
            })
            .map(|state| {
                let Some(state) = state else {
                    return Seen::Unreadable(
                        "a state's name or description could not be read, so which state it is is unknown"
                            .into(),
                    );
                };
                matched_names.insert(state.name.unwrap_or("?"));
                let base = format!("{CPU}/cpu{cpu}/cpuidle/state{}", state.idx);
                let disable = ctx.text(&format!("{base}/disable"));
                let default = ctx.text(&format!("{base}/default_status"));
                match (disable, default) {
                    (Some("1"), d) => Seen::Disabled {
                        by_default: d == Some("disabled"),
                    },
                    (Some("0"), _) => enabled_state(ctx, *cpu, &base, per_cpu_recorded),
                    (None, Some("disabled")) => Seen::Disabled { by_default: true },
                    _ => Seen::Unreadable(format!(
                        "disable: {}",
                        ctx.get(&format!("{base}/disable")).why()
                    )),
                }
            })
            .max_by_key(Seen::rank)
            .unwrap_or(Seen::Absent);
        seen.insert(*cpu, s);
    }
    let set = |f: &dyn Fn(&Seen) -> bool| -> BTreeSet<u32> {
        seen.iter().filter(|(_, s)| f(s)).map(|(c, _)| *c).collect()
    };
    let entered = set(&|s| matches!(s, Seen::Entered));
    let not_entered = set(&|s| matches!(s, Seen::NotEntered));
    let held_off = set(&|s| matches!(s, Seen::HeldOff { .. }));
    let limit_unknown = set(&|s| matches!(s, Seen::LimitUnknown(_)));
    let unreadable = set(&|s| matches!(s, Seen::Unreadable(_)));
    let os_disabled = set(&|s| matches!(s, Seen::Disabled { by_default: false }));
    let fw_disabled = set(&|s| matches!(s, Seen::Disabled { by_default: true }));
    let absent = set(&|s| matches!(s, Seen::Absent));
    // The tightest limit and the exit latency it holds off, for the message.
    let held = seen
        .values()
        .filter_map(|s| match s {
            Seen::HeldOff { limit, latency } => Some((*limit, *latency)),
            _ => None,
        })
        .max();
    let summary = {
        let mut parts = Vec::new();
        let held_what = held
            .map(|(l, x)| {
                format!("enabled, held off by a PM QoS limit of {l} µs < exit latency {x} µs")
            })
            .unwrap_or_default();
        for (what, cpus) in [
            ("enabled, usage > 0", &entered),
            ("enabled, usage 0", &not_entered),
            (held_what.as_str(), &held_off),
            (
                "enabled, usage > 0, PM QoS limit unreadable",
                &limit_unknown,
            ),
            ("disabled (disable=1)", &os_disabled),
            ("disabled by default (firmware _CST / driver)", &fw_disabled),
            ("not offered", &absent),
            ("unreadable", &unreadable),
        ] {
            if !cpus.is_empty() {
                parts.push(format!("{what} on cpu {}", cpulist::format(cpus)));
            }
        }
        if !matched_names.is_empty() {
            parts.push(format!(
                "matched states {}",
                matched_names.iter().copied().collect::<Vec<_>>().join(", ")
            ));
        }
        parts.join("; ")
    };
    // Persistent settings that remove the state at the next boot.
    let pending_src = if idle_poll {
        None
    } else {
        let max = match which {
            CState::C1e => ["1"].as_slice(),
            CState::C6 => ["1", "2"].as_slice(),
        };
        let running = running_cmdline_value(ctx, "intel_idle.max_cstate");
        max.iter()
            .filter(|v| running != Some(**v))
            .find_map(|v| persistent_cmdline_has(ctx, "intel_idle.max_cstate", Some(v)))
            .or_else(|| persistent_cmdline_has(ctx, "idle", Some("poll")))
    };
    let one_sample = "one snapshot cannot show usage growing, so usage > 0 with the state enabled and allowed by the PM QoS limit is taken as entry";
    let n = states.len();
    let acpi_c1e_unknown = which == CState::C1e && driver == Some("acpi_idle") && absent.len() == n;
    let tuned = ctx
        .text("/etc/tuned/active_profile")
        .map(|p| format!(" (tuned profile {p})"))
        .unwrap_or_default();
    let mut o = if !entered.is_empty() {
        Outcome::fail(
            "host",
            format!(
                "{label} is enabled and has been entered on {} of {n} CPUs ({one_sample}){}",
                entered.len(),
                pending_src
                    .as_ref()
                    .map(|p| format!("; {p} removes it at the next boot"))
                    .unwrap_or_default()
            ),
        )
        .pending(pending_src.is_some())
    } else if !unreadable.is_empty() || !limit_unknown.is_empty() {
        match seen.values().find_map(|s| match s {
            Seen::Unreadable(w) => Some(w.as_str()),
            _ => None,
        }) {
            Some(why) => Outcome::unknown(
                "host",
                format!(
                    "the {label} state could not be read on cpu {} ({why})",
                    cpulist::format(&unreadable)
                ),
            ),
            None => {
                let why = seen
                    .values()
                    .find_map(|s| match s {
                        Seen::LimitUnknown(w) => Some(w.as_str()),
                        _ => None,
                    })
                    .unwrap_or("?");
                Outcome::unknown(
                    "host",
                    format!(
                        "{label} is enabled and was entered since boot on cpu {}, but the CPU latency PM QoS limit that may hold it off now could not be read ({why})",
                        cpulist::format(&limit_unknown)
                    ),
                )
            }
        }
    } else if acpi_c1e_unknown {
        Outcome::unknown(
            "host",
            format!("acpi_idle exposes no C1E state: C1E is then hardware auto-promotion of C1, which {C1E_MSR_ONLY} (root + msr module; not read)"),
        )
    } else if let (false, Some((limit, latency))) = (held_off.is_empty(), held) {
        let what = format!(
            "{label} is enabled, but the CPU latency PM QoS limit of {limit} µs{tuned} is below its exit latency of {latency} µs on {} of {n} CPUs, so the idle governor does not select it while that request stands",
            held_off.len()
        );
        match which {
            // Catalogue bios.c6 lists a PM QoS latency request among the OS fixes.
            CState::C6 => Outcome::pass(
                "host",
                format!("{what} (a PM QoS request is one of the catalogue's OS fixes for C6; it lasts as long as its owner keeps /dev/cpu_dma_latency open)"),
            ),
            CState::C1e => Outcome::warn(
                "host",
                format!("{what}; the state itself stays enabled, so C1E returns when the request goes away: disable the state (or C1E in firmware)"),
            ),
        }
    } else if !not_entered.is_empty() {
        Outcome::warn(
            "host",
            format!(
                "{label} is enabled on {} CPUs but was not entered since boot (a PM QoS latency request, e.g. tuned, may hold it off): disable the state so it cannot be entered",
                not_entered.len()
            ),
        )
    } else {
        let how = match (
            os_disabled.is_empty(),
            fw_disabled.is_empty(),
            absent.is_empty(),
        ) {
            (_, false, _) if os_disabled.is_empty() => {
                "disabled by default (missing from the firmware's _CST) or not offered"
            }
            (false, _, _) => "disabled in the OS (disable=1)",
            _ => "not offered by the idle driver",
        };
        Outcome::pass(
            "host",
            format!("no CPU can enter {label}: the state is {how} on all {n} CPUs"),
        )
    };
    if which == CState::C6 && !cpu_pm_vms.is_empty() {
        o.message.push_str(&format!(
            "; note: VMs with -overcommit cpu-pm=on ({}) execute MWAIT themselves and can still reach C6 unless firmware blocks it, and disabling C6 removes the turbo headroom cpu-pm=on relies on",
            cpu_pm_vms.join(", ")
        ));
    }
    if which == CState::C1e && driver == Some("intel_idle") {
        o = o.ev(
            "MSR 0x1FC bit 1 (C1E auto-promotion)",
            "not read (intel_idle turns promotion off itself on Ice Lake-SP)",
            "0",
        );
    }
    let qos = match ctx.get(CPU_DMA_LATENCY) {
        Got::Val(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= QOS_NO_CONSTRAINT_US => format!("{n} (no request)"),
            _ => format!("{} µs", v.trim()),
        },
        other => other.why(),
    };
    let mut o = drv_ev(o)
        .ev(
            format!("{CPU}/cpu*/cpuidle/state*/{{name,desc,disable,default_status,usage,latency}}"),
            format!("{label}: {summary}"),
            "absent or disabled on every CPU",
        )
        .ev(
            format!(
                "{CPU_DMA_LATENCY} (CPU latency QoS), {CPU}/cpu*/power/pm_qos_resume_latency_us"
            ),
            qos,
            "",
        );
    if let Some(p) = pending_src {
        o = o.ev(p, "intel_idle.max_cstate / idle=poll set persistently", "");
    }
    vec![o]
}

/// With no cpuidle driver the kernel idles with HLT (or polls).
fn none_driver(which: CState, why: &str) -> Outcome {
    match which {
        CState::C6 => Outcome::pass(
            "host",
            format!("{why}: the kernel idles with HLT, which never reaches core C6"),
        ),
        CState::C1e => Outcome::unknown(
            "host",
            format!("{why}: HLT may be promoted to C1E by hardware, which {C1E_MSR_ONLY} (root + msr module; not read)"),
        ),
    }
}

/// The words of a C1E finding that only MSR_POWER_CTL bit 1 can decide.
const C1E_MSR_ONLY: &str = "only MSR 0x1FC bit 1 shows";

fn bios_c1e(ctx: &Ctx) -> Vec<Outcome> {
    let f = Field::read(ctx, mr::POWER_CTL, "bit 1 (C1E auto-promotion)", |v| {
        u8::from(mr::c1e_promotion(v))
    });
    if f.values.is_err() {
        return cstate_rule(ctx, CState::C1e);
    }
    let on = f.cpus_where(|b| b == 1);
    let says = if !on.is_empty() {
        Says::Bad(format!("MSR_POWER_CTL bit 1 (C1E auto-promotion) is set on {}: the hardware promotes C1 to C1E whatever the idle states say", cpus(&on)))
    } else {
        Says::Good("MSR_POWER_CTL bit 1 (C1E auto-promotion) is clear on every CPU".into())
    };
    cstate_rule(ctx, CState::C1e)
        .into_iter()
        .map(|o| {
            // Bit 1 clear proves no promotion, which decides only where the OS shows no C1E
            // state (acpi_idle, no driver); intel_idle clears it itself on Ice Lake-SP.
            let decides = o.message.contains(C1E_MSR_ONLY);
            let says = match &says {
                Says::Good(_) if !decides => Says::Nothing,
                s => says_clone(s),
            };
            let mut o = combine(o, says, decides);
            o.evidence
                .retain(|e| !e.source.starts_with("MSR 0x1FC bit 1"));
            f.row_if_read(ctx, o, "0 on every CPU")
        })
        .collect()
}

fn says_clone(s: &Says) -> Says {
    match s {
        Says::Good(m) => Says::Good(m.clone()),
        Says::Bad(m) => Says::Bad(m.clone()),
        Says::Nothing => Says::Nothing,
    }
}

/// C6 from the OS view; MSR_PKG_CST_CONFIG_CONTROL adds the firmware package C-state limit,
/// which bounds what guests with cpu-pm=on can reach but not core C6 itself: it informs the
/// finding without changing its status.
fn bios_c6(ctx: &Ctx) -> Vec<Outcome> {
    let f = Field::read(
        ctx,
        mr::PKG_CST_CONFIG_CONTROL,
        "bits 3:0 package C-state limit, bit 15 lock",
        |v| (mr::pkg_cstate_limit(v), mr::pkg_cst_locked(v)),
    );
    let limit = match &f.values {
        Ok(v) => v.values().next().copied(),
        Err(_) => None,
    };
    cstate_rule(ctx, CState::C6)
        .into_iter()
        .map(|mut o| {
            let Some((lim, locked)) = limit else { return o };
            o.message.push_str(&format!(
                "; firmware package C-state limit {lim} ({}{}){}",
                mr::icx_pkg_limit_name(lim),
                if locked { ", locked" } else { "" },
                if mr::pkg_limit_blocks_pc6(lim) {
                    ": the package never reaches PC6, even for guests with cpu-pm=on"
                } else {
                    ""
                }
            ));
            let row = match &f.values {
                Ok(v) => mr::by_value(v.iter().map(|(c, (l, k))| {
                    (*c, format!("limit {l}{}", if *k { " locked" } else { "" }))
                })),
                Err(w) => w.clone(),
            };
            o.ev(f.source(ctx), row, "limit 0-1 (no package C6)")
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// hw.qat.pcie-link

/// `8.0 GT/s PCIe` → 8.0; `Unknown` → None.
fn link_speed(s: &str) -> Option<f64> {
    s.split_whitespace().next()?.parse().ok()
}

fn link_width(s: &str) -> Option<u32> {
    s.trim().trim_start_matches('x').parse().ok()
}

/// Each QAT PF trained to its own maximum link speed and width (not a literal Gen4 x16).
fn qat_pcie_link(ctx: &Ctx) -> Vec<Outcome> {
    match ctx.flags.qat_present {
        Some(false) => return vec![Outcome::na("host", "no QAT device on this host")],
        None => {
            return vec![Outcome::unknown(
                "host",
                "the PCI device list could not be read",
            )]
        }
        Some(true) => {}
    }
    qat::qat_pfs(ctx)
        .into_iter()
        .map(|pf| {
            let base = format!("{}/{pf}", qat::PCI);
            let get = |f: &str| ctx.get(&format!("{base}/{f}"));
            let (cs, ms, cw, mw) = (
                get("current_link_speed"),
                get("max_link_speed"),
                get("current_link_width"),
                get("max_link_width"),
            );
            let target = format!("host/dev:{pf}");
            let vals = (
                cs.val().and_then(link_speed),
                ms.val().and_then(link_speed),
                cs.val().and(cw.val()).and_then(link_width),
                mw.val().and_then(link_width),
            );
            let o = match vals {
                (Some(c), Some(m), Some(w), Some(mx)) => {
                    let mut down = Vec::new();
                    if c < m {
                        down.push(format!("speed {c} GT/s of {m} GT/s"));
                    }
                    if w < mx {
                        down.push(format!("width x{w} of x{mx}"));
                    }
                    if down.is_empty() {
                        Outcome::pass(
                            &target,
                            format!(
                                "the link runs at the device's maximum, {m} GT/s x{mx}{}",
                                if m <= 8.0 {
                                    " (a PCIe Gen3 device: the guide's Gen4 does not apply)"
                                } else {
                                    ""
                                }
                            ),
                        )
                    } else {
                        Outcome::warn(
                            &target,
                            format!(
                                "the link is down-trained: {} (check the slot's width/bifurcation and link-speed settings, or move the card to a CPU-attached x16 slot)",
                                down.join(", ")
                            ),
                        )
                    }
                }
                _ => Outcome::unknown(
                    &target,
                    "the link speed/width attributes could not be read",
                ),
            };
            o.ev(
                format!("{base}/current_link_speed, current_link_width"),
                format!("{} x{}", cs.why(), cw.why()),
                format!("{} x{}", ms.why(), mw.why()),
            )
            .ev(
                format!("{base}/max_link_speed, max_link_width"),
                format!("{} x{}", ms.why(), mw.why()),
                "",
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::report::Profile::Throughput;
    use crate::report::Severity;
    use crate::rules::testkit::{findings, status, SnapBuilder};

    #[test]
    fn vtx() {
        let ready = SnapBuilder::new()
            .icx("vmx")
            .dir("/dev", &["kvm"])
            .dir("/sys/module", &["kvm", "kvm_intel"])
            .build();
        assert_eq!(status(&ready, Throughput, "bios.vtx", "host"), "pass");
        let locked = SnapBuilder::new()
            .icx("")
            .dir("/dev", &[])
            .dir("/sys/module", &[])
            .build();
        assert_eq!(status(&locked, Throughput, "bios.vtx", "host"), "fail");
        let amd = SnapBuilder::new()
            .cpuinfo("AuthenticAMD", 23, 49, "svm")
            .build();
        assert_eq!(
            status(&amd, Throughput, "bios.vtx", "host"),
            "not_applicable"
        );
        let guest = SnapBuilder::new().icx("vmx hypervisor").build();
        assert_eq!(
            status(&guest, Throughput, "bios.vtx", "host"),
            "not_applicable"
        );
        let nothing = SnapBuilder::new().build();
        assert_eq!(status(&nothing, Throughput, "bios.vtx", "host"), "unknown");
    }

    const TABLES: &str = "/sys/firmware/acpi/tables";
    const CF: &str = "/sys/devices/system/cpu/cpufreq";

    fn st(s: &crate::snapshot::Snapshot, rule: &str) -> String {
        status(s, Throughput, rule, "host")
    }

    fn msg(s: &crate::snapshot::Snapshot, rule: &str) -> String {
        findings(s, Throughput, rule)
            .first()
            .map(|f| f.message.clone())
            .unwrap_or_default()
    }

    fn amd() -> SnapBuilder {
        SnapBuilder::new().cpuinfo("AuthenticAMD", 23, 49, "svm est")
    }

    #[test]
    fn vtd() {
        let on = SnapBuilder::new()
            .icx("vmx")
            .dir(TABLES, &["APIC", "DMAR", "SRAT"])
            .build();
        assert_eq!(st(&on, "bios.vtd"), "pass");
        let f = findings(&on, Throughput, "bios.vtd");
        assert_eq!(f[0].severity, Severity::Medium);
        let off = SnapBuilder::new()
            .icx("vmx")
            .dir(TABLES, &["APIC", "SRAT"])
            .build();
        assert_eq!(st(&off, "bios.vtd"), "fail");
        // With a VFIO VM the rule weighs high.
        let vfio = SnapBuilder::new()
            .icx("vmx")
            .dir(TABLES, &["APIC"])
            .vm(
                "qemu-system-x86_64 -name guest=a -accel kvm -device vfio-pci,host=0000:3b:00.0",
                &[],
            )
            .build();
        let f = findings(&vfio, Throughput, "bios.vtd");
        assert_eq!(
            (f[0].status.as_str(), f[0].severity),
            ("fail", Severity::High)
        );
        // Unreadable table list but registered units: corroborated.
        let units = SnapBuilder::new()
            .icx("vmx")
            .dir_denied(TABLES)
            .dir("/sys/class/iommu", &["dmar0"])
            .build();
        assert_eq!(st(&units, "bios.vtd"), "pass");
        let unknown = SnapBuilder::new().icx("vmx").dir_denied(TABLES).build();
        assert_eq!(st(&unknown, "bios.vtd"), "unknown");
        assert_eq!(
            st(&amd().dir(TABLES, &["IVRS"]).build(), "bios.vtd"),
            "not_applicable"
        );
    }

    /// An Intel host with DMAR, `units` dmar units and `groups` IOMMU groups.
    fn iommu_host(units: usize, groups: usize) -> SnapBuilder {
        let u: Vec<String> = (0..units).map(|i| format!("dmar{i}")).collect();
        let g: Vec<String> = (0..groups).map(|i| i.to_string()).collect();
        let ur: Vec<&str> = u.iter().map(String::as_str).collect();
        let gr: Vec<&str> = g.iter().map(String::as_str).collect();
        let mut b = SnapBuilder::new()
            .icx("vmx")
            .dir(TABLES, &["APIC", "DMAR"])
            .dir("/sys/class/iommu", &ur)
            .dir("/sys/kernel/iommu_groups", &gr);
        for i in 0..groups {
            b = b.file(&format!("/sys/kernel/iommu_groups/{i}/type"), "identity");
        }
        b
    }

    const IR_IRQS: &str = " 40:  1  0  IR-PCI-MSI 376832-edge  ahci[0000:00:17.0]";
    const PLAIN_IRQS: &str =
        " 40:  1  0  PCI-MSI 376832-edge  ahci[0000:00:17.0]\n 24: 0 0 DMAR-MSI 0-edge dmar0";

    #[test]
    fn iommu_active_with_interrupt_remapping() {
        let s = iommu_host(2, 4)
            .file("/proc/cmdline", "ro intel_iommu=on iommu=pt")
            .file("/proc/interrupts", IR_IRQS)
            .file("/sys/class/iommu/dmar0/intel-iommu/cap", "8d2008c40660462")
            .file("/sys/class/iommu/dmar1/intel-iommu/cap", "8d2008c40660462")
            .build();
        assert_eq!(st(&s, "host.iommu.enabled"), "pass");
        let f = findings(&s, Throughput, "host.iommu.enabled");
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.observed == "cap bit 59 (PI) set on 2 of 2 units"));
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.observed == "4 groups (identity ×4)"));
    }

    #[test]
    fn iommu_without_interrupt_remapping_warns() {
        let s = iommu_host(1, 2)
            .file("/proc/interrupts", PLAIN_IRQS)
            .build();
        assert_eq!(st(&s, "host.iommu.enabled"), "warn");
        // Without /proc/interrupts the ecap IR bit (3) decides.
        let s = iommu_host(1, 2)
            .file("/sys/class/iommu/dmar0/intel-iommu/ecap", "f050d2")
            .build();
        assert_eq!(st(&s, "host.iommu.enabled"), "warn");
        let s = iommu_host(1, 2)
            .file("/sys/class/iommu/dmar0/intel-iommu/ecap", "f050da")
            .build();
        assert_eq!(st(&s, "host.iommu.enabled"), "pass");
        let s = iommu_host(1, 2)
            .file("/sys/class/iommu/dmar0/intel-iommu/ecap", "f050da")
            .file("/proc/cmdline", "ro intremap=off")
            .build();
        assert_eq!(st(&s, "host.iommu.enabled"), "warn");
    }

    #[test]
    fn iommu_off_fails_and_notes_pending_reboot() {
        let s = iommu_host(0, 0)
            .file("/proc/cmdline", "ro quiet")
            .kconfig("# CONFIG_INTEL_IOMMU_DEFAULT_ON is not set\nCONFIG_INTEL_IOMMU=y\n")
            .file(
                "/etc/default/grub",
                "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"",
            )
            .build();
        let f = findings(&s, Throughput, "host.iommu.enabled");
        assert_eq!(f[0].status.as_str(), "fail");
        assert!(f[0].pending_reboot);
        assert_eq!(f[0].severity, Severity::Medium);
        assert!(f[0].message.contains("defaults to off"), "{}", f[0].message);
        assert!(
            f[0].message.contains("pending a reboot"),
            "{}",
            f[0].message
        );
        // No persistent fix: not pending; a VFIO VM escalates.
        let s = iommu_host(0, 0)
            .file("/proc/cmdline", "ro intel_iommu=off")
            .vm(
                "qemu-system-x86_64 -name guest=a -device vfio-pci,host=3b:00.0",
                &[],
            )
            .build();
        let f = findings(&s, Throughput, "host.iommu.enabled");
        assert_eq!(
            (f[0].status.as_str(), f[0].severity),
            ("fail", Severity::High)
        );
        assert!(!f[0].pending_reboot);
        assert!(f[0].message.contains("intel_iommu=off"), "{}", f[0].message);
    }

    /// Stock RHEL 9 / Ubuntu 22.04 kernels leave intel_iommu off; a host that passes nothing
    /// through is not failing (catalogue: FAIL only when VFIO is used or planned).
    #[test]
    fn iommu_off_without_passthrough_is_informational() {
        let nic_only = || {
            iommu_host(0, 0)
                .file("/proc/cmdline", "ro quiet")
                .kconfig("# CONFIG_INTEL_IOMMU_DEFAULT_ON is not set\nCONFIG_INTEL_IOMMU=y\n")
                .dir("/sys/bus/pci/devices", &["0000:31:00.0"])
                .file("/sys/bus/pci/devices/0000:31:00.0/vendor", "0x8086")
                .file("/sys/bus/pci/devices/0000:31:00.0/device", "0x159b")
        };
        let s = nic_only()
            .vm("qemu-system-x86_64 -name guest=a -accel kvm -m 4G", &[])
            .build();
        let f = &findings(&s, Throughput, "host.iommu.enabled")[0];
        assert_eq!(f.status.as_str(), "info", "{}", f.message);
        assert!(f.message.contains("defaults to off"), "{}", f.message);
        // A VFIO VM needs it.
        let s = nic_only()
            .vm(
                "qemu-system-x86_64 -name guest=a -device vfio-pci,host=31:00.0",
                &[],
            )
            .build();
        assert_eq!(st(&s, "host.iommu.enabled"), "fail");
        // So does a QAT device waiting for its VFs.
        let s = nic_only()
            .dir("/sys/bus/pci/devices", &["0000:31:00.0", "0000:65:00.0"])
            .file("/sys/bus/pci/devices/0000:65:00.0/vendor", "0x8086")
            .file("/sys/bus/pci/devices/0000:65:00.0/device", "0x37c8")
            .build();
        assert_eq!(st(&s, "host.iommu.enabled"), "fail");
        assert!(msg(&s, "host.iommu.enabled").contains("QAT"));
        // Without the device list, whether passthrough is planned is unknown.
        let s = nic_only().dir_denied("/sys/bus/pci/devices").build();
        assert_eq!(st(&s, "host.iommu.enabled"), "unknown");
    }

    #[test]
    fn iommu_applicability() {
        let none = SnapBuilder::new()
            .icx("vmx")
            .dir(TABLES, &["APIC"])
            .dir("/sys/class/iommu", &[])
            .build();
        assert_eq!(st(&none, "host.iommu.enabled"), "not_applicable");
        let unreadable = SnapBuilder::new().icx("vmx").dir_denied(TABLES).build();
        assert_eq!(st(&unreadable, "host.iommu.enabled"), "unknown");
        // Both listings unreadable: unknown; both simply absent (no IOMMU support): not
        // needed without passthrough (info), and unknown when the PCI devices are not known.
        let both_denied = SnapBuilder::new()
            .icx("vmx")
            .dir(TABLES, &["DMAR"])
            .dir_denied("/sys/class/iommu")
            .dir_denied("/sys/kernel/iommu_groups")
            .build();
        assert_eq!(st(&both_denied, "host.iommu.enabled"), "unknown");
        let both_absent = SnapBuilder::new().icx("vmx").dir(TABLES, &["DMAR"]).build();
        assert_eq!(st(&both_absent, "host.iommu.enabled"), "unknown");
        let both_absent = SnapBuilder::new()
            .icx("vmx")
            .dir(TABLES, &["DMAR"])
            .dir("/sys/bus/pci/devices", &[])
            .build();
        assert_eq!(st(&both_absent, "host.iommu.enabled"), "info");
        let groups_denied = iommu_host(1, 0)
            .dir_denied("/sys/kernel/iommu_groups")
            .build();
        assert_eq!(st(&groups_denied, "host.iommu.enabled"), "unknown");
        // AMD-Vi applies too.
        let amd_on = amd()
            .dir(TABLES, &["IVRS"])
            .dir("/sys/class/iommu", &["ivhd0", "ivhd1"])
            .dir("/sys/kernel/iommu_groups", &["0", "1"])
            .file("/proc/interrupts", IR_IRQS)
            .build();
        assert_eq!(st(&amd_on, "host.iommu.enabled"), "pass");
        let amd_off = amd()
            .dir(TABLES, &["IVRS"])
            .dir("/sys/class/iommu", &[])
            .dir("/sys/kernel/iommu_groups", &[])
            .file("/proc/cmdline", "amd_iommu=off")
            .dir("/sys/bus/pci/devices", &["0000:41:00.0", "0000:41:00.1"])
            .link(
                "/sys/bus/pci/devices/0000:41:00.1/physfn",
                "../0000:41:00.0",
            )
            .build();
        assert_eq!(st(&amd_off, "host.iommu.enabled"), "fail");
        assert!(msg(&amd_off, "host.iommu.enabled").contains("SR-IOV"));
        assert!(msg(&amd_off, "host.iommu.enabled").contains("amd_iommu=off"));
    }

    fn smt(active: &str, control: &str) -> SnapBuilder {
        SnapBuilder::new()
            .icx("vmx")
            .file("/sys/devices/system/cpu/smt/active", active)
            .file("/sys/devices/system/cpu/smt/control", control)
    }

    #[test]
    fn ht() {
        assert_eq!(st(&smt("1", "on").build(), "bios.ht"), "pass");
        let fw = smt("0", "notsupported").build();
        assert_eq!(st(&fw, "bios.ht"), "fail");
        assert!(msg(&fw, "bios.ht").contains("firmware"));
        let os = smt("0", "off")
            .file("/proc/cmdline", "ro nosmt")
            .file(
                "/sys/devices/system/cpu/vulnerabilities/mmio_stale_data",
                "Mitigation: Clear CPU buffers; SMT disabled",
            )
            .build();
        let f = findings(&os, Throughput, "bios.ht");
        assert_eq!(f[0].status.as_str(), "fail");
        assert!(!f[0].pending_reboot);
        assert!(f[0].message.contains("nosmt"), "{}", f[0].message);
        assert!(f[0].message.contains("waiver"), "{}", f[0].message);
        // nosmt already removed from GRUB: pending.
        let pending = smt("0", "off")
            .file("/proc/cmdline", "ro nosmt")
            .file("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"ro\"")
            .build();
        assert!(findings(&pending, Throughput, "bios.ht")[0].pending_reboot);
        // Without the smt directory, thread siblings decide.
        let sib = SnapBuilder::new().icx("vmx").topology(1, 2, 2).build();
        assert_eq!(st(&sib, "bios.ht"), "pass");
        let single = SnapBuilder::new().icx("vmx").topology(1, 2, 1).build();
        assert_eq!(st(&single, "bios.ht"), "fail");
        assert_eq!(
            st(&SnapBuilder::new().icx("vmx").build(), "bios.ht"),
            "unknown"
        );
        assert_eq!(st(&amd().build(), "bios.ht"), "not_applicable");
    }

    #[test]
    fn numa() {
        let two = SnapBuilder::new()
            .icx("vmx")
            .topology(2, 4, 1)
            .dir(TABLES, &["SRAT", "SLIT"])
            .build();
        assert_eq!(st(&two, "bios.numa"), "pass");
        // Two sockets, one node: interleaved.
        let mut b = SnapBuilder::new()
            .icx("vmx")
            .topology(2, 2, 1)
            .dir(TABLES, &["APIC"]);
        b = b
            .dir("/sys/devices/system/node", &["node0"])
            .file("/sys/devices/system/node/node0/cpulist", "0-3");
        let inter = b.build();
        assert_eq!(st(&inter, "bios.numa"), "fail");
        assert!(msg(&inter, "bios.numa").contains("no SRAT"));
        let off = SnapBuilder::new()
            .icx("vmx")
            .topology(2, 2, 1)
            .file("/proc/cmdline", "ro numa=off")
            .build();
        assert_eq!(st(&off, "bios.numa"), "warn");
        // SNC-2 on two sockets: pass, noted.
        let snc = SnapBuilder::new()
            .icx("vmx")
            .topology(2, 4, 1)
            .dir(
                "/sys/devices/system/node",
                &["node0", "node1", "node2", "node3"],
            )
            .file("/sys/devices/system/node/node0/cpulist", "0-1")
            .file("/sys/devices/system/node/node1/cpulist", "2-3")
            .file("/sys/devices/system/node/node2/cpulist", "4-5")
            .file("/sys/devices/system/node/node3/cpulist", "6-7")
            .build();
        assert_eq!(st(&snc, "bios.numa"), "pass");
        assert!(msg(&snc, "bios.numa").contains("SNC-2"));
        let one = SnapBuilder::new().icx("vmx").topology(1, 4, 1).build();
        assert_eq!(st(&one, "bios.numa"), "not_applicable");
        assert_eq!(
            st(&SnapBuilder::new().icx("vmx").build(), "bios.numa"),
            "unknown"
        );
    }

    /// `n` cpufreq policies with driver/governor/EPP, plus EPB per CPU.
    fn pstates(
        driver: &str,
        gov: &str,
        epp: Option<&str>,
        epb: Option<&str>,
        n: u32,
    ) -> SnapBuilder {
        let names: Vec<String> = (0..n).map(|i| format!("policy{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut b = SnapBuilder::new().icx("vmx").dir(CF, &refs);
        for i in 0..n {
            b = b
                .file(&format!("{CF}/policy{i}/scaling_driver"), driver)
                .file(&format!("{CF}/policy{i}/scaling_governor"), gov)
                .file(&format!("{CF}/policy{i}/scaling_max_freq"), "3200000")
                .file(&format!("{CF}/policy{i}/cpuinfo_max_freq"), "3200000");
            if let Some(e) = epp {
                b = b.file(&format!("{CF}/policy{i}/energy_performance_preference"), e);
            }
            if let Some(e) = epb {
                b = b.file(
                    &format!("/sys/devices/system/cpu/cpu{i}/power/energy_perf_bias"),
                    e,
                );
            }
        }
        b
    }

    #[test]
    fn power_policy() {
        let tuned = pstates(
            "intel_pstate",
            "performance",
            Some("performance"),
            Some("0"),
            2,
        )
        .build();
        assert_eq!(st(&tuned, "bios.power-policy"), "pass");
        // EPB 6 proves nothing about firmware; the effective part decides.
        let six = pstates(
            "intel_pstate",
            "performance",
            Some("performance"),
            Some("6"),
            2,
        )
        .build();
        assert_eq!(st(&six, "bios.power-policy"), "pass");
        assert!(msg(&six, "bios.power-policy").contains("Linux writes over a firmware 0"));
        let six_bad = pstates("intel_cpufreq", "schedutil", None, Some("6"), 2).build();
        assert_eq!(st(&six_bad, "bios.power-policy"), "warn");
        // EPB 15 with no tuned profile: the firmware policy is power saving.
        let power = pstates(
            "intel_pstate",
            "powersave",
            Some("balance_power"),
            Some("15"),
            2,
        )
        .absent("/etc/tuned/active_profile")
        .build();
        assert_eq!(st(&power, "bios.power-policy"), "fail");
        let power_tuned = pstates(
            "intel_pstate",
            "powersave",
            Some("balance_power"),
            Some("15"),
            2,
        )
        .file("/etc/tuned/active_profile", "powersave")
        .build();
        assert_eq!(st(&power_tuned, "bios.power-policy"), "warn");
        // EPB 15 overridden by EPP performance: warn, not fail.
        let overridden = pstates(
            "intel_pstate",
            "performance",
            Some("performance"),
            Some("15"),
            2,
        )
        .absent("/etc/tuned/active_profile")
        .build();
        assert_eq!(st(&overridden, "bios.power-policy"), "warn");
        let nothing = SnapBuilder::new().icx("vmx").dir(CF, &[]).build();
        assert_eq!(st(&nothing, "bios.power-policy"), "unknown");
        let no_epb = SnapBuilder::new()
            .cpuinfo("GenuineIntel", 6, 106, "vmx est")
            .build();
        assert_eq!(st(&no_epb, "bios.power-policy"), "not_applicable");
    }

    #[test]
    fn eist() {
        let ok = pstates("intel_pstate", "performance", None, None, 2).build();
        assert_eq!(st(&ok, "bios.eist"), "pass");
        let off = SnapBuilder::new()
            .cpuinfo("GenuineIntel", 6, 106, "vmx ida")
            .dir(CF, &[])
            .build();
        assert_eq!(st(&off, "bios.eist"), "fail");
        let nodrv = SnapBuilder::new()
            .icx("vmx")
            .dir(super::CPU, &["cpu0", "cpufreq"])
            .dir(CF, &[])
            .build();
        assert_eq!(st(&nodrv, "bios.eist"), "warn");
        // A tree without the CPU directory: no driver seen is not no driver registered.
        let tree = SnapBuilder::new().icx("vmx").dir(CF, &[]).build();
        assert_eq!(st(&tree, "bios.eist"), "unknown");
        assert_eq!(st(&SnapBuilder::new().build(), "bios.eist"), "unknown");
    }

    #[test]
    fn turbo() {
        let ok = pstates("intel_pstate", "performance", None, None, 2)
            .file("/sys/devices/system/cpu/intel_pstate/no_turbo", "0")
            .build();
        assert_eq!(st(&ok, "bios.turbo"), "pass");
        let fw = SnapBuilder::new()
            .cpuinfo("GenuineIntel", 6, 106, "vmx est hwp")
            .file("/sys/devices/system/cpu/intel_pstate/no_turbo", "1")
            .build();
        assert_eq!(st(&fw, "bios.turbo"), "fail");
        assert!(msg(&fw, "bios.turbo").contains("firmware"));
        let os = pstates("intel_pstate", "performance", None, None, 2)
            .file("/sys/devices/system/cpu/intel_pstate/no_turbo", "1")
            .file(
                "/etc/tmpfiles.d/turbo.conf",
                "w /sys/devices/system/cpu/intel_pstate/no_turbo - - - - 0",
            )
            .build();
        let f = findings(&os, Throughput, "bios.turbo");
        assert_eq!(f[0].status.as_str(), "fail");
        assert!(f[0].pending_reboot);
        let boost = pstates("acpi-cpufreq", "performance", None, None, 1)
            .file("/sys/devices/system/cpu/cpufreq/boost", "0")
            .build();
        assert_eq!(st(&boost, "bios.turbo"), "fail");
        let capped = pstates("intel_pstate", "performance", None, None, 2)
            .file(&format!("{CF}/policy1/scaling_max_freq"), "2000000")
            .build();
        assert_eq!(st(&capped, "bios.turbo"), "warn");
        assert!(msg(&capped, "bios.turbo").contains("(policy 1)"));
        assert_eq!(st(&SnapBuilder::new().build(), "bios.turbo"), "unknown");
    }

    /// Issue 12 item 5: a --root tree or sosreport that lacks a directory says nothing about
    /// the host; only a present parent without the entry does.
    #[test]
    fn absent_from_the_tree_is_not_absent_on_the_host() {
        // /dev and /sys/module not in the tree: not "load kvm_intel".
        let tree = SnapBuilder::new()
            .icx("vmx")
            .absent_dir("/dev")
            .absent_dir("/sys/module")
            .build();
        assert_eq!(st(&tree, "bios.vtx"), "unknown");
        let live = SnapBuilder::new()
            .icx("vmx")
            .dir("/dev", &["null"])
            .dir("/sys/module", &["kvm"])
            .build();
        assert_eq!(st(&live, "bios.vtx"), "warn");
        // Turbo: ida alone with no switch recorded is not a pass ...
        let tree = SnapBuilder::new()
            .icx("vmx")
            .absent("/sys/devices/system/cpu/intel_pstate/no_turbo")
            .absent("/sys/devices/system/cpu/cpufreq/boost")
            .build();
        assert_eq!(st(&tree, "bios.turbo"), "unknown");
        // ... unless the CPU directory is there and holds neither switch.
        let no_switch = SnapBuilder::new()
            .icx("vmx")
            .dir("/sys/devices/system/cpu", &["cpu0", "online"])
            .absent("/sys/devices/system/cpu/intel_pstate/no_turbo")
            .absent("/sys/devices/system/cpu/cpufreq/boost")
            .build();
        assert_eq!(st(&no_switch, "bios.turbo"), "pass");
        // EPB files missing on a 6.1 kernel: not "Linux < 5.2".
        let s = pstates("intel_pstate", "performance", Some("performance"), None, 1)
            .file("/proc/sys/kernel/osrelease", "6.1.0-50-amd64")
            .build();
        let f = &findings(&s, Throughput, "bios.power-policy")[0];
        assert!(!f.message.contains("5.2"), "{}", f.message);
        assert!(f.message.contains("6.1.0-50-amd64"), "{}", f.message);
        // No ACPI table list and no PCI device list: PMem and QAT are unknown, not absent.
        let tree = SnapBuilder::new()
            .icx("vmx")
            .absent_dir(TABLES)
            .absent_dir("/sys/bus/pci/devices")
            .build();
        for rule in [
            "host.pmem.kconfig",
            "host.pmem.appdirect",
            "host.pmem.devdax",
        ] {
            assert_eq!(st(&tree, rule), "unknown", "{rule}");
        }
        assert_eq!(st(&tree, "hw.qat.pcie-link"), "unknown");
        let listed = SnapBuilder::new()
            .icx("vmx")
            .dir(TABLES, &["APIC", "DMAR"])
            .dir("/sys/bus/pci/devices", &[])
            .build();
        assert_eq!(st(&listed, "host.pmem.kconfig"), "not_applicable");
        assert_eq!(st(&listed, "hw.qat.pcie-link"), "not_applicable");
    }

    #[test]
    fn eet_is_msr_only() {
        use crate::model::msr::POWER_CTL;
        let s = SnapBuilder::new().icx("vmx").build();
        assert_eq!(st(&s, "bios.eet"), "unknown");
        assert!(msg(&s, "bios.eet").starts_with("only MSR 0x1FC bit 19 shows"));
        assert_eq!(st(&amd().build(), "bios.eet"), "not_applicable");
        // A tuned host: bit 19 set on every CPU.
        let tuned = SnapBuilder::new()
            .icx("vmx")
            .msrs(4, &[(POWER_CTL, 0x1a00ac0059)])
            .build();
        assert_eq!(st(&tuned, "bios.eet"), "pass");
        // intel/pepc's icx2s0 value: bit 19 clear.
        let untuned = SnapBuilder::new()
            .icx("vmx")
            .msrs(2, &[(POWER_CTL, 0x1a00a40059)])
            .build();
        assert_eq!(st(&untuned, "bios.eet"), "fail");
        assert!(
            msg(&untuned, "bios.eet").contains("cpu0-1"),
            "{}",
            msg(&untuned, "bios.eet")
        );
    }

    #[test]
    fn hwp() {
        let active = pstates("intel_pstate", "performance", Some("performance"), None, 1)
            .file("/sys/devices/system/cpu/intel_pstate/status", "active")
            .file(
                "/sys/devices/system/cpu/intel_pstate/hwp_dynamic_boost",
                "0",
            )
            .build();
        assert_eq!(st(&active, "bios.hwp-native"), "pass");
        let passive = pstates("intel_cpufreq", "performance", None, None, 1)
            .file("/sys/devices/system/cpu/intel_pstate/status", "passive")
            .build();
        assert_eq!(st(&passive, "bios.hwp-native"), "pass");
        // ICX without the hwp flag: firmware hid it.
        let hidden = SnapBuilder::new()
            .cpuinfo("GenuineIntel", 6, 106, "vmx est ida")
            .file("/sys/devices/system/cpu/intel_pstate/status", "passive")
            .build();
        assert_eq!(st(&hidden, "bios.hwp-native"), "fail");
        // hwp present but intel_pstate absent: out-of-band mode.
        let oob = pstates("acpi-cpufreq", "performance", None, None, 1)
            .dir(super::CPU, &["cpu0", "cpufreq"])
            .absent("/sys/devices/system/cpu/intel_pstate/status")
            .build();
        assert_eq!(st(&oob, "bios.hwp-native"), "fail");
        assert!(msg(&oob, "bios.hwp-native").contains("out-of-band"));
        // The same absence in a tree that lacks the CPU directory proves nothing.
        let tree = pstates("acpi-cpufreq", "performance", None, None, 1)
            .absent("/sys/devices/system/cpu/intel_pstate/status")
            .build();
        assert_eq!(st(&tree, "bios.hwp-native"), "unknown");
        let no_hwp = pstates("intel_pstate", "performance", None, None, 1)
            .file("/sys/devices/system/cpu/intel_pstate/status", "active")
            .file("/proc/cmdline", "ro intel_pstate=no_hwp")
            .build();
        assert_eq!(st(&no_hwp, "bios.hwp-native"), "warn");
        // An old part without HWP.
        let old = SnapBuilder::new()
            .cpuinfo("GenuineIntel", 6, 0x3F, "vmx est ida")
            .build();
        assert_eq!(st(&old, "bios.hwp-native"), "not_applicable");
        let unread = SnapBuilder::new()
            .icx("vmx")
            .denied("/sys/devices/system/cpu/intel_pstate/status")
            .build();
        assert_eq!(st(&unread, "bios.hwp-native"), "unknown");
    }

    /// ICX cpuidle states on `n` CPUs: POLL, C1, C1E, C6 with (disable, default_status, usage)
    /// for C1E and C6; no PM QoS request (/dev/cpu_dma_latency at the kernel's default).
    fn idle(n: u32, c1e: (&str, &str, &str), c6: (&str, &str, &str)) -> SnapBuilder {
        idle_named(n, ["POLL", "C1", "C1E", "C6"], c1e, c6)
    }

    /// [`idle`] with other state names (older intel_idle tables: `C1E-SKX`, ...).
    fn idle_named(
        n: u32,
        names: [&str; 4],
        c1e: (&str, &str, &str),
        c6: (&str, &str, &str),
    ) -> SnapBuilder {
        let mut b = SnapBuilder::new()
            .icx("vmx")
            .file(
                "/sys/devices/system/cpu/cpuidle/current_driver",
                "intel_idle",
            )
            .file("/dev/cpu_dma_latency", "2000000000");
        for cpu in 0..n {
            for (i, (name, desc, latency, (dis, def, usage))) in [
                (
                    names[0],
                    "CPUIDLE CORE POLL IDLE",
                    "0",
                    ("0", "enabled", "10"),
                ),
                (names[1], "MWAIT 0x00", "1", ("0", "enabled", "100")),
                (names[2], "MWAIT 0x01", "4", c1e),
                (names[3], "MWAIT 0x20", "170", c6),
            ]
            .into_iter()
            .enumerate()
            {
                let base = format!("/sys/devices/system/cpu/cpu{cpu}/cpuidle/state{i}");
                b = b
                    .file(&format!("{base}/name"), name)
                    .file(&format!("{base}/desc"), desc)
                    .file(&format!("{base}/latency"), latency)
                    .file(&format!("{base}/disable"), dis)
                    .file(&format!("{base}/default_status"), def)
                    .file(&format!("{base}/usage"), usage);
            }
            b = b.file(
                &format!("/sys/devices/system/cpu/cpu{cpu}/power/pm_qos_resume_latency_us"),
                "0",
            );
        }
        b
    }

    /// tuned's latency profiles (latency-performance, network-latency, realtime-virtual-host,
    /// cpu-partitioning: `force_latency=cstate.id_no_zero:1|3`) hold /dev/cpu_dma_latency at
    /// C1's exit latency from boot on; C1E and C6 were entered before tuned started.
    #[test]
    fn c_states_held_off_by_pm_qos() {
        let s = idle(4, ("0", "enabled", "1843"), ("0", "enabled", "977"))
            .file("/dev/cpu_dma_latency", "1")
            .file("/etc/tuned/active_profile", "realtime-virtual-host")
            .build();
        let f = &findings(&s, Throughput, "bios.c1e")[0];
        assert_eq!(f.status.as_str(), "warn", "{}", f.message);
        assert!(f.message.contains("limit of 1 µs"), "{}", f.message);
        assert!(f.message.contains("realtime-virtual-host"), "{}", f.message);
        let f = &findings(&s, Throughput, "bios.c6")[0];
        assert_eq!(f.status.as_str(), "pass", "{}", f.message);
        assert!(
            f.message.contains("exit latency of 170 µs"),
            "{}",
            f.message
        );
        // tuned virtual-host: force_latency=cstate.id_no_zero:3 = C6's own 170 µs, which
        // holds off nothing: C1E and C6 stay selectable and were entered.
        let s = idle(4, ("0", "enabled", "1843"), ("0", "enabled", "977"))
            .file("/dev/cpu_dma_latency", "170")
            .build();
        assert_eq!(st(&s, "bios.c1e"), "fail");
        assert_eq!(st(&s, "bios.c6"), "fail");
        // A per-CPU resume latency of "n/a" (0 µs) on one CPU holds that CPU only.
        let s = idle(2, ("1", "enabled", "0"), ("0", "enabled", "977"))
            .file(
                "/sys/devices/system/cpu/cpu1/power/pm_qos_resume_latency_us",
                "n/a",
            )
            .build();
        let f = &findings(&s, Throughput, "bios.c6")[0];
        assert_eq!(f.status.as_str(), "fail", "{}", f.message);
        assert!(f.message.contains("1 of 2"), "{}", f.message);
        // The same CPU's file lost from the copy: its limit is unknown, the verdict too.
        let s = idle(2, ("1", "enabled", "0"), ("0", "enabled", "977"))
            .file("/dev/cpu_dma_latency", "1")
            .absent("/sys/devices/system/cpu/cpu1/power/pm_qos_resume_latency_us")
            .build();
        assert_eq!(st(&s, "bios.c6"), "unknown");
        // The limit unreadable (an unprivileged scan: the device is root-only): a state
        // entered since boot may be held off now, so unknown, never fail.
        let s = idle(2, ("0", "enabled", "1843"), ("1", "enabled", "0"))
            .denied("/dev/cpu_dma_latency")
            .build();
        let f = &findings(&s, Throughput, "bios.c1e")[0];
        assert_eq!(f.status.as_str(), "unknown", "{}", f.message);
        assert!(f.message.contains("permission denied"), "{}", f.message);
        // A copy without the device (an older sosreport) cannot tell either.
        let s = idle(2, ("0", "enabled", "1843"), ("1", "enabled", "0"))
            .absent("/dev/cpu_dma_latency")
            .build();
        assert_eq!(st(&s, "bios.c1e"), "unknown");
    }

    /// 4.x kernels name the Skylake/Cascade Lake table C1-SKX, C1E-SKX, C6-SKX; ACPI and
    /// other tables are recognised by the MWAIT hint in `desc`.
    #[test]
    fn c_states_matched_by_meaning() {
        let s = idle_named(
            2,
            ["POLL", "C1-SKX", "C1E-SKX", "C6-SKX"],
            ("0", "enabled", "1843"),
            ("0", "enabled", "977"),
        )
        .build();
        let f = &findings(&s, Throughput, "bios.c1e")[0];
        assert_eq!(f.status.as_str(), "fail", "{}", f.message);
        assert!(f
            .evidence
            .iter()
            .any(|e| e.observed.contains("matched states C1E-SKX")));
        assert_eq!(st(&s, "bios.c6"), "fail");
        // An unfamiliar name with the C1E MWAIT hint is still C1E; C1 (hint 0x00) is not.
        let s = idle_named(
            1,
            ["POLL", "C1-XYZ", "C1_ACPI", "C6-SPR"],
            ("0", "enabled", "5"),
            ("1", "enabled", "0"),
        )
        .build();
        assert_eq!(st(&s, "bios.c1e"), "fail");
        assert_eq!(st(&s, "bios.c6"), "pass");
        // Which state is C1E cannot be told: a state's name is missing, or an unusual name
        // comes without its description. Never "not offered".
        let s = idle(2, ("1", "enabled", "0"), ("1", "enabled", "0"))
            .absent("/sys/devices/system/cpu/cpu1/cpuidle/state2/name")
            .build();
        assert_eq!(
            st(&s, "bios.c1e"),
            "pass",
            "the description still says MWAIT 0x01"
        );
        let s = idle(2, ("1", "enabled", "0"), ("1", "enabled", "0"))
            .absent("/sys/devices/system/cpu/cpu1/cpuidle/state2/name")
            .absent("/sys/devices/system/cpu/cpu1/cpuidle/state2/desc")
            .build();
        assert_eq!(st(&s, "bios.c1e"), "unknown");
        let s = idle_named(
            1,
            ["POLL", "C1", "C1_ACPI", "C6"],
            ("0", "enabled", "5"),
            ("1", "enabled", "0"),
        )
        .absent("/sys/devices/system/cpu/cpu0/cpuidle/state2/desc")
        .build();
        assert_eq!(st(&s, "bios.c1e"), "unknown");
        assert_eq!(super::base_state_name("C1E-ICX"), "C1E");
        assert_eq!(super::base_state_name("C6"), "C6");
        assert_eq!(super::mwait_hint("ACPI FFH MWAIT 0x1"), Some(1));
        assert_eq!(super::mwait_hint("ACPI IOPORT 0x814"), None);
    }

    /// A tree without /sys/devices/system/cpu (a trimmed sosreport) is not a kernel without
    /// cpuidle; a live host whose cpu directory has no cpuidle directory is.
    #[test]
    fn c_states_without_cpuidle_need_the_parent() {
        let tree = SnapBuilder::new()
            .icx("vmx")
            .absent("/sys/devices/system/cpu/cpuidle/current_driver")
            .build();
        assert_eq!(st(&tree, "bios.c6"), "unknown");
        let no_cpuidle = SnapBuilder::new()
            .icx("vmx")
            .absent("/sys/devices/system/cpu/cpuidle/current_driver")
            .dir("/sys/devices/system/cpu", &["cpu0", "online"])
            .absent_dir("/sys/devices/system/cpu/cpuidle")
            .build();
        assert_eq!(st(&no_cpuidle, "bios.c6"), "pass");
    }

    #[test]
    fn c_states_disabled_pass() {
        let s = idle(4, ("1", "enabled", "1843"), ("1", "enabled", "977")).build();
        assert_eq!(st(&s, "bios.c1e"), "pass");
        assert_eq!(st(&s, "bios.c6"), "pass");
        let f = findings(&s, Throughput, "bios.c6");
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.observed == "C6: disabled (disable=1) on cpu 0-3; matched states C6"));
        // Firmware left C6 out of _CST: disabled by default.
        let s = idle(2, ("1", "enabled", "0"), ("1", "disabled", "0")).build();
        assert_eq!(st(&s, "bios.c6"), "pass");
        // cpu-pm=on VMs are named, the verdict stays.
        let s = idle(2, ("1", "enabled", "0"), ("1", "enabled", "5"))
            .vm(
                "qemu-system-x86_64 -name guest=rt -accel kvm -overcommit cpu-pm=on",
                &[],
            )
            .build();
        assert_eq!(st(&s, "bios.c6"), "pass");
        assert!(msg(&s, "bios.c6").contains("cpu-pm=on (rt)"));
    }

    #[test]
    fn c_states_entered_fail() {
        let s = idle(4, ("0", "enabled", "443110"), ("0", "enabled", "660190")).build();
        assert_eq!(st(&s, "bios.c1e"), "fail");
        assert_eq!(st(&s, "bios.c6"), "fail");
        assert!(msg(&s, "bios.c6").contains("usage > 0 with the state enabled"));
        // One CPU is enough.
        let s = idle(4, ("1", "enabled", "0"), ("1", "enabled", "0"))
            .file("/sys/devices/system/cpu/cpu3/cpuidle/state3/disable", "0")
            .file("/sys/devices/system/cpu/cpu3/cpuidle/state3/usage", "12")
            .file(
                "/etc/default/grub",
                "GRUB_CMDLINE_LINUX=\"intel_idle.max_cstate=1\"",
            )
            .build();
        let f = findings(&s, Throughput, "bios.c6");
        assert_eq!(f[0].status.as_str(), "fail");
        assert!(f[0].message.contains("1 of 4"), "{}", f[0].message);
        assert!(f[0].pending_reboot);
        assert_eq!(st(&s, "bios.c1e"), "pass");
    }

    #[test]
    fn every_matching_state_counts() {
        // A second C6-class state (C6P) still enabled and used fails the CPU.
        let s = idle(1, ("1", "enabled", "0"), ("1", "enabled", "0"))
            .file("/sys/devices/system/cpu/cpu0/cpuidle/state4/name", "C6P")
            .file("/sys/devices/system/cpu/cpu0/cpuidle/state4/disable", "0")
            .file("/sys/devices/system/cpu/cpu0/cpuidle/state4/usage", "7")
            .build();
        assert_eq!(st(&s, "bios.c6"), "fail");
        // acpi_idle: ACPI C2 is the C6-class state; C1E is not visible.
        let mut b = SnapBuilder::new()
            .icx("vmx")
            .file(
                "/sys/devices/system/cpu/cpuidle/current_driver",
                "acpi_idle",
            )
            .file("/dev/cpu_dma_latency", "2000000000");
        for (i, (name, usage)) in [("POLL", "1"), ("C1", "5"), ("C2", "9")]
            .into_iter()
            .enumerate()
        {
            let base = format!("/sys/devices/system/cpu/cpu0/cpuidle/state{i}");
            b = b
                .file(&format!("{base}/name"), name)
                .file(&format!("{base}/disable"), "0")
                .file(&format!("{base}/usage"), usage);
        }
        let s = b.build();
        assert_eq!(st(&s, "bios.c6"), "fail");
        assert!(msg(&s, "bios.c6").contains("ACPI C2/C3"));
        assert_eq!(st(&s, "bios.c1e"), "unknown");
    }

    #[test]
    fn c_states_other_outcomes() {
        let s = idle(2, ("0", "enabled", "0"), ("0", "enabled", "0")).build();
        assert_eq!(st(&s, "bios.c1e"), "warn");
        assert_eq!(st(&s, "bios.c6"), "warn");
        // No cpuidle driver: HLT only.
        let s = SnapBuilder::new()
            .icx("vmx")
            .file("/sys/devices/system/cpu/cpuidle/current_driver", "none")
            .build();
        assert_eq!(st(&s, "bios.c6"), "pass");
        assert_eq!(st(&s, "bios.c1e"), "unknown");
        let s = SnapBuilder::new()
            .icx("vmx")
            .file("/proc/cmdline", "ro idle=poll")
            .build();
        assert_eq!(st(&s, "bios.c1e"), "pass");
        let s = SnapBuilder::new()
            .icx("vmx")
            .denied("/sys/devices/system/cpu/cpuidle/current_driver")
            .build();
        assert_eq!(st(&s, "bios.c6"), "unknown");
        let s = idle(1, ("1", "enabled", "0"), ("1", "enabled", "0"))
            .denied("/sys/devices/system/cpu/cpu0/cpuidle/state3/disable")
            .denied("/sys/devices/system/cpu/cpu0/cpuidle/state3/default_status")
            .build();
        assert_eq!(st(&s, "bios.c6"), "unknown");
        assert_eq!(st(&amd().build(), "bios.c6"), "not_applicable");
    }

    fn qat_pf(cur: (&str, &str), max: (&str, &str)) -> SnapBuilder {
        let pf = "/sys/bus/pci/devices/0000:65:00.0";
        SnapBuilder::new()
            .icx("vmx")
            .dir("/sys/bus/pci/devices", &["0000:65:00.0"])
            .file(&format!("{pf}/vendor"), "0x8086")
            .file(&format!("{pf}/device"), "0x37c8")
            .file(&format!("{pf}/current_link_speed"), cur.0)
            .file(&format!("{pf}/current_link_width"), cur.1)
            .file(&format!("{pf}/max_link_speed"), max.0)
            .file(&format!("{pf}/max_link_width"), max.1)
    }

    #[test]
    fn qat_link() {
        let t = "host/dev:0000:65:00.0";
        let full = qat_pf(("8.0 GT/s PCIe", "16"), ("8.0 GT/s PCIe", "16")).build();
        assert_eq!(status(&full, Throughput, "hw.qat.pcie-link", t), "pass");
        assert!(findings(&full, Throughput, "hw.qat.pcie-link")[0]
            .message
            .contains("Gen3"));
        let narrow = qat_pf(("8.0 GT/s PCIe", "8"), ("8.0 GT/s PCIe", "16")).build();
        assert_eq!(status(&narrow, Throughput, "hw.qat.pcie-link", t), "warn");
        let slow = qat_pf(("2.5 GT/s PCIe", "16"), ("8.0 GT/s PCIe", "16")).build();
        assert_eq!(status(&slow, Throughput, "hw.qat.pcie-link", t), "warn");
        let unknown = qat_pf(("Unknown", "16"), ("8.0 GT/s PCIe", "16")).build();
        assert_eq!(
            status(&unknown, Throughput, "hw.qat.pcie-link", t),
            "unknown"
        );
        let none = SnapBuilder::new()
            .icx("vmx")
            .dir("/sys/bus/pci/devices", &[])
            .build();
        assert_eq!(st(&none, "hw.qat.pcie-link"), "not_applicable");
    }
}
