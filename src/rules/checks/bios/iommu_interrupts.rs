//! Interrupt remapping and posted interrupts of an active IOMMU, for host.iommu.enabled.

use super::readers::{running_cmdline_value, IOMMU_CLASS};
use crate::rules::context::Ctx;
use std::collections::BTreeSet;

/// Interrupt remapping state, with the evidence that decided it.
pub(super) enum Ir {
    On(String, String),
    Off(String, String),
    Unknown(String),
}

fn parse_hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok()
}

/// Interrupt remapping: `IR-` interrupt chips in /proc/interrupts are runtime proof; otherwise
/// the hardware capability (ecap bit 3), `intremap=off` and CONFIG_IRQ_REMAP.
pub(super) fn interrupt_remapping(ctx: &Ctx, units: &[&String]) -> Ir {
    if let Some(t) = ctx.text("/proc/interrupts") {
        let chips: BTreeSet<&str> = t
            .split_whitespace()
            .filter(|w| w.ends_with("PCI-MSI") || w.ends_with("IO-APIC") || w.contains("PCI-MSIX"))
            .collect();
        if chips.iter().any(|c| c.starts_with("IR-")) {
            return Ir::On(
                "/proc/interrupts".into(),
                "interrupts delivered through IR-PCI-MSI / IR-IO-APIC chips".into(),
            );
        }
        if !chips.is_empty() {
            return Ir::Off(
                "/proc/interrupts".into(),
                format!(
                    "only {} chips, none remapped (IR-)",
                    chips.into_iter().collect::<Vec<_>>().join("/")
                ),
            );
        }
    }
    if let Some(v) = running_cmdline_value(ctx, "intremap") {
        if v == "off" {
            return Ir::Off("/proc/cmdline".into(), "intremap=off".into());
        }
    }
    if let Some(k) = ctx.host.kconfig.as_ref() {
        if k.enabled("IRQ_REMAP") == Some(false) {
            return Ir::Off("kernel config".into(), "CONFIG_IRQ_REMAP is not set".into());
        }
    }
    let ecaps: Vec<Option<u64>> = units
        .iter()
        .map(|u| {
            ctx.text(&format!("{IOMMU_CLASS}/{u}/intel-iommu/ecap"))
                .and_then(parse_hex)
        })
        .collect();
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
    let caps: Vec<Option<u64>> = units
        .iter()
        .map(|u| {
            ctx.text(&format!("{IOMMU_CLASS}/{u}/intel-iommu/cap"))
                .and_then(parse_hex)
        })
        .collect();
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
