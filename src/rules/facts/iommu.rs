//! The kernel's IOMMU as sysfs and procfs show it: the remapping units it registered, the
//! IOMMU groups and their types, the units' capability registers, the interrupt chips in
//! `/proc/interrupts`, and the SR-IOV virtual functions among the PCI devices. The firmware's
//! ACPI tables are in [`super::platform`].

use crate::parse::{interrupts, sysfs};
use crate::rules::context::Ctx;
use crate::snapshot::ReadError;
use std::collections::{BTreeMap, BTreeSet};

/// Where the kernel registers IOMMU remapping units (dmar*, ivhd*).
pub(crate) const IOMMU_CLASS: &str = "/sys/class/iommu";
pub(crate) const IOMMU_GROUPS: &str = "/sys/kernel/iommu_groups";
pub(crate) const PCI_DEVICES: &str = "/sys/bus/pci/devices";
pub(crate) const INTERRUPTS: &str = "/proc/interrupts";

/// A directory listing: `Ok(names)`, `Err(None)` absent, `Err(Some(e))` unreadable.
pub(crate) type Listing<'a> = Result<&'a [String], Option<&'a ReadError>>;

/// The registered remapping units.
pub(crate) fn units<'a>(ctx: &Ctx<'a>) -> Listing<'a> {
    ctx.dir(IOMMU_CLASS)
}

/// The IOMMU groups.
pub(crate) fn groups<'a>(ctx: &Ctx<'a>) -> Listing<'a> {
    ctx.dir(IOMMU_GROUPS)
}

/// "identity ×3, DMA-FQ ×40" from the groups' `type` files.
pub(crate) fn group_types(ctx: &Ctx, groups: &Listing) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for g in groups.as_ref().map(|g| g.iter()).into_iter().flatten() {
        if let Some(t) = ctx.text(&format!("{IOMMU_GROUPS}/{g}/type")) {
            *by.entry(t).or_default() += 1;
        }
    }
    by.iter()
        .map(|(t, n)| format!("{t} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The PCI devices that are SR-IOV virtual functions (they have a `physfn` link); `Err` with
/// the reason when the device list could not be read.
pub(crate) fn sriov_vfs<'a>(ctx: &Ctx<'a>) -> Result<Vec<&'a str>, String> {
    let devices = match ctx.dir(PCI_DEVICES) {
        Ok(d) => d,
        Err(e) => {
            return Err(format!(
                "{PCI_DEVICES}: {}",
                e.map_or_else(|| "absent".into(), |e| e.describe())
            ))
        }
    };
    Ok(devices
        .iter()
        .filter(|d| ctx.link(&format!("{PCI_DEVICES}/{d}/physfn")).is_some())
        .map(String::as_str)
        .collect())
}

/// The interrupt chips `/proc/interrupts` names (`None` when it was not read).
pub(crate) fn irq_chips<'a>(ctx: &Ctx<'a>) -> Option<BTreeSet<&'a str>> {
    ctx.text(INTERRUPTS).map(interrupts::chips)
}

/// An Intel unit's extended capability register (`ecap`), when readable.
pub(crate) fn unit_ecap(ctx: &Ctx, unit: &str) -> Option<u64> {
    ctx.text(&format!("{IOMMU_CLASS}/{unit}/intel-iommu/ecap"))
        .and_then(sysfs::hex_u64)
}

/// An Intel unit's capability register (`cap`), when readable.
pub(crate) fn unit_cap(ctx: &Ctx, unit: &str) -> Option<u64> {
    ctx.text(&format!("{IOMMU_CLASS}/{unit}/intel-iommu/cap"))
        .and_then(sysfs::hex_u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::host::HostModel;
    use crate::report::Profile;
    use crate::rules::testkit::SnapBuilder;

    #[test]
    fn units_registers_groups_and_virtual_functions() {
        let s = SnapBuilder::new()
            .dir(IOMMU_CLASS, &["dmar0", "dmar1"])
            .file(&format!("{IOMMU_CLASS}/dmar0/intel-iommu/ecap"), "f020df\n")
            .file(&format!("{IOMMU_CLASS}/dmar1/intel-iommu/cap"), "0xzz")
            .dir(IOMMU_GROUPS, &["0", "1", "2"])
            .file(&format!("{IOMMU_GROUPS}/0/type"), "DMA-FQ")
            .file(&format!("{IOMMU_GROUPS}/1/type"), "DMA-FQ")
            .file(&format!("{IOMMU_GROUPS}/2/type"), "identity")
            .dir(PCI_DEVICES, &["0000:6b:00.0", "0000:6b:00.1"])
            .link(
                &format!("{PCI_DEVICES}/0000:6b:00.1/physfn"),
                "../0000:6b:00.0",
            )
            .file(INTERRUPTS, " 24: 0 IR-PCI-MSI 65536-edge nvme0q0\n")
            .build();
        let h = HostModel::build(&s);
        let ctx = Ctx::new(&s, &h, Profile::Throughput);
        assert_eq!(units(&ctx).unwrap(), ["dmar0", "dmar1"]);
        assert_eq!(unit_ecap(&ctx, "dmar0"), Some(0xf020df));
        assert_eq!(unit_cap(&ctx, "dmar1"), None);
        assert_eq!(group_types(&ctx, &groups(&ctx)), "DMA-FQ ×2, identity ×1");
        assert_eq!(sriov_vfs(&ctx).unwrap(), ["0000:6b:00.1"]);
        assert_eq!(
            irq_chips(&ctx).unwrap().into_iter().collect::<Vec<_>>(),
            ["IR-PCI-MSI"]
        );
        let empty = SnapBuilder::new().build();
        let h = HostModel::build(&empty);
        let ctx = Ctx::new(&empty, &h, Profile::Throughput);
        assert_eq!(sriov_vfs(&ctx).unwrap_err(), "/sys/bus/pci/devices: absent");
        assert!(irq_chips(&ctx).is_none());
    }
}
