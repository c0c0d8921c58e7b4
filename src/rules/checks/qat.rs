//! Intel QuickAssist passthrough (guide §5): SR-IOV VFs on the PF, VFs owned by vfio-pci in
//! viable IOMMU groups, and each VM's VF on the VM's NUMA node. The QAT PCIe link is judged in
//! `bios.rs` (hw.qat.pcie-link) because it is a firmware/slot setting.

use super::CheckFn;
use crate::model::host::Vm;
use crate::report::target::Target;
use crate::rules::context::{Ctx, Got};
use crate::rules::facts::qat::{
    base, domain_bus, driver_of, is_vf, last, pf_of, qat_pfs, vm_qat_refs, Driver, QatRef, PCI,
    VIABLE_DRIVERS,
};
use crate::rules::outcome::Outcome;
use crate::snapshot::Fact;
use std::collections::BTreeSet;

pub const CHECKS: &[(&str, CheckFn)] = &[
    ("host.qat.sriov", qat_sriov),
    ("host.qat.vfio-bind", qat_vfio_bind),
    ("qemu.qat.passthrough", qat_passthrough),
];

/// Not applicable (or unknown) on the host when there is no QAT or no VM uses one.
fn host_applicability(ctx: &Ctx, refs_empty: bool) -> Option<Vec<Outcome>> {
    match ctx.flags.qat_present {
        Some(false) => Some(vec![Outcome::na("host", "no QAT device on this host").ev(
            PCI,
            "no function with a QAT id or a qat_* driver",
            "",
        )]),
        None => Some(vec![Outcome::unknown(
            "host",
            format!(
                "the PCI device list could not be read ({})",
                match ctx.dir(PCI) {
                    Err(Some(e)) => e.describe(),
                    _ => "not collected".into(),
                }
            ),
        )]),
        Some(true) if refs_empty => Some(vec![Outcome::na(
            "host",
            "QAT is present but no VM references a QAT function through vfio-pci",
        )
        .ev(
            "QEMU argv -device vfio-pci",
            "no QAT function assigned to any VM",
            "",
        )]),
        Some(true) => None,
    }
}

// ---------------------------------------------------------------------------------------------
// host.qat.sriov

/// Per PF: VFs exist (pass), none while a VM expects one of this PF (fail), or nobody needs
/// them (not applicable).
fn qat_sriov(ctx: &Ctx) -> Vec<Outcome> {
    let refs = vm_qat_refs(ctx);
    if let Some(o) = host_applicability(ctx, refs.is_empty()) {
        return o;
    }
    let mut out = Vec::new();
    for pf in qat_pfs(ctx) {
        let target = format!("host/dev:{pf}");
        let users: Vec<&QatRef> = refs
            .iter()
            .filter(|r| {
                r.bdf != pf
                    && if r.exists {
                        pf_of(ctx, &r.bdf).as_deref() == Some(pf.as_str())
                    } else {
                        domain_bus(&r.bdf) == domain_bus(&pf)
                    }
            })
            .collect();
        let whole = refs.iter().any(|r| r.bdf == pf);
        let numvfs_path = format!("{}/sriov_numvfs", base(&pf));
        let total = ctx.text(&format!("{}/sriov_totalvfs", base(&pf)));
        let numvfs = ctx.get(&numvfs_path);
        let user_list = users
            .iter()
            .map(|r| format!("{} → {}", r.vm.name(), r.bdf))
            .collect::<Vec<_>>()
            .join(", ");
        let o = if whole {
            Outcome::na(
                &target,
                "the whole PF is passed through to a VM: no VFs are needed",
            )
        } else {
            match numvfs {
                Got::Val(v) => match v.trim().parse::<u32>() {
                    Ok(n) if n > 0 => Outcome::pass(
                        &target,
                        format!(
                            "{n} VF(s) created{}",
                            total.map(|t| format!(" of {t}")).unwrap_or_default()
                        ),
                    ),
                    Ok(_) if !users.is_empty() => Outcome::fail(
                        &target,
                        format!("no VFs on this PF, but VMs expect one ({user_list})"),
                    ),
                    Ok(_) => Outcome::na(&target, "no VFs, and no VM expects one of this PF"),
                    Err(_) => Outcome::unknown(
                        &target,
                        format!("sriov_numvfs is not a number: '{v}'"),
                    ),
                },
                Got::Unreadable(e) => Outcome::unknown(
                    &target,
                    format!("sriov_numvfs could not be read ({})", e.describe()),
                ),
                Got::Absent | Got::NotCollected if !users.is_empty() => Outcome::fail(
                    &target,
                    format!(
                        "the PF offers no SR-IOV (no sriov_numvfs: is its qat driver bound?), but VMs expect a VF ({user_list})"
                    ),
                ),
                Got::Absent | Got::NotCollected => {
                    Outcome::na(&target, "the PF offers no SR-IOV and no VM expects a VF of it")
                }
            }
        };
        let mut o = o;
        if let (crate::report::Status::Fail, Some(Ok(0))) =
            (o.status, numvfs.val().map(|v| v.trim().parse()))
        {
            o = o.datum(crate::report::Datum::SriovVfs {
                device: pf.clone(),
                observed: 0,
                total: total.and_then(|t| t.trim().parse().ok()),
            });
        }
        let mut o = o
            .ev(numvfs_path, numvfs.why(), "> 0 when a VM uses a VF")
            .ev(
                format!("{}/driver", base(&pf)),
                driver_of(ctx, &pf).show(),
                "",
            );
        let autoprobe = format!("{}/sriov_drivers_autoprobe", base(&pf));
        if let Some(a) = ctx.text(&autoprobe) {
            o = o.ev(autoprobe, a, "0 keeps new VFs unbound for vfio-pci");
        }
        if !user_list.is_empty() {
            o = o.ev("QEMU argv -device vfio-pci", user_list, "");
        }
        out.push(o);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// host.qat.vfio-bind

/// Why the IOMMU group of `bdf` is not viable for vfio: members bound to other drivers.
/// `Err` when the group is unknown.
fn group_blockers(ctx: &Ctx, bdf: &str) -> Result<(String, Vec<String>), String> {
    let link = format!("{}/iommu_group", base(bdf));
    let group = match ctx.snap.links.get(&link) {
        Some(Fact::Value(t)) => last(t).to_string(),
        Some(Fact::Error(e)) if e.kind != crate::snapshot::ReadErrorKind::Absent => {
            return Err(format!("iommu_group unreadable ({})", e.describe()))
        }
        _ => return Err("no iommu_group: DMA remapping is off (see host.iommu.enabled)".into()),
    };
    // The group's own member list; else every device whose iommu_group link names it.
    let members: Vec<String> = match ctx.dir(&format!("/sys/kernel/iommu_groups/{group}/devices")) {
        Ok(m) => m.to_vec(),
        Err(_) => ctx
            .dir(PCI)
            .map_err(|_| "PCI device list unreadable".to_string())?
            .iter()
            .filter(|other| {
                ctx.link(&format!("{}/iommu_group", base(other)))
                    .is_some_and(|t| last(t) == group)
            })
            .cloned()
            .collect(),
    };
    let mut blockers = Vec::new();
    for other in &members {
        if other == bdf {
            continue;
        }
        match driver_of(ctx, other) {
            Driver::Bound(d) if !VIABLE_DRIVERS.contains(&d.as_str()) => {
                blockers.push(format!("{other} bound to {d}"))
            }
            Driver::Unknown(why) => blockers.push(format!("{other}: driver {why}")),
            _ => {}
        }
    }
    Ok((group, blockers))
}

/// Every QAT function a VM references is bound to vfio-pci in a viable group.
fn qat_vfio_bind(ctx: &Ctx) -> Vec<Outcome> {
    let refs = vm_qat_refs(ctx);
    if let Some(o) = host_applicability(ctx, refs.is_empty()) {
        return o;
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for r in &refs {
        if !seen.insert(r.bdf.clone()) {
            continue;
        }
        let users: Vec<String> = refs
            .iter()
            .filter(|x| x.bdf == r.bdf)
            .map(|x| x.vm.name())
            .collect();
        let target = format!("host/dev:{}", r.bdf);
        let drv_path = format!("{}/driver", base(&r.bdf));
        if !r.exists {
            out.push(
                Outcome::fail(
                    &target,
                    format!(
                        "{} is referenced by {} but does not exist: create the VFs first (host.qat.sriov)",
                        r.bdf,
                        users.join(", ")
                    ),
                )
                .ev(PCI, format!("{} absent", r.bdf), "present and bound to vfio-pci"),
            );
            continue;
        }
        let drv = driver_of(ctx, &r.bdf);
        let o = match &drv {
            Driver::Bound(d) if d == "vfio-pci" => match group_blockers(ctx, &r.bdf) {
                Ok((g, b)) if b.is_empty() => Outcome::pass(
                    &target,
                    format!("bound to vfio-pci; IOMMU group {g} is viable"),
                )
                .ev(format!("{}/iommu_group", base(&r.bdf)), g.clone(), "")
                .ev(
                    "/dev/vfio",
                    match ctx.dir_has("/dev/vfio", &g) {
                        Some(true) => format!("/dev/vfio/{g} present"),
                        Some(false) => format!("/dev/vfio/{g} absent"),
                        None => "unreadable".into(),
                    },
                    format!("/dev/vfio/{g}"),
                ),
                Ok((g, b)) => Outcome::fail(
                    &target,
                    format!(
                        "bound to vfio-pci, but IOMMU group {g} is not viable: {} (every member must be bound to vfio-pci or unbound)",
                        b.join(", ")
                    ),
                ),
                Err(why) => Outcome::fail(
                    &target,
                    format!("bound to vfio-pci but the group cannot be used: {why}"),
                ),
            },
            Driver::Bound(d) => Outcome::fail(
                &target,
                format!(
                    "bound to the host driver {d} instead of vfio-pci, so {} cannot use it",
                    users.join(", ")
                ),
            ),
            Driver::Unbound => Outcome::warn(
                &target,
                "bound to no driver: vfio-pci must claim it before QEMU can open it (libvirt <hostdev managed='yes'> does so at VM start)",
            ),
            Driver::Unknown(why) => Outcome::unknown(
                &target,
                format!("the driver binding could not be read ({why})"),
            ),
        };
        let mut o = o.ev(drv_path, drv.show(), "vfio-pci");
        let rebind = match &drv {
            Driver::Bound(d) if d != "vfio-pci" => Some(Some(d.clone())),
            Driver::Unbound => Some(None),
            _ => None,
        };
        if let Some(observed) = rebind {
            o = o.datum(crate::report::Datum::PciDriver {
                device: r.bdf.clone(),
                observed,
                expected: "vfio-pci".into(),
            });
        }
        if let Some(ov) = ctx.text(&format!("{}/driver_override", base(&r.bdf))) {
            o = o.ev(format!("{}/driver_override", base(&r.bdf)), ov, "vfio-pci");
        }
        out.push(o.ev("QEMU argv -device vfio-pci", users.join(", "), ""));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// qemu.qat.passthrough

/// `numa_node` of a function, falling back to its PF's when firmware reports -1.
fn numa_node_of(ctx: &Ctx, bdf: &str) -> (Option<u32>, String) {
    let read = |b: &str| {
        ctx.text(&format!("{}/numa_node", base(b)))
            .and_then(|v| v.parse::<i64>().ok())
    };
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

fn qat_passthrough(ctx: &Ctx) -> Vec<Outcome> {
    let refs = vm_qat_refs(ctx);
    ctx.host
        .vms
        .iter()
        .map(|vm| {
            let target = ctx.vm_target(vm);
            let mine: Vec<&QatRef> = refs.iter().filter(|r| r.vm.index == vm.index).collect();
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
        })
        .collect()
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
    let facts = ctx.facts(vm);
    let vm_node = facts.cpu_node;
    let single_node = ctx.flags.multi_node == Some(false);
    let vm_side = match (&ctx.host.nodes, facts.threads.as_ref(), vm_node) {
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
    };
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
        match (node, &vm_side) {
            (_, VmSide::Unknown(why)) => {
                worst = worst.max(2);
                notes.push(why.clone());
            }
            (None, _) => {
                worst = worst.max(2);
                notes.push(format!("the NUMA node of {} is not known", r.bdf));
            }
            (Some(d), VmSide::Node(v)) if d == *v => {}
            (Some(d), VmSide::Node(v)) => {
                worst = worst.max(1);
                notes.push(format!("{} is on node {d}, the VM on node {v}", r.bdf));
            }
            (Some(d), VmSide::BoundNodes(nodes)) if nodes.contains(&d) => {}
            (Some(d), VmSide::BoundNodes(nodes)) => {
                worst = worst.max(1);
                notes.push(format!(
                    "{} is on node {d}, none of the host nodes ({}) the VM's guest NUMA nodes are bound to",
                    r.bdf,
                    crate::parse::cpulist::format(nodes)
                ));
            }
            (Some(d), VmSide::Spans) => {
                worst = worst.max(1);
                notes.push(format!(
                    "{} is on node {d}, but the VM's vCPUs are not confined to one node",
                    r.bdf
                ));
            }
        }
        if let Some(group) = ctx.link(&format!("{}/iommu_group", base(&r.bdf))).map(last) {
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

#[cfg(test)]
mod tests {
    use crate::report::Profile::Throughput;
    use crate::rules::testkit::{findings, status, SnapBuilder};

    const PCI: &str = "/sys/bus/pci/devices";

    /// A C62x PF at 65:00.0 with `vfs` VFs (65:01.x), each in its own group 12+i, bound to
    /// `vf_driver`.
    fn qat_host(vfs: u32, vf_driver: &str) -> SnapBuilder {
        let pf = "0000:65:00.0";
        let mut names = vec![pf.to_string()];
        let mut b = SnapBuilder::new()
            .icx("vmx")
            .topology(2, 4, 1)
            .file(&format!("{PCI}/{pf}/vendor"), "0x8086")
            .file(&format!("{PCI}/{pf}/device"), "0x37c8")
            .file(&format!("{PCI}/{pf}/numa_node"), "0")
            .file(&format!("{PCI}/{pf}/sriov_totalvfs"), "16")
            .file(&format!("{PCI}/{pf}/sriov_numvfs"), &vfs.to_string())
            .link(
                &format!("{PCI}/{pf}/driver"),
                "../../../bus/pci/drivers/c6xx",
            );
        for i in 0..vfs {
            let vf = format!("0000:65:01.{i}");
            b = b
                .file(&format!("{PCI}/{vf}/vendor"), "0x8086")
                .file(&format!("{PCI}/{vf}/device"), "0x37c9")
                .file(&format!("{PCI}/{vf}/numa_node"), "-1")
                .link(&format!("{PCI}/{vf}/physfn"), &format!("../{pf}"))
                .link(
                    &format!("{PCI}/{vf}/iommu_group"),
                    &format!("../../../kernel/iommu_groups/{}", 12 + i),
                );
            if !vf_driver.is_empty() {
                b = b.link(
                    &format!("{PCI}/{vf}/driver"),
                    &format!("../../../bus/pci/drivers/{vf_driver}"),
                );
            }
            names.push(vf);
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        b.dir(PCI, &refs).dir("/dev/vfio", &["12", "13", "vfio"])
    }

    /// A VM pinned to node `node`'s CPUs (topology 2x4x1: node0 = 0-3, node1 = 4-7).
    fn vm_on(b: SnapBuilder, host: &str, node: u32) -> SnapBuilder {
        let cpu = if node == 0 { "1" } else { "5" };
        b.vm(
            &format!("qemu-system-x86_64 -name guest=web -accel kvm -device vfio-pci,host={host},id=hostdev0"),
            &[("CPU 0/KVM", cpu, "0")],
        )
    }

    #[test]
    fn healthy_passthrough() {
        let s = vm_on(qat_host(2, "vfio-pci"), "65:01.0", 0).build();
        assert_eq!(
            status(&s, Throughput, "host.qat.sriov", "host/dev:0000:65:00.0"),
            "pass"
        );
        assert_eq!(
            status(
                &s,
                Throughput,
                "host.qat.vfio-bind",
                "host/dev:0000:65:01.0"
            ),
            "pass"
        );
        let f = findings(&s, Throughput, "qemu.qat.passthrough");
        assert_eq!(f[0].status.as_str(), "pass", "{}", f[0].message);
        // The VF's numa_node -1 fell back to its PF's node.
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.observed.contains("from its PF")));
        // VFIO with QAT escalates the IOMMU rules.
        let f = findings(&s, Throughput, "bios.vtd");
        assert_eq!(f[0].severity, crate::report::Severity::High);
    }

    #[test]
    fn remote_vf_warns() {
        let s = vm_on(qat_host(2, "vfio-pci"), "0000:65:01.1", 1).build();
        let f = findings(&s, Throughput, "qemu.qat.passthrough");
        assert_eq!(f[0].status.as_str(), "warn");
        assert!(
            f[0].message.contains("on node 0, the VM on node 1"),
            "{}",
            f[0].message
        );
        // vCPUs on both nodes.
        let s = qat_host(2, "vfio-pci")
            .vm(
                "qemu-system-x86_64 -name guest=web -device vfio-pci,host=65:01.0",
                &[("CPU 0/KVM", "0-7", "0-1")],
            )
            .build();
        assert_eq!(
            status(&s, Throughput, "qemu.qat.passthrough", "vm:web"),
            "warn"
        );
        // No identifiable vCPU thread: placement unknown.
        let s = qat_host(2, "vfio-pci")
            .vm(
                "qemu-system-x86_64 -name guest=web -device vfio-pci,host=65:01.0",
                &[("qemu-system-x86", "0-7", "0-1")],
            )
            .build();
        assert_eq!(
            status(&s, Throughput, "qemu.qat.passthrough", "vm:web"),
            "unknown"
        );
    }

    #[test]
    fn host_driver_or_bad_group_fails() {
        let s = vm_on(qat_host(2, "c6xxvf"), "65:01.0", 0).build();
        let f = findings(&s, Throughput, "host.qat.vfio-bind");
        assert_eq!(f[0].status.as_str(), "fail");
        assert!(f[0].message.contains("c6xxvf"), "{}", f[0].message);
        // Another function in the VF's group bound to a host driver: not viable.
        let s = vm_on(qat_host(2, "vfio-pci"), "65:01.0", 0)
            .link(
                &format!("{PCI}/0000:65:01.1/iommu_group"),
                "../../../kernel/iommu_groups/12",
            )
            .link(
                &format!("{PCI}/0000:65:01.1/driver"),
                "../../../bus/pci/drivers/c6xxvf",
            )
            .build();
        let f = findings(&s, Throughput, "host.qat.vfio-bind");
        let mine = f
            .iter()
            .find(|f| f.target == "host/dev:0000:65:01.0")
            .unwrap();
        assert_eq!(mine.status.as_str(), "fail");
        assert!(mine.message.contains("not viable"), "{}", mine.message);
        let s = vm_on(qat_host(2, ""), "65:01.0", 0).build();
        assert_eq!(
            status(
                &s,
                Throughput,
                "host.qat.vfio-bind",
                "host/dev:0000:65:01.0"
            ),
            "warn"
        );
    }

    #[test]
    fn group_member_list() {
        // The group's member list is read when collected: a bridge on pcieport is fine, a NIC
        // on its host driver is not.
        let t = "host/dev:0000:65:01.0";
        let s = vm_on(qat_host(2, "vfio-pci"), "65:01.0", 0)
            .dir(
                "/sys/kernel/iommu_groups/12/devices",
                &["0000:64:02.0", "0000:65:01.0"],
            )
            .link(
                &format!("{PCI}/0000:64:02.0/driver"),
                "../../../bus/pci/drivers/pcieport",
            )
            .build();
        assert_eq!(status(&s, Throughput, "host.qat.vfio-bind", t), "pass");
        let s = vm_on(qat_host(2, "vfio-pci"), "65:01.0", 0)
            .dir(
                "/sys/kernel/iommu_groups/12/devices",
                &["0000:64:00.0", "0000:65:01.0"],
            )
            .link(
                &format!("{PCI}/0000:64:00.0/driver"),
                "../../../bus/pci/drivers/ice",
            )
            .build();
        let f = findings(&s, Throughput, "host.qat.vfio-bind");
        assert_eq!(f[0].status.as_str(), "fail");
        assert!(
            f[0].message.contains("0000:64:00.0 bound to ice"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn missing_vfs_fail_sriov() {
        // The VM expects 65:01.0 but no VFs were created.
        let s = vm_on(qat_host(0, ""), "65:01.0", 0).build();
        assert_eq!(
            status(&s, Throughput, "host.qat.sriov", "host/dev:0000:65:00.0"),
            "fail"
        );
        assert_eq!(
            status(
                &s,
                Throughput,
                "host.qat.vfio-bind",
                "host/dev:0000:65:01.0"
            ),
            "fail"
        );
        assert_eq!(
            status(&s, Throughput, "qemu.qat.passthrough", "vm:web"),
            "unknown"
        );
    }

    #[test]
    fn not_applicable_without_use_or_device() {
        let s = qat_host(2, "c6xxvf")
            .vm("qemu-system-x86_64 -name guest=plain -accel kvm", &[])
            .build();
        assert_eq!(
            status(&s, Throughput, "host.qat.sriov", "host"),
            "not_applicable"
        );
        assert_eq!(
            status(&s, Throughput, "host.qat.vfio-bind", "host"),
            "not_applicable"
        );
        assert_eq!(
            status(&s, Throughput, "qemu.qat.passthrough", "vm:plain"),
            "not_applicable"
        );
        let none = SnapBuilder::new().dir(PCI, &[]).build();
        assert_eq!(
            status(&none, Throughput, "host.qat.sriov", "host"),
            "not_applicable"
        );
        let denied = SnapBuilder::new().dir_denied(PCI).build();
        assert_eq!(
            status(&denied, Throughput, "host.qat.sriov", "host"),
            "unknown"
        );
    }
}
