//! Fix builders whose change is a kernel command-line argument (SMT, IOMMU).

use super::kit::*;
use super::Input;
use crate::fix::step::{Kind, ReadMode, Step};

pub(super) fn ht(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate, f) = (x.rule, x.gate, x.f);
    let control = "/sys/devices/system/cpu/smt/control";
    match f.text(control) {
        Some("off") => {
            rp.push(Step::new(
                rule,
                gate,
                Kind::SetValue {
                    path: control.into(),
                    value: "on".into(),
                    read: ReadMode::Plain,
                },
            ));
        }
        Some("forceoff") => {}
        _ => {
            return Err("Hyper-Threading is off in firmware (or unsupported): enable Intel Hyper-Threading Tech in BIOS setup".into())
        }
    }
    rp.kernel_args(rule, gate, vec![], vec!["nosmt".into()]);
    Ok(())
}

pub(super) fn iommu(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate, f) = (x.rule, x.gate, x.f);
    if f.cpu_vendor().is_some_and(|v| v != "GenuineIntel") {
        return Err("not an Intel host: enable the vendor's IOMMU in firmware".into());
    }
    rp.kernel_args(
        rule,
        gate,
        vec!["intel_iommu=on".into(), "iommu=pt".into()],
        vec![],
    );
    Ok(())
}
