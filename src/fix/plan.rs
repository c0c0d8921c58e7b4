//! From findings to a plan: which failed/warn findings become typed steps, which stay advice.
//!
//! A step is made only from facts (the snapshot, or a report's evidence) and from constants of
//! the catalogue's Fix lines; every host-derived path is checked to stay inside the attribute
//! tree it belongs to, and host data reaches configuration files only when it is plain.

use super::builders::{self, kit, vm::VmEdit, vm::VmInput, Builder, Input, RulePlan};
use super::facts::Facts;
use super::step::{Gate, Step};
use crate::report::{Finding, Report, Status};
use std::collections::BTreeMap;

/// What happened to one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Fixed by this many steps of the plan.
    Steps(usize),
    /// Advice in comments only, with the reason.
    Advice(String),
}

/// A finding the script covers, and how.
#[derive(Debug, Clone)]
pub struct Covered {
    pub rule: String,
    pub target: String,
    pub status: Status,
    pub message: String,
    pub mode: String,
    pub disposition: Disposition,
}

/// Advice for a host finding: the catalogue's runtime / persistent text, in comments.
#[derive(Debug, Clone)]
pub struct Advice {
    pub rule: String,
    pub target: String,
    pub why: String,
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub covered: Vec<Covered>,
    pub advice: Vec<Advice>,
    /// VM-level findings (scope `vm`, or a guest rule judged from the hypervisor), per VM.
    pub vm_findings: BTreeMap<VmKey, Vec<Finding>>,
    /// Things the reviewer should know (skipped persistent forms, odd paths, ...).
    pub notes: Vec<String>,
    /// Findings a waiver covers (the report's, or `fix --waivers`): no step, listed as waived.
    pub waived: Vec<Finding>,
    /// virt-xml edits of libvirt domains' persistent definitions, per VM (run only with the
    /// script's `--with-vm-changes`).
    pub vm_edits: Vec<(VmKey, VmEdit)>,
}

/// The mode a finding's remediation runs in: the report's, else the catalogue's.
fn mode_of(f: &Finding) -> String {
    if !f.remediation.mode.is_empty() {
        return f.remediation.mode.to_string();
    }
    match crate::rules::meta::find(&f.rule).map(|m| m.remediation.automatable) {
        Some(crate::rules::meta::Automatable::Yes) => "yes".into(),
        Some(crate::rules::meta::Automatable::Guarded) => "guarded".into(),
        _ => {
            if f.remediation.automatable {
                "yes".into()
            } else {
                "no".into()
            }
        }
    }
}

/// A VM the plan groups findings by: its display label (unique in a report; the order the
/// script lists VMs in) and its index in `Report::vms`, so that same-named VMs stay apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct VmKey {
    pub label: String,
    /// `None` only for a report written before findings carried `vm_index`.
    pub index: Option<usize>,
}

impl VmKey {
    /// The report's entry for this VM.
    pub fn entry<'r>(&self, report: &'r Report) -> Option<&'r crate::report::VmEntry> {
        match self.index {
            Some(i) => report.vms.get(i),
            None => report.vms.iter().find(|v| v.name == self.label),
        }
    }

    /// The libvirt domain name (`-name`), which `virsh edit` wants, not the label.
    pub fn domain<'a>(&'a self, report: &'a Report) -> &'a str {
        self.entry(report).map_or(&self.label, |e| e.name.as_str())
    }
}

/// The VM of a finding: by its `vm_index`. Reports written before findings carried it are
/// read by their target: the longest known VM name `N` with `target` = `vm:N` or `vm:N/...`
/// (names may themselves contain `/`).
fn vm_key(f: &Finding, report: &Report, names: &[String]) -> Option<VmKey> {
    if let Some(i) = f.vm_index {
        let label = report
            .vms
            .get(i)
            .map_or_else(|| format!("#{i}"), |e| e.display().to_string());
        return Some(VmKey {
            label,
            index: Some(i),
        });
    }
    vm_of(&f.target, names).map(|label| VmKey { label, index: None })
}

/// The VM a target belongs to, by name (see [`vm_key`]; for reports without `vm_index`).
pub fn vm_of(target: &str, names: &[String]) -> Option<String> {
    let rest = target.strip_prefix("vm:")?;
    let known = names
        .iter()
        .filter(|n| rest == n.as_str() || rest.starts_with(&format!("{n}/")))
        .max_by_key(|n| n.len())
        .cloned();
    known.or_else(|| Some(rest.split('/').next().unwrap_or(rest).to_string()))
}

/// Build the plan for `report` (restricted to `only` rule ids when not empty).
pub fn build(report: &Report, facts: &Facts, only: &[String]) -> Plan {
    let mut plan = Plan::default();
    let vm_names: Vec<String> = report.vms.iter().map(|v| v.name.clone()).collect();
    let wanted = |f: &&Finding| {
        matches!(f.status, Status::Fail | Status::Warn)
            && (only.is_empty() || only.contains(&f.rule))
    };
    plan.waived = report
        .results
        .iter()
        .filter(|f| f.status == Status::Waived && (only.is_empty() || only.contains(&f.rule)))
        .cloned()
        .collect();
    let mut host_by_rule: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for f in report.results.iter().filter(wanted) {
        if let Some(vm) = vm_key(f, report, &vm_names) {
            plan.vm_findings.entry(vm).or_default().push(f.clone());
        } else {
            host_by_rule.entry(f.rule.clone()).or_default().push(f);
        }
    }
    // Rules with a builder first, in the registry's order, then every other rule in report
    // order (a stable sort keeps the report's order among equals).
    let mut rules: Vec<String> = Vec::new();
    for f in report.results.iter().filter(wanted) {
        if host_by_rule.contains_key(&f.rule) && !rules.contains(&f.rule) {
            rules.push(f.rule.clone());
        }
    }
    rules.sort_by_key(|r| builders::rank(r));
    for rule in rules {
        let findings = host_by_rule.get(&rule).cloned().unwrap_or_default();
        plan_host_rule(&mut plan, &rule, findings, facts, report);
    }
    plan.vm_edits = plan_vm_edits(&plan.vm_findings, &mut plan.covered, report);
    plan
}

/// One host rule: its builder's steps when the catalogue lets it automate and one exists,
/// else advice for each finding; every finding is listed as covered either way.
fn plan_host_rule(
    plan: &mut Plan,
    rule: &str,
    findings: Vec<&Finding>,
    facts: &Facts,
    report: &Report,
) {
    let Some(first) = findings.first() else {
        return;
    };
    let mode = mode_of(first);
    let gate = match mode.as_str() {
        "yes" => Some(Gate::Yes),
        "guarded" => Some(Gate::Guarded),
        _ => None,
    };
    let result = match (gate, builders::find(rule)) {
        (None, _) => {
            Err("the catalogue marks this fix as not automatable (advice only)".to_string())
        }
        (Some(gate), Some(Builder::Host(build))) => plan_rule(
            build,
            &Input {
                rule,
                gate,
                findings: &findings,
                f: facts,
                report,
            },
        ),
        (Some(_), _) => Err("kvmaudit has no fix builder for this rule".to_string()),
    };
    let disposition = match result {
        Ok(mut rp) if !rp.steps.is_empty() => {
            if rp.tuned {
                kit::tuned_gaps(&mut rp, rule);
            }
            let n = rp.steps.len();
            plan.steps.extend(rp.steps);
            plan.notes.extend(rp.notes);
            Disposition::Steps(n)
        }
        Ok(rp) => {
            plan.notes.extend(rp.notes);
            Disposition::Advice("nothing the script can change was found".into())
        }
        Err(why) => Disposition::Advice(why),
    };
    if let Disposition::Advice(why) = &disposition {
        for f in &findings {
            plan.advice.push(advice_for(f, why));
        }
    }
    for f in findings {
        plan.covered.push(Covered {
            rule: f.rule.clone(),
            target: f.target.clone(),
            status: f.status,
            message: f.message.clone(),
            mode: mode.clone(),
            disposition: disposition.clone(),
        });
    }
}

/// The libvirt domain edits of the VM findings that have a VM builder; every VM finding is
/// listed as covered, as an edit or as advice.
fn plan_vm_edits(
    vm_findings: &BTreeMap<VmKey, Vec<Finding>>,
    covered: &mut Vec<Covered>,
    report: &Report,
) -> Vec<(VmKey, VmEdit)> {
    let mut edits = Vec::new();
    for (vm, list) in vm_findings {
        let entry = vm.entry(report);
        for f in list {
            let edit = match (entry, builders::find(&f.rule)) {
                (Some(e), Some(Builder::Vm(build))) if e.libvirt => build(&VmInput {
                    finding: f,
                    vcpus: e.vcpus,
                    guest_numa_nodes: e.guest_numa_nodes,
                }),
                (Some(e), Some(Builder::Vm(_))) if !e.libvirt => {
                    Err("not a libvirt domain: change the VM's QEMU command line".into())
                }
                _ => Err(String::new()),
            };
            let disposition = match edit {
                Ok(e) => {
                    edits.push((vm.clone(), e));
                    Disposition::Steps(1)
                }
                Err(why) if why.is_empty() => Disposition::Advice(format!(
                    "VM-level: libvirt domain XML / QEMU option advice for {}",
                    vm.label
                )),
                Err(why) => Disposition::Advice(format!("VM-level ({}): {why}", vm.label)),
            };
            covered.push(Covered {
                rule: f.rule.clone(),
                target: f.target.clone(),
                status: f.status,
                message: f.message.clone(),
                mode: mode_of(f),
                disposition,
            });
        }
    }
    edits
}

/// One host rule's steps from its builder, its steps' tuned state decided once.
fn plan_rule(build: builders::HostBuilder, x: &Input) -> Result<RulePlan, String> {
    let mut rp = RulePlan {
        tuned: kit::tuned_active(x.f),
        ..RulePlan::default()
    };
    build(&mut rp, x)?;
    Ok(rp)
}

fn advice_for(f: &Finding, why: &str) -> Advice {
    let mut lines = vec![f.remediation.summary.to_string()];
    if let Some(m) = crate::rules::meta::find(&f.rule) {
        let r = &m.remediation;
        for (label, text) in [
            ("runtime", &r.runtime),
            ("persistent", &r.persistent),
            ("libvirt", &r.libvirt),
            ("rollback", &r.rollback),
        ] {
            if !text.is_empty() {
                lines.push(format!("{label}: {text}"));
            }
        }
        if !r.disruption.is_empty() {
            lines.push(format!("disruption: {}", r.disruption));
        }
    }
    lines.retain(|l| !l.trim().is_empty());
    Advice {
        rule: f.rule.clone(),
        target: f.target.clone(),
        why: why.to_string(),
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_names_with_slashes() {
        let names = vec!["a".to_string(), "a/b".to_string()];
        assert_eq!(vm_of("vm:a/b/drive:x", &names).as_deref(), Some("a/b"));
        assert_eq!(vm_of("vm:a/net:0", &names).as_deref(), Some("a"));
        assert_eq!(vm_of("vm:zz/drive:1", &names).as_deref(), Some("zz"));
        assert_eq!(vm_of("host", &names), None);
    }
}
