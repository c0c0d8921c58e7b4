//! bios.eist: Enhanced Intel SpeedStep enabled in firmware and a cpufreq driver in charge.

use super::msr::{combine, cpus, Field, Says};
use super::readers::not_intel;
use super::{cpufreq, Policies};
use crate::model::msr as mr;
use crate::rules::context::Ctx;
use crate::rules::facts::platform::{self, CPU_DIR};
use crate::rules::outcome::Outcome;
use std::collections::BTreeSet;

const KNOWN_DRIVERS: &[&str] = &["intel_pstate", "intel_cpufreq", "acpi-cpufreq"];

/// EIST: the `est` CPUID flag (it reads 0 when firmware disables SpeedStep) and a registered
/// cpufreq driver.
pub(super) fn bios_eist(ctx: &Ctx) -> Vec<Outcome> {
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
        (Some(true), Policies::NoDriver) if platform::cpu_dir_seen(ctx) != Some(true) => Outcome::unknown(
            "host",
            format!("EIST is advertised; {CPU_DIR} is not in this tree, so whether a cpufreq driver is registered is not known"),
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
            cpufreq::DRIVER_SOURCE,
            drv_obs,
            "intel_pstate, intel_cpufreq or acpi-cpufreq",
        )]
}

#[cfg(test)]
mod tests {
    use super::super::tests::{pstates, st, CF};
    use crate::rules::testkit::SnapBuilder;

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
            .dir(crate::rules::facts::platform::CPU_DIR, &["cpu0", "cpufreq"])
            .dir(CF, &[])
            .build();
        assert_eq!(st(&nodrv, "bios.eist"), "warn");
        // A tree without the CPU directory: no driver seen is not no driver registered.
        let tree = SnapBuilder::new().icx("vmx").dir(CF, &[]).build();
        assert_eq!(st(&tree, "bios.eist"), "unknown");
        assert_eq!(st(&SnapBuilder::new().build(), "bios.eist"), "unknown");
    }
}
