//! host.numa.balancing: automatic NUMA balancing, judged by whether every VM is placed.
use super::single_node;
use crate::report::Status;
use crate::rules::context::{Ctx, Got};
use crate::rules::outcome::Outcome;

use super::vm_placement::{escalation, placement};

pub(super) fn numa_balancing(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = single_node(ctx, "host") {
        return vec![o];
    }
    let path = "/proc/sys/kernel/numa_balancing";
    let (on, observed) = match ctx.get(path) {
        Got::Val(v) => match v.trim().parse::<u32>() {
            Ok(n) => (n & 1 == 1, n.to_string()),
            Err(_) => {
                return vec![Outcome::unknown(
                    "host",
                    format!("{path}: unexpected {v:?}"),
                )]
            }
        },
        // Only where the kernel's other sysctls were read is the file's absence the kernel's.
        Got::Absent if matches!(ctx.get("/proc/sys/kernel/osrelease"), Got::Val(_)) => {
            (false, "absent (kernel without NUMA balancing)".to_string())
        }
        Got::Absent => {
            return vec![Outcome::unknown(
                "host",
                format!("{path} is not in this tree (nor are the kernel's other sysctls)"),
            )]
        }
        other => return vec![Outcome::unknown("host", format!("{path}: {}", other.why()))],
    };
    let mut unplaced_strict = Vec::new();
    let mut unplaced = Vec::new();
    let mut unknown = Vec::new();
    let mut unknown_strict = Vec::new();
    for vm in &ctx.host.vms {
        let p = placement(ctx, vm);
        let strict = escalation(vm).is_some();
        match p.status {
            Status::Pass => {}
            Status::Unknown if strict => {
                unknown.push(vm.name());
                unknown_strict.push(vm.name());
            }
            Status::Unknown => unknown.push(vm.name()),
            _ if strict => unplaced_strict.push(vm.name()),
            _ => unplaced.push(vm.name()),
        }
    }
    let vmstat = |k: &str| {
        ctx.text("/proc/vmstat").and_then(|t| {
            t.lines().find_map(|l| {
                let (key, v) = l.split_once(' ')?;
                (key == k).then(|| v.trim().to_string())
            })
        })
    };
    let o = if on {
        if !unplaced_strict.is_empty() {
            Outcome::warn(
                "host",
                format!(
                    "NUMA balancing is on but cannot move the memory of {} (VFIO-pinned or hugetlb): place them explicitly",
                    unplaced_strict.join(", ")
                ),
            )
        } else if !unknown_strict.is_empty() {
            Outcome::unknown(
                "host",
                format!(
                    "NUMA balancing is on; placement of {} (VFIO or hugetlb) could not be read",
                    unknown_strict.join(", ")
                ),
            )
        } else {
            Outcome::pass(
                "host",
                "NUMA balancing is on and every VM it cannot help (VFIO, hugetlb) is explicitly placed",
            )
        }
    } else if !unplaced_strict.is_empty() || !unplaced.is_empty() {
        let mut o = Outcome::warn(
            "host",
            format!(
                "NUMA balancing is off and {} not placed on one node: nothing keeps their memory local",
                [unplaced_strict.clone(), unplaced.clone()].concat().join(", ")
                    + if unplaced_strict.len() + unplaced.len() == 1 { " is" } else { " are" }
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
    } else if !unknown.is_empty() {
        Outcome::unknown(
            "host",
            format!(
                "NUMA balancing is off; placement of {} could not be read",
                unknown.join(", ")
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
    };
    let mut o = o.ev(
        path,
        observed,
        "1 with unplaceable VMs placed, or 0 with every VM placed",
    );
    if let Some(c) = ctx
        .host
        .cmdline
        .as_ref()
        .and_then(|c| c.value("numa_balancing"))
    {
        o = o.ev("/proc/cmdline", format!("numa_balancing={c}"), "");
    }
    for k in ["numa_hint_faults", "numa_pages_migrated"] {
        if let Some(v) = vmstat(k) {
            o = o.ev(format!("/proc/vmstat {k}"), v, "");
        }
    }
    vec![o]
}
