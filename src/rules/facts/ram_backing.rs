//! How each piece of a VM's guest RAM is backed (hugetlb pages of which size, anonymous,
//! shared, file), resolved once per VM: five rules ask for it.

use super::mounts::{
    default_hugepage, hugetlbfs_pagesize, mount_of, path_looks_hugetlbfs, vm_mounts, MountView,
};
use super::placement::home_node;
use super::units::MIB;
use crate::model::host::Vm;
use crate::model::vm::{RamPiece, RamRole, RamSource};
use crate::parse::qemu::size::parse_size;
use crate::rules::context::Ctx;
use std::borrow::Cow;

/// How one piece of guest RAM is backed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Backing {
    /// hugetlb pages of this size (`None`: size unknown).
    Huge { page: Option<u64>, how: String },
    /// Private anonymous memory (THP-eligible with `enabled`).
    Anon,
    /// Shared memory: memfd, `share=on` RAM, tmpfs files (THP needs `shmem_enabled`).
    Shmem(String),
    /// A file on an ordinary filesystem (page cache; 4 KiB pages).
    File(String),
    /// Could not be determined.
    Unknown(String),
}

impl Backing {
    pub fn is_huge(&self) -> bool {
        matches!(self, Backing::Huge { .. })
    }
}

/// A piece of guest RAM with its backing resolved.
#[derive(Clone)]
pub(crate) struct Ram {
    pub piece: RamPiece,
    pub size: Option<u64>,
    pub backing: Backing,
}

/// A VM's guest RAM, every piece with its backing resolved.
#[derive(Clone)]
pub(crate) struct VmRam {
    pub pieces: Vec<Ram>,
    /// The mount table used was QEMU's own (only looked at when a piece is file-backed).
    pub own_mounts: bool,
}

/// A VM's guest RAM, resolved once per VM (five rules ask for it).
pub(crate) fn vm_ram<'c>(ctx: &'c Ctx, vm: &Vm) -> Cow<'c, VmRam> {
    match ctx.derived(vm) {
        Some(d) => Cow::Borrowed(d.ram.get_or_init(|| resolve_vm_ram(ctx, vm))),
        None => Cow::Owned(resolve_vm_ram(ctx, vm)),
    }
}

pub(crate) fn resolve_vm_ram(ctx: &Ctx, vm: &Vm) -> VmRam {
    let pieces = vm.model.guest_ram();
    // Only a file-backed piece needs the mount table (parsing QEMU's mountinfo is the
    // expensive part of this).
    let view = if pieces
        .iter()
        .any(|p| matches!(p.source, RamSource::File { .. }))
    {
        vm_mounts(ctx, vm)
    } else {
        None
    };
    VmRam {
        pieces: resolve_pieces(ctx, vm, pieces, view.as_ref()),
        own_mounts: view.as_ref().is_some_and(|v| v.own),
    }
}

/// Resolve every piece of a VM's guest RAM.
pub(crate) fn resolve_pieces(
    ctx: &Ctx,
    vm: &Vm,
    pieces: Vec<RamPiece>,
    view: Option<&MountView>,
) -> Vec<Ram> {
    let default = default_hugepage(ctx);
    pieces
        .into_iter()
        .map(|piece| {
            let backend = piece
                .backend_id
                .as_deref()
                .and_then(|id| vm.model.backend(id));
            let share = backend.and_then(|b| b.share) == Some(true);
            let size = piece.size_bytes.or(match piece.role {
                RamRole::Boot if piece.backend_id.is_none() => vm.model.memory.size_bytes,
                _ => None,
            });
            let backing = match &piece.source {
                RamSource::Anonymous => {
                    if share {
                        Backing::Shmem("memory-backend-ram share=on".into())
                    } else {
                        Backing::Anon
                    }
                }
                RamSource::Memfd {
                    hugetlb: true,
                    page_size_bytes,
                } => Backing::Huge {
                    page: page_size_bytes.or(default),
                    how: "memory-backend-memfd hugetlb=on".into(),
                },
                RamSource::Memfd { .. } => Backing::Shmem("memory-backend-memfd".into()),
                RamSource::File { path } => file_backing(path, view, default, vm.pid.is_none()),
                RamSource::Unresolved => Backing::Unknown(format!(
                    "backend {:?} is not defined or has no RAM semantics",
                    piece.backend_id.as_deref().unwrap_or("?")
                )),
            };
            Ram {
                piece,
                size,
                backing,
            }
        })
        .collect()
}

/// `argv_only`: the VM is a command line without a process (an argv file, a sosreport's ps
/// output), so the scanned host's mount table need not be the one QEMU ran with.
pub(crate) fn file_backing(
    path: &str,
    view: Option<&MountView>,
    default: Option<u64>,
    argv_only: bool,
) -> Backing {
    let layout = || libvirt_hugetlbfs_layout(path, default);
    let Some(view) = view else {
        return layout().unwrap_or_else(|| {
            Backing::Unknown(format!(
                "{path}: no mount table readable to tell its filesystem"
            ))
        });
    };
    let Some(m) = mount_of(&view.mounts, path) else {
        return layout().unwrap_or_else(|| {
            Backing::Unknown(format!("{path}: no mount found in {}", view.source))
        });
    };
    if argv_only && m.fstype != "hugetlbfs" {
        if let Some(b) = layout() {
            return b;
        }
    }
    if m.fstype == "hugetlbfs" {
        return Backing::Huge {
            page: hugetlbfs_pagesize(m, default),
            how: format!(
                "{path} on hugetlbfs {} ({}){}",
                m.target,
                m.opt("pagesize")
                    .filter(|v| !v.is_empty())
                    .map(|v| format!("pagesize={v}"))
                    .unwrap_or_else(|| "default page size".into()),
                if view.own {
                    " in QEMU's mount namespace"
                } else {
                    ""
                }
            ),
        };
    }
    // The host view cannot prove a libvirt private-namespace mount wrong.
    if !view.own && path_looks_hugetlbfs(path) {
        return Backing::Unknown(format!(
            "{path} looks like a hugetlbfs path but the host shows it on {} {} and QEMU's own mount table is unreadable ({})",
            m.fstype,
            m.target,
            view.note.as_deref().unwrap_or("?")
        ));
    }
    if m.fstype == "tmpfs" || m.fstype == "shmfs" {
        Backing::Shmem(format!("{path} on tmpfs {}", m.target))
    } else {
        Backing::File(format!("{path} on {} {}", m.fstype, m.target))
    }
}

/// Hugetlb backing inferred from libvirt's layout when no mount table tells the filesystem:
/// libvirt puts a domain's hugepage files in `<hugetlbfs mount>/libvirt/qemu/<id>-<name>`
/// (qemuGetDomainHupageMemPath; `<id>` is -1 for a domain that never ran, as in its tests),
/// and file-backed RAM elsewhere in `<memory_backing_dir>/<id>-<name>`
/// (`/var/lib/libvirt/qemu/ram`). The page size comes from a mount named after it
/// (`/dev/hugepages2M`, `/mnt/huge-1G`), else the host's default.
pub(crate) fn libvirt_hugetlbfs_layout(path: &str, default: Option<u64>) -> Option<Backing> {
    let (mount, rest) = path.rsplit_once("/libvirt/qemu/")?;
    let domain = rest.split('/').next()?;
    let id_and_name = domain.strip_prefix('-').unwrap_or(domain);
    let digits = id_and_name.bytes().take_while(u8::is_ascii_digit).count();
    let name = id_and_name.get(digits..)?.strip_prefix('-')?;
    if mount.is_empty() || digits == 0 || name.is_empty() || mount == "/var/lib" {
        return None;
    }
    let last = mount.rsplit('/').next().unwrap_or(mount);
    let unit = last
        .bytes()
        .rev()
        .take_while(u8::is_ascii_alphabetic)
        .count();
    let number = last[..last.len() - unit]
        .bytes()
        .rev()
        .take_while(u8::is_ascii_digit)
        .count();
    let named = (number > 0 && unit > 0)
        .then(|| &last[last.len() - unit - number..])
        .and_then(|s| parse_size(s.trim_end_matches(['B', 'b', 'i']), 1))
        .filter(|b| *b >= 2 * MIB);
    Some(Backing::Huge {
        page: named.or(default),
        how: format!(
            "{path}: inferred from libvirt's hugetlbfs layout <mount>/libvirt/qemu/<id>-<name> with {mount} as the hugetlbfs mount (no mount table shows its filesystem)"
        ),
    })
}

/// Host nodes a VM's RAM piece must come from: backend `host-nodes`, else the VM's vCPU node,
/// else a single `Mems_allowed` node. Empty: anywhere.
pub(crate) fn ram_nodes(ctx: &Ctx, vm: &Vm, piece: &RamPiece) -> (Vec<u32>, String) {
    if let Some(b) = piece
        .backend_id
        .as_deref()
        .and_then(|id| vm.model.backend(id))
    {
        if !b.host_nodes.is_empty() && b.policy.as_deref() != Some("interleave") {
            return (b.host_nodes.clone(), format!("backend {} host-nodes", b.id));
        }
    }
    if let Some(n) = home_node(ctx, vm) {
        return (vec![n.node], n.how);
    }
    (Vec::new(), "not placed".into())
}
