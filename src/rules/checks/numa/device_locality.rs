//! qemu.numa.device-locality: the host devices a VM uses (VFIO functions, NIC uplinks,
//! disks) sit on the VM's home node.
use super::{guest_nodes_on, list};
use crate::rules::context::Ctx;
use crate::rules::facts::device_nodes::{Dev, DevNode};
use crate::rules::facts::placement::{cpu_place, home_node, CpuPlace};
use crate::rules::outcome::Outcome;
use crate::rules::units::DeviceUnit;

pub(super) fn device_locality(ctx: &Ctx, u: &DeviceUnit) -> Outcome {
    let vm = u.vm;
    let place = match cpu_place(ctx, vm) {
        CpuPlace::Unknown(why) => match home_node(ctx, vm) {
            Some(h) => CpuPlace::One(h.node),
            None => CpuPlace::Unknown(why),
        },
        p => p,
    };
    // A VM whose guest nodes are bound 1:1 to host nodes has a node per guest node: a
    // device on any of them is local to the guest node bound there.
    let bound = ctx.facts(vm).bound_guest_nodes();
    let Dev {
        target: t,
        what,
        node,
        device_id,
        ..
    } = &u.dev;
    // The guest node the guest sees the device on, where it is told (expander bus).
    let guest_node = device_id
        .as_deref()
        .and_then(|id| vm.model.guest_numa_node_of(id));
    let vm_obs = match &place {
        CpuPlace::One(h) => format!("node {h}"),
        CpuPlace::Spans(s) => format!("nodes {}", list(s)),
        CpuPlace::Unknown(w) => format!("unknown ({w})"),
    };
    let o = match &node {
        DevNode::Virtual(w) => Outcome::na(t, format!("{what}: {w}")),
        DevNode::NoNode(w) => {
            Outcome::na(t, format!("{what}: the device reports no NUMA node ({w})"))
        }
        DevNode::Unknown(w) => Outcome::unknown(t, format!("{what}: {w}")),
        DevNode::Node(d, _, how) => {
            let o = match &place {
                CpuPlace::One(h) if h == d => Outcome::pass(
                    t,
                    format!("{what} is on node {d}, the VM's node"),
                ),
                CpuPlace::One(h) => Outcome::warn(
                    t,
                    format!("{what} is on node {d} but the VM runs on node {h}: every I/O crosses the interconnect"),
                ),
                CpuPlace::Spans(s) => match bound.as_ref().map(|b| guest_nodes_on(b, *d)) {
                    // The guest sees it on a guest node bound to another host node.
                    Some(_) if guest_node.is_some_and(|g| bound.as_ref().and_then(|b| b.get(&g)) != Some(d)) => Outcome::warn(
                        t,
                        format!(
                            "{what} is on host node {d}, but the guest sees it on guest NUMA node {}, which is bound to host node {}: its I/O crosses the interconnect",
                            guest_node.unwrap_or_default(),
                            guest_node.and_then(|g| bound.as_ref().and_then(|b| b.get(&g))).map_or("?".into(), |h| h.to_string())
                        ),
                    ),
                    Some(g) if !g.is_empty() => Outcome::pass(
                        t,
                        format!(
                            "{what} is on node {d}, the host node guest NUMA node {} is bound to{}",
                            guest_node.map_or(g, |n| n.to_string()),
                            if guest_node.is_some() { ", where the guest sees it (expander bus numa_node)" } else { "" }
                        ),
                    ),
                    Some(_) => Outcome::warn(
                        t,
                        format!("{what} is on node {d}, none of the host nodes the VM's guest NUMA nodes are bound to (nodes {})", list(s)),
                    ),
                    None => Outcome::warn(
                        t,
                        format!("{what} is on node {d} but the VM is not confined to it (nodes {})", list(s)),
                    ),
                },
                CpuPlace::Unknown(w) => Outcome::unknown(
                    t,
                    format!("{what} is on node {d}; the VM's node is unknown ({w})"),
                ),
            };
            o.ev(how.clone(), format!("node {d}"), "the VM's node")
        }
    };
    o.ev(format!("{} vCPU placement", vm.source), vm_obs, "")
}
