//! bios.ht: Hyper-Threading enabled in firmware and left on by the OS.

use super::readers::not_intel;
use crate::rules::context::{Ctx, Got};
use crate::rules::facts::platform::{self, smt_exposures, SMT_ACTIVE, SMT_CONTROL};
use crate::rules::outcome::Outcome;

/// SMT active proves HT is on; `notsupported` means firmware (or the SKU) has it off;
/// `off`/`forceoff` means the OS switched it off.
pub(super) fn bios_ht(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    let active_got = platform::smt_active(ctx);
    let active = active_got.val().map(str::trim);
    let control_got = platform::smt_control(ctx);
    let control = control_got.val().map(str::trim);
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
            os_switched_off(ctx, c, nosmt_now.as_deref(), &waiver_note)
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
        _ => by_siblings(max_siblings, tpc, &waiver_note, &active_got),
    };
    vec![o
        .ev(
            SMT_ACTIVE,
            active.map_or_else(|| active_got.why(), str::to_string),
            "1",
        )
        .ev(
            SMT_CONTROL,
            control.map_or_else(|| control_got.why(), str::to_string),
            "on",
        )
        .ev(
            platform::THREAD_SIBLINGS_SOURCE,
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

/// SMT is off and `smt/control` says the OS did it (`off`/`forceoff`): how, and whether the
/// persistent command line already undoes it.
fn os_switched_off(ctx: &Ctx, c: &str, nosmt_now: Option<&str>, waiver_note: &str) -> Outcome {
    let persistent_clean = nosmt_now.is_some()
        && !ctx.persistent.cmdlines.is_empty()
        && ctx.persistent.cmdlines.iter().all(|(_, c)| !c.has("nosmt"));
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

/// No SMT files: the thread siblings of the topology, else CPUID's threads per core.
fn by_siblings(
    max_siblings: Option<usize>,
    tpc: Option<u32>,
    waiver_note: &str,
    active_got: &Got,
) -> Outcome {
    match (max_siblings, tpc) {
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
                active_got.why()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{amd, msg, st};
    use crate::report::Profile::Throughput;
    use crate::rules::testkit::{findings, SnapBuilder};

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
}
