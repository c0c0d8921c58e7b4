//! cpufreq policies as the kernel lists them (`/sys/devices/system/cpu/cpufreq/policyN`): the
//! governor rule and the BIOS power rules read the same list.

use crate::parse::cpulist;
use crate::rules::context::{Ctx, Got};
use crate::snapshot::Fact;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) const CPUFREQ: &str = "/sys/devices/system/cpu/cpufreq";

pub(crate) const PSTATE_STATUS: &str = "/sys/devices/system/cpu/intel_pstate/status";

/// What evidence rows over every policy name as their source.
pub(crate) const DRIVER_SOURCE: &str = "/sys/devices/system/cpu/cpufreq/policy*/scaling_driver";
pub(crate) const SCALING_MAX_SOURCE: &str =
    "/sys/devices/system/cpu/cpufreq/policy*/scaling_max_freq";
pub(crate) const GOVERNOR_EPP_SOURCE: &str =
    "/sys/devices/system/cpu/cpufreq/policy*/{scaling_governor,energy_performance_preference}";

/// One cpufreq policy as sysfs shows it.
#[derive(Clone)]
pub(crate) struct Policy<'a> {
    pub id: u32,
    pub driver: Got<'a>,
    pub governor: Got<'a>,
    pub epp: Got<'a>,
    pub scaling_max: Option<u64>,
    pub cpuinfo_max: Option<u64>,
}

#[derive(Clone)]
pub(crate) enum Policies<'a> {
    List(Vec<Policy<'a>>),
    /// The cpufreq directory is absent or holds no policy: no driver is registered.
    NoDriver,
    /// The directory could not be read or was not collected; the reason.
    Unreadable(String),
}

/// Policy ids named by recorded files (`.../cpufreq/policyN/...`), for when the listing is
/// missing from the snapshot.
pub(crate) fn policy_ids_from_files(ctx: &Ctx) -> BTreeSet<u32> {
    let prefix = format!("{CPUFREQ}/policy");
    ctx.snap
        .files
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter_map(|(k, _)| k[prefix.len()..].split('/').next()?.parse().ok())
        .collect()
}

/// Every cpufreq policy, with driver, governor, EPP and frequency caps; read once per scan
/// (the governor rule and three BIOS power rules ask).
pub(crate) fn policies<'a>(ctx: &Ctx<'a>) -> Policies<'a> {
    ctx.cache.cpufreq.get_or_init(|| read_policies(ctx)).clone()
}

fn read_policies<'a>(ctx: &Ctx<'a>) -> Policies<'a> {
    let ids: BTreeSet<u32> = match ctx.snap.dirs.get(CPUFREQ) {
        Some(Fact::Value(names)) => names
            .iter()
            .filter_map(|n| n.strip_prefix("policy")?.parse().ok())
            .collect(),
        Some(Fact::Error(e)) if e.kind != crate::snapshot::ReadErrorKind::Absent => {
            let from_files = policy_ids_from_files(ctx);
            if from_files.is_empty() {
                return Policies::Unreadable(format!("{CPUFREQ}: {}", e.describe()));
            }
            from_files
        }
        Some(Fact::Error(_)) => BTreeSet::new(),
        None => {
            let from_files = policy_ids_from_files(ctx);
            if from_files.is_empty() {
                return Policies::Unreadable(format!("{CPUFREQ} was not collected"));
            }
            from_files
        }
    };
    if ids.is_empty() {
        return Policies::NoDriver;
    }
    let num = |p: String| ctx.text(&p).and_then(|v| v.parse::<u64>().ok());
    Policies::List(
        ids.into_iter()
            .map(|id| {
                let base = format!("{CPUFREQ}/policy{id}");
                Policy {
                    id,
                    driver: ctx.get(&format!("{base}/scaling_driver")),
                    governor: ctx.get(&format!("{base}/scaling_governor")),
                    epp: ctx.get(&format!("{base}/energy_performance_preference")),
                    scaling_max: num(format!("{base}/scaling_max_freq")),
                    cpuinfo_max: num(format!("{base}/cpuinfo_max_freq")),
                }
            })
            .collect(),
    )
}

/// `policy0-15` style label for a set of policy ids.
pub(crate) fn policy_label(ids: &BTreeSet<u32>) -> String {
    let word = if ids.len() == 1 { "policy" } else { "policies" };
    format!("{word} {}", cpulist::format(ids))
}

/// Group items by a description and render "desc (policy 0-3); other (policy 4-7)".
pub(crate) fn grouped(items: impl IntoIterator<Item = (String, u32)>) -> String {
    let mut by: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for (d, id) in items {
        by.entry(d).or_default().insert(id);
    }
    by.iter()
        .map(|(d, ids)| format!("{d} ({})", policy_label(ids)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The intel_pstate mode: `active`, `passive`, `off`, or `None` when the file is not there.
pub(crate) fn pstate_status<'a>(ctx: &Ctx<'a>) -> Option<&'a str> {
    ctx.text(PSTATE_STATUS)
}

/// The intel_pstate status file as read.
pub(crate) fn pstate_status_got<'a>(ctx: &Ctx<'a>) -> Got<'a> {
    ctx.get(PSTATE_STATUS)
}

pub(crate) const SYSCONFIG_CPUPOWER: &str = "/etc/sysconfig/cpupower";
pub(crate) const DEFAULT_CPUFREQUTILS: &str = "/etc/default/cpufrequtils";

/// Persistent settings that select the `performance` governor at the next boot or service
/// start: (file, the line or parameter that does it).
pub(crate) fn persistent_performance(ctx: &Ctx) -> Vec<(String, String)> {
    use crate::parse::governor_config;
    let mut out = Vec::new();
    for (path, c) in &ctx.persistent.cmdlines {
        if c.value("cpufreq.default_governor") == Some("performance") {
            out.push((
                path.clone(),
                "cpufreq.default_governor=performance".to_string(),
            ));
        }
    }
    if let Some(l) = ctx
        .text(SYSCONFIG_CPUPOWER)
        .and_then(governor_config::cpupower_performance_line)
    {
        out.push((SYSCONFIG_CPUPOWER.into(), l.to_string()));
    }
    if let Some(l) = ctx
        .text(DEFAULT_CPUFREQUTILS)
        .and_then(governor_config::cpufrequtils_performance_line)
    {
        out.push((DEFAULT_CPUFREQUTILS.into(), l.to_string()));
    }
    out
}
