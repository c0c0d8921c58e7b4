//! The OS side of the firmware power settings: intel_pstate's switches, cpufreq boost, the
//! energy/performance bias per CPU, tuned's active profile and tmpfiles.d lines that write
//! sysfs at boot. Each getter returns the raw `Got` so a rule can say why a value is missing;
//! the `*_SOURCE` names are what evidence rows show.

use super::cpuidle::CPU_DIR;
use crate::rules::context::{Ctx, Got};
use std::collections::BTreeMap;

pub(crate) const NO_TURBO: &str = "/sys/devices/system/cpu/intel_pstate/no_turbo";
pub(crate) const BOOST: &str = "/sys/devices/system/cpu/cpufreq/boost";
pub(crate) const MAX_PERF_PCT: &str = "/sys/devices/system/cpu/intel_pstate/max_perf_pct";
pub(crate) const HWP_DYNAMIC_BOOST: &str = "/sys/devices/system/cpu/intel_pstate/hwp_dynamic_boost";
pub(crate) const TUNED_ACTIVE_PROFILE: &str = "/etc/tuned/active_profile";
pub(crate) const TMPFILES_D: &str = "/etc/tmpfiles.d/";
pub(crate) const EPB_SOURCE: &str = "/sys/devices/system/cpu/cpu*/power/energy_perf_bias";

pub(crate) fn no_turbo<'a>(ctx: &Ctx<'a>) -> Got<'a> {
    ctx.get(NO_TURBO)
}

pub(crate) fn boost<'a>(ctx: &Ctx<'a>) -> Got<'a> {
    ctx.get(BOOST)
}

/// intel_pstate's `max_perf_pct` as a number, when readable.
pub(crate) fn max_perf_pct(ctx: &Ctx) -> Option<u32> {
    ctx.text(MAX_PERF_PCT).and_then(|v| v.parse::<u32>().ok())
}

pub(crate) fn hwp_dynamic_boost<'a>(ctx: &Ctx<'a>) -> Got<'a> {
    ctx.get(HWP_DYNAMIC_BOOST)
}

pub(crate) fn tuned_profile<'a>(ctx: &Ctx<'a>) -> Got<'a> {
    ctx.get(TUNED_ACTIVE_PROFILE)
}

/// The tmpfiles.d file with a line that writes `value` to a path ending in `sysfs_tail` at
/// boot.
pub(crate) fn tmpfiles_writes(ctx: &Ctx, sysfs_tail: &str, value: &str) -> Option<String> {
    ctx.snap
        .files
        .range(TMPFILES_D.to_string()..)
        .take_while(|(k, _)| k.starts_with(TMPFILES_D))
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

/// Per-CPU values of `cpuN/<suffix>` that the snapshot holds, by CPU number.
fn per_cpu<'a>(ctx: &Ctx<'a>, suffix: &str) -> BTreeMap<u32, Got<'a>> {
    let prefix = format!("{CPU_DIR}/cpu");
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

/// Each CPU's sysfs `power/energy_perf_bias` that was recorded: its value, or `None` when
/// the file could not be read or holds no number.
pub(crate) fn energy_perf_bias(ctx: &Ctx) -> BTreeMap<u32, Option<u32>> {
    per_cpu(ctx, "power/energy_perf_bias")
        .into_iter()
        .map(|(c, g)| (c, g.val().and_then(|v| v.trim().parse().ok())))
        .collect()
}
