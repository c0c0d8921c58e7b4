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

#[cfg(test)]
mod tests {
    use super::{affinity, device_irqs, requested};
    use crate::model::host::HostModel;
    use crate::report::Profile;
    use crate::rules::context::Ctx;
    use crate::rules::testkit::SnapBuilder;

    #[test]
    fn effective_affinity_wins_and_the_requested_one_stands_in() {
        let s = SnapBuilder::new()
            .dir(
                "/sys/bus/pci/devices/0000:17:00.0/msi_irqs",
                &["40", "41", "x", "42"],
            )
            .file("/proc/irq/40/effective_affinity_list", "3")
            .file("/proc/irq/40/smp_affinity_list", "0-7")
            .file("/proc/irq/41/effective_affinity_list", "")
            .file("/proc/irq/41/smp_affinity_list", "4-5")
            .denied("/proc/irq/42/smp_affinity_list")
            .build();
        let h = HostModel::build(&s);
        let ctx = Ctx::new(&s, &h, Profile::Throughput);
        let d = device_irqs(&ctx, "0000:17:00.0");
        assert_eq!(d.dir, "/sys/bus/pci/devices/0000:17:00.0/msi_irqs");
        assert_eq!(d.irqs, Ok(vec![40, 41, 42]));
        assert_eq!(
            affinity(&ctx, 40),
            Ok(("/proc/irq/40/effective_affinity_list".into(), "3".into()))
        );
        assert_eq!(
            affinity(&ctx, 41),
            Ok(("/proc/irq/41/smp_affinity_list".into(), "4-5".into()))
        );
        assert!(affinity(&ctx, 42).unwrap_err().contains("denied"));
        assert_eq!(requested(&ctx, 40), "0-7");
        assert_eq!(requested(&ctx, 42), "?");
        assert_eq!(device_irqs(&ctx, "0000:18:00.0").irqs, Err(None));
    }
}
