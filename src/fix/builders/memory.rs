//! Fix builders for memory (guide §3.2.3, §3.2.5): THP, huge page pools and mounts, KSM.

use super::kit::*;
use super::Input;
use crate::fix::quote;
use crate::fix::step::{ConfFile, Kind, ReadMode, Step};
use crate::report::Datum;
use std::collections::BTreeSet;

pub(super) fn thp(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate, f) = (x.rule, x.gate, x.f);
    let enabled = "/sys/kernel/mm/transparent_hugepage/enabled";
    let shmem = "/sys/kernel/mm/transparent_hugepage/shmem_enabled";
    let cur = f.bracketed(enabled);
    if cur.is_none() || cur == Some("never") {
        rp.sysfs(rule, gate, enabled, "madvise", ReadMode::Bracketed);
    }
    let shmem_named = x.findings.iter().any(|x| {
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
    Ok(())
}

/// Grow each pool the rule's typed data names to the VMs' demand. The path is built here from
/// the node and page size (never taken from the report), and the count is capped by the
/// memory the node (or host) has, so no crafted number reaches the script's arithmetic.
pub(super) fn hugepages_pool(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate, f) = (x.rule, x.gate, x.f);
    for fx in x.findings {
        for d in &fx.data {
            let Datum::HugepagePool {
                node,
                page_kb,
                at_least: count,
                ..
            } = d
            else {
                continue;
            };
            let (count, page_kb) = (*count, *page_kb);
            if !(1..=MAX_PAGE_KB).contains(&page_kb) || node.is_some_and(|n| n >= 4096) {
                continue;
            }
            let (path, meminfo) = match node {
                Some(n) => (
                    format!("/sys/devices/system/node/node{n}/hugepages/hugepages-{page_kb}kB/nr_hugepages"),
                    format!("/sys/devices/system/node/node{n}/meminfo"),
                ),
                None => (
                    format!("/sys/kernel/mm/hugepages/hugepages-{page_kb}kB/nr_hugepages"),
                    "/proc/meminfo".to_string(),
                ),
            };
            // A report is hostile input: a count the memory cannot hold is refused here, so
            // that no huge number reaches the script's arithmetic.
            let total_kb = mem_total_kb(f, &meminfo);
            let cap = (total_kb.unwrap_or(MAX_MEM_KB) / page_kb).min(MAX_PAGES);
            if count > cap {
                rp.notes.push(format!(
                    "{rule}: {} asks for {count} pages of {page_kb} kB, more than {} holds ({cap} pages); no step",
                    quote::comment(&path),
                    if total_kb.is_some() { quote::comment(&meminfo) } else { "any host".to_string() },
                ));
                continue;
            }
            rp.push(Step::new(
                rule,
                gate,
                Kind::HugepagesAtLeast {
                    path: path.clone(),
                    count,
                    page_kb,
                    meminfo,
                },
            ));
            rp.push(Step::new(
                rule,
                gate,
                Kind::HugepagesPersist { path, count },
            ));
        }
    }
    if rp.steps.is_empty() {
        return Err("the findings name no pool with a required page count; size the pools from the VMs' guest RAM (per node) by hand".into());
    }
    Ok(())
}

pub(super) fn hugepages_mount(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate, f) = (x.rule, x.gate, x.f);
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
    Ok(())
}

/// KSM merges across nodes on a multi-node host: merge_across_nodes ← 0, which the kernel only
/// accepts while no page is merged (the step unmerges first, then restarts KSM as it was).
pub(super) fn ksm_tuning(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate) = (x.rule, x.gate);
    let path = "/sys/kernel/mm/ksm/merge_across_nodes";
    let wanted = x.findings.iter().flat_map(|fx| &fx.data).any(
        |d| matches!(d, Datum::Setting { path: p, expected, .. } if p == path && expected == "0"),
    );
    if !wanted {
        return Err("the findings do not ask for merge_across_nodes=0".into());
    }
    rp.push(Step::new(
        rule,
        gate,
        Kind::KsmMergeAcrossNodes { value: "0".into() },
    ));
    rp.persist(rule, gate, path, "0");
    Ok(())
}
