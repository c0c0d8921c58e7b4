//! qemu.qat.passthrough: each VM gets its QAT VF through vfio, on the VM's NUMA node.

use crate::model::host::Vm;
use crate::report::target::Target;
use crate::rules::context::Ctx;
use crate::rules::facts::pci_function::{iommu_group, reported_numa_node};
use crate::rules::facts::qat::{base, is_vf, pf_of, qat_refs_of, QatRef, PCI};
use crate::rules::outcome::Outcome;
use crate::rules::units::VmUnit;

/// `numa_node` of a function, falling back to its PF's when firmware reports -1.
fn numa_node_of(ctx: &Ctx, bdf: &str) -> (Option<u32>, String) {
    let read = |b: &str| reported_numa_node(ctx, b);
    match read(bdf) {
        Some(n) if n >= 0 => (u32::try_from(n).ok(), format!("numa_node {n}")),
        other => {
            let pf = pf_of(ctx, bdf);
            match pf.as_deref().and_then(read) {
                Some(n) if n >= 0 => (
                    u32::try_from(n).ok(),
                    format!("numa_node {n} (from its PF {})", pf.unwrap_or_default()),
                ),
                _ => (
                    None,
                    match other {
                        Some(n) => format!("numa_node {n}: firmware gives no proximity"),
                        None => "numa_node not readable".into(),
                    },
                ),
            }
        }
    }
}

pub(super) fn qat_passthrough(ctx: &Ctx, u: &VmUnit) -> Outcome {
    let vm = u.vm;
    let target = u.target.clone();
    let refs = qat_refs_of(ctx, vm);
    let mine: Vec<&QatRef> = refs.iter().collect();
    if mine.is_empty() {
        return Outcome::na(
            &target,
            if vm.model.vfio_devices.is_empty() {
                "no vfio-pci device"
            } else {
                "none of its vfio-pci devices is a QAT function"
            },
        );
    }
    passthrough_one(ctx, vm, &target, &mine)
}

/// Where the VM's vCPUs run, for locality.
enum VmSide {
    Node(u32),
    /// Guest NUMA nodes each bound to one of these host nodes.
    BoundNodes(std::collections::BTreeSet<u32>),
    Spans,
    Unknown(String),
}

fn passthrough_one(ctx: &Ctx, vm: &Vm, target: &Target, mine: &[&QatRef]) -> Outcome {
    let vm_node = ctx.facts(vm).cpu_node;
    let single_node = ctx.flags.multi_node == Some(false);
    let vm_side = vm_side(ctx, vm);
    let fds = ctx
        .process(vm)
        .and_then(|p| p.fds.as_ref())
        .and_then(|f| f.get());
    let mut worst = 0u8; // 0 pass, 1 warn, 2 unknown
    let mut notes = Vec::new();
    let mut evidence = Vec::new();
    for r in mine {
        let kind = if is_vf(ctx, &r.bdf) { "VF" } else { "PF" };
        if !r.exists {
            worst = worst.max(2);
            notes.push(format!(
                "{} does not exist on the host (see host.qat.sriov)",
                r.bdf
            ));
            evidence.push((PCI.to_string(), format!("{} absent", r.bdf), String::new()));
            continue;
        }
        let (node, node_obs) = numa_node_of(ctx, &r.bdf);
        evidence.push((
            format!("{}/numa_node", base(&r.bdf)),
            format!("{kind} {}: {node_obs}", r.bdf),
            vm_node.map_or_else(String::new, |n| format!("numa_node {n} (the VM's node)")),
        ));
        if single_node {
            continue;
        }
        if let Some((level, note)) = locality(&r.bdf, node, &vm_side) {
            worst = worst.max(level);
            notes.push(note);
        }
        if let Some(group) = iommu_group(ctx, &r.bdf) {
            if let Some(list) = fds {
                let want = format!("/dev/vfio/{group}");
                let open = list.contains(&want);
                evidence.push((
                    format!("/proc/{}/fd", vm.pid.unwrap_or_default()),
                    if open {
                        format!("{want} open")
                    } else {
                        format!("{want} not open")
                    },
                    want,
                ));
            }
        }
    }
    let names: Vec<String> = mine
        .iter()
        .map(|r| {
            format!(
                "{}{}",
                r.bdf,
                r.dev
                    .id
                    .as_deref()
                    .map(|i| format!(" ({i})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    let what = format!(
        "{} QAT function(s) assigned: {}",
        mine.len(),
        names.join(", ")
    );
    let o = match worst {
        0 if single_node => Outcome::pass(target, format!("{what}; single NUMA node host")),
        0 => Outcome::pass(
            target,
            match &vm_side {
                VmSide::BoundNodes(nodes) => format!(
                    "{what}, on host nodes its guest NUMA nodes are bound to ({})",
                    crate::parse::cpulist::format(nodes)
                ),
                _ => format!(
                    "{what}, on the VM's node {}",
                    vm_node.map_or_else(|| "?".into(), |n| n.to_string())
                ),
            },
        ),
        1 => Outcome::warn(
            target,
            format!(
                "{what}; remote: {} (every crypto request crosses the socket interconnect)",
                notes.join("; ")
            ),
        ),
        _ => Outcome::unknown(target, format!("{what}; {}", notes.join("; "))),
    };
    evidence
        .into_iter()
        .fold(o, |o, (s, obs, exp)| o.ev(s, obs, exp))
        .ev(
            format!("{} -device vfio-pci", vm.source),
            names.join(", "),
            "",
        )
}

/// Where the VM's vCPUs run, from the host's nodes and the VM's thread placement.
fn vm_side(ctx: &Ctx, vm: &Vm) -> VmSide {
    let facts = ctx.facts(vm);
    match (&ctx.host.nodes, facts.threads.as_ref(), facts.cpu_node) {
        (None, _, _) => VmSide::Unknown("the host's NUMA nodes could not be read".into()),
        (_, _, Some(n)) => VmSide::Node(n),
        (_, None, _) => VmSide::Unknown("the VM's vCPU placement could not be read".into()),
        (_, Some(t), _) if t.vcpus.is_empty() => VmSide::Unknown(
            "no vCPU thread is identifiable ('CPU n/KVM' names need debug-threads=on)".into(),
        ),
        _ => match facts.bound_host_nodes() {
            Some(nodes) => VmSide::BoundNodes(nodes),
            None => VmSide::Spans,
        },
    }
}

/// Function `bdf` on host node `node` against where the VM runs: `None` when local, else the
/// severity (1 remote, 2 unknown) and why.
fn locality(bdf: &str, node: Option<u32>, vm_side: &VmSide) -> Option<(u8, String)> {
    match (node, vm_side) {
        (_, VmSide::Unknown(why)) => Some((2, why.clone())),
        (None, _) => Some((2, format!("the NUMA node of {bdf} is not known"))),
        (Some(d), VmSide::Node(v)) if d == *v => None,
        (Some(d), VmSide::Node(v)) => Some((1, format!("{bdf} is on node {d}, the VM on node {v}"))),
        (Some(d), VmSide::BoundNodes(nodes)) if nodes.contains(&d) => None,
        (Some(d), VmSide::BoundNodes(nodes)) => Some((
            1,
            format!(
                "{bdf} is on node {d}, none of the host nodes ({}) the VM's guest NUMA nodes are bound to",
                crate::parse::cpulist::format(nodes)
            ),
        )),
        (Some(d), VmSide::Spans) => Some((
            1,
            format!("{bdf} is on node {d}, but the VM's vCPUs are not confined to one node"),
        )),
    }
}
