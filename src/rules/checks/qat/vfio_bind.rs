//! host.qat.vfio-bind: every QAT function a VM references is bound to vfio-pci in a viable IOMMU group.

use super::host_applicability;
use crate::rules::context::Ctx;
use crate::rules::facts::qat::{
    driver_of, driver_override, driver_path, group_blockers, iommu_group_path, vfio_group_listed,
    vm_qat_refs, Driver, PCI, VFIO_DEV,
};
use crate::rules::outcome::Outcome;
use crate::vocab::Target;
use std::collections::BTreeSet;

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
        let drv_path = driver_path(&r.bdf);
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
        out.push(o.ev("QEMU argv -device vfio-pci", users.join(", "), ""));
    }
    out
}
