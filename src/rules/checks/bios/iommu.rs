//! host.iommu.enabled: the kernel side of VT-d (DMA remapping active, interrupt remapping on).

use super::iommu_interrupts::{interrupt_remapping, posted_interrupts, Ir};
use super::readers::{
    persistent_cmdline_has, running_cmdline_value, show_listing, vfio_escalation,
};
use crate::report::Severity;
use crate::rules::context::Ctx;
use crate::rules::facts::iommu::{self, group_types, Listing, IOMMU_CLASS, IOMMU_GROUPS};
use crate::rules::facts::platform::{self, ACPI_TABLES, CMDLINE};
use crate::rules::outcome::Outcome;

/// What shows that device passthrough is prepared on this host although no VM uses VFIO:
/// a QAT device, or SR-IOV virtual functions (`physfn` links). `Ok(None)` = nothing;
/// `Err` = the PCI device list could not be read.
fn passthrough_planned(ctx: &Ctx) -> Result<Option<String>, String> {
    if ctx.flags.qat_present == Some(true) {
        return Ok(Some("a QAT device is present".into()));
    }
    let vfs = iommu::sriov_vfs(ctx)?;
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

/// Kernel DMA remapping is active: remapping units registered and IOMMU groups populated.
pub(super) fn iommu_enabled(ctx: &Ctx) -> Vec<Outcome> {
    let f = Facts::gather(ctx);
    if let Some(o) = no_iommu_offered(&f) {
        return vec![f.table_ev(o).ev(IOMMU_CLASS, show_listing(&f.classes), "")];
    }
    let active = !f.units.is_empty() && f.ngroups.is_some_and(|n| n > 0);
    if !active {
        return vec![f.base_ev(ctx, not_active(ctx, &f))];
    }
    vec![active_finding(ctx, &f)]
}

/// What the host shows about its IOMMU: the firmware's ACPI table, the kernel's remapping
/// units and IOMMU groups, and the command line and config that decide whether they exist.
struct Facts<'a> {
    esc: Option<Severity>,
    tables: Listing<'a>,
    classes: Listing<'a>,
    groups: Listing<'a>,
    dmar: Option<bool>,
    ivrs: Option<bool>,
    /// AMD-Vi (IVRS, ivhd units) rather than Intel VT-d (DMAR, dmar units).
    amd: bool,
    /// The remapping units of the vendor in question.
    units: Vec<&'a String>,
    /// Whether that vendor's ACPI table is there.
    table: Option<bool>,
    table_name: &'static str,
    unit_glob: &'static str,
    param: &'static str,
    ngroups: Option<usize>,
    /// "identity ×3, DMA-FQ ×40".
    group_types: String,
    /// The running command line's `intel_iommu=` / `amd_iommu=` value.
    running: Option<&'a str>,
    /// CONFIG_INTEL_IOMMU_DEFAULT_ON (Intel only).
    default_on: Option<bool>,
}

impl<'a> Facts<'a> {
    fn gather(ctx: &Ctx<'a>) -> Self {
        let esc = vfio_escalation(ctx);
        let tables = platform::acpi_tables(ctx);
        let classes = iommu::units(ctx);
        let groups = iommu::groups(ctx);
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
        let amd =
            ivrs == Some(true) || !amd_units.is_empty() || (ctx.is_amd() && dmar != Some(true));
        let (units, table_name, unit_glob, param) = if amd {
            (amd_units, "IVRS", "ivhd*", "amd_iommu")
        } else {
            (intel_units, "DMAR", "dmar*", "intel_iommu")
        };
        let table = if amd { ivrs } else { dmar };
        let ngroups = groups.as_ref().ok().map(|g| g.len());
        let group_types = group_types(ctx, &groups);
        let running = running_cmdline_value(ctx, param);
        let default_on = if amd {
            None
        } else {
            ctx.host
                .kconfig
                .as_ref()
                .and_then(|k| k.enabled("INTEL_IOMMU_DEFAULT_ON"))
        };
        Facts {
            esc,
            tables,
            classes,
            groups,
            dmar,
            ivrs,
            amd,
            units,
            table,
            table_name,
            unit_glob,
            param,
            ngroups,
            group_types,
            running,
            default_on,
        }
    }

    /// The ACPI table row.
    fn table_ev(&self, o: Outcome) -> Outcome {
        let table_name = self.table_name;
        o.ev(
            ACPI_TABLES,
            match self.table {
                Some(true) => format!("{table_name} present"),
                Some(false) => format!("{table_name} absent"),
                None => show_listing(&self.tables),
            },
            format!("{table_name} present"),
        )
    }

    /// Every row a finding about an offered IOMMU carries.
    fn base_ev(&self, ctx: &Ctx, o: Outcome) -> Outcome {
        let (unit_glob, param) = (self.unit_glob, self.param);
        let o = self
            .table_ev(o)
            .ev(
                format!("{IOMMU_CLASS}/{unit_glob}"),
                if self.units.is_empty() {
                    show_listing(&self.classes)
                } else {
                    self.units
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                },
                format!("{unit_glob} present"),
            )
            .ev(
                IOMMU_GROUPS,
                match (&self.groups, self.ngroups) {
                    (_, Some(n)) if !self.group_types.is_empty() => {
                        format!("{n} groups ({})", self.group_types)
                    }
                    (_, Some(n)) => format!("{n} groups"),
                    (g, None) => show_listing(g),
                },
                "> 0 groups",
            )
            .ev(
                CMDLINE,
                ctx.host.cmdline.as_ref().map_or_else(
                    || platform::cmdline_file(ctx).why(),
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
                if self.amd {
                    ""
                } else {
                    "intel_iommu=on (unless the kernel defaults to on)"
                },
            );
        match self.default_on {
            Some(d) => o.ev(
                "kernel config CONFIG_INTEL_IOMMU_DEFAULT_ON",
                if d { "y" } else { "not set" },
                "",
            ),
            None => o,
        }
    }
}

/// Applicability: the firmware must offer an IOMMU. `None` when it does (or a unit shows it).
fn no_iommu_offered(f: &Facts) -> Option<Outcome> {
    if !f.units.is_empty() || f.table == Some(true) {
        return None;
    }
    Some(
        if f.table == Some(false) && f.dmar != Some(true) && f.ivrs != Some(true) {
            Outcome::na(
                "host",
                "no DMAR (Intel VT-d) or IVRS (AMD-Vi) table: the firmware offers no IOMMU to enable (see bios.vtd)",
            )
        } else {
            Outcome::unknown(
                "host",
                format!(
                    "cannot tell whether the firmware offers an IOMMU: the ACPI table list is {} and no remapping unit is registered",
                    show_listing(&f.tables)
                ),
            )
            .escalate(f.esc)
        },
    )
}

/// The IOMMU is offered but DMA remapping is not active: unknown when the listings cannot be
/// read, informational when nothing needs passthrough, else a failure with the cause.
fn not_active(ctx: &Ctx, f: &Facts) -> Outcome {
    let esc = f.esc;
    if f.ngroups.is_none() && !f.units.is_empty() {
        return Outcome::unknown(
            "host",
            format!(
                "remapping units are registered but {IOMMU_GROUPS} could not be read ({})",
                show_listing(&f.groups)
            ),
        )
        .escalate(esc);
    }
    if matches!(f.classes, Err(Some(_))) && matches!(f.groups, Err(Some(_))) {
        return Outcome::unknown(
            "host",
            "neither /sys/class/iommu nor /sys/kernel/iommu_groups could be read",
        )
        .escalate(esc);
    }
    let why = why_not_active(ctx, f);
    let pending = pending_fix(ctx, f);
    // Catalogue: FAIL only when VFIO is used or planned; without passthrough the host
    // runs its VMs as well without DMA remapping (stock RHEL 9 / Ubuntu kernels default
    // intel_iommu off), so the finding is informational.
    let vfio_used = esc.is_some();
    let planned = passthrough_planned(ctx);
    let needed = vfio_used || pending.is_some() || planned.as_ref().is_ok_and(|p| p.is_some());
    let param = f.param;
    if !needed {
        return match &planned {
            Err(e) => Outcome::unknown(
                "host",
                format!("DMA remapping is not active ({why}); whether passthrough is planned (QAT or SR-IOV devices) could not be read: {e}"),
            ),
            Ok(_) => Outcome::info(
                "host",
                format!("DMA remapping is not active ({why}); no VM uses VFIO and no QAT or SR-IOV virtual function is present, so nothing needs it now: add {param}=on before assigning devices to VMs"),
            ),
        };
    }
    let mut msg = format!(
        "DMA remapping is not active: {why}, and no {} unit with IOMMU groups exists{}",
        f.unit_glob,
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
            if f.amd {
                "no amd_iommu=off"
            } else {
                "intel_iommu=on"
            }
        ));
    }
    Outcome::fail("host", msg)
        .escalate(esc)
        .pending(pending.is_some())
}

/// Why the kernel did not turn DMA remapping on: its config or the command line.
fn why_not_active(ctx: &Ctx, f: &Facts) -> String {
    let built_in = ctx
        .host
        .kconfig
        .as_ref()
        .and_then(|k| k.enabled("INTEL_IOMMU"));
    match (f.amd, f.running, f.default_on) {
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
    }
}

/// A persistent kernel command line that turns DMA remapping on at the next boot.
fn pending_fix(ctx: &Ctx, f: &Facts) -> Option<String> {
    if f.amd {
        (f.running == Some("off"))
            .then(|| {
                ctx.persistent
                    .cmdlines
                    .iter()
                    .find(|(_, c)| c.value("amd_iommu") != Some("off"))
                    .map(|(p, _)| p.clone())
            })
            .flatten()
    } else {
        (f.running != Some("on"))
            .then(|| persistent_cmdline_has(ctx, "intel_iommu", Some("on")))
            .flatten()
    }
}

/// DMA remapping is active: interrupt remapping decides between pass and warn.
fn active_finding(ctx: &Ctx, f: &Facts) -> Outcome {
    let units = &f.units;
    let ir = interrupt_remapping(ctx, units);
    let pi = if f.amd {
        None
    } else {
        Some(posted_interrupts(ctx, units))
    };
    let n = units.len();
    let g = f.ngroups.unwrap_or(0);
    let unit_glob = f.unit_glob;
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
    let mut o = f.base_ev(ctx, o.escalate(f.esc));
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
    o
}

#[cfg(test)]
mod tests {
    use super::super::tests::{amd, msg, st, TABLES};
    use crate::report::Profile::Throughput;
    use crate::report::Severity;
    use crate::rules::testkit::{findings, SnapBuilder};

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
}
