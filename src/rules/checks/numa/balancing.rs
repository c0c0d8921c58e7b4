//! host.numa.balancing: automatic NUMA balancing, judged by whether every VM is placed.
use super::single_node;
use crate::report::Status;
use crate::rules::context::Ctx;
use crate::rules::facts::boot_cmdline::{running_value, PROC_CMDLINE};
use crate::rules::facts::numa_balancing::{counters, state, SYSCTL};
use crate::rules::outcome::Outcome;

use super::vm_placement::{escalation, placement};

/// The VMs by placement: `strict` ones are VFIO-pinned or hugetlb, which balancing cannot
/// move.
#[derive(Default)]
struct Placed {
    unplaced_strict: Vec<String>,
    unplaced: Vec<String>,
    unknown: Vec<String>,
    unknown_strict: Vec<String>,
}

pub(super) fn numa_balancing(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = single_node(ctx, "host") {
        return vec![o];
    }
    let (on, observed) = match state(ctx) {
        Ok(s) => s,
        Err(why) => return vec![Outcome::unknown("host", why)],
    };
    let placed = placed(ctx);
    let o = if on {
        when_on(&placed)
    } else {
        when_off(ctx, &placed)
    };
    let mut o = o.ev(
        SYSCTL,
        observed,
        "1 with unplaceable VMs placed, or 0 with every VM placed",
    );
    if let Some(c) = running_value(ctx, "numa_balancing") {
        o = o.ev(PROC_CMDLINE, format!("numa_balancing={c}"), "");
    }
    for (label, v) in counters(ctx) {
        o = o.ev(label, v, "");
    }
    vec![o]
}

fn placed(ctx: &Ctx) -> Placed {
    let mut p = Placed::default();
    for vm in &ctx.host.vms {
        let strict = escalation(vm).is_some();
        match placement(ctx, vm).status {
            Status::Pass => {}
            Status::Unknown if strict => {
                p.unknown.push(vm.name());
                p.unknown_strict.push(vm.name());
            }
            Status::Unknown => p.unknown.push(vm.name()),
            _ if strict => p.unplaced_strict.push(vm.name()),
            _ => p.unplaced.push(vm.name()),
        }
    }
    p
}

/// Balancing on: the VMs it cannot help must be placed explicitly.
fn when_on(p: &Placed) -> Outcome {
    if !p.unplaced_strict.is_empty() {
        Outcome::warn(
            "host",
            format!(
                "NUMA balancing is on but cannot move the memory of {} (VFIO-pinned or hugetlb): place them explicitly",
                p.unplaced_strict.join(", ")
            ),
        )
    } else if !p.unknown_strict.is_empty() {
        Outcome::unknown(
            "host",
            format!(
                "NUMA balancing is on; placement of {} (VFIO or hugetlb) could not be read",
                p.unknown_strict.join(", ")
            ),
        )
    } else {
        Outcome::pass(
            "host",
            "NUMA balancing is on and every VM it cannot help (VFIO, hugetlb) is explicitly placed",
        )
    }
}

/// Balancing off: every VM must be placed; a persistent setting that enables it is pending.
fn when_off(ctx: &Ctx, p: &Placed) -> Outcome {
    if !p.unplaced_strict.is_empty() || !p.unplaced.is_empty() {
        let mut o = Outcome::warn(
            "host",
            format!(
                "NUMA balancing is off and {} not placed on one node: nothing keeps their memory local",
                [p.unplaced_strict.clone(), p.unplaced.clone()].concat().join(", ")
                    + if p.unplaced_strict.len() + p.unplaced.len() == 1 { " is" } else { " are" }
            ),
        );
        let configured = ctx
            .persistent
            .sysctl("kernel.numa_balancing")
            .filter(|(_, v)| v.trim() == "1" || v.trim() == "3")
            .or_else(|| {
                ctx.persistent.cmdlines.iter().find_map(|(p, c)| {
                    (c.value("numa_balancing") == Some("enable"))
                        .then(|| (p.clone(), "enable".into()))
                })
            });
        if let Some((p, v)) = configured {
            o = o.pending(true).ev(p.clone(), v.clone(), "");
            o.message.push_str(&format!(
                "; {p} already enables it ({v}): apply it (sysctl --system) or reboot"
            ));
        }
        o
    } else if !p.unknown.is_empty() {
        Outcome::unknown(
            "host",
            format!(
                "NUMA balancing is off; placement of {} could not be read",
                p.unknown.join(", ")
            ),
        )
    } else if ctx.host.vms.is_empty() {
        Outcome::info(
            "host",
            "NUMA balancing is off and no VM runs: future VMs must be placed by hand",
        )
    } else {
        Outcome::pass(
            "host",
            "NUMA balancing is off and every VM is explicitly placed",
        )
    }
}
