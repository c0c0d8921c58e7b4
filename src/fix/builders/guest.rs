//! Fix builders for settings inside a guest (run the generator inside the guest).

use super::kit::*;
use super::Input;
use crate::fix::step::{ConfFile, Kind, ReadMode, Step};

pub(super) fn rq_affinity(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate, f) = (x.rule, x.gate, x.f);
    if !x
        .findings
        .iter()
        .any(|x| x.target == "host" || x.target.starts_with("host/"))
    {
        return Err("guest setting: run `kvmaudit fix --generate-script` inside the guest".into());
    }
    let devs = f.files_like("/sys/block/*/queue/rq_affinity");
    for (p, _) in usable(rp, rule, devs) {
        let dev = p.split('/').nth(3).unwrap_or("");
        if !(dev.starts_with("vd") || dev.starts_with("sd")) {
            continue;
        }
        rp.push(Step::new(
            rule,
            gate,
            Kind::SetValue {
                path: p.to_string(),
                value: "2".into(),
                read: ReadMode::Plain,
            },
        ));
    }
    if rp.steps.is_empty() {
        return Err(no_facts(f, "virtio disks"));
    }
    rp.push(Step::new(
        rule,
        gate,
        Kind::ConfLine {
            file: ConfFile::Udev,
            key: "ACTION==\"add|change\", KERNEL==\"vd[a-z]*\"".into(),
            line: "ACTION==\"add|change\", KERNEL==\"vd[a-z]*\", ATTR{queue/rq_affinity}=\"2\""
                .into(),
        },
    ));
    Ok(())
}

pub(super) fn no_idle(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate) = (x.rule, x.gate);
    if !x.findings.iter().any(|x| x.target == "host") {
        return Err("guest setting: run `kvmaudit fix --generate-script` inside the guest".into());
    }
    rp.kernel_args(rule, gate, vec![], vec!["idle".into()]);
    Ok(())
}
