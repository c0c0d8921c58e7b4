//! host.qat.vfio-bind: every QAT function a VM references is bound to vfio-pci in a viable IOMMU group.

use super::host_applicability;
use crate::rules::context::Ctx;
use crate::rules::facts::qat::{base, driver_of, last, vm_qat_refs, Driver, PCI, VIABLE_DRIVERS};
use crate::rules::outcome::Outcome;
use crate::snapshot::Fact;
use crate::vocab::Target;
use std::collections::BTreeSet;

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
pub(super) fn qat_vfio_bind(ctx: &Ctx) -> Vec<Outcome> {
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
        let target = Target::host_device(&r.bdf);
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
