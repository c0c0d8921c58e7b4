//! Fix builders for QuickAssist passthrough (guide §5): SR-IOV VFs on the PF, VFs bound to
//! vfio-pci. Device addresses come from the rules' typed data and must be canonical PCI
//! addresses (`0000:65:00.0`) before they reach a path or a udev rule.

use super::kit::*;
use super::Input;
use crate::fix::step::{ConfFile, Kind, ReadMode, Step};
use crate::report::Datum;

/// `DDDD:BB:SS.F` in lower-case hex, as sysfs names PCI functions.
pub(crate) fn canonical_bdf(s: &str) -> bool {
    let b = s.as_bytes();
    let hex = |r: std::ops::Range<usize>| {
        b[r].iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
    };
    b.len() == 12
        && hex(0..4)
        && b[4] == b':'
        && hex(5..7)
        && b[7] == b':'
        && hex(8..10)
        && b[10] == b'.'
        && (b'0'..=b'7').contains(&b[11])
}

/// The udev match of one PCI function.
fn udev_key(bdf: &str) -> String {
    format!("ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"{bdf}\"")
}

/// Create every VF the PF offers (sriov_totalvfs), with driver autoprobing off so that the
/// host's VF driver does not claim them before vfio-pci; a udev rule repeats both when the
/// PF appears at boot.
pub(super) fn sriov(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate, f) = (x.rule, x.gate, x.f);
    for fx in x.findings {
        for d in &fx.data {
            let Datum::SriovVfs { device, total, .. } = d else {
                continue;
            };
            if !canonical_bdf(device) {
                continue;
            }
            let Some(n) = total.filter(|n| (1..=u32::from(u16::MAX)).contains(n)) else {
                rp.notes.push(format!(
                    "{rule}: {device} did not report sriov_totalvfs; choose the VF count by hand"
                ));
                continue;
            };
            let dir = format!("/sys/bus/pci/devices/{device}");
            let autoprobe = format!("{dir}/sriov_drivers_autoprobe");
            let mut udev = udev_key(device);
            if f.text(&autoprobe).is_some() {
                rp.push(Step::new(
                    rule,
                    gate,
                    Kind::SetValue {
                        path: autoprobe,
                        value: "0".into(),
                        read: ReadMode::Plain,
                    },
                ));
                udev.push_str(", ATTR{sriov_drivers_autoprobe}=\"0\"");
            }
            rp.push(Step::new(
                rule,
                gate,
                Kind::SetValue {
                    path: format!("{dir}/sriov_numvfs"),
                    value: n.to_string(),
                    read: ReadMode::Plain,
                },
            ));
            udev.push_str(&format!(", ATTR{{sriov_numvfs}}=\"{n}\""));
            rp.push(Step::new(
                rule,
                gate,
                Kind::ConfLine {
                    file: ConfFile::Udev,
                    key: udev_key(device),
                    line: udev,
                },
            ));
        }
    }
    if rp.steps.is_empty() {
        return Err("the findings name no PF with a VF count to create".into());
    }
    Ok(())
}

/// Bind each VF a VM uses to vfio-pci the way driverctl does: driver_override, unbind from
/// the host driver, reprobe; vfio-pci is loaded at boot (modules-load.d) and a udev rule sets
/// the override when the function appears.
pub(super) fn vfio_bind(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate) = (x.rule, x.gate);
    for fx in x.findings {
        for d in &fx.data {
            let Datum::PciDriver {
                device, expected, ..
            } = d
            else {
                continue;
            };
            if expected != "vfio-pci" || !canonical_bdf(device) {
                continue;
            }
            rp.push(Step::new(
                rule,
                gate,
                Kind::ConfLine {
                    file: ConfFile::ModulesLoad,
                    key: "vfio-pci".into(),
                    line: "vfio-pci".into(),
                },
            ));
            rp.push(Step::new(
                rule,
                gate,
                Kind::PciDriverOverride {
                    device: device.clone(),
                    driver: "vfio-pci".into(),
                },
            ));
            rp.push(Step::new(
                rule,
                gate,
                Kind::ConfLine {
                    file: ConfFile::Udev,
                    key: udev_key(device),
                    line: format!("{}, ATTR{{driver_override}}=\"vfio-pci\"", udev_key(device)),
                },
            ));
        }
    }
    if rp.steps.is_empty() {
        return Err("the findings name no PCI function to bind to vfio-pci".into());
    }
    rp.notes.push(format!(
        "{rule}: the udev rule sets driver_override when the function appears; a VF the host's driver claimed before it is rebound by this script (or by libvirt's <hostdev managed='yes'>)"
    ));
    Ok(())
}
