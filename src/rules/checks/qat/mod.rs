//! Intel QuickAssist passthrough (guide §5): SR-IOV VFs on the PF, VFs owned by vfio-pci in
//! viable IOMMU groups, and each VM's VF on the VM's NUMA node. The QAT PCIe link is judged in
//! `bios/` (hw.qat.pcie-link) because it is a firmware/slot setting.

use super::{Check, CheckFn};
use crate::rules::context::Ctx;
use crate::rules::facts::qat::{pci_listing_why, qat_pfs, PCI};
use crate::rules::outcome::Outcome;

mod passthrough;
mod sriov;
mod vfio_bind;

pub const CHECKS: &[(&str, CheckFn)] = &[
    (
        "host.qat.sriov",
        Check::host_devices(qat_pfs, sriov::qat_sriov).unless(sriov::qat_sriov_moot),
    ),
    (
        "host.qat.vfio-bind",
        Check::host_devices(vfio_bind::referenced_functions, vfio_bind::qat_vfio_bind)
            .unless(vfio_bind::qat_vfio_bind_moot),
    ),
    (
        "qemu.qat.passthrough",
        Check::vm(passthrough::qat_passthrough),
    ),
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
                pci_listing_why(ctx)
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

#[cfg(test)]
mod tests;
