//! host.nohz-full.housekeeping: nohz_full leaves housekeeping CPUs on every node.
use super::{latency_scope, list, no_dedicated, persistent_param};
use crate::parse::cpulist;
use crate::report::Profile;
use crate::rules::context::Ctx;
use crate::rules::facts::boot_cmdline::PROC_CMDLINE;
use crate::rules::facts::nohz::{nohz_full, requested, NohzFull};
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
    let nohz = match nohz_full(ctx) {
        Ok(n) => n,
        Err(why) => return vec![Outcome::unknown("host", why)],
    };
    let cmd = requested(ctx);
    let o = if nohz.active.is_empty() {
        not_used(ctx, cmd.as_deref())
    } else {
        housekeeping(ctx, &nohz.active, cmd.as_deref())
    };
    vec![evidence(ctx, o, &nohz, cmd.as_deref())]
}

/// The sysfs set, the command line and the kernel config as evidence.
fn evidence(ctx: &Ctx, o: Outcome, nohz: &NohzFull, cmd: Option<&str>) -> Outcome {
    let mut o = o.ev(
        nohz.path,
        nohz.observed.clone(),
        "nohz_full CPUs, leaving housekeeping CPUs on every node",
    );
    o = o.ev(
        PROC_CMDLINE,
        cmd.map(|c| format!("nohz_full={c}"))
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
}

/// No CPU is tickless: asked for but rejected, or not used (pending when configured).
fn not_used(ctx: &Ctx, cmd: Option<&str>) -> Outcome {
    if let Some(c) = cmd {
        return Outcome::warn(
            "host",
            format!("nohz_full={c} is on the command line but the kernel shows no nohz_full CPUs (built without CONFIG_NO_HZ_FULL, or the list was rejected)"),
        );
    }
    let mut o = if ctx.profile == Profile::Latency {
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
    o
}

/// nohz_full is active: every node must keep housekeeping CPUs, ideally whole cores.
fn housekeeping(ctx: &Ctx, active: &BTreeSet<u32>, cmd: Option<&str>) -> Outcome {
    let mut fails = Vec::new();
    let mut warns = Vec::new();
    let mut parts = Vec::new();
    for (n, cpus) in &ctx.node_cpus() {
        let hk: BTreeSet<u32> = cpus.difference(active).copied().collect();
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
    if let Some(c) = cmd {
        if cpulist::parse(c).is_ok_and(|s| s.contains(&0)) {
            warns.push("the command line lists the boot CPU 0, which the kernel silently keeps for timekeeping".into());
        }
    }
    if !fails.is_empty() {
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
                list(active),
                parts.join(", ")
            ),
        )
    }
}
