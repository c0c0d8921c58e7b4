//! host.qat.vfio-bind: every QAT function a VM references is bound to vfio-pci in a viable IOMMU group.

use super::host_applicability;
use crate::rules::context::Ctx;
use crate::rules::facts::qat::{
    driver_of, driver_override, driver_path, group_blockers, iommu_group_path, vfio_group_listed,
    vm_qat_refs, Driver, PCI, VFIO_DEV,
};
use crate::rules::outcome::Outcome;
use crate::rules::units::HostDeviceUnit;
use std::collections::BTreeSet;

/// The QAT functions the VMs reference, each once, in the order the VMs name them.
pub(super) fn referenced_functions(ctx: &Ctx) -> Vec<String> {
    let mut seen = BTreeSet::new();
    vm_qat_refs(ctx)
        .iter()
        .filter(|r| seen.insert(r.bdf.clone()))
        .map(|r| r.bdf.clone())
        .collect()
}

/// Not a per-function question: no QAT, an unreadable device list, or no VM that uses QAT.
pub(super) fn qat_vfio_bind_moot(ctx: &Ctx) -> Option<Vec<Outcome>> {
    host_applicability(ctx, vm_qat_refs(ctx).is_empty())
}

/// A QAT function some VM references is bound to vfio-pci in a viable group.
pub(super) fn qat_vfio_bind(ctx: &Ctx, u: &HostDeviceUnit) -> Outcome {
    let refs = vm_qat_refs(ctx);
    let target = u.target.clone();
    let Some(r) = refs.iter().find(|r| r.bdf == u.bdf) else {
        return Outcome::unknown(target, "no VM references this function any more");
    };
    let users: Vec<String> = refs
        .iter()
        .filter(|x| x.bdf == r.bdf)
        .map(|x| x.vm.name())
        .collect();
    let drv_path = driver_path(&r.bdf);
    if !r.exists {
        return Outcome::fail(
            &target,
            format!(
                "{} is referenced by {} but does not exist: create the VFs first (host.qat.sriov)",
                r.bdf,
                users.join(", ")
            ),
        )
        .ev(
            PCI,
            format!("{} absent", r.bdf),
            "present and bound to vfio-pci",
        );
    }
    let drv = driver_of(ctx, &r.bdf);
    let o = match &drv {
        Driver::Bound(d) if d == "vfio-pci" => match group_blockers(ctx, &r.bdf) {
            Ok((g, b)) if b.is_empty() => Outcome::pass(
                &target,
                format!("bound to vfio-pci; IOMMU group {g} is viable"),
            )
            .ev(iommu_group_path(&r.bdf), g.clone(), "")
            .ev(
                VFIO_DEV,
                match vfio_group_listed(ctx, &g) {
                    Some(true) => format!("{VFIO_DEV}/{g} present"),
                    Some(false) => format!("{VFIO_DEV}/{g} absent"),
                    None => "unreadable".into(),
                },
                format!("{VFIO_DEV}/{g}"),
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
    if let Some((path, ov)) = driver_override(ctx, &r.bdf) {
        o = o.ev(path, ov, "vfio-pci");
    }
    o.ev("QEMU argv -device vfio-pci", users.join(", "), "")
}
