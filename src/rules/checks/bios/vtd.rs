//! bios.vtd: VT-d enabled in firmware, from the ACPI DMAR table.

use super::readers::{not_intel, show_listing, vfio_escalation};
use crate::rules::context::Ctx;
use crate::rules::facts::iommu::{self, IOMMU_CLASS};
use crate::rules::facts::platform::{self, ACPI_TABLES};
use crate::rules::outcome::Outcome;

/// The firmware's DMAR table is the sound proxy for VT-d (firmware omits it when disabled);
/// registered dmar* units corroborate it when the table list cannot be read.
pub(super) fn bios_vtd(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    let tables = platform::acpi_tables(ctx);
    let classes = iommu::units(ctx);
    let units: Vec<&String> = classes
        .as_ref()
        .map(|v| v.iter().filter(|n| n.starts_with("dmar")).collect())
        .unwrap_or_default();
    let o = match &tables {
        Ok(names) if names.iter().any(|n| n == "DMAR") => Outcome::pass(
            "host",
            "the firmware publishes an ACPI DMAR table: VT-d is enabled",
        ),
        _ if !units.is_empty() => Outcome::pass(
            "host",
            "the kernel registered DMAR remapping units, so the firmware provides VT-d",
        ),
        Ok(names) if !names.is_empty() => Outcome::fail(
            "host",
            "no ACPI DMAR table: VT-d is disabled in firmware (or not supported by the platform)",
        ),
        _ => Outcome::unknown(
            "host",
            format!(
                "the ACPI table list could not be read ({})",
                show_listing(&tables)
            ),
        ),
    };
    vec![o
        .escalate(vfio_escalation(ctx))
        .ev(
            ACPI_TABLES,
            match &tables {
                Ok(n) if n.iter().any(|n| n == "DMAR") => "DMAR present".to_string(),
                Ok(_) => "DMAR absent".to_string(),
                other => show_listing(other),
            },
            "DMAR present",
        )
        .ev(IOMMU_CLASS, show_listing(&classes), "")]
}

#[cfg(test)]
mod tests {
    use super::super::tests::{amd, st, TABLES};
    use crate::report::Profile::Throughput;
    use crate::report::Severity;
    use crate::rules::testkit::{findings, SnapBuilder};

    #[test]
    fn vtd() {
        let on = SnapBuilder::new()
            .icx("vmx")
            .dir(TABLES, &["APIC", "DMAR", "SRAT"])
            .build();
        assert_eq!(st(&on, "bios.vtd"), "pass");
        let f = findings(&on, Throughput, "bios.vtd");
        assert_eq!(f[0].severity, Severity::Medium);
        let off = SnapBuilder::new()
            .icx("vmx")
            .dir(TABLES, &["APIC", "SRAT"])
            .build();
        assert_eq!(st(&off, "bios.vtd"), "fail");
        // With a VFIO VM the rule weighs high.
        let vfio = SnapBuilder::new()
            .icx("vmx")
            .dir(TABLES, &["APIC"])
            .vm(
                "qemu-system-x86_64 -name guest=a -accel kvm -device vfio-pci,host=0000:3b:00.0",
                &[],
            )
            .build();
        let f = findings(&vfio, Throughput, "bios.vtd");
        assert_eq!(
            (f[0].status.as_str(), f[0].severity),
            ("fail", Severity::High)
        );
        // Unreadable table list but registered units: corroborated.
        let units = SnapBuilder::new()
            .icx("vmx")
            .dir_denied(TABLES)
            .dir("/sys/class/iommu", &["dmar0"])
            .build();
        assert_eq!(st(&units, "bios.vtd"), "pass");
        let unknown = SnapBuilder::new().icx("vmx").dir_denied(TABLES).build();
        assert_eq!(st(&unknown, "bios.vtd"), "unknown");
        assert_eq!(
            st(&amd().dir(TABLES, &["IVRS"]).build(), "bios.vtd"),
            "not_applicable"
        );
    }
}
