//! Fix builders for NUMA (guide §3.2.1, §3.2.2): automatic balancing, interrupt affinity.

use super::kit::*;
use super::Input;
use crate::fix::quote;
use crate::fix::step::{ConfFile, Kind, ReadMode, Step};
use crate::report::Datum;

pub(super) fn numa_balancing(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate, f) = (x.rule, x.gate, x.f);
    let path = "/proc/sys/kernel/numa_balancing";
    match f.text(path) {
        Some(v) if v != "0" => {
            return Err(format!(
                "automatic NUMA balancing is already on ({}); what is missing is explicit placement of VFIO/hugetlb VMs (see qemu.numa.vm-placement)",
                quote::comment(v)
            ))
        }
        _ => {}
    }
    rp.push(Step::new(
        rule,
        gate,
        Kind::SetValue {
            path: path.into(),
            value: "1".into(),
            read: ReadMode::Plain,
        },
    ));
    rp.push(Step::new(
        rule,
        gate,
        if rp.tuned {
            Kind::TunedOption {
                section: "sysctl".into(),
                key: "kernel.numa_balancing".into(),
                value: "1".into(),
            }
        } else {
            Kind::ConfLine {
                file: ConfFile::Sysctl,
                key: "kernel.numa_balancing".into(),
                line: "kernel.numa_balancing = 1".into(),
            }
        },
    ));
    sysctl_overrides(rp, rule, gate, f, "kernel.numa_balancing", "1");
    Ok(())
}

/// Each stray interrupt the rule's typed data names gets the node's CPU list as its requested
/// affinity (`/proc/irq/N/smp_affinity_list`, built here from the IRQ number).
pub(super) fn irq_affinity(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate) = (x.rule, x.gate);
    for fx in x.findings {
        for d in &fx.data {
            let Datum::IrqAffinity { irq, expected, .. } = d else {
                continue;
            };
            let want = expected.trim();
            if crate::parse::cpulist::parse(want).is_err() || !quote::plain_token(want) {
                continue;
            }
            rp.push(Step::new(
                rule,
                gate,
                Kind::SetValue {
                    path: format!("/proc/irq/{irq}/smp_affinity_list"),
                    value: want.to_string(),
                    read: ReadMode::Plain,
                },
            ));
        }
    }
    if rp.steps.is_empty() {
        return Err("the findings name no interrupt with a target CPU list".into());
    }
    rp.notes.push(format!(
        "{rule}: IRQ affinity is not made persistent; irqbalance may undo it: ban the VM CPUs with IRQBALANCE_BANNED_CPULIST or use tuned's cpu-partitioning profile"
    ));
    Ok(())
}
