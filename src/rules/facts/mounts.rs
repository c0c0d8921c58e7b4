//! The mount tables rules read: the host's (`/proc/mounts`, parsed once per scan) and the one
//! each VM's QEMU sees (its own `mountinfo` when readable).

use crate::model::host::Vm;
use crate::parse::mounts::{parse_mountinfo, parse_mounts, Mount};
use crate::parse::qemu::size::parse_size;
use crate::rules::context::{Ctx, Got};

/// Paths that look like hugetlbfs mounts (the same heuristic as `RamPiece::hugetlb_by_argv`):
/// `/dev/hugepages*`, `/mnt/huge`, `/hugetlbfs`.
pub(crate) fn path_looks_hugetlbfs(path: &str) -> bool {
    // Case-insensitive without a lowercased copy: this runs on every file mapping of every
    // VM. All three words start with "huge": "hugepage", "hugetlb", or "/huge".
    let b = path.as_bytes();
    let at = |i: usize, word: &[u8]| {
        b.get(i..i.saturating_add(word.len()))
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
    };
    (0..b.len()).any(|i| {
        at(i, b"huge") && (at(i + 4, b"page") || at(i + 4, b"tlb") || (i > 0 && b[i - 1] == b'/'))
    })
}

/// The mount `path` lies on: the longest mount point that is a path prefix (the last one
/// mounted wins among equals, as it hides the earlier ones).
pub(crate) fn mount_of<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    let mut best: Option<&Mount> = None;
    for m in mounts {
        let t = m.target.trim_end_matches('/');
        let inside = t.is_empty() || path == t || path.starts_with(&format!("{t}/"));
        if inside && best.map_or(true, |b| t.len() >= b.target.trim_end_matches('/').len()) {
            best = Some(m);
        }
    }
    best
}

/// The host's mount table, as evidence names it.
pub(crate) const PROC_MOUNTS: &str = "/proc/mounts";

/// The host's mount table, or why it is missing; parsed once per run.
pub(crate) fn host_mounts<'c>(ctx: &'c Ctx) -> Result<&'c [Mount], &'c str> {
    let parsed = ctx
        .cache
        .host_mounts
        .get_or_init(|| match ctx.get(PROC_MOUNTS) {
            Got::Val(t) => Ok(parse_mounts(t)),
            other => Err(format!("{PROC_MOUNTS}: {}", other.why())),
        });
    match parsed {
        Ok(m) => Ok(m),
        Err(e) => Err(e),
    }
}

/// The mount table a VM's QEMU sees: its own `mountinfo` when readable, else the host's.
pub(crate) struct MountView {
    pub source: String,
    pub mounts: Vec<Mount>,
    /// True when this is the QEMU process's own namespace.
    pub own: bool,
    /// Why the QEMU namespace could not be used.
    pub note: Option<String>,
}

pub(crate) fn vm_mounts(ctx: &Ctx, vm: &Vm) -> Option<MountView> {
    let mi = ctx.process(vm).and_then(|p| p.mountinfo.as_ref());
    let note = match mi {
        Some(s) => match s.get() {
            Some(t) => {
                return Some(MountView {
                    source: s.path.clone(),
                    mounts: parse_mountinfo(t),
                    own: true,
                    note: None,
                })
            }
            None => Some(format!(
                "{}: {}",
                s.path,
                s.fact.error().map(|e| e.describe()).unwrap_or_default()
            )),
        },
        None => Some("no QEMU process to read mountinfo from".to_string()),
    };
    host_mounts(ctx).ok().map(|mounts| MountView {
        source: "/proc/mounts".into(),
        mounts: mounts.to_vec(),
        own: false,
        note,
    })
}

/// The host's default huge page size in bytes (`Hugepagesize:` of /proc/meminfo).
pub(crate) fn default_hugepage(ctx: &Ctx) -> Option<u64> {
    ctx.host.meminfo.as_ref().and_then(|m| m.hugepagesize())
}

/// Page size of a hugetlbfs mount (`pagesize=`; the default size when absent).
pub(crate) fn hugetlbfs_pagesize(m: &Mount, default: Option<u64>) -> Option<u64> {
    match m.opt("pagesize") {
        Some(v) if !v.is_empty() => parse_size(v, 1),
        _ => default,
    }
}

#[cfg(test)]
mod hugetlbfs_path_tests {
    use proptest::prelude::*;

    /// The definition the fast version must keep.
    fn reference(path: &str) -> bool {
        let p = path.to_ascii_lowercase();
        p.contains("hugepage") || p.contains("hugetlb") || p.contains("/huge")
    }

    #[test]
    fn known_paths() {
        for p in [
            "/dev/hugepages/libvirt/qemu/1-vm",
            "/mnt/HUGE/x",
            "/HugeTLBfs",
            "/hugetlbfs",
            "huge",
            "/huge",
            "xhugetlb",
            "/var/lib/libvirt/images/vm.qcow2",
            "/hug",
            "",
            "é/Huge",
        ] {
            assert_eq!(super::path_looks_hugetlbfs(p), reference(p), "{p}");
        }
    }

    proptest! {
        #[test]
        fn same_as_lowercase_contains(s in "[/hugeHUGEpaPAtlbTLBx\\u{e9}]{0,24}") {
            prop_assert_eq!(super::path_looks_hugetlbfs(&s), reference(&s));
        }
    }
}
