//! bios.turbo: Turbo Boost enabled in firmware, allowed by the OS and not capped.

use super::msr::{combine, cpus, Field, Says};
use super::readers::not_intel;
use super::{cpufreq, Policies};
use crate::model::msr as mr;
use crate::rules::context::{Ctx, Got};
use crate::rules::facts::platform;
use crate::rules::facts::power::{self, tmpfiles_writes, BOOST, MAX_PERF_PCT, NO_TURBO};
use crate::rules::outcome::Outcome;

/// Neither OS turbo switch exists on this host: both are recorded absent next to a present
/// CPU directory (a `--root` tree without `/sys/devices/system/cpu` proves nothing).
fn no_os_switch(ctx: &Ctx) -> bool {
    matches!(power::no_turbo(ctx), Got::Absent)
        && matches!(power::boost(ctx), Got::Absent)
        && platform::cpu_dir_seen(ctx) == Some(true)
}

/// What bios.turbo reads: the CPU's ida flag, the OS switches and the frequency caps.
struct Seen<'a> {
    ida: Option<bool>,
    no_turbo_got: Got<'a>,
    no_turbo: Option<&'a str>,
    boost_got: Got<'a>,
    boost: Option<&'a str>,
    max_pct: Option<u32>,
    /// Some policy's scaling_max_freq is below its cpuinfo_max_freq; `cap_obs` groups them.
    capped: bool,
    cap_obs: String,
}

fn gather<'a>(ctx: &Ctx<'a>) -> Seen<'a> {
    let no_turbo_got = power::no_turbo(ctx);
    let boost_got = power::boost(ctx);
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
    Seen {
        ida: ctx.host.cpu.turbo,
        no_turbo: no_turbo_got.val().map(str::trim),
        no_turbo_got,
        boost: boost_got.val().map(str::trim),
        boost_got,
        max_pct: power::max_perf_pct(ctx),
        capped: !capped.is_empty(),
        cap_obs: cpufreq::grouped(capped),
    }
}

/// Turbo: `ida` (CPUID.6:EAX[1], 0 when firmware disables turbo), the OS switch
/// (intel_pstate no_turbo / cpufreq boost) and frequency caps.
pub(super) fn bios_turbo(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    let seen = gather(ctx);
    let o = judge(ctx, &seen);
    vec![evidence(&seen, turbo_msr(ctx, o))]
}

/// The verdict: firmware's ida first, then the OS switches, then the caps.
fn judge(ctx: &Ctx, seen: &Seen) -> Outcome {
    let (ida, no_turbo, boost, max_pct) = (seen.ida, seen.no_turbo, seen.boost, seen.max_pct);
    if ida == Some(false) {
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
    } else if seen.capped || max_pct.is_some_and(|p| p < 100) {
        Outcome::warn(
            "host",
            format!(
                "turbo is enabled but the frequency is capped: {}",
                [
                    seen.capped.then_some(seen.cap_obs.clone()),
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
                seen.no_turbo_got.why(),
                seen.boost_got.why()
            ),
        )
    } else {
        Outcome::unknown(
            "host",
            "neither the ida flag nor an OS turbo switch could be read",
        )
    }
}

/// The evidence rows after the MSR's: ida, the OS switches and the caps.
fn evidence(seen: &Seen, o: Outcome) -> Outcome {
    let mut o = o
        .ev(
            "CPUID.6:EAX[1] ida",
            match seen.ida {
                Some(true) => "present",
                Some(false) => "absent",
                None => "not recorded",
            },
            "present",
        )
        .ev(
            NO_TURBO,
            seen.no_turbo
                .map_or_else(|| seen.no_turbo_got.why(), str::to_string),
            "0",
        );
    if let Some(b) = seen.boost {
        o = o.ev(BOOST, b, "1");
    }
    if let Some(p) = seen.max_pct {
        o = o.ev(MAX_PERF_PCT, p.to_string(), "100");
    }
    if seen.capped {
        o = o.ev(
            cpufreq::SCALING_MAX_SOURCE,
            seen.cap_obs.clone(),
            "= cpuinfo_max_freq",
        );
    }
    o
}

/// IA32_MISC_ENABLE bit 38 (turbo disable) beside the OS view.
fn turbo_msr(ctx: &Ctx, o: Outcome) -> Outcome {
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
    misc.row_if_read(ctx, combine(o, says, false), "0 on every CPU")
}

#[cfg(test)]
mod tests {
    use super::super::tests::{msg, pstates, st, CF};
    use crate::report::Profile::Throughput;
    use crate::rules::testkit::{findings, SnapBuilder};

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
}
