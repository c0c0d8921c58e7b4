//! host.idle.poll: `idle=poll` only where the latency profile and dedicated CPUs call for it.
use super::persistent_param;
use crate::report::Profile;
use crate::rules::context::Ctx;
use crate::rules::facts::boot_cmdline::{running, PROC_CMDLINE};
use crate::rules::facts::cpuidle_driver::current_driver;
use crate::rules::outcome::Outcome;

pub(super) const IDLE_POLL_COST: &str = "idle CPUs never leave C0, so turbo headroom is lost, Hyper-Threading siblings are slowed by a spinning partner, cpuidle-based features are off and power and heat rise sharply";

/// tuned profiles that hold a PM-QoS CPU latency limit (force_latency).
pub(super) const LOW_LATENCY_TUNED: &[&str] = &[
    "latency-performance",
    "network-latency",
    "realtime",
    "realtime-virtual-host",
    "cpu-partitioning",
];

pub(super) fn idle_poll(ctx: &Ctx) -> Vec<Outcome> {
    let cmd = match running(ctx) {
        Ok(c) => c,
        Err(why) => return vec![Outcome::unknown("host", why)],
    };
    let idle = cmd.value("idle").map(str::to_string);
    let active = idle.as_deref() == Some("poll");
    let driver = current_driver(ctx);
    let latency = ctx.profile == Profile::Latency;
    let mut o = if active {
        let msg = format!("idle=poll is active: {IDLE_POLL_COST}");
        if latency {
            Outcome::pass("host", format!("{msg} — the price of the latency profile"))
        } else {
            Outcome::info(
                "host",
                format!("{msg}; on a shared (throughput) host that is rarely worth it"),
            )
        }
    } else {
        // Softer alternatives of the catalogue card.
        let mut alts = Vec::new();
        if !ctx.host.vms.is_empty() && ctx.host.vms.iter().all(|v| ctx.cpu_pm_on(v)) {
            alts.push(
                "every VM runs with -overcommit cpu-pm=on (vCPU halts stay in the guest)"
                    .to_string(),
            );
        }
        for p in ["intel_idle.max_cstate", "processor.max_cstate"] {
            if let Some(v) = cmd.value(p).filter(|v| *v == "0" || *v == "1") {
                alts.push(format!("{p}={v}"));
            }
        }
        if let Some(t) = ctx
            .persistent
            .tuned_profile
            .as_deref()
            .filter(|t| t.split_whitespace().any(|p| LOW_LATENCY_TUNED.contains(&p)))
        {
            alts.push(format!("tuned profile {t} (PM-QoS latency limit)"));
        }
        let what = idle
            .as_deref()
            .map(|v| format!("idle={v} (not poll)"))
            .unwrap_or_else(|| "idle=poll is not set".into());
        if !latency {
            Outcome::info(
                "host",
                format!("{what}: optional, a deliberate latency-for-power trade"),
            )
        } else if !alts.is_empty() {
            Outcome::info(
                "host",
                format!(
                    "{what}, but a softer equivalent is in place: {}",
                    alts.join("; ")
                ),
            )
        } else {
            let mut o = Outcome::warn(
                "host",
                format!("{what}: the latency profile expects idle=poll or an equivalent (intel_idle.max_cstate=1, tuned latency-performance, cpu-pm=on per VM); note its cost: {IDLE_POLL_COST}"),
            );
            if let Some((p, _)) = persistent_param(ctx, "idle", Some("poll")) {
                o = o.pending(true).ev(p.clone(), "idle=poll", "");
                o.message
                    .push_str(&format!("; {p} already sets it: reboot to apply"));
            }
            o
        }
    };
    o = o.ev(
        PROC_CMDLINE,
        idle.map(|v| format!("idle={v}"))
            .unwrap_or_else(|| "no idle=".into()),
        if latency {
            "idle=poll or an equivalent"
        } else {
            ""
        },
    );
    if let Some((path, d)) = driver {
        o = o.ev(
            path,
            d,
            if active {
                "none (idle= overrides cpuidle)"
            } else {
                ""
            },
        );
    }
    vec![o]
}
