//! Interrupt remapping and posted interrupts of an active IOMMU, for host.iommu.enabled.

use super::readers::running_cmdline_value;
use crate::rules::context::Ctx;
use crate::rules::facts::iommu::{self, INTERRUPTS, IOMMU_CLASS};
use crate::rules::facts::platform::CMDLINE;

/// Interrupt remapping state, with the evidence that decided it.
pub(super) enum Ir {
    On(String, String),
    Off(String, String),
    Unknown(String),
}

/// Interrupt remapping: `IR-` interrupt chips in /proc/interrupts are runtime proof; otherwise
/// the hardware capability (ecap bit 3), `intremap=off` and CONFIG_IRQ_REMAP.
pub(super) fn interrupt_remapping(ctx: &Ctx, units: &[&String]) -> Ir {
    if let Some(chips) = iommu::irq_chips(ctx) {
        if chips.iter().any(|c| c.starts_with("IR-")) {
            return Ir::On(
                INTERRUPTS.into(),
                "interrupts delivered through IR-PCI-MSI / IR-IO-APIC chips".into(),
            );
        }
        if !chips.is_empty() {
            return Ir::Off(
                INTERRUPTS.into(),
                format!(
                    "only {} chips, none remapped (IR-)",
                    chips.into_iter().collect::<Vec<_>>().join("/")
                ),
            );
        }
    }
    if let Some(v) = running_cmdline_value(ctx, "intremap") {
        if v == "off" {
            return Ir::Off(CMDLINE.into(), "intremap=off".into());
        }
    }
    if let Some(k) = ctx.host.kconfig.as_ref() {
        if k.enabled("IRQ_REMAP") == Some(false) {
            return Ir::Off("kernel config".into(), "CONFIG_IRQ_REMAP is not set".into());
        }
    }
    let ecaps: Vec<Option<u64>> = units.iter().map(|u| iommu::unit_ecap(ctx, u)).collect();
    if !ecaps.is_empty() && ecaps.iter().all(Option::is_some) {
        let all_ir = ecaps.iter().flatten().all(|e| e & (1 << 3) != 0);
        return if all_ir {
            Ir::On(
                format!("{IOMMU_CLASS}/dmar*/intel-iommu/ecap"),
                "bit 3 (IR) set on every unit and nothing turns it off (proxy)".into(),
            )
        } else {
            Ir::Off(
                format!("{IOMMU_CLASS}/dmar*/intel-iommu/ecap"),
                "bit 3 (IR) clear on some unit: the hardware cannot remap interrupts".into(),
            )
        };
    }
    Ir::Unknown("neither /proc/interrupts nor the units' ecap could be read".into())
}

/// Posted-interrupt support (cap bit 59) over all Intel units, for the evidence.
pub(super) fn posted_interrupts(ctx: &Ctx, units: &[&String]) -> String {
    let caps: Vec<Option<u64>> = units.iter().map(|u| iommu::unit_cap(ctx, u)).collect();
    if caps.is_empty() || caps.iter().any(Option::is_none) {
        return "not readable".into();
    }
    let n = caps
        .iter()
        .flatten()
        .filter(|c| *c & (1 << 59) != 0)
        .count();
    format!("cap bit 59 (PI) set on {n} of {} units", caps.len())
}
