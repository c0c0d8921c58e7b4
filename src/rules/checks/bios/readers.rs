//! What several bios rules judge the same way: the vendor gate, directory listings for the
//! evidence, the VFIO escalation and the kernel command line.

use super::qat;
use crate::report::Severity;
use crate::rules::context::Ctx;
use crate::rules::outcome::Outcome;

/// Rules of this section judge Intel firmware; on other vendors they do not apply.
pub(super) fn not_intel(ctx: &Ctx) -> Option<Vec<Outcome>> {
    if ctx.is_intel() {
        return None;
    }
    Some(vec![match &ctx.host.cpu.vendor {
        Some(v) => Outcome::na(
            "host",
            format!("{v} CPU: Intel BIOS settings do not apply (use the vendor's equivalents)"),
        ),
        None => Outcome::unknown("host", "CPU vendor unknown (no CPUID or /proc/cpuinfo)"),
    }])
}

/// High when a VM uses VFIO or QAT passthrough is in use or prepared (catalogue: VT-d and the
/// kernel IOMMU escalate then).
pub(super) fn vfio_escalation(ctx: &Ctx) -> Option<Severity> {
    (ctx.flags.vfio_vms || qat::qat_passthrough_planned(ctx)).then_some(Severity::High)
}

/// A directory listing for the evidence: its entries, "empty", "absent" or the read error.
pub(super) fn show_listing(r: &Result<&[String], Option<&crate::snapshot::ReadError>>) -> String {
    match r {
        Ok([]) => "empty".into(),
        Ok(v) => v.join(" "),
        Err(None) => "absent".into(),
        Err(Some(e)) => e.describe(),
    }
}

/// A persistent kernel command line holds `name` (with `value`, or any value when `None`).
pub(super) fn persistent_cmdline_has(ctx: &Ctx, name: &str, value: Option<&str>) -> Option<String> {
    ctx.persistent
        .cmdlines
        .iter()
        .find(|(_, c)| match value {
            Some(v) => c.values(name).any(|x| x == v),
            None => c.has(name),
        })
        .map(|(p, _)| p.clone())
}

/// The running kernel's `name=` value.
pub(super) fn running_cmdline_value<'a>(ctx: &Ctx<'a>, name: &str) -> Option<&'a str> {
    ctx.host.cmdline.as_ref().and_then(|c| c.value(name))
}
