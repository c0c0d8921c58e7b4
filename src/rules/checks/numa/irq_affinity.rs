//! host.irq.affinity: the interrupts of devices VMs use are served on those VMs' nodes.
use super::{list, parse_list, single_node};
use crate::rules::context::Ctx;
use crate::rules::facts::device_nodes::{vm_devices, DevNode};
use crate::rules::facts::irqs::{
    affinity, device_irqs, requested, requested_path, DeviceIrqs, ANY_IRQ,
};
use crate::rules::facts::placement::{home_node, nohz_full_set};
use crate::rules::outcome::Outcome;
use crate::vocab::Target;
use std::collections::{BTreeMap, BTreeSet};

/// The VMs using a PCI function (with their home nodes) and the function's own node.
pub(super) type DevUse = (Vec<(String, Option<u32>)>, Option<u32>);

/// Stray interrupts per device whose requested affinity the evidence names (an MSI-X device
/// has up to a few hundred; the evidence stays bounded).
pub(super) const MAX_IRQ_TARGETS: usize = 64;

pub(super) fn irq_affinity(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = single_node(ctx, "host") {
        return vec![o];
    }
    let (devs, unresolved) = devices_in_use(ctx);
    let nohz = nohz_full_set(ctx).unwrap_or_default();
    let node_cpus = ctx.node_cpus();
    let mut out: Vec<Outcome> = devs
        .iter()
        .map(|(bdf, (users, dev_node))| judge_device(ctx, bdf, users, *dev_node, &nohz, &node_cpus))
        .collect();
    if !unresolved.is_empty() {
        out.push(Outcome::unknown(
            "host",
            format!(
                "host devices of some VMs could not be identified: {}",
                unresolved.join("; ")
            ),
        ));
    }
    if out.is_empty() {
        out.push(Outcome::na(
            "host",
            "no VM uses a host NIC or PCI device whose interrupts kvmaudit can follow (disk queues are kernel-managed)",
        ));
    }
    out
}

/// BDF → (the VMs using it with their home node, the device's node), and the devices that
/// could not be identified.
fn devices_in_use(ctx: &Ctx) -> (BTreeMap<String, DevUse>, Vec<String>) {
    // BDF → (users with their home node, device node)
    let mut devs: BTreeMap<String, DevUse> = BTreeMap::new();
    let mut unresolved = Vec::new();
    for vm in &ctx.host.vms {
        let home = home_node(ctx, vm).map(|h| h.node);
        for d in vm_devices(ctx, vm) {
            if d.suffix.starts_with("drive:") {
                continue;
            }
            let dev_node = match &d.node {
                DevNode::Node(n, _, _) => Some(*n),
                DevNode::NoNode(_) => None,
                DevNode::Unknown(w) => {
                    unresolved.push(format!("{}/{}: {w}", vm.name(), d.suffix));
                    continue;
                }
                DevNode::Virtual(_) => continue,
            };
            for b in d.bdfs {
                let e = devs.entry(b).or_insert((Vec::new(), dev_node));
                e.0.push((vm.name(), home));
            }
        }
    }
    (devs, unresolved)
}

/// The node a device's interrupts belong on, and why that one.
fn reference_node(users: &[(String, Option<u32>)], dev_node: Option<u32>) -> Option<(u32, String)> {
    let homes: BTreeSet<Option<u32>> = users.iter().map(|(_, h)| *h).collect();
    match (homes.iter().next(), homes.len()) {
        (Some(Some(h)), 1) => Some((*h, "the node of the VM using it".to_string())),
        _ => dev_node.map(|n| {
            (
                n,
                "the device's own node (its VMs are not on one node)".to_string(),
            )
        }),
    }
}

/// The device's interrupts sorted by where they may fire.
#[derive(Default)]
struct Sorted {
    /// (source path, CPU list, IRQ) of those that may fire outside the allowed CPUs.
    bad: Vec<(String, String, u32)>,
    unreadable: Vec<String>,
    good: usize,
}

fn sort_irqs(ctx: &Ctx, irqs: &[u32], allowed: &BTreeSet<u32>) -> Sorted {
    let mut s = Sorted::default();
    for irq in irqs {
        let (src, val) = match affinity(ctx, *irq) {
            Ok(a) => a,
            Err(why) => {
                s.unreadable.push(format!("{irq} ({why})"));
                continue;
            }
        };
        match parse_list(&val) {
            Some(set) if !set.is_empty() && set.is_subset(allowed) => s.good += 1,
            Some(_) => s.bad.push((src, val, *irq)),
            None => s.unreadable.push(format!("{irq} (unparsable {val:?})")),
        }
    }
    s
}

/// One PCI function: its MSI/MSI-X interrupts stay on the node of the VM using it (or the
/// device's own node), on housekeeping CPUs when nohz_full is active.
fn judge_device(
    ctx: &Ctx,
    bdf: &str,
    users: &[(String, Option<u32>)],
    dev_node: Option<u32>,
    nohz: &BTreeSet<u32>,
    node_cpus: &BTreeMap<u32, BTreeSet<u32>>,
) -> Outcome {
    let t = Target::host_device(bdf);
    let names: Vec<String> = users.iter().map(|(n, _)| n.clone()).collect();
    let Some((rnode, rhow)) = reference_node(users, dev_node) else {
        return Outcome::unknown(
            t,
            format!(
                "used by {}: neither the VM's node nor the device's node is known",
                names.join(", ")
            ),
        );
    };
    let Some(cpus) = node_cpus.get(&rnode) else {
        return Outcome::unknown(t, format!("node {rnode} has no CPU list"));
    };
    let hk: BTreeSet<u32> = cpus.difference(nohz).copied().collect();
    let allowed = if hk.is_empty() { cpus.clone() } else { hk };
    let DeviceIrqs { dir: msi_dir, irqs } = device_irqs(ctx, bdf);
    let irqs: Vec<u32> = match irqs {
        Ok(irqs) => irqs,
        Err(None) => {
            return Outcome::na(
                t,
                format!("{bdf} has no MSI/MSI-X interrupts allocated (device idle or using INTx)"),
            )
            .ev(msi_dir, "absent", "");
        }
        Err(Some(why)) => {
            return Outcome::unknown(t, format!("{msi_dir}: {why}"));
        }
    };
    if irqs.is_empty() {
        return Outcome::na(t, format!("{bdf} has no MSI/MSI-X interrupts allocated"))
            .ev(msi_dir, "empty", "");
    }
    let sorted = sort_irqs(ctx, &irqs, &allowed);
    let scope = if nohz.is_empty() {
        format!("node {rnode} CPUs {}", list(&allowed))
    } else {
        format!("node {rnode} housekeeping CPUs {}", list(&allowed))
    };
    let o = if !sorted.bad.is_empty() {
        Outcome::warn(
            t,
            format!(
                "{} of {} interrupts of {bdf} (used by {}) may fire outside {scope}, {rhow}",
                sorted.bad.len(),
                irqs.len(),
                names.join(", ")
            ),
        )
    } else if sorted.good == 0 {
        Outcome::unknown(
            t,
            format!(
                "affinity of {bdf}'s interrupts unreadable: {}",
                sorted.unreadable.join(", ")
            ),
        )
    } else {
        Outcome::pass(
            t,
            format!(
                "all {} readable interrupts of {bdf} (used by {}) stay on {scope}",
                sorted.good,
                names.join(", ")
            ),
        )
    };
    irq_evidence(ctx, o, &msi_dir, &irqs, &sorted.bad, &allowed)
}

/// The device's interrupts, the stray ones' affinity and what `fix` should write.
fn irq_evidence(
    ctx: &Ctx,
    o: Outcome,
    msi_dir: &str,
    irqs: &[u32],
    bad: &[(String, String, u32)],
    allowed: &BTreeSet<u32>,
) -> Outcome {
    let mut o = o.ev(
        msi_dir,
        format!(
            "IRQs {}",
            irqs.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
        "",
    );
    for (src, val, _) in bad.iter().take(8) {
        o = o.ev(src.clone(), val.clone(), list(allowed));
    }
    if bad.len() > 8 {
        o = o.ev(
            ANY_IRQ,
            format!("{} more outside", bad.len() - 8),
            list(allowed),
        );
    }
    // What to write where: the requested affinity of each stray interrupt (the effective
    // list the verdict reads is the kernel's choice within it), for `fix` to set.
    for (src, _, irq) in bad.iter().take(MAX_IRQ_TARGETS) {
        let smp = requested_path(*irq);
        if *src == smp {
            continue;
        }
        o = o.ev(smp, requested(ctx, *irq), list(allowed));
    }
    for (_, val, irq) in bad.iter().take(MAX_IRQ_TARGETS) {
        o = o.datum(crate::vocab::Datum::IrqAffinity {
            irq: *irq,
            observed: val.clone(),
            expected: list(allowed),
        });
    }
    o
}
