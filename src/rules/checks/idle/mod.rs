//! Idle states, PLE, halt polling, nohz_full housekeeping and the exit-less LAPIC timer
//! (guide §3.2.4, §3.2.6, §3.2.7).
//!
//! These are latency trades: under the `throughput` profile (shared hosts) they are optional
//! and reported as `info` unless something is actively harmful; under `latency` (dedicated
//! CPUs and memory) their absence is a `warn`.

use super::{Check, CheckFn};
use crate::model::host::Vm;
use crate::parse::cpulist;
use crate::report::Profile;
use crate::rules::context::Ctx;
use std::collections::BTreeSet;

mod exitless_timer;
mod halt_poll;
mod idle_poll;
mod nohz_housekeeping;
mod ple;

pub const CHECKS: &[(&str, CheckFn)] = &[
    ("host.idle.poll", Check::host(idle_poll::idle_poll)),
    ("host.kvm.ple", Check::host(ple::kvm_ple)),
    ("host.kvm.halt-poll", Check::host(halt_poll::halt_poll)),
    (
        "host.nohz-full.housekeeping",
        Check::host(nohz_housekeeping::nohz_housekeeping),
    ),
    (
        "host.kvm.exitless-timer",
        Check::host(exitless_timer::exitless_timer),
    ),
];

fn list(set: &BTreeSet<u32>) -> String {
    if set.is_empty() {
        "(none)".into()
    } else {
        cpulist::format(set)
    }
}

/// The first persistent kernel command line that sets `name` (optionally to a given value).
fn persistent_param(ctx: &Ctx, name: &str, want: Option<&str>) -> Option<(String, String)> {
    ctx.persistent.cmdline_param(name, want)
}

/// Whether the dedicated-CPU / latency part of a rule applies: `Ok(VMs to judge)`;
/// `Err(None)` not applicable, `Err(Some(why))` unknown.
fn latency_scope<'a>(ctx: &'a Ctx) -> Result<Vec<&'a Vm>, Option<String>> {
    let dedicated: Vec<&Vm> = ctx
        .host
        .vms
        .iter()
        .filter(|v| ctx.dedicated(v) == Some(true))
        .collect();
    if !dedicated.is_empty() {
        return Ok(dedicated);
    }
    // A latency host is meant for dedicated VMs: its host settings are expected even before
    // any VM is dedicated — unless vCPUs share pCPUs, where these settings would hurt.
    if ctx.profile == Profile::Latency && ctx.flags.cpu_overcommitted != Some(true) {
        return Ok(ctx.host.vms.iter().collect());
    }
    match ctx.flags.any_dedicated {
        Some(_) => Err(None),
        None => Err(Some(
            "whether any VM has dedicated CPUs is unknown (vCPU affinity unreadable)".into(),
        )),
    }
}

/// Why a dedicated-CPU rule does not apply.
fn no_dedicated(ctx: &Ctx) -> &'static str {
    if ctx.profile == Profile::Latency {
        "no VM has dedicated CPUs and vCPUs share pCPUs: dedicate CPUs to the VMs first"
    } else {
        "no VM has dedicated CPUs (throughput profile)"
    }
}

#[cfg(test)]
mod tests;
