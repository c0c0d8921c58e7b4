//! hw.qat.pcie-link: each QAT physical function trained to its own maximum link.

use crate::rules::context::Ctx;
use crate::rules::facts::pci_link;
use crate::rules::outcome::Outcome;
use crate::rules::units::HostDeviceUnit;

/// Each QAT PF trained to its own maximum link speed and width (not a literal Gen4 x16).
pub(super) fn qat_pcie_link(ctx: &Ctx, u: &HostDeviceUnit) -> Outcome {
    let pf = &u.bdf;
    let link = pci_link::of(ctx, pf);
    let (cs, ms, cw, mw) = (
        link.current_speed,
        link.max_speed,
        link.current_width,
        link.max_width,
    );
    let base = &link.base;
    let target = u.target.clone();
    let vals = link.values();
    let o = match vals {
        (Some(c), Some(m), Some(w), Some(mx)) => {
            let mut down = Vec::new();
            if c < m {
                down.push(format!("speed {c} GT/s of {m} GT/s"));
            }
            if w < mx {
                down.push(format!("width x{w} of x{mx}"));
            }
            if down.is_empty() {
                Outcome::pass(
                    &target,
                    format!(
                        "the link runs at the device's maximum, {m} GT/s x{mx}{}",
                        if m <= 8.0 {
                            " (a PCIe Gen3 device: the guide's Gen4 does not apply)"
                        } else {
                            ""
                        }
                    ),
                )
            } else {
                Outcome::warn(
                    &target,
                    format!(
                        "the link is down-trained: {} (check the slot's width/bifurcation and link-speed settings, or move the card to a CPU-attached x16 slot)",
                        down.join(", ")
                    ),
                )
            }
        }
        _ => Outcome::unknown(&target, "the link speed/width attributes could not be read"),
    };
    o.ev(
        format!("{base}/current_link_speed, current_link_width"),
        format!("{} x{}", cs.why(), cw.why()),
        format!("{} x{}", ms.why(), mw.why()),
    )
    .ev(
        format!("{base}/max_link_speed, max_link_width"),
        format!("{} x{}", ms.why(), mw.why()),
        "",
    )
}

/// Not a per-PF question when there is no QAT device, or the device list is unreadable.
pub(super) fn qat_pcie_link_moot(ctx: &Ctx) -> Option<Vec<Outcome>> {
    match ctx.flags.qat_present {
        Some(false) => Some(vec![Outcome::na("host", "no QAT device on this host")]),
        None => Some(vec![Outcome::unknown(
            "host",
            "the PCI device list could not be read",
        )]),
        Some(true) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::st;
    use crate::report::Profile::Throughput;
    use crate::rules::testkit::{findings, status, SnapBuilder};

    fn qat_pf(cur: (&str, &str), max: (&str, &str)) -> SnapBuilder {
        let pf = "/sys/bus/pci/devices/0000:65:00.0";
        SnapBuilder::new()
            .icx("vmx")
            .dir("/sys/bus/pci/devices", &["0000:65:00.0"])
            .file(&format!("{pf}/vendor"), "0x8086")
            .file(&format!("{pf}/device"), "0x37c8")
            .file(&format!("{pf}/current_link_speed"), cur.0)
            .file(&format!("{pf}/current_link_width"), cur.1)
            .file(&format!("{pf}/max_link_speed"), max.0)
            .file(&format!("{pf}/max_link_width"), max.1)
    }

    #[test]
    fn qat_link() {
        let t = "host/dev:0000:65:00.0";
        let full = qat_pf(("8.0 GT/s PCIe", "16"), ("8.0 GT/s PCIe", "16")).build();
        assert_eq!(status(&full, Throughput, "hw.qat.pcie-link", t), "pass");
        assert!(findings(&full, Throughput, "hw.qat.pcie-link")[0]
            .message
            .contains("Gen3"));
        let narrow = qat_pf(("8.0 GT/s PCIe", "8"), ("8.0 GT/s PCIe", "16")).build();
        assert_eq!(status(&narrow, Throughput, "hw.qat.pcie-link", t), "warn");
        let slow = qat_pf(("2.5 GT/s PCIe", "16"), ("8.0 GT/s PCIe", "16")).build();
        assert_eq!(status(&slow, Throughput, "hw.qat.pcie-link", t), "warn");
        let unknown = qat_pf(("Unknown", "16"), ("8.0 GT/s PCIe", "16")).build();
        assert_eq!(
            status(&unknown, Throughput, "hw.qat.pcie-link", t),
            "unknown"
        );
        let none = SnapBuilder::new()
            .icx("vmx")
            .dir("/sys/bus/pci/devices", &[])
            .build();
        assert_eq!(st(&none, "hw.qat.pcie-link"), "not_applicable");
    }
}
