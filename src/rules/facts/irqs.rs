//! Device interrupts: the MSI/MSI-X interrupts a PCI function has allocated
//! (`/sys/bus/pci/devices/BDF/msi_irqs`) and, per interrupt, the affinity the kernel applies
//! (`/proc/irq/N/effective_affinity_list`) and the one requested
//! (`/proc/irq/N/smp_affinity_list`, what an admin or irqbalance writes).

use crate::rules::context::{Ctx, Got};

const PCI: &str = "/sys/bus/pci/devices";

/// How evidence summarises interrupts beyond those it names one by one.
pub(crate) const ANY_IRQ: &str = "/proc/irq/*";

/// The MSI/MSI-X interrupts of one PCI function.
pub(crate) struct DeviceIrqs {
    /// The `msi_irqs` directory, as evidence names it.
    pub dir: String,
    /// The interrupt numbers; `Err(None)` when the directory is absent (none allocated),
    /// `Err(Some(why))` when unreadable.
    pub irqs: Result<Vec<u32>, Option<String>>,
}

pub(crate) fn device_irqs(ctx: &Ctx, bdf: &str) -> DeviceIrqs {
    let dir = format!("{PCI}/{bdf}/msi_irqs");
    let irqs = match ctx.dir(&dir) {
        Ok(names) => Ok(names.iter().filter_map(|n| n.parse().ok()).collect()),
        Err(None) => Err(None),
        Err(Some(e)) => Err(Some(e.describe())),
    };
    DeviceIrqs { dir, irqs }
}

/// `/proc/irq/N/smp_affinity_list`: where an interrupt is allowed to fire.
pub(crate) fn requested_path(irq: u32) -> String {
    format!("/proc/irq/{irq}/smp_affinity_list")
}

/// Where an interrupt fires: the effective affinity when the kernel reports a non-empty one,
/// else the requested one, as (path, CPU list text); `Err(why)` when neither is readable.
pub(crate) fn affinity(ctx: &Ctx, irq: u32) -> Result<(String, String), String> {
    let eff = format!("/proc/irq/{irq}/effective_affinity_list");
    match ctx.get(&eff) {
        Got::Val(v) if !v.trim().is_empty() => Ok((eff, v.trim().to_string())),
        _ => {
            let smp = requested_path(irq);
            match ctx.get(&smp) {
                Got::Val(v) => Ok((smp, v.trim().to_string())),
                other => Err(other.why()),
            }
        }
    }
}

/// The requested affinity's text, `?` when unreadable.
pub(crate) fn requested(ctx: &Ctx, irq: u32) -> String {
    ctx.get(&requested_path(irq))
        .val()
        .map_or("?", str::trim)
        .to_string()
}
