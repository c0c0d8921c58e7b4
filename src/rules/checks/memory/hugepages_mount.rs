//! host.hugepages.mount: a hugetlbfs mount for each page size the VMs use.
use crate::model::vm::RamSource;
use crate::parse::mounts::Mount;
use crate::rules::context::Ctx;
use crate::rules::facts::mounts::{
    default_hugepage, host_mounts, hugetlbfs_pagesize, path_looks_hugetlbfs, PROC_MOUNTS,
};
use crate::rules::facts::ram_backing::{vm_ram, Backing};
use crate::rules::facts::scope::guest_without_vms;
use crate::rules::facts::units::human;
use crate::rules::outcome::Outcome;
use std::collections::BTreeSet;

use crate::rules::facts::hugepage_pools::pools;

/// A file-backed piece of guest RAM that means to be on hugetlbfs.
struct FilePiece {
    vm: String,
    path: String,
    backing: Backing,
    /// Resolved through the QEMU process's own mount table.
    own_mounts: bool,
}

/// What the VMs ask of hugetlbfs.
#[derive(Default)]
struct Usage {
    file_pieces: Vec<FilePiece>,
    /// Page sizes the VMs' hugetlb RAM uses.
    used_sizes: BTreeSet<u64>,
    any_hugetlb_vm: bool,
}

pub(super) fn hugepages_mount(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = guest_without_vms(ctx) {
        return vec![o];
    }
    let pooled: BTreeSet<u64> = pools(ctx)
        .unwrap_or_default()
        .iter()
        .filter(|p| p.global.nr.unwrap_or(0) > 0)
        .map(|p| p.page)
        .collect();
    let usage = usage(ctx);
    if pooled.is_empty() && !usage.any_hugetlb_vm && !ctx.flags.hugetlb_vms {
        return vec![Outcome::na(
            "host",
            "no huge page pool is reserved and no VM uses hugetlb pages",
        )];
    }
    let mounts = match host_mounts(ctx) {
        Ok(m) => m,
        Err(why) => {
            return vec![Outcome::unknown(
                "host",
                format!("mount table unreadable ({why})"),
            )]
        }
    };
    let default = default_hugepage(ctx);
    let huge_mounts: Vec<&Mount> = mounts.iter().filter(|m| m.fstype == "hugetlbfs").collect();
    let mounted: BTreeSet<u64> = huge_mounts
        .iter()
        .filter_map(|m| hugetlbfs_pagesize(m, default))
        .collect();
    let mut evidence = vec![mounts_evidence(&huge_mounts, default)];
    let mut fails = Vec::new();
    let mut unknowns = Vec::new();
    for p in &usage.file_pieces {
        let (obs, exp) = match &p.backing {
            Backing::Huge { how, .. } => (how.clone(), "on hugetlbfs"),
            Backing::Unknown(why) => {
                unknowns.push(format!("{}: {why}", p.vm));
                (why.clone(), "on hugetlbfs")
            }
            Backing::Shmem(what) | Backing::File(what) => {
                fails.push(format!(
                    "{}'s mem-path {} is not on hugetlbfs ({what}): it silently gets ordinary pages",
                    p.vm, p.path
                ));
                (what.clone(), "on hugetlbfs")
            }
            Backing::Anon => continue,
        };
        evidence.push((
            format!(
                "vm:{} mem-path{}",
                p.vm,
                if p.own_mounts {
                    " (QEMU mountinfo)"
                } else {
                    ""
                }
            ),
            obs,
            exp.into(),
        ));
    }
    let warns = unmounted(&usage.used_sizes, &pooled, &mounted);
    let mut o = verdict(&fails, &unknowns, &warns);
    for (s, ob, ex) in evidence {
        o = o.ev(s, ob, ex);
    }
    vec![o]
}

/// The file-backed hugetlb pieces of every VM and the page sizes in use.
fn usage(ctx: &Ctx) -> Usage {
    let mut u = Usage::default();
    for vm in &ctx.host.vms {
        let ram = vm_ram(ctx, vm);
        for r in &ram.pieces {
            let RamSource::File { path } = &r.piece.source else {
                if r.backing.is_huge() {
                    u.any_hugetlb_vm = true;
                }
                continue;
            };
            let wants = r.backing.is_huge() || path_looks_hugetlbfs(path);
            if !wants {
                continue;
            }
            u.any_hugetlb_vm = true;
            if let Backing::Huge { page: Some(p), .. } = &r.backing {
                u.used_sizes.insert(*p);
            }
            u.file_pieces.push(FilePiece {
                vm: vm.name(),
                path: path.clone(),
                backing: r.backing.clone(),
                own_mounts: ram.own_mounts,
            });
        }
    }
    u
}

/// The host's hugetlbfs mounts with their page sizes.
fn mounts_evidence(huge_mounts: &[&Mount], default: Option<u64>) -> (String, String, String) {
    (
        PROC_MOUNTS.into(),
        if huge_mounts.is_empty() {
            "no hugetlbfs mount".into()
        } else {
            huge_mounts
                .iter()
                .map(|m| {
                    format!(
                        "{} ({})",
                        m.target,
                        hugetlbfs_pagesize(m, default)
                            .map(human)
                            .unwrap_or_else(|| "page size ?".into())
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        },
        "a hugetlbfs mount per page size in use".into(),
    )
}

/// Page sizes in use or pooled that the host namespace has no hugetlbfs mount of.
fn unmounted(used: &BTreeSet<u64>, pooled: &BTreeSet<u64>, mounted: &BTreeSet<u64>) -> Vec<String> {
    let missing_used: Vec<String> = used
        .iter()
        .filter(|s| !mounted.contains(s))
        .map(|s| human(*s))
        .collect();
    let missing_pooled: Vec<String> = pooled
        .iter()
        .filter(|s| !mounted.contains(s) && !used.contains(s))
        .map(|s| human(*s))
        .collect();
    let mut warns = Vec::new();
    if !missing_used.is_empty() {
        // A VM uses the size inside its own namespace; the host has no mount of it.
        warns.push(format!(
            "no hugetlbfs mount of {} in the host namespace",
            missing_used.join(", ")
        ));
    }
    if !missing_pooled.is_empty() {
        warns.push(format!(
            "{} pages are pooled but not mounted, so file-backed guests cannot use them",
            missing_pooled.join(", ")
        ));
    }
    warns
}

/// Fail over unknown over warn over pass.
fn verdict(fails: &[String], unknowns: &[String], warns: &[String]) -> Outcome {
    if !fails.is_empty() {
        Outcome::fail("host", fails.join("; "))
    } else if !unknowns.is_empty() {
        Outcome::unknown(
            "host",
            format!(
                "cannot verify the VMs' mem-path filesystems: {}",
                unknowns.join("; ")
            ),
        )
    } else if !warns.is_empty() {
        Outcome::warn("host", warns.join("; "))
    } else {
        Outcome::pass(
            "host",
            "hugetlbfs is mounted for every page size in use and every hugetlb mem-path lies on it",
        )
    }
}
