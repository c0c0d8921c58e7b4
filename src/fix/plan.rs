//! From findings to a plan: which failed/warn findings become typed steps, which stay advice.
//!
//! A step is made only from facts (the snapshot, or a report's evidence) and from constants of
//! the catalogue's Fix lines; every host-derived path is checked to stay inside the attribute
//! tree it belongs to, and host data reaches configuration files only when it is plain.

use super::facts::Facts;
use super::quote;
use super::step::{After, ConfFile, Gate, Kind, ReadMode, Step};
use crate::report::{Finding, Report, Status};
use std::collections::{BTreeMap, BTreeSet};

/// The order rules are planned in: governor before EPP (a performance governor forces EPP),
/// runtime fixes before the boot-time ones.
pub const ORDER: &[&str] = &[
    "host.cpufreq.governor",
    "bios.power-policy",
    "bios.turbo",
    "bios.c1e",
    "bios.c6",
    "host.numa.balancing",
    "host.thp",
    "host.hugepages.pool",
    "host.hugepages.mount",
    "host.irq.affinity",
    "bios.ht",
    "host.kvm.ple",
    "host.iommu.enabled",
    "host.nohz-full.housekeeping",
    "guest.blk.rq-affinity",
    "guest.cmdline.no-idle",
];

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
    // Planned rules first in ORDER, then every other rule in report order.
    let mut rules: Vec<String> = ORDER
        .iter()
        .filter(|r| host_by_rule.contains_key(**r))
        .map(|r| r.to_string())
        .collect();
    for f in report.results.iter().filter(wanted) {
        if host_by_rule.contains_key(&f.rule) && !rules.contains(&f.rule) {
            rules.push(f.rule.clone());
        }
    }
    for rule in rules {
        let findings = host_by_rule.get(&rule).cloned().unwrap_or_default();
        let Some(first) = findings.first() else {
            continue;
        };
        let mode = mode_of(first);
        let result = match mode.as_str() {
            "yes" => plan_rule(&rule, Gate::Yes, &findings, facts, report),
            "guarded" => plan_rule(&rule, Gate::Guarded, &findings, facts, report),
            _ => Err("the catalogue marks this fix as not automatable (advice only)".to_string()),
        };
        let disposition = match result {
            Ok(mut rp) if !rp.steps.is_empty() => {
                if rp.tuned {
                    tuned_gaps(&mut rp, &rule);
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
    for (vm, list) in &plan.vm_findings {
        for f in list {
            plan.covered.push(Covered {
                rule: f.rule.clone(),
                target: f.target.clone(),
                status: f.status,
                message: f.message.clone(),
                mode: mode_of(f),
                disposition: Disposition::Advice(format!(
                    "VM-level: libvirt domain XML / QEMU option advice for {}",
                    vm.label
                )),
            });
        }
    }
    plan
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

/// The steps for one rule, with notes for the reviewer.
#[derive(Debug, Default)]
pub struct RulePlan {
    pub steps: Vec<Step>,
    pub notes: Vec<String>,
    /// The host runs tuned: what tuned owns is persisted in kvmaudit's tuned profile.
    pub tuned: bool,
}

impl RulePlan {
    fn push(&mut self, s: Step) {
        // One profile option stands for every policy's write (governor, EPP, ...).
        if matches!(s.kind, Kind::TunedOption { .. }) && self.steps.contains(&s) {
            return;
        }
        self.steps.push(s);
    }
    /// A runtime write plus its tmpfiles.d line (or a note when the path is too unusual for it).
    fn sysfs(&mut self, rule: &str, gate: Gate, path: &str, value: &str, read: ReadMode) {
        self.push(Step::new(
            rule,
            gate,
            Kind::SetValue {
                path: path.into(),
                value: value.into(),
                read,
            },
        ));
        self.persist(rule, gate, path, value);
    }
    /// A kernel command-line change, which takes effect at the next boot.
    fn kernel_args(&mut self, rule: &str, gate: Gate, set: Vec<String>, remove: Vec<String>) {
        self.push(Step::new(rule, gate, Kind::KernelArgs { set, remove }).after(After::Reboot));
    }
    fn persist(&mut self, rule: &str, gate: Gate, path: &str, value: &str) {
        let step = if self.tuned {
            Step::tuned_for(rule, gate, path, value)
        } else {
            Step::tmpfiles_for(rule, gate, path, value)
        };
        match step {
            Some(s) => self.push(s),
            None => self.notes.push(format!(
                "{rule}: {} has characters a tmpfiles.d line cannot carry safely; its value is set now but not made persistent",
                quote::comment(path)
            )),
        }
    }
}

const SYS: &[&str] = &["/sys/"];

/// Host paths from facts that the script may touch: inside the attribute tree, no `..`.
fn usable<'a>(
    rp: &mut RulePlan,
    rule: &str,
    paths: Vec<(&'a str, &'a str)>,
) -> Vec<(&'a str, &'a str)> {
    let mut out = Vec::new();
    for (p, v) in paths {
        if quote::safe_host_path(p, SYS) {
            out.push((p, v));
        } else {
            rp.notes.push(format!(
                "{rule}: ignored the recorded path {} (outside /sys or with `.`/`..` components)",
                quote::comment(p)
            ));
        }
    }
    out
}

fn plan_rule(
    rule: &str,
    gate: Gate,
    findings: &[&Finding],
    f: &Facts,
    report: &Report,
) -> Result<RulePlan, String> {
    let mut rp = RulePlan {
        tuned: tuned_active(f),
        ..RulePlan::default()
    };
    match rule {
        "host.cpufreq.governor" => {
            let govs = f.files_like("/sys/devices/system/cpu/cpufreq/policy*/scaling_governor");
            let govs = usable(&mut rp, rule, govs);
            if govs.is_empty() {
                return Err(no_facts(f, "cpufreq policies"));
            }
            for (p, _) in govs {
                let dir = p.rsplit_once('/').map(|(d, _)| d).unwrap_or(p);
                let avail = f.text(&format!("{dir}/scaling_available_governors"));
                if avail.is_some_and(|a| !a.split_whitespace().any(|g| g == "performance")) {
                    rp.notes.push(format!(
                        "{rule}: {} offers no `performance` governor; left alone",
                        quote::comment(dir)
                    ));
                    continue;
                }
                rp.sysfs(rule, gate, p, "performance", ReadMode::Plain);
            }
        }
        "bios.power-policy" => {
            let epb = f.files_like("/sys/devices/system/cpu/cpu*/power/energy_perf_bias");
            for (p, _) in usable(&mut rp, rule, epb) {
                rp.sysfs(rule, gate, p, "0", ReadMode::Plain);
            }
            let epp = f.files_like(
                "/sys/devices/system/cpu/cpufreq/policy*/energy_performance_preference",
            );
            for (p, _) in usable(&mut rp, rule, epp) {
                rp.sysfs(rule, gate, p, "performance", ReadMode::Plain);
            }
            if rp.steps.is_empty() {
                return Err(format!(
                    "{}; the firmware part (CPU Power and Performance Policy) is set in BIOS setup",
                    no_facts(f, "EPB or EPP attributes")
                ));
            }
        }
        "bios.turbo" => {
            if f.cpu_flag("ida") == Some(false) {
                return Err("turbo is disabled in firmware (no `ida` CPU flag): enable Intel Turbo Boost Technology in BIOS setup".into());
            }
            let no_turbo = "/sys/devices/system/cpu/intel_pstate/no_turbo";
            let boost = "/sys/devices/system/cpu/cpufreq/boost";
            if f.text(no_turbo).is_some_and(|v| v != "0") {
                rp.sysfs(rule, gate, no_turbo, "0", ReadMode::Plain);
            } else if f.text(boost).is_some_and(|v| v != "1") {
                rp.sysfs(rule, gate, boost, "1", ReadMode::Plain);
            }
            // Frequency caps below the hardware maximum.
            let caps = f.files_like("/sys/devices/system/cpu/cpufreq/policy*/scaling_max_freq");
            for (p, v) in usable(&mut rp, rule, caps) {
                let dir = p.rsplit_once('/').map(|(d, _)| d).unwrap_or(p);
                let max = f.text(&format!("{dir}/cpuinfo_max_freq"));
                if let (Ok(cur), Some(Ok(max))) = (v.parse::<u64>(), max.map(str::parse::<u64>)) {
                    if cur < max {
                        rp.sysfs(rule, gate, p, &max.to_string(), ReadMode::Plain);
                    }
                }
            }
            if rp.steps.is_empty() {
                return Err(if f.from_report {
                    no_facts(f, "the turbo switch (intel_pstate/no_turbo, cpufreq/boost)")
                } else {
                    "the OS turbo switch and frequency caps already allow turbo; the rest is firmware (Intel Turbo Boost Technology in BIOS setup)".into()
                });
            }
        }
        "bios.c1e" | "bios.c6" => {
            // The states the rule counts: C1E; for C6 every C6-class state (C6, C6P, ...)
            // and, under acpi_idle, ACPI C2/C3.
            let name = if rule == "bios.c1e" { "C1E" } else { "C6" };
            let acpi =
                f.text("/sys/devices/system/cpu/cpuidle/current_driver") == Some("acpi_idle");
            let states = f.files_like("/sys/devices/system/cpu/cpu*/cpuidle/state*/name");
            for (p, v) in usable(&mut rp, rule, states) {
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
        }
        "host.numa.balancing" => {
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
            sysctl_overrides(&mut rp, rule, gate, f, "kernel.numa_balancing", "1");
        }
        "host.thp" => {
            let enabled = "/sys/kernel/mm/transparent_hugepage/enabled";
            let shmem = "/sys/kernel/mm/transparent_hugepage/shmem_enabled";
            let cur = f.bracketed(enabled);
            if cur.is_none() || cur == Some("never") {
                rp.sysfs(rule, gate, enabled, "madvise", ReadMode::Bracketed);
            }
            let shmem_named = findings.iter().any(|x| {
                x.evidence
                    .iter()
                    .any(|e| e.source.contains("shmem_enabled"))
            });
            if shmem_named && matches!(f.bracketed(shmem), Some("never") | Some("deny")) {
                rp.sysfs(rule, gate, shmem, "advise", ReadMode::Bracketed);
            }
            // A `transparent_hugepage=never` on the command line would come back at boot
            // before tmpfiles runs; replace it so both agree.
            let cmdline_never = f.text("/proc/cmdline").is_some_and(|c| {
                c.split_whitespace().any(|w| {
                    w.starts_with("transparent_hugepage=")
                        && w != "transparent_hugepage=madvise"
                        && w != "transparent_hugepage=always"
                })
            });
            if cmdline_never {
                rp.kernel_args(
                    rule,
                    gate,
                    vec!["transparent_hugepage=madvise".into()],
                    vec![],
                );
            }
            if rp.steps.is_empty() {
                return Err(no_facts(f, "THP setting that differs from the target"));
            }
        }
        "host.hugepages.pool" => {
            for x in findings {
                for e in &x.evidence {
                    let node_pat =
                        "/sys/devices/system/node/node*/hugepages/hugepages-*/nr_hugepages";
                    let glob_pat = "/sys/kernel/mm/hugepages/hugepages-*/nr_hugepages";
                    let is_node = super::facts::path_matches(node_pat, &e.source);
                    if !is_node && !super::facts::path_matches(glob_pat, &e.source) {
                        continue;
                    }
                    let Some(count) = e.expected.as_deref().and_then(at_least) else {
                        continue;
                    };
                    if !quote::safe_host_path(&e.source, SYS) {
                        continue;
                    }
                    let Some(page_kb) =
                        page_kb_of(&e.source).filter(|k| (1..=MAX_PAGE_KB).contains(k))
                    else {
                        continue;
                    };
                    let meminfo = if is_node {
                        let node = e.source.split('/').nth(5).unwrap_or("node0");
                        format!("/sys/devices/system/node/{node}/meminfo")
                    } else {
                        "/proc/meminfo".to_string()
                    };
                    // A report is hostile input: a count the memory cannot hold is refused
                    // here, so that no huge number reaches the script's arithmetic.
                    let total_kb = mem_total_kb(f, &meminfo);
                    let cap = (total_kb.unwrap_or(MAX_MEM_KB) / page_kb).min(MAX_PAGES);
                    if count > cap {
                        rp.notes.push(format!(
                            "{rule}: {} asks for {count} pages of {page_kb} kB, more than {} holds ({cap} pages); no step",
                            quote::comment(&e.source),
                            if total_kb.is_some() { quote::comment(&meminfo) } else { "any host".to_string() },
                        ));
                        continue;
                    }
                    rp.push(Step::new(
                        rule,
                        gate,
                        Kind::HugepagesAtLeast {
                            path: e.source.clone(),
                            count,
                            page_kb,
                            meminfo,
                        },
                    ));
                    if quote::plain_path(&e.source) {
                        rp.push(Step::new(
                            rule,
                            gate,
                            Kind::HugepagesPersist {
                                path: e.source.clone(),
                                count,
                            },
                        ));
                    } else {
                        rp.persist(rule, gate, &e.source, &count.to_string());
                    }
                }
            }
            if rp.steps.is_empty() {
                return Err("the findings name no pool with a required page count; size the pools from the VMs' guest RAM (per node) by hand".into());
            }
        }
        "host.hugepages.mount" => {
            let mounted: BTreeSet<u64> = f
                .text("/proc/mounts")
                .map(|m| {
                    m.lines()
                        .filter(|l| l.split_whitespace().nth(2) == Some("hugetlbfs"))
                        .filter_map(|l| {
                            l.split_whitespace()
                                .nth(3)?
                                .split(',')
                                .find_map(|o| o.strip_prefix("pagesize="))
                                .and_then(size_kb)
                        })
                        .collect()
                })
                .unwrap_or_default();
            for (p, v) in f.files_like("/sys/kernel/mm/hugepages/hugepages-*/nr_hugepages") {
                let (Some(kb), Ok(n)) = (page_kb_of(p), v.parse::<u64>()) else {
                    continue;
                };
                if n == 0 || mounted.contains(&kb) {
                    continue;
                }
                let size = human_size(kb);
                let dir = format!("/dev/hugepages{size}");
                rp.push(Step::new(
                    rule,
                    gate,
                    Kind::HugetlbMount {
                        dir: dir.clone(),
                        pagesize: size.clone(),
                    },
                ));
                rp.push(Step::new(
                    rule,
                    gate,
                    Kind::ConfLine {
                        file: ConfFile::Fstab,
                        key: format!("hugetlbfs {dir}"),
                        line: format!("hugetlbfs {dir} hugetlbfs pagesize={size} 0 0"),
                    },
                ));
            }
            if rp.steps.is_empty() {
                return Err("every pooled page size has a hugetlbfs mount; point the VM's mem-path at one of them (VM definition)".into());
            }
        }
        "host.irq.affinity" => {
            for x in findings {
                for e in &x.evidence {
                    if !super::facts::path_matches("/proc/irq/*/smp_affinity_list", &e.source) {
                        continue;
                    }
                    let Some(want) = e.expected.as_deref().map(str::trim) else {
                        continue;
                    };
                    if crate::parse::cpulist::parse(want).is_err() || !quote::plain_token(want) {
                        continue;
                    }
                    if !quote::safe_host_path(&e.source, &["/proc/irq/"]) {
                        continue;
                    }
                    rp.push(Step::new(
                        rule,
                        gate,
                        Kind::SetValue {
                            path: e.source.clone(),
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
        }
        "bios.ht" => {
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
        }
        "host.kvm.ple" => {
            let cur = f.text("/sys/module/kvm_intel/parameters/ple_gap");
            // ple_gap=0 is host-wide: on a host whose vCPUs share pCPUs a spinning vCPU could
            // no longer yield to a preempted lock holder (the rule itself warns about that).
            match cpu_overcommitted(f, report) {
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
        }
        "host.iommu.enabled" => {
            if f.cpu_vendor().is_some_and(|v| v != "GenuineIntel") {
                return Err("not an Intel host: enable the vendor's IOMMU in firmware".into());
            }
            rp.kernel_args(
                rule,
                gate,
                vec!["intel_iommu=on".into(), "iommu=pt".into()],
                vec![],
            );
        }
        "host.nohz-full.housekeeping" => {
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
        }
        "guest.blk.rq-affinity" => {
            if !findings
                .iter()
                .any(|x| x.target == "host" || x.target.starts_with("host/"))
            {
                return Err(
                    "guest setting: run `kvmaudit fix --generate-script` inside the guest".into(),
                );
            }
            let devs = f.files_like("/sys/block/*/queue/rq_affinity");
            for (p, _) in usable(&mut rp, rule, devs) {
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
                    line: "ACTION==\"add|change\", KERNEL==\"vd[a-z]*\", ATTR{queue/rq_affinity}=\"2\"".into(),
                },
            ));
        }
        "guest.cmdline.no-idle" => {
            if !findings.iter().any(|x| x.target == "host") {
                return Err(
                    "guest setting: run `kvmaudit fix --generate-script` inside the guest".into(),
                );
            }
            rp.kernel_args(rule, gate, vec![], vec!["idle".into()]);
        }
        _ => return Err("kvmaudit does not automate this fix yet".into()),
    }
    Ok(rp)
}

/// On a tuned host, the persistent changes kvmaudit's tuned profile does not carry: the
/// reviewer learns that tuned does not manage them (and that a profile of its own could).
fn tuned_gaps(rp: &mut RulePlan, rule: &str) {
    let mut gaps = BTreeSet::new();
    for s in &rp.steps {
        match &s.kind {
            Kind::KernelArgs { .. } => {
                gaps.insert("the kernel command line goes to the boot loader directly, not through tuned's [bootloader] cmdline: check that the active profile sets no conflicting argument");
            }
            Kind::HugepagesPersist { .. } => {
                gaps.insert(
                    "the pool size is made persistent in tmpfiles.d, which tuned does not manage",
                );
            }
            Kind::ConfLine { file, .. }
                if *file != ConfFile::Tmpfiles && *file != ConfFile::Sysctl => {}
            Kind::ConfLine { .. } => {
                gaps.insert("a tmpfiles.d/sysctl.d line remains although tuned is active: tuned may set the value again when it starts");
            }
            _ => {}
        }
    }
    for g in gaps {
        rp.notes
            .push(format!("{rule}: tuned is active on the scanned host; {g}"));
    }
}

/// The scanned host runs tuned: /etc/tuned/active_profile names a profile.
fn tuned_active(f: &Facts) -> bool {
    f.text("/etc/tuned/active_profile")
        .is_some_and(|p| !p.trim().is_empty())
}

/// The rules' own verdict on CPU commitment (context flag `cpu_overcommitted`): computed from
/// the snapshot, or read from the report's `base.capacity.commit` finding.
fn cpu_overcommitted(f: &Facts, report: &Report) -> Option<bool> {
    if !f.from_report {
        let host = crate::model::host::HostModel::build(f.snap);
        let ctx = crate::rules::context::Ctx::new(f.snap, &host, report.profile);
        return ctx.flags.cpu_overcommitted;
    }
    let m = &report
        .results
        .iter()
        .find(|x| x.rule == "base.capacity.commit")?
        .message;
    if m.contains("CPU overcommitted: no") || m.starts_with("no running VMs") {
        Some(false)
    } else if m.contains("CPU overcommitted: yes") {
        Some(true)
    } else {
        None
    }
}

/// sysctl.d files applied after kvmaudit's own (by file name, as systemd-sysctl and
/// `sysctl --system` order them; /etc/sysctl.conf last) that set `key` to another value: the
/// ones under /etc are commented out (backed up first), the others are noted.
fn sysctl_overrides(rp: &mut RulePlan, rule: &str, gate: Gate, f: &Facts, key: &str, value: &str) {
    let ours = ConfFile::Sysctl.path();
    let our_name = ours.rsplit('/').next().unwrap_or(ours);
    let mut files: BTreeSet<String> = BTreeSet::new();
    for (path, k, v) in crate::rules::persistent::sysctl_settings(f.snap) {
        if k != key || v == value || path == ours {
            continue;
        }
        let name = path.rsplit('/').next().unwrap_or(&path);
        let later = path == "/etc/sysctl.conf" || name > our_name;
        if !later {
            continue;
        }
        if path.starts_with("/etc/")
            && quote::safe_host_path(&path, &["/etc/sysctl.d/", "/etc/sysctl.conf"])
        {
            files.insert(path);
        } else {
            rp.notes.push(format!(
                "{rule}: {} sets {key} = {} after {ours} and would win at boot; mask it with a file of the same name in /etc/sysctl.d",
                quote::comment(&path),
                quote::comment(&v)
            ));
        }
    }
    for file in files {
        rp.push(Step::new(
            rule,
            gate,
            Kind::SysctlCommentOut {
                file,
                key: key.to_string(),
            },
        ));
    }
}

fn no_facts(f: &Facts, what: &str) -> String {
    if f.from_report {
        format!("the report does not name {what}; generate the script from a scan of the host (SOURCES) instead of --report alone")
    } else {
        format!("the scan recorded no {what}")
    }
}

/// `8`, `>= 8`, `≥ 8`, `at least 8` → 8.
fn at_least(s: &str) -> Option<u64> {
    let t = s.trim();
    let t = t
        .strip_prefix(">=")
        .or_else(|| t.strip_prefix('≥'))
        .or_else(|| t.strip_prefix("at least"))
        .unwrap_or(t);
    t.trim().parse().ok()
}

/// The most memory any host can have (x86-64 5-level paging: 4 PiB), in kB: the bound of a
/// pool size when the scan did not record MemTotal.
const MAX_MEM_KB: u64 = 1 << 42;
/// The script's arithmetic bounds (10-digit counts, 8-digit page sizes in kB): their product
/// stays far inside bash's 64-bit integers.
const MAX_PAGES: u64 = 9_999_999_999;
const MAX_PAGE_KB: u64 = 99_999_999;

/// `MemTotal` (kB) of `/proc/meminfo` or a node's meminfo (`Node 1 MemTotal: N kB`); for a
/// node whose meminfo was not recorded, the host's.
fn mem_total_kb(f: &Facts, meminfo: &str) -> Option<u64> {
    let read = |path: &str| {
        f.text(path)?.lines().find_map(|l| {
            let mut w = l.split_whitespace().skip_while(|w| *w != "MemTotal:");
            w.next()?;
            w.next()?.parse::<u64>().ok()
        })
    };
    read(meminfo).or_else(|| read("/proc/meminfo"))
}

/// `.../hugepages-1048576kB/...` → 1048576.
fn page_kb_of(path: &str) -> Option<u64> {
    path.split('/')
        .find_map(|c| c.strip_prefix("hugepages-")?.strip_suffix("kB"))
        .and_then(|n| n.parse().ok())
}

/// `1G`, `2M`, `1024k`, `2048K` → kB.
fn size_kb(s: &str) -> Option<u64> {
    let (num, mul) = match s.chars().last()? {
        'G' | 'g' => (&s[..s.len() - 1], 1024 * 1024),
        'M' | 'm' => (&s[..s.len() - 1], 1024),
        'K' | 'k' => (&s[..s.len() - 1], 1),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

fn human_size(kb: u64) -> String {
    if kb % (1024 * 1024) == 0 {
        format!("{}G", kb / (1024 * 1024))
    } else if kb % 1024 == 0 {
        format!("{}M", kb / 1024)
    } else {
        format!("{kb}K")
    }
}

/// Every online CPU except, per NUMA node, the first CPU's core (with its siblings); CPU 0 is
/// always kept (the kernel keeps the boot CPU for timekeeping anyway).
fn isolated_cpus(snap: &crate::snapshot::Snapshot) -> Option<String> {
    let topo = crate::model::topology::Topology::from_snapshot(snap);
    let nodes = crate::model::topology::numa_nodes(snap)?;
    let online = topo.online.clone()?;
    let mut keep: BTreeSet<u32> = BTreeSet::from([0]);
    for n in nodes.iter().filter(|n| !n.cpus.is_empty()) {
        let first = *n.cpus.iter().next()?;
        keep.insert(first);
        if let Some(place) = topo.cpus.get(&first) {
            keep.extend(place.siblings.iter().copied());
        }
    }
    let iso: BTreeSet<u32> = online.difference(&keep).copied().collect();
    if iso.is_empty() {
        return None;
    }
    let s = crate::parse::cpulist::format(&iso);
    quote::plain_token(&s).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_parsers() {
        assert_eq!(at_least("≥ 8"), Some(8));
        assert_eq!(at_least(">=8"), Some(8));
        assert_eq!(at_least("8"), Some(8));
        assert_eq!(at_least("eight"), None);
        assert_eq!(
            page_kb_of("/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"),
            Some(1048576)
        );
        assert_eq!(size_kb("1G"), Some(1048576));
        assert_eq!(size_kb("2M"), Some(2048));
        assert_eq!(size_kb(""), None);
        assert_eq!(size_kb("é"), None);
        assert_eq!(human_size(1048576), "1G");
        assert_eq!(human_size(2048), "2M");
    }

    #[test]
    fn vm_names_with_slashes() {
        let names = vec!["a".to_string(), "a/b".to_string()];
        assert_eq!(vm_of("vm:a/b/drive:x", &names).as_deref(), Some("a/b"));
        assert_eq!(vm_of("vm:a/net:0", &names).as_deref(), Some("a"));
        assert_eq!(vm_of("vm:zz/drive:1", &names).as_deref(), Some("zz"));
        assert_eq!(vm_of("host", &names), None);
    }
}
