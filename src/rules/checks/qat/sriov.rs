//! host.qat.sriov: each QAT PF a VM needs has SR-IOV VFs.

use super::host_applicability;
use crate::rules::context::{Ctx, Got};
use crate::rules::facts::qat::{
    domain_bus, driver_of, driver_path, pf_of, sriov, vm_qat_refs, QatRef, Sriov,
};
use crate::rules::outcome::Outcome;
use crate::rules::units::HostDeviceUnit;

/// Per PF: VFs exist (pass), none while a VM expects one of this PF (fail), or nobody needs
/// them (not applicable).
pub(super) fn qat_sriov(ctx: &Ctx, u: &HostDeviceUnit) -> Outcome {
    let refs = vm_qat_refs(ctx);
    let (pf, target) = (u.bdf.clone(), u.target.clone());
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
    let Sriov {
        numvfs_path,
        numvfs,
        total,
        autoprobe,
    } = sriov(ctx, &pf);
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
        .ev(driver_path(&pf), driver_of(ctx, &pf).show(), "");
    if let Some((path, a)) = autoprobe {
        o = o.ev(path, a, "0 keeps new VFs unbound for vfio-pci");
    }
    if !user_list.is_empty() {
        o = o.ev("QEMU argv -device vfio-pci", user_list, "");
    }
    o
}

/// Not a per-PF question: no QAT, an unreadable device list, or no VM that uses QAT.
pub(super) fn qat_sriov_moot(ctx: &Ctx) -> Option<Vec<Outcome>> {
    host_applicability(ctx, vm_qat_refs(ctx).is_empty())
}
