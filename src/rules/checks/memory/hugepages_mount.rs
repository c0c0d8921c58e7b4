//! host.hugepages.mount: a hugetlbfs mount for each page size the VMs use.
use crate::model::vm::RamSource;
use crate::parse::mounts::Mount;
use crate::rules::context::Ctx;
use crate::rules::facts::mounts::{
    default_hugepage, host_mounts, hugetlbfs_pagesize, path_looks_hugetlbfs,
};
use crate::rules::facts::ram_backing::{vm_ram, Backing};
use crate::rules::facts::scope::guest_without_vms;
use crate::rules::facts::units::human;
use crate::rules::outcome::Outcome;
use std::collections::BTreeSet;

use crate::rules::facts::hugepage_pools::pools;

pub(super) fn hugepages_mount(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = guest_without_vms(ctx) {
        return vec![o];
    }
    let pools = pools(ctx).unwrap_or_default();
    let pooled: BTreeSet<u64> = pools
        .iter()
        .filter(|p| p.global.nr.unwrap_or(0) > 0)
        .map(|p| p.page)
        .collect();
    let default = default_hugepage(ctx);
    // File-backed pieces that mean to be on hugetlbfs, per VM.
    let mut file_pieces: Vec<(String, String, Backing, bool)> = Vec::new();
    let mut used_sizes: BTreeSet<u64> = BTreeSet::new();
    let mut any_hugetlb_vm = false;
    for vm in &ctx.host.vms {
        let ram = vm_ram(ctx, vm);
        for r in &ram.pieces {
            let RamSource::File { path } = &r.piece.source else {
                if r.backing.is_huge() {
                    any_hugetlb_vm = true;
                }
                continue;
            };
            let wants = r.backing.is_huge() || path_looks_hugetlbfs(path);
            if !wants {
                continue;
            }
            any_hugetlb_vm = true;
            if let Backing::Huge { page: Some(p), .. } = &r.backing {
                used_sizes.insert(*p);
            }
            file_pieces.push((vm.name(), path.clone(), r.backing.clone(), ram.own_mounts));
        }
    }
    if pooled.is_empty() && !any_hugetlb_vm && !ctx.flags.hugetlb_vms {
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
    let huge_mounts: Vec<&Mount> = mounts.iter().filter(|m| m.fstype == "hugetlbfs").collect();
    let mounted: BTreeSet<u64> = huge_mounts
        .iter()
        .filter_map(|m| hugetlbfs_pagesize(m, default))
        .collect();
    let mut o_ev: Vec<(String, String, String)> = vec![(
        "/proc/mounts".into(),
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
    )];
    let mut fails = Vec::new();
    let mut unknowns = Vec::new();
    for (vm, path, backing, own) in &file_pieces {
        let (obs, exp) = match backing {
            Backing::Huge { how, .. } => (how.clone(), "on hugetlbfs"),
            Backing::Unknown(why) => {
                unknowns.push(format!("{vm}: {why}"));
                (why.clone(), "on hugetlbfs")
            }
            Backing::Shmem(what) | Backing::File(what) => {
                fails.push(format!(
                    "{vm}'s mem-path {path} is not on hugetlbfs ({what}): it silently gets ordinary pages"
                ));
                (what.clone(), "on hugetlbfs")
            }
            Backing::Anon => continue,
        };
        o_ev.push((
            format!(
                "vm:{vm} mem-path{}",
                if *own { " (QEMU mountinfo)" } else { "" }
            ),
            obs,
            exp.into(),
        ));
    }
    let missing_used: Vec<String> = used_sizes
        .iter()
        .filter(|s| !mounted.contains(s))
        .map(|s| human(*s))
        .collect();
    let missing_pooled: Vec<String> = pooled
        .iter()
        .filter(|s| !mounted.contains(s) && !used_sizes.contains(s))
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
    let o = if !fails.is_empty() {
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
    };
    let mut o = o;
    for (s, ob, ex) in o_ev {
        o = o.ev(s, ob, ex);
    }
    vec![o]
}
