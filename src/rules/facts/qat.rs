//! QuickAssist devices: the physical functions, their virtual functions, the drivers they are
//! bound to and the VMs that pass them through. The QAT rules and the BIOS VT-d rule read them.

use super::flags::qat_devices;
use crate::model::host::Vm;
use crate::model::vm::VfioDevice;
use crate::rules::context::Ctx;
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
/// bus of a QAT PF (a VF the VM expects but that was not created).
pub(crate) fn vm_qat_refs<'a>(ctx: &'a Ctx) -> Vec<QatRef<'a>> {
    let mut out = Vec::new();
    for vm in &ctx.host.vms {
        out.extend(qat_refs_of(ctx, vm));
    }
    out
}

/// One VM's vfio-pci devices that are QAT functions (see [`vm_qat_refs`]).
pub(crate) fn qat_refs_of<'a>(ctx: &'a Ctx, vm: &'a Vm) -> Vec<QatRef<'a>> {
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
