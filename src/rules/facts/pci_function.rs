//! What sysfs says about one PCI function a VM holds: its NUMA node as firmware reports it and
//! its IOMMU group (the `/dev/vfio/N` QEMU must have open to drive it).

use super::qat::{base, last};
use crate::rules::context::Ctx;

/// `numa_node` of the function as written (-1 when firmware reports none), `None` when unread.
pub(crate) fn reported_numa_node(ctx: &Ctx, bdf: &str) -> Option<i64> {
    ctx.text(&format!("{}/numa_node", base(bdf)))
        .and_then(|v| v.parse::<i64>().ok())
}

/// The function's IOMMU group number, from its `iommu_group` link.
pub(crate) fn iommu_group<'a>(ctx: &Ctx<'a>, bdf: &str) -> Option<&'a str> {
    ctx.link(&format!("{}/iommu_group", base(bdf))).map(last)
}
