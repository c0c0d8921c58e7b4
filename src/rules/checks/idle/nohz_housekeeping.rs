//! host.nohz-full.housekeeping: nohz_full leaves housekeeping CPUs on every node.
use super::{latency_scope, list, no_dedicated, persistent_param, CPU};
use crate::parse::cpulist;
use crate::report::Profile;
use crate::rules::context::{Ctx, Got};
use crate::rules::outcome::Outcome;
use std::collections::BTreeSet;

pub(super) fn nohz_housekeeping(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = crate::rules::facts::scope::guest_without_vms(ctx) {
        return vec![o];
    }
    match latency_scope(ctx) {
        Ok(_) => {}
        Err(None) => {
            return vec![Outcome::na(
                "host",
                format!("{}: nohz_full is not needed", no_dedicated(ctx)),
            )]
        }
        Err(Some(why)) => return vec![Outcome::unknown("host", why)],
    }
    let latency = ctx.profile == Profile::Latency;
    let sys = format!("{CPU}/nohz_full");
    let (active, sys_obs) = match ctx.get(&sys) {
        Got::Val(v) => match cpulist::parse(v) {
            Ok(s) => (s, v.trim().to_string()),
            Err(_) => return vec![Outcome::unknown("host", format!("{sys}: unexpected {v:?}"))],
        },
        Got::Absent => (
            BTreeSet::new(),
            "absent (kernel without NO_HZ_FULL)".to_string(),
        ),
        other => return vec![Outcome::unknown("host", format!("{sys}: {}", other.why()))],
    };
    let cmd = ctx
        .host
        .cmdline
        .as_ref()
        .and_then(|c| c.value("nohz_full"))
        .map(str::to_string);
    let ev = |o: Outcome| {
        let mut o = o.ev(
            sys.clone(),
            sys_obs.clone(),
            "nohz_full CPUs, leaving housekeeping CPUs on every node",
        );
        o = o.ev(
            "/proc/cmdline",
            cmd.as_ref()
                .map(|c| format!("nohz_full={c}"))
                .unwrap_or_else(|| "no nohz_full=".into()),
            "",
        );
        if let Some(k) = &ctx.host.kconfig {
            if let Some(v) = k.enabled("NO_HZ_FULL") {
                o = o.ev(
                    "kconfig CONFIG_NO_HZ_FULL",
                    if v { "y" } else { "not set" },
                    "y",
                );
            }
        }
        o
    };
    if active.is_empty() {
        if let Some(c) = &cmd {
            return vec![ev(Outcome::warn(
                "host",
                format!("nohz_full={c} is on the command line but the kernel shows no nohz_full CPUs (built without CONFIG_NO_HZ_FULL, or the list was rejected)"),
            ))];
        }
        let mut o = if latency {
            Outcome::warn(
                "host",
                "nohz_full is not used: the latency profile expects the dedicated vCPU CPUs to run tickless, with housekeeping CPUs on every node",
            )
        } else {
            Outcome::info(
                "host",
                "nohz_full is not used: optional under the throughput profile (it keeps the scheduler tick off dedicated vCPU CPUs)",
            )
        };
        if let Some((p, v)) = persistent_param(ctx, "nohz_full", None) {
            o.message.push_str(&format!(
                "; {p} already sets nohz_full={v}: reboot to apply"
            ));
            o = o.pending(true).ev(p, format!("nohz_full={v}"), "");
        }
        return vec![ev(o)];
    }
    let nodes = ctx.node_cpus();
    let mut fails = Vec::new();
    let mut warns = Vec::new();
    let mut parts = Vec::new();
    for (n, cpus) in &nodes {
        let hk: BTreeSet<u32> = cpus.difference(&active).copied().collect();
        parts.push(format!("node {n}: housekeeping {}", list(&hk)));
        if hk.is_empty() {
            fails.push(format!("node {n} has no housekeeping CPU"));
            continue;
        }
        let whole_core = hk.iter().any(|c| {
            ctx.host
                .topology
                .cpus
                .get(c)
                .is_some_and(|p| !p.siblings.is_empty() && p.siblings.is_subset(&hk))
        });
        let topo_known = hk.iter().any(|c| ctx.host.topology.cpus.contains_key(c));
        if topo_known && !whole_core {
            warns.push(format!(
                "node {n} keeps only part of a core for housekeeping ({}): its sibling thread is isolated",
                list(&hk)
            ));
        }
    }
    if let Some(c) = &cmd {
        if cpulist::parse(c).is_ok_and(|s| s.contains(&0)) {
            warns.push("the command line lists the boot CPU 0, which the kernel silently keeps for timekeeping".into());
        }
    }
    let o = if !fails.is_empty() {
        Outcome::fail(
            "host",
            format!(
                "{}: timers, RCU callbacks and unbound work of that node must run remotely",
                fails.join("; ")
            ),
        )
    } else if !warns.is_empty() {
        Outcome::warn("host", warns.join("; "))
    } else {
        Outcome::pass(
            "host",
            format!(
                "nohz_full is active ({}) and every node keeps housekeeping CPUs ({})",
                list(&active),
                parts.join(", ")
            ),
        )
    };
    vec![ev(o)]
}
