//! Run every rule on a snapshot, attach metadata, apply waivers and score.

use super::context::Ctx;
use super::facts;
use super::meta::{Automatable, RuleMeta, Scope};
use super::outcome::Outcome;
use super::registry::{self, Rule};
use super::score;
use super::units::Check;
use super::waivers::Waiver;
use crate::model::host::{HostModel, Vm};
use crate::report::{Finding, Profile, Remediation, Report, Status, VmScore, WaiverNote};
use crate::snapshot::Snapshot;
use std::borrow::Cow;

/// Evaluate all rules and score them. `today` (YYYY-MM-DD) decides waiver expiry.
pub fn evaluate(snap: &Snapshot, profile: Profile, waivers: &[Waiver], today: &str) -> Report {
    let host = HostModel::build(snap);
    let ctx = Ctx::new(snap, &host, profile);
    let mut report = Report::new(snap, &host, profile);
    let rules = registry::rules();
    let per_rule = run_all(&ctx, rules);
    let labels = vm_labels(&host.vms);
    // Room for all at once: growing by doubling overshoots by up to half (100 MB with 10,000
    // VMs). Outcomes become findings only here, as they are moved: a finding is four times the
    // size of an outcome, and holding both for every result doubled the peak.
    report
        .results
        .reserve(per_rule.iter().map(Vec::len).sum::<usize>());
    for (rule, outcomes) in rules.iter().zip(per_rule) {
        report
            .results
            .extend(outcomes.into_iter().map(|o| finding(rule.meta, o, &labels)));
    }
    report
        .results
        .extend(defined_findings(snap, &host, profile, rules));
    apply_waivers(&mut report, waivers, today);
    score_report(&mut report, &ctx);
    report
}

/// Findings of the domains defined but not running, from a second pass in which they sit next
/// to the running VMs (as if started on this host). Only their own findings are kept: the
/// host's verdicts and its aggregates (commitment, huge page sizing) stay those of the running
/// VMs alone.
fn defined_findings(
    snap: &Snapshot,
    host: &HostModel,
    profile: Profile,
    rules: &[Rule],
) -> Vec<Finding> {
    if host.defined.is_empty() {
        return Vec::new();
    }
    let first = host.vms.len();
    let mut all = host.clone();
    all.vms.append(&mut all.defined);
    let ctx = Ctx::new(snap, &all, profile);
    let labels = vm_labels(&all.vms);
    let mut out = Vec::new();
    for (rule, outcomes) in rules.iter().zip(run_all(&ctx, rules)) {
        out.extend(
            outcomes
                .into_iter()
                .filter(|o| o.target.vm_index().is_some_and(|i| i >= first))
                .map(|o| finding(rule.meta, o, &labels)),
        );
    }
    out
}

/// Threads evaluating rules at most; a scan has ~60 rules and one parse per VM to spread.
const MAX_RULE_THREADS: usize = 4;
/// Jobs (rules plus VMs) per thread before another thread is worth starting.
const JOBS_PER_THREAD: usize = 32;

/// Every rule's outcomes, in registry (catalogue) order, evaluated on up to [`MAX_RULE_THREADS`] threads.
///
/// Rules are pure functions of the context, so the order they run in changes nothing; the
/// findings are put back in catalogue order, the same as one sequential pass. The jobs are
/// first each VM's numa_maps parse (the biggest shared input, ~0.1 ms per VM, needed by every
/// VM's hugepages verdict), so that it is spread over the threads instead of falling to
/// whichever rule reads it first; then the rules, taken from a shared counter.
fn run_all(ctx: &Ctx, rules: &[Rule]) -> Vec<Vec<Outcome>> {
    let vms = &ctx.host.vms;
    let jobs = vms.len() + rules.len();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(MAX_RULE_THREADS)
        .min(jobs.div_ceil(JOBS_PER_THREAD))
        .max(1);
    let rule = |i: usize| {
        let rule = &rules[i];
        run_one(ctx, rule.meta, rule.check)
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Some(vm) = vms.get(i) {
                // A parse that panics leaves the cache empty; the rule that reads it next
                // panics inside its own guard and reports `unknown`, as without the warm-up.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    facts::guest_ram::warm(ctx, vm)
                }));
                continue;
            }
            let Some(r) = i.checked_sub(vms.len()).filter(|r| *r < rules.len()) else {
                break;
            };
            done.push((r, rule(r)));
        }
        done
    };
    let mut results: Vec<Option<Vec<Outcome>>> = (0..rules.len()).map(|_| None).collect();
    // A thread that panicked (never expected: each rule runs under catch_unwind) loses its
    // results; those rules are run again below, on this thread.
    let parts: Vec<_> = crate::util::on_threads(threads, work)
        .into_iter()
        .filter_map(Result::ok)
        .collect();
    for (r, f) in parts.into_iter().flatten() {
        if let Some(slot) = results.get_mut(r) {
            *slot = Some(f);
        }
    }
    results
        .into_iter()
        .enumerate()
        .map(|(r, f)| f.unwrap_or_else(|| rule(r)))
        .collect()
}

/// One rule's outcomes, with the engine's own rules: bare-metal rules are not applicable inside
/// a VM, a rule that yields nothing is not applicable, and a rule that panics is `unknown`.
fn run_one(ctx: &Ctx, m: &RuleMeta, check: Option<Check>) -> Vec<Outcome> {
    let Some(check) = check else {
        return vec![Outcome::unknown(
            "host",
            format!("no check is implemented for {}", m.id),
        )];
    };
    if m.bare_metal && ctx.flags.nested == Some(true) {
        return vec![Outcome::na(
            "host",
            "kvmaudit runs inside a VM (CPUID hypervisor bit set): firmware and host-KVM settings belong to the hypervisor underneath",
        )];
    }
    let outcomes = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check.run(ctx)));
    let outcomes = match outcomes {
        // Neither CPUID nor /proc/cpuinfo says whether this is bare metal: a bare-metal
        // rule's verdict may belong to the hypervisor underneath, so it cannot stand.
        Ok(v) if m.bare_metal && ctx.flags.nested.is_none() => Ok(v
            .into_iter()
            .map(|o| match o.status {
                Status::Pass | Status::Fail | Status::Warn | Status::Info => Outcome::unknown(
                    o.target,
                    "cannot tell whether kvmaudit runs on bare metal or inside a VM (no CPUID, no /proc/cpuinfo): this host-level verdict may belong to the hypervisor underneath",
                ),
                _ => o,
            })
            .collect()),
        other => other,
    };
    match outcomes {
        // "No running VMs" only when the process list was read: a /proc that could not be
        // listed (or a --root budget spent) says nothing about the VMs.
        Ok(v)
            if v.is_empty() && !matches!(m.scope, Scope::Host) && ctx.snap.qemu.get().is_none() =>
        {
            vec![Outcome::unknown(
                "host",
                "the QEMU processes could not be listed: VM rules cannot be judged",
            )]
        }
        Ok(v) if v.is_empty() => vec![Outcome::na(
            "host",
            match m.scope {
                Scope::Host => "nothing to check on this host",
                _ => "no running VMs",
            },
        )],
        Ok(v) => v,
        Err(_) => vec![Outcome::unknown(
            "host",
            format!("internal error while evaluating {}; please report it", m.id),
        )],
    }
}

/// Each VM's display label, by its index (the targets' VM numbers).
fn vm_labels(vms: &[Vm]) -> Vec<&str> {
    let mut labels = vec![""; vms.iter().map(|v| v.index + 1).max().unwrap_or(0)];
    for vm in vms {
        labels[vm.index] = &vm.label;
    }
    labels
}

/// A finding: the outcome with its rule's texts, borrowed from the catalogue (it is `'static`),
/// and its target rendered for display (the one place a target becomes text).
fn finding(m: &'static RuleMeta, o: Outcome, labels: &[&str]) -> Finding {
    let vm_index = o.target.vm_index();
    let target = o.target.render(|i| labels.get(i).copied().unwrap_or("?"));
    Finding {
        rule: m.id.clone(),
        title: Cow::Borrowed(&m.title),
        section: Cow::Borrowed(&m.section),
        scope: Cow::Borrowed(m.scope.as_str()),
        target,
        vm_index,
        status: o.status,
        severity: o.escalated.unwrap_or(m.severity),
        evidence: o.evidence,
        message: o.message,
        data: o.data,
        remediation: Remediation {
            summary: Cow::Borrowed(&m.remediation.summary),
            reboot: m.remediation.needs_reboot(),
            automatable: m.remediation.automatable != Automatable::No,
            mode: Cow::Borrowed(match m.remediation.automatable {
                Automatable::Yes => "yes",
                Automatable::Guarded => "guarded",
                Automatable::No => "no",
            }),
            disruption: Cow::Borrowed(&m.remediation.disruption),
        },
        pending_reboot: o.pending_reboot,
        blocker: o.blocker && o.status == Status::Fail,
        waiver: None,
    }
}

/// Mark the findings `waivers` match as waived (status `waived`, original status kept); notes
/// for expired waivers and waivers that match nothing. `scan` and `fix` share it.
pub fn apply_waivers(report: &mut Report, waivers: &[Waiver], today: &str) {
    for w in waivers {
        if w.expired(today) {
            let hits = report
                .results
                .iter()
                .filter(|f| w.matches(&f.rule, &f.target))
                .count();
            report.notes.push(format!(
                "waiver for {} on {} expired on {} and no longer applies ({hits} finding(s) count again): {}",
                w.rule,
                w.target,
                w.expires.as_deref().unwrap_or("?"),
                w.reason
            ));
            continue;
        }
        let mut hits = 0;
        for f in report.results.iter_mut() {
            if f.waiver.is_none() && w.matches(&f.rule, &f.target) {
                hits += 1;
                f.waiver = Some(Box::new(WaiverNote {
                    reason: w.reason.clone(),
                    expires: w.expires.clone(),
                    original_status: f.status,
                }));
                f.status = Status::Waived;
                f.blocker = false;
            }
        }
        if hits == 0 {
            report.notes.push(format!(
                "waiver for {} on {} matches no finding",
                w.rule, w.target
            ));
        }
    }
}

fn score_report(report: &mut Report, ctx: &Ctx) {
    // Findings grouped by unit once: filtering all findings for each VM was O(VMs x findings),
    // most of a 390-VM scan and quadratic for a host with thousands of VMs.
    // By the VM identity the engine gave each finding, never by its target text.
    let mut host_findings = Vec::new();
    let mut by_vm: Vec<Vec<&Finding>> = vec![Vec::new(); report.vms.len()];
    for f in &report.results {
        match f.vm_index.and_then(|i| by_vm.get_mut(i)) {
            Some(mine) => mine.push(f),
            None => host_findings.push(f),
        }
    }
    let host = score::score_unit(host_findings.into_iter());
    let mut vm_scores = Vec::new();
    for (entry, mine) in report.vms.iter_mut().zip(&by_vm) {
        let s = score::score_unit(mine.iter().copied());
        entry.score = VmScore {
            value: s.value,
            coverage: s.coverage,
            insufficient_evidence: score::insufficient_evidence(s.value, s.coverage),
        };
    }
    // Only running VMs count towards the host: a definition has a score of its own.
    for (entry, vm) in report.vms.iter().zip(ctx.host.vms.iter()) {
        let vcpus = facts::flags::vcpus(ctx, vm).unwrap_or(1);
        vm_scores.push((entry.score.value, vcpus));
    }
    let overall = score::overall(host.value, &vm_scores);
    // Coverage of the whole report: every finding's rule weight, host and running VMs alike.
    let running = ctx.host.vms.len();
    let all = score::score_unit(
        report
            .results
            .iter()
            .filter(|f| f.vm_index.map_or(true, |i| i < running)),
    );
    report.score.value = overall;
    report.score.host = host.value;
    report.score.coverage = all.coverage.or(host.coverage);
    report.score.not_readable = all.not_readable.or(host.not_readable);
    report.score.not_evaluated = all.not_evaluated.or(host.not_evaluated);
    report.score.insufficient_evidence =
        score::insufficient_evidence(report.score.value, report.score.coverage);
    report.score.counts = score::counts(report.results.iter());
    report.rule_totals = crate::report::RuleTotal::of(report.results.iter());
    report.score.blockers = report
        .results
        .iter()
        .filter(|f| f.blocker)
        .map(|f| format!("{} {}", f.rule, f.target))
        .collect();
    if ctx.host.vms.is_empty() {
        report
            .notes
            .push("no running VMs: the overall score is the host score".into());
    }
    if !ctx.host.defined.is_empty() {
        report.notes.push(format!(
            "{} VM(s) defined, not running: audited from their libvirt XML with scores of their own, outside the overall score",
            ctx.host.defined.len()
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::report::{Profile, Status};
    use crate::rules::testkit::{findings, SnapBuilder};
    use crate::snapshot::{Fact, ReadError, ReadErrorKind};

    #[test]
    fn vm_rules_are_unknown_when_the_processes_could_not_be_listed() {
        let listed = SnapBuilder::new().icx("vmx").build();
        let f = findings(&listed, Profile::Throughput, "qemu.blk.cache");
        assert_eq!(f[0].status, Status::NotApplicable, "no VM runs: {f:?}");
        let mut unlisted = SnapBuilder::new().icx("vmx").build();
        unlisted.qemu.fact = Fact::Error(ReadError::new(ReadErrorKind::PermissionDenied, "/proc"));
        let f = findings(&unlisted, Profile::Throughput, "qemu.blk.cache");
        assert_eq!(f[0].status, Status::Unknown, "{f:?}");
        assert!(f[0].message.contains("could not be listed"), "{f:?}");
    }
}
