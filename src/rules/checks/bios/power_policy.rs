//! bios.power-policy: the firmware energy/performance bias and the effective OS hint.

use super::msr::{cpus, Field};
use super::readers::not_intel;
use super::{cpufreq, kernel_version, Policies};
use crate::model::msr as mr;
use crate::parse::cpulist;
use crate::rules::context::{Ctx, Got};
use crate::rules::facts::platform::CPU_DIR;
use crate::rules::facts::power;
use crate::rules::outcome::Outcome;
use std::collections::{BTreeMap, BTreeSet};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Pass,
    Warn,
    Fail,
    Unknown,
}

/// Two parts in one finding on `host`: the firmware EPB (Linux rewrites a firmware 0 to 6, so 6
/// proves nothing) and the effective hint (EPP or the performance governor).
pub(super) fn power_policy(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    if ctx.host.cpu.epb == Some(false) {
        return vec![Outcome::na(
            "host",
            "the CPU has no energy/performance bias (CPUID.6:ECX[3] clear)",
        )];
    }
    let epb = Epb::read(ctx);
    let tuned = power::tuned_profile(ctx);
    let (fw, fw_msg) = firmware_part(ctx, &epb.vals, &tuned);
    let (eff, eff_msg, eff_obs) = effective_part(ctx);
    use Part::*;
    let status = match (fw, eff) {
        (Pass, Pass | Unknown) | (Unknown, Pass) => Pass,
        (Unknown, Unknown) => Unknown,
        (Fail, Warn | Unknown) => Fail,
        _ => Warn,
    };
    let mut msg = format!("effective: {eff_msg}; firmware: {fw_msg}");
    if !epb.disagree.is_empty() {
        msg.push_str(&format!(
            "; MSR 0x1B0 and sysfs energy_perf_bias disagree on {} (the MSR value is what the CPU uses)",
            cpus(&epb.disagree)
        ));
    }
    let o = match status {
        Pass => Outcome::pass("host", msg),
        Warn => Outcome::warn("host", msg),
        Fail => Outcome::fail("host", msg),
        Unknown => Outcome::unknown("host", msg),
    };
    let epb_obs = if epb.sysfs_files == 0 {
        "not exposed".to_string()
    } else {
        by_cpus(
            epb.vals
                .iter()
                .map(|(c, v)| (v.map_or_else(|| "unreadable".into(), |v| v.to_string()), *c)),
        )
    };
    let o = epb.msr.row_if_read(ctx, o, "0 (performance)");
    let mut o = o.ev(power::EPB_SOURCE, epb_obs, "0 (performance)").ev(
        cpufreq::GOVERNOR_EPP_SOURCE,
        eff_obs,
        "EPP performance or governor performance",
    );
    if let Got::Val(p) = tuned {
        o = o.ev(power::TUNED_ACTIVE_PROFILE, p, "");
    }
    vec![o]
}

/// The energy/performance bias per CPU, from sysfs and MSR 0x1B0.
struct Epb {
    /// How many CPUs have a sysfs `energy_perf_bias` file recorded.
    sysfs_files: usize,
    /// The values judged: sysfs, or the MSR where sysfs has none.
    vals: BTreeMap<u32, Option<u32>>,
    msr: Field<u32>,
    /// CPUs where the MSR and sysfs differ.
    disagree: Vec<u32>,
}

impl Epb {
    fn read(ctx: &Ctx) -> Self {
        let sysfs_vals = power::energy_perf_bias(ctx);
        // sysfs reads the same register; the MSR stands in where sysfs is missing (Linux < 5.2,
        // a tree without the files), and a difference between the two is said.
        let msr = Field::read(ctx, mr::ENERGY_PERF_BIAS, "bits 3:0", mr::epb);
        let vals: BTreeMap<u32, Option<u32>> = match (&msr.values, sysfs_vals.is_empty()) {
            (Ok(m), true) => m.iter().map(|(c, v)| (*c, Some(*v))).collect(),
            _ => sysfs_vals.clone(),
        };
        let disagree: Vec<u32> = match &msr.values {
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
        Epb {
            sysfs_files: sysfs_vals.len(),
            vals,
            msr,
            disagree,
        }
    }
}

/// The firmware policy from the EPB values: 0 passes, 1-5 warns, > 6 fails unless an OS tool
/// may have written it, and 6 proves nothing.
fn firmware_part(ctx: &Ctx, vals: &BTreeMap<u32, Option<u32>>, tuned: &Got) -> (Part, String) {
    if vals.is_empty() {
        // Only a kernel older than 5.2 lacks the files; otherwise they are missing from this
        // copy (a --root tree or sosreport), which says nothing about the host.
        let old = ctx
            .host
            .kernel_release
            .as_deref()
            .and_then(kernel_version)
            .map(|v| v < (5, 2));
        return (
            Part::Unknown,
            match old {
                Some(true) => "EPB is not exposed in sysfs before Linux 5.2: the firmware value needs MSR 0x1B0".to_string(),
                _ => format!(
                    "no {CPU_DIR}/cpu*/power/energy_perf_bias was recorded (kernel {}), so the firmware value is not visible here; MSR 0x1B0 would show it",
                    ctx.host.kernel_release.as_deref().unwrap_or("release unknown")
                ),
            },
        );
    }
    if vals.values().any(Option::is_none) {
        return (
            Part::Unknown,
            "EPB could not be read on every CPU".to_string(),
        );
    }
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
}

/// The effective hint: every cpufreq policy runs EPP performance or the performance governor.
/// Returns the part, its message and the evidence row's observation.
fn effective_part(ctx: &Ctx) -> (Part, String, String) {
    match cpufreq::policies(ctx) {
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
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{msg, pstates, st, CF};
    use crate::rules::testkit::SnapBuilder;

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
}
