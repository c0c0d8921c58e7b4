//! What every fix builder shares: the steps of one rule ([`RulePlan`]) and the helpers that
//! turn host facts into plain, bounded values.

use crate::fix::facts::Facts;
use crate::fix::quote;
use crate::fix::step::{After, ConfFile, Gate, Kind, ReadMode, Step};
use crate::report::{Datum, Report};
use std::collections::BTreeSet;

/// The steps for one rule, with notes for the reviewer.
#[derive(Debug, Default)]
pub struct RulePlan {
    pub steps: Vec<Step>,
    pub notes: Vec<String>,
    /// The host runs tuned: what tuned owns is persisted in kvmaudit's tuned profile.
    pub tuned: bool,
}

impl RulePlan {
    pub fn push(&mut self, s: Step) {
        // One profile option or configuration line stands for every write it covers (the governor
        // of every policy, vfio-pci loaded for every VF).
        if matches!(s.kind, Kind::TunedOption { .. } | Kind::ConfLine { .. })
            && self.steps.contains(&s)
        {
            return;
        }
        self.steps.push(s);
    }
    /// A runtime write plus its tmpfiles.d line (or a note when the path is too unusual for it).
    pub fn sysfs(&mut self, rule: &str, gate: Gate, path: &str, value: &str, read: ReadMode) {
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
    /// A kernel command-line change, effective at the next boot. On a host that runs tuned,
    /// arguments to add go into kvmaudit's profile as `[bootloader] cmdline_kvmaudit_<rule>`
    /// (tuned's bootloader plugin concatenates every `cmdline*` option into the GRUB variable
    /// its /etc/grub.d/00_tuned adds to each entry): tuned would otherwise keep its own list
    /// beside ours. Arguments to remove still go to the boot loader: a profile's `-arg` only
    /// drops what a parent profile added.
    pub fn kernel_args(&mut self, rule: &str, gate: Gate, set: Vec<String>, remove: Vec<String>) {
        let (set, remove) =
            if self.tuned && !set.is_empty() && set.iter().all(|t| quote::plain_token(t)) {
                self.push(
                    Step::new(
                        rule,
                        gate,
                        Kind::TunedOption {
                            section: "bootloader".into(),
                            key: format!("cmdline_kvmaudit_{}", rule.replace(['.', '-'], "_")),
                            value: set.join(" "),
                        },
                    )
                    .after(After::Reboot),
                );
                (Vec::new(), remove)
            } else {
                (set, remove)
            };
        if set.is_empty() && remove.is_empty() {
            return;
        }
        self.push(Step::new(rule, gate, Kind::KernelArgs { set, remove }).after(After::Reboot));
    }
    pub fn persist(&mut self, rule: &str, gate: Gate, path: &str, value: &str) {
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

pub(crate) const SYS: &[&str] = &["/sys/"];

/// Host paths from facts that the script may touch: inside the attribute tree, no `..`.
pub(crate) fn usable<'a>(
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

/// On a tuned host, the persistent changes kvmaudit's tuned profile does not carry: the
/// reviewer learns that tuned does not manage them (and that a profile of its own could).
pub(crate) fn tuned_gaps(rp: &mut RulePlan, rule: &str) {
    let mut gaps = BTreeSet::new();
    for s in &rp.steps {
        match &s.kind {
            Kind::KernelArgs { .. } => {
                gaps.insert("a kernel argument is removed in the boot loader's configuration directly (tuned's [bootloader] can only drop what its parent profiles add): check that the active profile does not add it again");
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
pub(crate) fn tuned_active(f: &Facts) -> bool {
    f.text("/etc/tuned/active_profile")
        .is_some_and(|p| !p.trim().is_empty())
}

/// The rules' own verdict on CPU commitment (context flag `cpu_overcommitted`): computed from
/// the snapshot, or read from the report's `base.capacity.commit` finding.
pub(crate) fn cpu_overcommitted(f: &Facts, report: &Report) -> Option<bool> {
    if !f.from_report {
        let host = crate::model::host::HostModel::build(f.snap);
        let ctx = crate::rules::context::Ctx::new(f.snap, &host, report.profile);
        return ctx.flags.cpu_overcommitted;
    }
    // The finding's typed data; a report without it (older kvmaudit) leaves it unknown.
    report
        .results
        .iter()
        .find(|x| x.rule == "base.capacity.commit")?
        .data
        .iter()
        .find_map(|d| match d {
            Datum::CpuCommit { overcommitted, .. } => *overcommitted,
            _ => None,
        })
}

/// sysctl.d files applied after kvmaudit's own (by file name, as systemd-sysctl and
/// `sysctl --system` order them; /etc/sysctl.conf last) that set `key` to another value: the
/// ones under /etc are commented out (backed up first), the others are noted.
pub(crate) fn sysctl_overrides(
    rp: &mut RulePlan,
    rule: &str,
    gate: Gate,
    f: &Facts,
    key: &str,
    value: &str,
) {
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

pub(crate) fn no_facts(f: &Facts, what: &str) -> String {
    if f.from_report {
        format!("the report does not name {what}; generate the script from a scan of the host (SOURCES) instead of --report alone")
    } else {
        format!("the scan recorded no {what}")
    }
}

/// The most memory any host can have (x86-64 5-level paging: 4 PiB), in kB: the bound of a
/// pool size when the scan did not record MemTotal.
pub(crate) const MAX_MEM_KB: u64 = 1 << 42;
/// The script's arithmetic bounds (10-digit counts, 8-digit page sizes in kB): their product
/// stays far inside bash's 64-bit integers.
pub(crate) const MAX_PAGES: u64 = 9_999_999_999;
pub(crate) const MAX_PAGE_KB: u64 = 99_999_999;

/// `MemTotal` (kB) of `/proc/meminfo` or a node's meminfo (`Node 1 MemTotal: N kB`); for a
/// node whose meminfo was not recorded, the host's.
pub(crate) fn mem_total_kb(f: &Facts, meminfo: &str) -> Option<u64> {
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
pub(crate) fn page_kb_of(path: &str) -> Option<u64> {
    path.split('/')
        .find_map(|c| c.strip_prefix("hugepages-")?.strip_suffix("kB"))
        .and_then(|n| n.parse().ok())
}

/// `1G`, `2M`, `1024k`, `2048K` → kB.
pub(crate) fn size_kb(s: &str) -> Option<u64> {
    let (num, mul) = match s.chars().last()? {
        'G' | 'g' => (&s[..s.len() - 1], 1024 * 1024),
        'M' | 'm' => (&s[..s.len() - 1], 1024),
        'K' | 'k' => (&s[..s.len() - 1], 1),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

pub(crate) fn human_size(kb: u64) -> String {
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
pub(crate) fn isolated_cpus(snap: &crate::snapshot::Snapshot) -> Option<String> {
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

    /// Working from a report, the CPU commitment comes from `base.capacity.commit`'s typed
    /// data, whatever its message says; without the data it is unknown, never a guess.
    #[test]
    fn cpu_commitment_from_a_report_is_its_typed_data() {
        let snap = crate::rules::testkit::SnapBuilder::new()
            .topology(1, 4, 1)
            .vm(
                "qemu-system-x86_64 -name guest=a -smp 6 -m 1G",
                &[("CPU 0/KVM", "0-3", "0")],
            )
            .build();
        let mut report =
            crate::rules::evaluate(&snap, crate::report::Profile::Throughput, &[], "2026-01-01");
        let from_report = crate::fix::facts::snapshot_from_report(&report);
        let facts = Facts::new(&from_report, true);
        assert_eq!(cpu_overcommitted(&facts, &report), Some(true));
        let i = report
            .results
            .iter()
            .position(|f| f.rule == "base.capacity.commit")
            .unwrap();
        // The message is not read: prose that says the opposite changes nothing.
        report.results[i].message = "1 VM(s): CPU overcommitted: no".into();
        assert_eq!(cpu_overcommitted(&facts, &report), Some(true));
        report.results[i].data = vec![Datum::CpuCommit {
            vcpus: Some(2),
            cpus: Some(4),
            overcommitted: Some(false),
        }];
        assert_eq!(cpu_overcommitted(&facts, &report), Some(false));
        report.results[i].data.clear();
        assert_eq!(cpu_overcommitted(&facts, &report), None);
    }
}
