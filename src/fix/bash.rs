//! Rendering a plan as one bash script, built in Rust (no template engine, so nothing escapes
//! for HTML by accident). Every host value goes through [`quote::sh`] in code and through
//! [`quote::comment`] in comments; the runtime library (`prelude.bash`) is constant text.

use super::libvirt;
use super::plan::{Disposition, Plan};
use super::quote::{comment, sh};
use super::step::{Kind, Step};
use crate::report::Report;
use std::collections::BTreeSet;

const PRELUDE: &str = include_str!("prelude.bash");

/// What the header says about where the findings came from.
pub struct Header<'a> {
    pub generated_at: &'a str,
    /// `scan of /`, `scan of --root DIR`, `report FILE`, ...
    pub source: String,
    /// The host the script refuses to run anywhere but on.
    pub identity: &'a super::identity::HostIdentity,
}

/// Append one line.
fn ln(out: &mut String, s: &str) {
    out.push_str(s);
    out.push('\n');
}

/// A comment line (the text is made single-line first).
fn cm(out: &mut String, s: &str) {
    let t = comment(s);
    if t.is_empty() {
        ln(out, "#");
    } else {
        ln(out, &format!("# {t}"));
    }
}

/// A command line: words already quoted by the caller.
fn cmd(out: &mut String, words: &[String]) {
    ln(out, &words.join(" "));
}

fn q(s: &str) -> String {
    sh(s).into_owned()
}

/// The whole script: the header comments (who, what, which findings), the runtime library,
/// the host binding, the closing to-do list, then the steps and the advice.
pub fn render(plan: &Plan, report: &Report, h: &Header) -> String {
    let mut out = String::new();
    write_header(&mut out, report, h);
    write_covered(&mut out, plan);
    write_waived(&mut out, plan);
    write_touched_and_notes(&mut out, plan);
    ln(&mut out, "");
    out.push_str(PRELUDE);
    ln(&mut out, "");
    write_host_binding(&mut out, h.identity);
    write_advice_todo(&mut out, &advice_todo(plan));
    render_steps(&mut out, plan);
    render_vm_edits(&mut out, plan, report);
    render_host_advice(&mut out, plan);
    render_vm_advice(&mut out, plan, report);
    ln(&mut out, "finish");
    out
}

/// The opening comments: the host, when and from what, the identity the script is bound to,
/// and how to run it.
fn write_header(out: &mut String, report: &Report, h: &Header) {
    let host = report.host.hostname.as_deref().unwrap_or("unknown host");
    ln(out, "#!/usr/bin/env bash");
    // Host values are single-quoted on purpose: a `$` or backtick inside one is data.
    ln(out, "# shellcheck disable=SC2016");
    cm(out, "kvmaudit remediation script: review it, then run it.");
    ln(out, "#");
    cm(out, &format!("host:       {host}"));
    cm(out, &format!("generated:  {}", h.generated_at));
    cm(
        out,
        &format!(
            "kvmaudit:   {} (report schema {}, profile {})",
            env!("CARGO_PKG_VERSION"),
            report.schema_version,
            report.profile.as_str()
        ),
    );
    cm(out, &format!("findings:   {}", h.source));
    let id = h.identity;
    cm(
        out,
        &format!(
            "bound to:   hostname {}, machine-id {}, SMBIOS system UUID {} (another host is refused unless --any-host)",
            id.hostname.as_deref().unwrap_or("unknown"),
            id.machine_id.as_deref().unwrap_or("unknown"),
            id.smbios_uuid.as_deref().unwrap_or("unknown")
        ),
    );
    ln(out, "#");
    for l in [
        "bash THIS-SCRIPT                 dry run (default): every planned change as current → target",
        "bash THIS-SCRIPT --apply         make the changes (root); \"guarded\" steps need --with-guarded",
        "Every step checks the current state first and says \"already set\" when it is right, so a",
        "second run changes nothing. Before the first change the script saves the prior state",
        "(file copies, sysfs values) in a timestamped directory under /var/backups/kvmaudit",
        "($KVMAUDIT_BACKUP_DIR or --backup-dir override it) and writes rollback.sh there.",
        "VM-level findings are advice only (libvirt domain XML and QEMU options, at the end).",
    ] {
        cm(out, l);
    }
    ln(out, "#");
}

/// Which findings the script covers, each with its steps or why it is advice.
fn write_covered(out: &mut String, plan: &Plan) {
    cm(out, &format!("Findings covered ({}):", plan.covered.len()));
    for c in &plan.covered {
        let how = match &c.disposition {
            Disposition::Steps(n) => format!("{n} step(s), auto {}", c.mode),
            Disposition::Advice(why) => format!("advice: {why}"),
        };
        cm(
            out,
            &format!(
                "  - {} {} [{}] -> {how}",
                c.rule,
                c.target,
                c.status.as_str()
            ),
        );
        if !c.message.is_empty() {
            cm(out, &format!("      {}", c.message));
        }
    }
    if plan.covered.is_empty() {
        cm(out, "  (none: no failed or warn finding)");
    }
}

/// Waived findings get no step; the header says so with the waiver's reason and expiry.
fn write_waived(out: &mut String, plan: &Plan) {
    if !plan.waived.is_empty() {
        ln(out, "#");
        cm(
            out,
            &format!(
                "Waived findings ({}): no step, by waiver:",
                plan.waived.len()
            ),
        );
        for f in &plan.waived {
            let (was, why, until) = match &f.waiver {
                Some(w) => (
                    w.original_status.as_str(),
                    w.reason.as_str(),
                    w.expires.as_deref().unwrap_or("never"),
                ),
                None => ("?", "", "?"),
            };
            cm(
                out,
                &format!(
                    "  - {} {} [waived, was {was}] expires {until}: {why}",
                    f.rule, f.target
                ),
            );
        }
    }
}

/// The step count, every path a step may change (natural order, once each) and the
/// generator's notes.
fn write_touched_and_notes(out: &mut String, plan: &Plan) {
    let mut touched: Vec<String> = plan.steps.iter().flat_map(Step::touches).collect();
    touched.sort_by(|a, b| super::facts::natural_cmp(a, b));
    touched.dedup();
    let guarded = plan
        .steps
        .iter()
        .filter(|s| s.gate == super::step::Gate::Guarded)
        .count();
    ln(out, "#");
    cm(
        out,
        &format!(
            "Steps: {} ({guarded} guarded: they run only with --with-guarded).",
            plan.steps.len()
        ),
    );
    if !touched.is_empty() {
        ln(out, "#");
        cm(
            out,
            "Paths this script may change (files are copied to the backup directory first):",
        );
        for t in &touched {
            cm(out, &format!("  touch: {t}"));
        }
    }
    if !plan.notes.is_empty() {
        ln(out, "#");
        cm(out, "Notes from the generator:");
        for n in &plan.notes {
            cm(out, &format!("  - {n}"));
        }
    }
}

/// Before any change, dry run included: the running host must be the scanned one.
fn write_host_binding(out: &mut String, id: &super::identity::HostIdentity) {
    for (var, v) in [
        ("BOUND_HOSTNAME", &id.hostname),
        ("BOUND_MACHINE_ID", &id.machine_id),
        ("BOUND_SMBIOS_UUID", &id.smbios_uuid),
    ] {
        ln(out, &format!("{var}={}", q(v.as_deref().unwrap_or(""))));
    }
    ln(out, "check_host");
    ln(out, "");
}

/// What stays for the admin, printed in the closing list: host advice, then each VM's
/// findings that no virt-xml edit covers.
fn advice_todo(plan: &Plan) -> Vec<String> {
    let mut todo: Vec<String> = plan
        .advice
        .iter()
        .map(|a| format!("{} {}: {}", a.rule, a.target, a.why))
        .collect();
    for (vm, list) in &plan.vm_findings {
        // Findings a virt-xml edit covers are steps (with --with-vm-changes), not to-dos.
        let rules: BTreeSet<&str> = list
            .iter()
            .map(|f| f.rule.as_str())
            .filter(|r| !plan.vm_edits.iter().any(|(k, e)| k == vm && e.rule == *r))
            .collect();
        if rules.is_empty() {
            continue;
        }
        todo.push(format!(
            "VM {}: {} (change the domain definition, then restart the VM)",
            vm.label,
            rules.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    todo
}

fn write_advice_todo(out: &mut String, todo: &[String]) {
    for t in todo {
        ln(out, &format!("ADVICE_TODO+=({})", q(&comment(t))));
    }
    if !todo.is_empty() {
        ln(out, "");
    }
}

fn render_steps(out: &mut String, plan: &Plan) {
    if plan.steps.is_empty() {
        cm(out, "No step: nothing the script can change was found.");
        ln(out, "");
        return;
    }
    let mut current = "";
    for s in &plan.steps {
        if s.rule != current {
            current = &s.rule;
            ln(out, "");
            let title = crate::rules::meta::find(&s.rule)
                .map(|m| m.title.clone())
                .unwrap_or_default();
            let sep = if title.is_empty() { "" } else { " — " };
            cm(
                out,
                &format!("==== {}{sep}{title} (auto: {})", s.rule, s.gate.as_str()),
            );
            for c in plan.covered.iter().filter(|c| c.rule == s.rule) {
                cm(
                    out,
                    &format!("  [{}] {}: {}", c.status.as_str(), c.target, c.message),
                );
            }
            if let Some(m) = crate::rules::meta::find(&s.rule) {
                let r = &m.remediation;
                if !r.disruption.is_empty() {
                    cm(out, &format!("  disruption: {}", r.disruption));
                }
                if !r.rollback.is_empty() {
                    cm(out, &format!("  catalogue rollback: {}", r.rollback));
                }
            }
        }
        render_step(out, s);
    }
    ln(out, "");
}

/// One step as a call of its prelude function: `NAME GATE RULE ARGS...`.
fn render_step(out: &mut String, s: &Step) {
    let (function, args) = step_call(&s.kind);
    let mut words = vec![
        function.to_string(),
        s.gate.as_str().to_string(),
        q(&s.rule),
    ];
    words.extend(args);
    cmd(out, &words);
}

/// The prelude function a step kind calls and its arguments after gate and rule, each quoted.
fn step_call(kind: &Kind) -> (&'static str, Vec<String>) {
    match kind {
        Kind::SetValue { path, value, read } => {
            ("set_value", vec![read.as_str().into(), q(path), q(value)])
        }
        Kind::CpuidleDisable { state_dir, name } => {
            ("cpuidle_disable", vec![q(state_dir), q(name)])
        }
        Kind::HugepagesAtLeast {
            path,
            count,
            page_kb,
            meminfo,
        } => (
            "hugepages_at_least",
            vec![q(path), count.to_string(), page_kb.to_string(), q(meminfo)],
        ),
        Kind::ConfLine { file, key, line } => ("conf_line", vec![q(file.path()), q(key), q(line)]),
        Kind::KernelArgs { set, remove } => {
            let set = set.iter().map(|t| q(&format!("set:{t}")));
            let remove = remove.iter().map(|t| q(&format!("del:{t}")));
            ("kernel_args", set.chain(remove).collect())
        }
        Kind::HugepagesPersist { path, count } => {
            ("hugepages_persist", vec![q(path), count.to_string()])
        }
        Kind::TunedOption {
            section,
            key,
            value,
        } => ("tuned_option", vec![q(section), q(key), q(value)]),
        Kind::KsmMergeAcrossNodes { value } => ("ksm_merge_across_nodes", vec![q(value)]),
        Kind::PciDriverOverride { device, driver } => {
            ("pci_driver_override", vec![q(device), q(driver)])
        }
        Kind::SysctlCommentOut { file, key } => ("sysctl_comment_out", vec![q(file), q(key)]),
        Kind::ModuleReload {
            module,
            param,
            value,
        } => ("need_reload", vec![q(module), q(param), q(value)]),
        Kind::HugetlbMount { dir, pagesize } => (
            "hugetlb_mount",
            vec![q(dir), q(pagesize), pagesize_kb(pagesize).to_string()],
        ),
    }
}

/// A hugetlbfs `pagesize=` option (`1G`, `2M`, `2048K`) in KiB, as the prelude compares it
/// with the mount's; 0 when it is not a number.
fn pagesize_kb(pagesize: &str) -> u64 {
    match pagesize.chars().last() {
        Some('G') => pagesize
            .trim_end_matches('G')
            .parse::<u64>()
            .ok()
            .map(|n| n * 1024 * 1024),
        Some('M') => pagesize
            .trim_end_matches('M')
            .parse::<u64>()
            .ok()
            .map(|n| n * 1024),
        _ => pagesize.trim_end_matches('K').parse::<u64>().ok(),
    }
    .unwrap_or(0)
}

fn render_host_advice(out: &mut String, plan: &Plan) {
    if plan.advice.is_empty() {
        return;
    }
    ln(out, "");
    cm(out, "==== Host findings left to you (advice, not run) ====");
    for a in &plan.advice {
        cm(out, "");
        cm(out, &format!("{} {}: {}", a.rule, a.target, a.why));
        for l in &a.lines {
            cm(out, &format!("    {l}"));
        }
    }
    ln(out, "");
}

/// The virt-xml edits of libvirt domains: each changes the persistent definition (for the
/// VM's next start), and runs only with the script's `--with-vm-changes`.
fn render_vm_edits(out: &mut String, plan: &Plan, report: &Report) {
    if plan.vm_edits.is_empty() {
        return;
    }
    ln(out, "");
    cm(out, "==== libvirt domains: virt-xml edits of the persistent definitions (only with --with-vm-changes; each takes effect when the VM is next started) ====");
    for (vm, e) in &plan.vm_edits {
        let mut w = vec![
            "vm_edit".to_string(),
            q(&e.rule),
            q(vm.domain(report)),
            q(e.option),
            q(&e.value),
        ];
        if !e.select.is_empty() {
            w.push(q(&e.select));
        }
        cmd(out, &w);
    }
}

fn render_vm_advice(out: &mut String, plan: &Plan, report: &Report) {
    if plan.vm_findings.is_empty() {
        return;
    }
    ln(out, "");
    cm(out, "==== VM findings: libvirt domain XML and QEMU options (advice; running VMs are never edited) ====");
    for (vm, list) in &plan.vm_findings {
        let entry = vm.entry(report);
        let pid = entry
            .and_then(|v| v.pid)
            .map(|p| format!(", pid {p}"))
            .unwrap_or_default();
        cm(out, "");
        cm(
            out,
            &format!(
                "--- VM {}{pid}: virsh edit {}",
                vm.label,
                q(vm.domain(report))
            ),
        );
        for f in list {
            cm(
                out,
                &format!(
                    "  {} {} [{}]: {}",
                    f.rule,
                    f.target,
                    f.status.as_str(),
                    f.message
                ),
            );
            match libvirt::suggest(
                f,
                entry.and_then(|v| v.vcpus),
                entry.and_then(|v| v.guest_numa_nodes),
            ) {
                Some(sg) => {
                    for (i, l) in sg.section.wrap(&sg.xml).lines().enumerate() {
                        let label = if i == 0 { "libvirt:" } else { "        " };
                        cm(out, &format!("      {label} {l}"));
                    }
                    cm(out, &format!("      QEMU:    {}", sg.qemu));
                    cm(out, &format!("      note:    {}", sg.note));
                }
                None => {
                    cm(out, &format!("      fix:     {}", f.remediation.summary));
                }
            }
        }
    }
    ln(out, "");
}
