//! Fix builders for idle and polling (guide §2.2, §3.1.5): C-states, PAUSE-loop exiting,
//! nohz_full.

use super::kit::*;
use super::Input;
use crate::fix::quote;
use crate::fix::step::{ConfFile, Kind, Step};
use crate::report::Status;

pub(super) fn cstates(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate, f) = (x.rule, x.gate, x.f);
    // The states the rule counts: C1E; for C6 every C6-class state (C6, C6P, ...)
    // and, under acpi_idle, ACPI C2/C3.
    let name = if rule == "bios.c1e" { "C1E" } else { "C6" };
    let acpi = f.text("/sys/devices/system/cpu/cpuidle/current_driver") == Some("acpi_idle");
    let states = f.files_like("/sys/devices/system/cpu/cpu*/cpuidle/state*/name");
    for (p, v) in usable(rp, rule, states) {
        let hit = if rule == "bios.c1e" {
            v == "C1E"
        } else {
            v.starts_with("C6") || (acpi && matches!(v, "C2" | "C3"))
        };
        if !hit {
            continue;
        }
        let dir = p.rsplit_once('/').map(|(d, _)| d).unwrap_or(p);
        rp.push(Step::new(
            rule,
            gate,
            Kind::CpuidleDisable {
                state_dir: dir.to_string(),
                name: v.to_string(),
            },
        ));
        rp.persist(rule, gate, &format!("{dir}/disable"), "1");
    }
    if rp.steps.is_empty() {
        return Err(format!(
            "{}; otherwise disable {name} in BIOS setup",
            no_facts(f, &format!("a cpuidle state named {name}"))
        ));
    }
    if rp.tuned {
        // tuned's own C-state limit: it holds /dev/cpu_dma_latency at the exit latency of the
        // deepest state allowed, so no idle state deeper than that is entered while tuned
        // runs. C1 when C1E is (also) being disabled, else C1E; one value for both rules.
        let c1e_too = rule == "bios.c1e"
            || x.report
                .results
                .iter()
                .any(|r| r.rule == "bios.c1e" && matches!(r.status, Status::Fail | Status::Warn));
        let limit = if c1e_too { "C1" } else { "C1E" };
        rp.push(Step::new(
            rule,
            gate,
            Kind::TunedOption {
                section: "cpu".into(),
                key: "force_latency".into(),
                value: format!("cstate.name:{limit}|1"),
            },
        ));
    }
    Ok(())
}

pub(super) fn ple(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate, f) = (x.rule, x.gate, x.f);
    let cur = f.text("/sys/module/kvm_intel/parameters/ple_gap");
    // ple_gap=0 is host-wide: on a host whose vCPUs share pCPUs a spinning vCPU could
    // no longer yield to a preempted lock holder (the rule itself warns about that).
    match cpu_overcommitted(f, x.report) {
        Some(false) => {}
        known => {
            return Err(format!(
                "the host's vCPUs {} pCPUs: ple_gap=0 would apply to every VM; give the dedicated-CPU VMs `-overcommit cpu-pm=on` instead (libvirt: <qemu:arg value='-overcommit'/><qemu:arg value='cpu-pm=on'/>), which disables PAUSE exits for them only",
                if known.is_some() { "share" } else { "may share (commitment unknown)" }
            ))
        }
    }
    if cur == Some("0") {
        return Err("ple_gap is already 0; on an overcommitted host restore PLE by removing `ple_gap=0` from modprobe.d / the kernel command line and reloading kvm_intel".into());
    }
    let configured =
        crate::rules::persistent::configured_module_param(f.snap, "kvm_intel", "ple_gap");
    match &configured {
        Some((_, v)) if v == "0" => {}
        Some((path, v)) if !path.starts_with("/etc/modprobe.d/") => {
            return Err(format!(
                "{} sets kvm_intel ple_gap={}, which a modprobe.d line cannot override: change it there",
                quote::comment(path),
                quote::comment(v)
            ))
        }
        _ => rp.push(Step::new(
            rule,
            gate,
            Kind::ConfLine {
                file: ConfFile::Modprobe,
                key: "options kvm_intel ple_gap".into(),
                line: "options kvm_intel ple_gap=0".into(),
            },
        )),
    }
    if let Some((path, v)) =
        configured.filter(|(p, v)| v != "0" && p.as_str() > ConfFile::Modprobe.path())
    {
        rp.notes.push(format!(
            "{rule}: {} sets kvm_intel ple_gap={} after kvmaudit.conf and wins; edit it",
            quote::comment(&path),
            quote::comment(&v)
        ));
    }
    rp.push(Step::new(
        rule,
        gate,
        Kind::ModuleReload {
            module: "kvm_intel".into(),
            param: "ple_gap".into(),
            value: "0".into(),
        },
    ));
    Ok(())
}

pub(super) fn nohz_full(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate, f) = (x.rule, x.gate, x.f);
    let list = isolated_cpus(f.snap)
        .ok_or("cannot derive a nohz_full list: CPU topology or NUMA nodes not recorded")?;
    rp.kernel_args(
        rule,
        gate,
        vec![format!("nohz_full={list}"), format!("rcu_nocbs={list}")],
        vec![],
    );
    rp.notes.push(format!(
        "{rule}: nohz_full={list} keeps the first core (with its sibling) of every NUMA node, and CPU 0, for housekeeping"
    ));
    Ok(())
}
