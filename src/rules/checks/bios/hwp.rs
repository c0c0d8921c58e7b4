//! bios.hwp-native: Hardware P-States in native mode (intel_pstate drives HWP).

use super::msr::{combine, cpus, Field, Says};
use super::readers::not_intel;
use super::{cpufreq, Policies};
use crate::model::msr as mr;
use crate::rules::context::{Ctx, Got};
use crate::rules::facts::platform::CPU_DIR;
use crate::rules::facts::{platform, power};
use crate::rules::outcome::Outcome;
use std::collections::BTreeSet;

/// Intel family-6 models with HWP (Skylake and later, server and client): on these a missing
/// `hwp` flag means firmware hid it.
const HWP_MODELS: &[u32] = &[
    0x4E, 0x5E, 0x55, 0x66, 0x6A, 0x6C, 0x7D, 0x7E, 0x8C, 0x8D, 0x8E, 0x8F, 0x97, 0x9A, 0x9E, 0xA5,
    0xA6, 0xA7, 0xAA, 0xAC, 0xAD, 0xAE, 0xAF, 0xB7, 0xBA, 0xBD, 0xBF, 0xC5, 0xC6, 0xCF, 0xDD, 0x5C,
    0x7A, 0x86, 0x96, 0x9C,
];

/// What bios.hwp-native reads: intel_pstate's status, its command-line words, whether HWP's
/// dynamic boost file exists, and the cpufreq drivers.
struct Seen<'a> {
    status: Option<&'a str>,
    status_got: Got<'a>,
    pstate_param: Vec<&'a str>,
    dyn_boost: Got<'a>,
    /// The cpufreq drivers, joined ("no cpufreq driver" when none).
    drv: String,
}

fn gather<'a>(ctx: &Ctx<'a>) -> Seen<'a> {
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
    Seen {
        status: cpufreq::pstate_status(ctx),
        status_got: cpufreq::pstate_status_got(ctx),
        pstate_param,
        dyn_boost: power::hwp_dynamic_boost(ctx),
        drv,
    }
}

pub(super) fn hwp_native(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    let seen = gather(ctx);
    let o = judge(ctx, &seen);
    let o = hwp_msr(ctx, o);
    vec![evidence(ctx, &seen, o)]
}

/// The verdict from the CPU's hwp flag, the command line and intel_pstate's status.
fn judge(ctx: &Ctx, seen: &Seen) -> Outcome {
    let cpu = &ctx.host.cpu;
    let drv = &seen.drv;
    let hwp_capable_model =
        cpu.family == Some(6) && cpu.model.is_some_and(|m| HWP_MODELS.contains(&m));
    match cpu.hwp {
        None => Outcome::unknown(
            "host",
            "the hwp flag is not known (neither CPUID nor /proc/cpuinfo was recorded)",
        ),
        Some(false) if hwp_capable_model => Outcome::fail(
            "host",
            format!(
                "the hwp flag is missing on a CPU that has HWP: Hardware P-States are disabled in firmware (intel_pstate {}, driver {drv})",
                seen.status.unwrap_or("not loaded")
            ),
        ),
        Some(false) => Outcome::na("host", "the CPU has no Hardware P-States (HWP)"),
        Some(true) if seen.pstate_param.contains(&"no_hwp") => Outcome::warn(
            "host",
            "HWP is available but the command line has intel_pstate=no_hwp: remove it",
        ),
        Some(true) if seen.pstate_param.contains(&"disable") => Outcome::warn(
            "host",
            format!("HWP is available but the command line has intel_pstate=disable ({drv} runs legacy P-states): remove it"),
        ),
        Some(true) => judge_status(ctx, seen),
    }
}

/// HWP is available and the command line leaves it alone: intel_pstate's status decides.
fn judge_status(ctx: &Ctx, seen: &Seen) -> Outcome {
    let drv = &seen.drv;
    match (seen.status, &seen.status_got) {
        (Some(s @ ("active" | "passive")), _) => Outcome::pass(
            "host",
            format!(
                "HWP is native: intel_pstate {s}{}",
                if s == "passive" {
                    " (intel_cpufreq still drives HWP)"
                } else {
                    ""
                }
            ),
        ),
        (Some("off"), _) => Outcome::warn(
            "host",
            "HWP is available but intel_pstate was switched off at runtime (status off)",
        ),
        (Some(other), _) => {
            Outcome::unknown("host", format!("unexpected intel_pstate status '{other}'"))
        }
        // A tree without /sys/devices/system/cpu says nothing about intel_pstate.
        (None, Got::Absent) if platform::cpu_dir_seen(ctx) != Some(true) => Outcome::unknown(
            "host",
            format!("{CPU_DIR} is not in this tree: whether intel_pstate runs is not known"),
        ),
        (None, Got::Absent) => {
            if ctx
                .host
                .kconfig
                .as_ref()
                .and_then(|k| k.enabled("X86_INTEL_PSTATE"))
                == Some(false)
            {
                Outcome::warn(
                    "host",
                    format!(
                        "HWP is available but the kernel is built without intel_pstate ({drv})"
                    ),
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
    }
}

/// The evidence rows: CPUID, intel_pstate status, dynamic boost, command line, drivers.
fn evidence(ctx: &Ctx, seen: &Seen, o: Outcome) -> Outcome {
    let cpu = &ctx.host.cpu;
    let word = |f: Option<bool>| match f {
        Some(true) => "present",
        Some(false) => "absent",
        None => "not recorded",
    };
    o.ev(
        "CPUID.6:EAX[7] hwp / EAX[10] hwp_epp",
        format!("hwp {}, hwp_epp {}", word(cpu.hwp), word(cpu.hwp_epp)),
        "both present",
    )
    .ev(
        cpufreq::PSTATE_STATUS,
        seen.status
            .map_or_else(|| seen.status_got.why(), str::to_string),
        "active (or passive)",
    )
    .ev(
        power::HWP_DYNAMIC_BOOST,
        match seen.dyn_boost {
            Got::Val(_) => "present (HWP active)".to_string(),
            g => g.why(),
        },
        "",
    )
    .ev(
        format!("{} intel_pstate=", platform::CMDLINE),
        if seen.pstate_param.is_empty() {
            "not set".to_string()
        } else {
            seen.pstate_param.join(",")
        },
        "no no_hwp / disable",
    )
    .ev(cpufreq::DRIVER_SOURCE, seen.drv.clone(), "")
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

#[cfg(test)]
mod tests {
    use super::super::tests::{msg, pstates, st};
    use crate::rules::testkit::SnapBuilder;

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
            .dir(crate::rules::facts::platform::CPU_DIR, &["cpu0", "cpufreq"])
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
}
