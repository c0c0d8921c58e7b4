//! QuickAssist devices: the physical functions, their virtual functions, the drivers they are
//! bound to and the VMs that pass them through. The QAT rules and the BIOS VT-d rule read them.

use super::flags::qat_devices;
use crate::model::host::Vm;
use crate::model::vm::VfioDevice;
use crate::rules::context::{Ctx, Got};
use crate::snapshot::Fact;
use std::collections::BTreeSet;

pub(crate) const PCI: &str = "/sys/bus/pci/devices";

/// QAT virtual-function device ids (Intel); the PF ids are the others in
/// [`super::flags::QAT_DEVICE_IDS`].
pub(crate) const QAT_VF_IDS: &[&str] = &[
    "0x0443", "0x37c9", "0x19e3", "0x6f55", "0x18ef", "0x4941", "0x4943", "0x4945", "0x4947",
];

/// Driver names vfio accepts in a group besides vfio-pci itself (bridges use pcieport).
pub(crate) const VIABLE_DRIVERS: &[&str] = &["vfio-pci", "pci-stub", "pcieport"];

/// Why the PCI device list is missing (`permission denied`, `not collected`).
pub(crate) fn pci_listing_why(ctx: &Ctx) -> String {
    match ctx.dir(PCI) {
        Err(Some(e)) => e.describe(),
        _ => "not collected".into(),
    }
}

pub(crate) fn base(bdf: &str) -> String {
    format!("{PCI}/{bdf}")
}

pub(crate) fn last(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `0000:65:01.0` → `0000:65` (domain and bus).
pub(crate) fn domain_bus(bdf: &str) -> &str {
    bdf.rsplit_once(':').map_or(bdf, |(db, _)| db)
}

/// The PF of a VF (from its `physfn` link).
pub(crate) fn pf_of(ctx: &Ctx, bdf: &str) -> Option<String> {
    ctx.link(&format!("{}/physfn", base(bdf)))
        .map(|t| last(t).to_string())
}

/// A virtual function: it has a `physfn` link, or a QAT VF device id.
pub(crate) fn is_vf(ctx: &Ctx, bdf: &str) -> bool {
    pf_of(ctx, bdf).is_some()
        || ctx
            .text(&format!("{}/device", base(bdf)))
            .is_some_and(|d| QAT_VF_IDS.contains(&d))
}

/// The QAT physical functions.
pub(crate) fn qat_pfs(ctx: &Ctx) -> Vec<String> {
    qat_devices(ctx)
        .into_iter()
        .filter(|b| !is_vf(ctx, b))
        .collect()
}

/// Which driver owns a PCI function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Driver {
    Bound(String),
    Unbound,
    Unknown(String),
}

pub(crate) fn driver_of(ctx: &Ctx, bdf: &str) -> Driver {
    let path = format!("{}/driver", base(bdf));
    match ctx.snap.links.get(&path) {
        Some(Fact::Value(t)) => Driver::Bound(last(t).to_string()),
        Some(Fact::Error(e)) if e.kind == crate::snapshot::ReadErrorKind::Absent => Driver::Unbound,
        Some(Fact::Error(e)) => Driver::Unknown(e.describe()),
        // Pattern-collected links are recorded only when present: a device whose attributes
        // were read but has no driver link is unbound.
        None if ctx.get(&format!("{}/vendor", base(bdf))).val().is_some() => Driver::Unbound,
        None => Driver::Unknown("not collected".into()),
    }
}

impl Driver {
    pub fn show(&self) -> String {
        match self {
            Driver::Bound(d) => d.clone(),
            Driver::Unbound => "no driver".into(),
            Driver::Unknown(why) => format!("unknown ({why})"),
        }
    }
}

/// A VM's vfio-pci device that is (or is meant to be) a QAT function.
pub(crate) struct QatRef<'a> {
    pub vm: &'a Vm,
    pub dev: &'a VfioDevice,
    pub bdf: String,
    /// The function exists on the host.
    pub exists: bool,
}

/// Every vfio-pci device of every VM that is a QAT function, or an absent function on the
/// bus of a QAT PF (a VF the VM expects but that was not created). Worked out once per scan:
/// the SR-IOV and vfio-bind rules ask for every PF and every function they judge.
pub(crate) fn vm_qat_refs<'c, 'h>(ctx: &'c Ctx<'h>) -> &'c [QatRef<'h>] {
    ctx.cache.qat_refs.get_or_init(|| {
        ctx.host
            .vms
            .iter()
            .flat_map(|vm| qat_refs_of(ctx, vm))
            .collect()
    })
}

/// One VM's vfio-pci devices that are QAT functions (see [`vm_qat_refs`]).
pub(crate) fn qat_refs_of<'v>(ctx: &Ctx, vm: &'v Vm) -> Vec<QatRef<'v>> {
    let (qat, pf_buses) = ctx.cache.qat_functions.get_or_init(|| qat_functions(ctx));
    let listing: Option<&[String]> = ctx.dir(PCI).ok();
    let mut out = Vec::new();
    for dev in &vm.model.vfio_devices {
        let Some(bdf) = dev.host_bdf.as_deref().map(str::to_ascii_lowercase) else {
            continue;
        };
        let exists = listing.is_some_and(|l| l.contains(&bdf));
        if qat.contains(&bdf) || (!exists && pf_buses.contains(domain_bus(&bdf))) {
            out.push(QatRef {
                vm,
                dev,
                bdf,
                exists,
            });
        }
    }
    out
}

/// The host's QAT functions and the buses of its QAT PFs, worked out once per scan (every
/// VM's passthrough verdict asks).
fn qat_functions(ctx: &Ctx) -> (BTreeSet<String>, BTreeSet<String>) {
    let qat: BTreeSet<String> = qat_devices(ctx).into_iter().collect();
    let pf_buses: BTreeSet<String> = qat_pfs(ctx)
        .iter()
        .map(|b| domain_bus(b).to_string())
        .collect();
    (qat, pf_buses)
}

/// QAT passthrough is in use or prepared: a VM holds a QAT function, or a QAT VF is already
/// bound to vfio-pci. Escalates bios.vtd and host.iommu.enabled.
pub(crate) fn qat_passthrough_planned(ctx: &Ctx) -> bool {
    !vm_qat_refs(ctx).is_empty()
        || qat_devices(ctx)
            .iter()
            .any(|b| driver_of(ctx, b) == Driver::Bound("vfio-pci".into()))
}

/// The IOMMU groups' member lists.
const IOMMU_GROUPS: &str = "/sys/kernel/iommu_groups";
/// vfio's group device nodes (`/dev/vfio/N`).
pub(crate) const VFIO_DEV: &str = "/dev/vfio";

/// `BDF/driver`, as evidence names a function's binding.
pub(crate) fn driver_path(bdf: &str) -> String {
    format!("{}/driver", base(bdf))
}

/// `BDF/iommu_group`.
pub(crate) fn iommu_group_path(bdf: &str) -> String {
    format!("{}/iommu_group", base(bdf))
}

/// A PF's SR-IOV state: `sriov_numvfs` (with its path), `sriov_totalvfs` and
/// `sriov_drivers_autoprobe` (with its path) when readable.
pub(crate) struct Sriov<'a> {
    pub numvfs_path: String,
    pub numvfs: Got<'a>,
    pub total: Option<&'a str>,
    pub autoprobe: Option<(String, &'a str)>,
}

pub(crate) fn sriov<'a>(ctx: &Ctx<'a>, pf: &str) -> Sriov<'a> {
    let numvfs_path = format!("{}/sriov_numvfs", base(pf));
    let autoprobe_path = format!("{}/sriov_drivers_autoprobe", base(pf));
    Sriov {
        numvfs: ctx.get(&numvfs_path),
        numvfs_path,
        total: ctx.text(&format!("{}/sriov_totalvfs", base(pf))),
        autoprobe: ctx.text(&autoprobe_path).map(|a| (autoprobe_path, a)),
    }
}

/// `driver_override` of a function (with its path), when readable.
pub(crate) fn driver_override<'a>(ctx: &Ctx<'a>, bdf: &str) -> Option<(String, &'a str)> {
    let p = format!("{}/driver_override", base(bdf));
    ctx.text(&p).map(|v| (p, v))
}

/// Whether `/dev/vfio/GROUP` is listed (`None`: `/dev/vfio` unreadable).
pub(crate) fn vfio_group_listed(ctx: &Ctx, group: &str) -> Option<bool> {
    ctx.dir_has(VFIO_DEV, group)
}

/// The IOMMU group of `bdf` and the members that make it not viable for vfio: those bound
/// to a driver other than vfio-pci, pci-stub or pcieport, or whose driver is unknown.
/// `Err` when the group is unknown.
pub(crate) fn group_blockers(ctx: &Ctx, bdf: &str) -> Result<(String, Vec<String>), String> {
    let group = match ctx.snap.links.get(&iommu_group_path(bdf)) {
        Some(Fact::Value(t)) => last(t).to_string(),
        Some(Fact::Error(e)) if e.kind != crate::snapshot::ReadErrorKind::Absent => {
            return Err(format!("iommu_group unreadable ({})", e.describe()))
        }
        _ => return Err("no iommu_group: DMA remapping is off (see host.iommu.enabled)".into()),
    };
    // The group's own member list; else every device whose iommu_group link names it.
    let members: Vec<String> = match ctx.dir(&format!("{IOMMU_GROUPS}/{group}/devices")) {
        Ok(m) => m.to_vec(),
        Err(_) => ctx
            .dir(PCI)
            .map_err(|_| "PCI device list unreadable".to_string())?
            .iter()
            .filter(|other| {
                ctx.link(&iommu_group_path(other))
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

#[cfg(test)]
mod tests {
    use super::{group_blockers, sriov, PCI};
    use crate::model::host::HostModel;
    use crate::report::Profile;
    use crate::rules::context::Ctx;
    use crate::rules::testkit::SnapBuilder;

    #[test]
    fn group_members_bound_elsewhere_block_vfio_and_a_missing_group_is_said() {
        let vf = "0000:6b:00.1";
        let s = SnapBuilder::new()
            .dir(PCI, &[vf, "0000:6b:00.2", "0000:6b:00.3", "0000:6b:00.4"])
            .link(
                &format!("{PCI}/{vf}/iommu_group"),
                "../../kernel/iommu_groups/31",
            )
            .dir(
                "/sys/kernel/iommu_groups/31/devices",
                &[vf, "0000:6b:00.2", "0000:6b:00.3"],
            )
            .link(
                &format!("{PCI}/0000:6b:00.2/driver"),
                "../../bus/pci/drivers/ixgbe",
            )
            .link(
                &format!("{PCI}/0000:6b:00.3/driver"),
                "../../bus/pci/drivers/vfio-pci",
            )
            .file(&format!("{PCI}/0000:6b:00.4/sriov_numvfs"), "0")
            .file(&format!("{PCI}/0000:6b:00.4/sriov_totalvfs"), "16")
            .build();
        let h = HostModel::build(&s);
        let ctx = Ctx::new(&s, &h, Profile::Throughput);
        assert_eq!(
            group_blockers(&ctx, vf),
            Ok(("31".into(), vec!["0000:6b:00.2 bound to ixgbe".into()]))
        );
        assert_eq!(
            group_blockers(&ctx, "0000:6b:00.4"),
            Err("no iommu_group: DMA remapping is off (see host.iommu.enabled)".into())
        );
        let pf = sriov(&ctx, "0000:6b:00.4");
        assert_eq!(pf.numvfs_path, format!("{PCI}/0000:6b:00.4/sriov_numvfs"));
        assert_eq!(pf.numvfs.val(), Some("0"));
        assert_eq!(pf.total, Some("16"));
        assert!(pf.autoprobe.is_none());
    }
}
