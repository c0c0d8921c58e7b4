//! host.irq.affinity: the interrupts of devices VMs use are served on those VMs' nodes.
use super::{list, parse_list, single_node, PCI};
use crate::rules::context::{Ctx, Got};
use crate::rules::facts::device_nodes::{vm_devices, DevNode};
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
    let homes: BTreeSet<Option<u32>> = users.iter().map(|(_, h)| *h).collect();
    let reference = match (homes.iter().next(), homes.len()) {
        (Some(Some(h)), 1) => Some((*h, "the node of the VM using it".to_string())),
        _ => dev_node.map(|n| {
            (
                n,
                "the device's own node (its VMs are not on one node)".to_string(),
            )
        }),
    };
    let names: Vec<String> = users.iter().map(|(n, _)| n.clone()).collect();
    let Some((rnode, rhow)) = reference else {
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
    let msi_dir = format!("{PCI}/{bdf}/msi_irqs");
    let irqs: Vec<u32> = match ctx.dir(&msi_dir) {
        Ok(names) => names.iter().filter_map(|n| n.parse().ok()).collect(),
        Err(None) => {
            return Outcome::na(
                t,
                format!("{bdf} has no MSI/MSI-X interrupts allocated (device idle or using INTx)"),
            )
            .ev(msi_dir, "absent", "");
        }
        Err(Some(e)) => {
            return Outcome::unknown(t, format!("{msi_dir}: {}", e.describe()));
        }
    };
    if irqs.is_empty() {
        return Outcome::na(t, format!("{bdf} has no MSI/MSI-X interrupts allocated"))
            .ev(msi_dir, "empty", "");
    }
    let mut bad = Vec::new();
    let mut unreadable = Vec::new();
    let mut good = 0usize;
    for irq in &irqs {
        let eff = format!("/proc/irq/{irq}/effective_affinity_list");
        let smp = format!("/proc/irq/{irq}/smp_affinity_list");
        let (src, val) = match ctx.get(&eff) {
            Got::Val(v) if !v.trim().is_empty() => (eff, v.trim().to_string()),
            _ => match ctx.get(&smp) {
                Got::Val(v) => (smp, v.trim().to_string()),
                other => {
                    unreadable.push(format!("{irq} ({})", other.why()));
                    continue;
                }
            },
        };
        match parse_list(&val) {
            Some(set) if !set.is_empty() && set.is_subset(&allowed) => good += 1,
            Some(_) => bad.push((src, val, *irq)),
            None => unreadable.push(format!("{irq} (unparsable {val:?})")),
        }
    }
    let scope = if nohz.is_empty() {
        format!("node {rnode} CPUs {}", list(&allowed))
    } else {
        format!("node {rnode} housekeeping CPUs {}", list(&allowed))
    };
    let mut o = if !bad.is_empty() {
        Outcome::warn(
            t,
            format!(
                "{} of {} interrupts of {bdf} (used by {}) may fire outside {scope}, {rhow}",
                bad.len(),
                irqs.len(),
                names.join(", ")
            ),
        )
    } else if good == 0 {
        Outcome::unknown(
            t,
            format!(
                "affinity of {bdf}'s interrupts unreadable: {}",
                unreadable.join(", ")
            ),
        )
    } else {
        Outcome::pass(
            t,
            format!(
                "all {good} readable interrupts of {bdf} (used by {}) stay on {scope}",
                names.join(", ")
            ),
        )
    };
    o = o.ev(
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
        o = o.ev(src.clone(), val.clone(), list(&allowed));
    }
    if bad.len() > 8 {
        o = o.ev(
            "/proc/irq/*",
            format!("{} more outside", bad.len() - 8),
            list(&allowed),
        );
    }
    // What to write where: the requested affinity of each stray interrupt (the effective
    // list the verdict reads is the kernel's choice within it), for `fix` to set.
    for (src, _, irq) in bad.iter().take(MAX_IRQ_TARGETS) {
        let smp = format!("/proc/irq/{irq}/smp_affinity_list");
        if *src == smp {
            continue;
        }
        let cur = ctx.get(&smp).val().map_or("?", str::trim).to_string();
        o = o.ev(smp, cur, list(&allowed));
    }
    for (_, val, irq) in bad.iter().take(MAX_IRQ_TARGETS) {
        o = o.datum(crate::vocab::Datum::IrqAffinity {
            irq: *irq,
            observed: val.clone(),
            expected: list(&allowed),
        });
    }
    o
}
