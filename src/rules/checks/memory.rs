//! Huge pages, THP and KSM (guide §3.2.3 and §3.2.5).
//!
//! Guest RAM is judged from both ends: what argv asks for (memory backends, `-mem-path`,
//! memfd `hugetlb=on`), resolved through the mount table the QEMU process really sees
//! (libvirt starts QEMU in a private mount namespace, so its own `mountinfo` wins over the
//! host's `/proc/mounts`), and — when readable — what the kernel actually mapped
//! (`/proc/PID/numa_maps`: `huge` and `kernelpagesize_kB=` on the guest-RAM mappings).

use super::numa::{self, guest_ram_maps};
use super::CheckFn;
use crate::model::host::Vm;
use crate::model::vm::{BackendKind, RamPiece, RamRole, RamSource};
use crate::parse::qemu::size::parse_size;
use crate::parse::sysfs::{bool_param, bracketed, hugepage_dir_kb};
use crate::report::target::Target;
use crate::report::{Profile, Status};
use crate::rules::context::{Ctx, Got};
use crate::rules::outcome::Outcome;
use crate::rules::persistent;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

pub const CHECKS: &[(&str, CheckFn)] = &[
    ("host.hugepages.pool", hugepages_pool),
    ("host.hugepages.mount", hugepages_mount),
    ("qemu.mem.hugepages", mem_hugepages),
    ("host.thp", thp),
    ("host.ksm.state", ksm_state),
    ("host.ksm.tuning", ksm_tuning),
    ("qemu.mem.merge", mem_merge),
];

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;
const THP_DIR: &str = "/sys/kernel/mm/transparent_hugepage";
const KSM_DIR: &str = "/sys/kernel/mm/ksm";
const HP_DIR: &str = "/sys/kernel/mm/hugepages";
const NODE_DIR: &str = "/sys/devices/system/node";

// ---------------------------------------------------------------------------------------------
// Shared helpers (also used by numa.rs and idle.rs)

/// Paths that look like hugetlbfs mounts (the same heuristic as `RamPiece::hugetlb_by_argv`):
/// `/dev/hugepages*`, `/mnt/huge`, `/hugetlbfs`.
pub(super) fn path_looks_hugetlbfs(path: &str) -> bool {
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

/// "2 MiB", "1 GiB", "4 KiB", "3.9 GiB".
pub(super) fn human(bytes: u64) -> String {
    if bytes >= GIB && bytes % GIB == 0 {
        format!("{} GiB", bytes / GIB)
    } else if bytes >= GIB {
        format!("{:.1} GiB", bytes as f64 / GIB as f64)
    } else if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

/// A kvmaudit run inside a VM that hosts no VMs of its own: host-side memory tuning is the
/// business of the hypervisor underneath.
pub(super) fn guest_without_vms(ctx: &Ctx) -> Option<Outcome> {
    if ctx.flags.nested == Some(true)
        && ctx.host.vms.is_empty()
        && ctx.dir_has("/dev", "kvm") != Some(true)
    {
        return Some(Outcome::na(
            "host",
            "kvmaudit runs inside a VM (hypervisor bit set) that hosts no VMs: host memory tuning belongs to the hypervisor underneath",
        ));
    }
    // Without CPUID or /proc/cpuinfo the hypervisor bit is unknown: on a system that hosts no
    // VM this may be a guest, whose host memory tuning is not its own to judge.
    if ctx.flags.nested.is_none()
        && ctx.host.vms.is_empty()
        && ctx.dir_has("/dev", "kvm") != Some(true)
    {
        return Some(Outcome::unknown(
            "host",
            "no VM runs here and neither CPUID nor /proc/cpuinfo says whether this is bare metal or a VM: host memory tuning cannot be judged",
        ));
    }
    None
}

/// One mount: from `/proc/mounts` or a `mountinfo` line (options merged with super options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    pub source: String,
    pub target: String,
    pub fstype: String,
    pub opts: Vec<String>,
}

impl Mount {
    pub fn opt(&self, key: &str) -> Option<&str> {
        self.opts.iter().find_map(|o| {
            o.strip_prefix(key)
                .and_then(|r| r.strip_prefix('='))
                .or_else(|| (o == key).then_some(""))
        })
    }
    pub fn has_opt(&self, key: &str) -> bool {
        self.opt(key).is_some()
    }
}

/// The kernel escapes space, tab, newline and backslash in mount paths as `\ooo`.
pub(super) fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b.get(i + 1..i + 4);
        if b[i] == b'\\' {
            if let Some(oct) = oct.filter(|o| o.iter().all(|c| (b'0'..=b'7').contains(c))) {
                let v = oct
                    .iter()
                    .fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `/proc/mounts` (`source target fstype opts 0 0`).
pub(super) fn parse_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let source = unescape(w.next()?);
            let target = unescape(w.next()?);
            let fstype = w.next()?.to_string();
            let opts = w
                .next()
                .unwrap_or("")
                .split(',')
                .map(str::to_string)
                .collect();
            Some(Mount {
                source,
                target,
                fstype,
                opts,
            })
        })
        .collect()
}

/// `/proc/PID/mountinfo`: `id parent maj:min root target opts [tags] - fstype source superopts`.
pub(super) fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let lw: Vec<&str> = left.split_whitespace().collect();
            let target = unescape(lw.get(4)?);
            let mut opts: Vec<String> = lw
                .get(5)
                .map(|o| o.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            let mut rw = right.split_whitespace();
            let fstype = rw.next()?.to_string();
            let source = unescape(rw.next().unwrap_or("none"));
            if let Some(sup) = rw.next() {
                opts.extend(sup.split(',').map(str::to_string));
            }
            Some(Mount {
                source,
                target,
                fstype,
                opts,
            })
        })
        .collect()
}

/// The mount `path` lies on: the longest mount point that is a path prefix (the last one
/// mounted wins among equals, as it hides the earlier ones).
pub(super) fn mount_of<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
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

/// The host's mount table, or why it is missing; parsed once per run.
pub(super) fn host_mounts<'c>(ctx: &'c Ctx) -> Result<&'c [Mount], &'c str> {
    let parsed = ctx
        .cache
        .host_mounts
        .get_or_init(|| match ctx.get("/proc/mounts") {
            Got::Val(t) => Ok(parse_mounts(t)),
            other => Err(format!("/proc/mounts: {}", other.why())),
        });
    match parsed {
        Ok(m) => Ok(m),
        Err(e) => Err(e),
    }
}

/// The mount table a VM's QEMU sees: its own `mountinfo` when readable, else the host's.
pub(super) struct MountView {
    pub source: String,
    pub mounts: Vec<Mount>,
    /// True when this is the QEMU process's own namespace.
    pub own: bool,
    /// Why the QEMU namespace could not be used.
    pub note: Option<String>,
}

pub(super) fn vm_mounts(ctx: &Ctx, vm: &Vm) -> Option<MountView> {
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
pub(super) fn default_hugepage(ctx: &Ctx) -> Option<u64> {
    ctx.host.meminfo.as_ref().and_then(|m| m.hugepagesize())
}

/// Page size of a hugetlbfs mount (`pagesize=`; the default size when absent).
pub(super) fn hugetlbfs_pagesize(m: &Mount, default: Option<u64>) -> Option<u64> {
    match m.opt("pagesize") {
        Some(v) if !v.is_empty() => parse_size(v, 1),
        _ => default,
    }
}

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
pub(super) fn vm_ram<'c>(ctx: &'c Ctx, vm: &Vm) -> Cow<'c, VmRam> {
    match ctx.derived(vm) {
        Some(d) => Cow::Borrowed(d.ram.get_or_init(|| resolve_vm_ram(ctx, vm))),
        None => Cow::Owned(resolve_vm_ram(ctx, vm)),
    }
}

fn resolve_vm_ram(ctx: &Ctx, vm: &Vm) -> VmRam {
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
fn resolve_pieces(ctx: &Ctx, vm: &Vm, pieces: Vec<RamPiece>, view: Option<&MountView>) -> Vec<Ram> {
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
fn file_backing(
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
fn libvirt_hugetlbfs_layout(path: &str, default: Option<u64>) -> Option<Backing> {
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
fn ram_nodes(ctx: &Ctx, vm: &Vm, piece: &RamPiece) -> (Vec<u32>, String) {
    if let Some(b) = piece
        .backend_id
        .as_deref()
        .and_then(|id| vm.model.backend(id))
    {
        if !b.host_nodes.is_empty() && b.policy.as_deref() != Some("interleave") {
            return (b.host_nodes.clone(), format!("backend {} host-nodes", b.id));
        }
    }
    if let Some(n) = numa::home_node(ctx, vm) {
        return (vec![n.node], n.how);
    }
    (Vec::new(), "not placed".into())
}

// ---------------------------------------------------------------------------------------------
// Huge page pools

#[derive(Debug, Clone, Default)]
struct PoolCounts {
    nr: Option<u64>,
    free: Option<u64>,
    surplus: Option<u64>,
}

#[derive(Debug, Clone, Default)]
struct Pool {
    page: u64,
    global: PoolCounts,
    nodes: BTreeMap<u32, PoolCounts>,
}

fn num(ctx: &Ctx, path: &str) -> Option<u64> {
    ctx.text(path).and_then(|t| t.parse().ok())
}

/// Every huge page size with its global and per-node counters.
fn pools(ctx: &Ctx) -> Result<Vec<Pool>, String> {
    let names = match ctx.dir(HP_DIR) {
        Ok(n) => n,
        Err(None) => return Ok(Vec::new()),
        Err(Some(e)) => return Err(format!("{HP_DIR}: {}", e.describe())),
    };
    let node_ids: Vec<u32> = ctx.host.nodes.iter().flatten().map(|n| n.id).collect();
    let mut out = Vec::new();
    for n in names {
        let Some(kb) = hugepage_dir_kb(n) else {
            continue;
        };
        let g = |f: &str| num(ctx, &format!("{HP_DIR}/{n}/{f}"));
        let mut pool = Pool {
            page: kb.saturating_mul(1024),
            global: PoolCounts {
                nr: g("nr_hugepages"),
                free: g("free_hugepages"),
                surplus: g("surplus_hugepages"),
            },
            nodes: BTreeMap::new(),
        };
        for id in &node_ids {
            let p = |f: &str| num(ctx, &format!("{NODE_DIR}/node{id}/hugepages/{n}/{f}"));
            let c = PoolCounts {
                nr: p("nr_hugepages"),
                free: p("free_hugepages"),
                surplus: p("surplus_hugepages"),
            };
            if c.nr.is_some() {
                pool.nodes.insert(*id, c);
            }
        }
        out.push(pool);
    }
    out.sort_by_key(|p| p.page);
    Ok(out)
}

/// Huge pages one VM needs: (page size, nodes) → pages.
struct Demand {
    vm: String,
    page: u64,
    pages: u64,
    nodes: Vec<u32>,
    how_node: String,
    assumed_size: bool,
}

fn demands(ctx: &Ctx) -> (Vec<Demand>, Vec<String>) {
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    let default = default_hugepage(ctx);
    for vm in &ctx.host.vms {
        for r in &vm_ram(ctx, vm).pieces {
            let (page, assumed) = match &r.backing {
                Backing::Huge { page, .. } => (*page, false),
                Backing::Unknown(_) if r.piece.hugetlb_by_argv() => (default, true),
                _ => continue,
            };
            let (Some(page), Some(size)) = (page.filter(|p| *p > 0), r.size) else {
                unknown.push(format!(
                    "{}: size or page size of hugetlb RAM {} unknown",
                    vm.name(),
                    r.piece.backend_id.as_deref().unwrap_or("(boot RAM)")
                ));
                continue;
            };
            let (nodes, how_node) = ram_nodes(ctx, vm, &r.piece);
            out.push(Demand {
                vm: vm.name(),
                page,
                pages: size.div_ceil(page),
                nodes,
                how_node,
                assumed_size: assumed,
            });
        }
    }
    (out, unknown)
}

fn hugepages_pool(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = guest_without_vms(ctx) {
        return vec![o];
    }
    let pools = match pools(ctx) {
        Ok(p) => p,
        Err(why) => {
            return vec![Outcome::unknown(
                "host",
                format!("huge page pools unreadable ({why})"),
            )]
        }
    };
    let (demands, unknown_demand) = demands(ctx);
    let mut evidence: Vec<(String, String, String)> = Vec::new();
    for p in &pools {
        let nodes: Vec<String> = p
            .nodes
            .iter()
            .map(|(n, c)| {
                format!(
                    "node{n} {}{}",
                    c.nr.map_or("?".into(), |v| v.to_string()),
                    c.free.map(|f| format!(" (free {f})")).unwrap_or_default()
                )
            })
            .collect();
        evidence.push((
            format!("{HP_DIR}/hugepages-{}kB", p.page / 1024),
            format!(
                "nr_hugepages {} free {} surplus {}{}",
                p.global.nr.map_or("?".into(), |v| v.to_string()),
                p.global.free.map_or("?".into(), |v| v.to_string()),
                p.global.surplus.map_or("?".into(), |v| v.to_string()),
                if nodes.is_empty() {
                    String::new()
                } else {
                    format!("; per node: {}", nodes.join(", "))
                }
            ),
            String::new(),
        ));
    }
    for d in &demands {
        evidence.push((
            format!("vm:{}", d.vm),
            format!(
                "needs {} × {} pages{} on {}",
                d.pages,
                human(d.page),
                if d.assumed_size {
                    " (page size assumed: the default)"
                } else {
                    ""
                },
                if d.nodes.is_empty() {
                    "any node".to_string()
                } else {
                    format!(
                        "node {} ({})",
                        d.nodes
                            .iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(","),
                        d.how_node
                    )
                }
            ),
            "pool of that size on that node covers it".into(),
        ));
    }
    let with_ev = |mut o: Outcome| {
        for (s, ob, ex) in &evidence {
            o = o.ev(s.clone(), ob.clone(), ex.clone());
        }
        o
    };
    let pooled: u64 = pools
        .iter()
        .map(|p| p.global.nr.unwrap_or(0).saturating_mul(p.page))
        .fold(0u64, u64::saturating_add);

    if demands.is_empty() && unknown_demand.is_empty() {
        let msg = if pooled == 0 {
            "no huge page pools and no VM uses hugetlb pages: consider 1 GiB pools per node for large guests (guide §3.2.3)".to_string()
        } else {
            format!("{} reserved in huge page pools", human(pooled))
        };
        if ctx.host.vms.is_empty() || pooled < GIB {
            let msg = if ctx.host.vms.is_empty() && pooled > 0 {
                format!("{msg}; no running VM to judge them against")
            } else {
                msg
            };
            return vec![with_ev(Outcome::info("host", msg))];
        }
        return vec![with_ev(Outcome::warn(
            "host",
            format!("{msg} but no running VM uses hugetlb pages: that memory is stranded"),
        ))];
    }

    let mut fails: Vec<String> = Vec::new();
    let mut warns: Vec<String> = Vec::new();
    let mut unknowns: Vec<String> = unknown_demand;
    // The pool sizes that would cover the VMs, as evidence `nr_hugepages` ≥ N: what
    // `fix --generate-script` grows a pool to. Node-bound demands name the node's pool only
    // (growing the global count would spread the pages over every node).
    let mut targets: Vec<(String, u64, u64)> = Vec::new();
    let mut pool_data: Vec<crate::report::Datum> = Vec::new();
    let sizes: BTreeSet<u64> = demands.iter().map(|d| d.page).collect();
    for page in &sizes {
        let of_size: Vec<&Demand> = demands.iter().filter(|d| d.page == *page).collect();
        let total: u64 = of_size.iter().fold(0u64, |a, d| a.saturating_add(d.pages));
        let Some(pool) = pools.iter().find(|p| p.page == *page) else {
            fails.push(format!(
                "VMs need {total} × {} pages but this kernel has no {} pool",
                human(*page),
                human(*page)
            ));
            continue;
        };
        let Some(nr) = pool.global.nr else {
            unknowns.push(format!("{} pool size unreadable", human(*page)));
            continue;
        };
        if total > nr && of_size.iter().all(|d| d.nodes.is_empty()) {
            targets.push((
                format!("{HP_DIR}/hugepages-{}kB/nr_hugepages", page / 1024),
                nr,
                total,
            ));
            pool_data.push(pool_datum(None, *page, nr, total));
        }
        if total > nr {
            let hint = if *page == 2 * MIB && nr == 2000 {
                " (the guide's example reserves 2000 × 2 MiB = 3.9 GiB, which cannot back a 4 GiB guest: it needs 2048)"
            } else {
                ""
            };
            fails.push(format!(
                "VMs need {total} × {} pages but the pool has {nr}{hint}",
                human(*page)
            ));
        }
        if pool.global.surplus.unwrap_or(0) > 0 {
            fails.push(format!(
                "{} × {} pages are surplus (overcommitted) pages: a VM relies on them and may not start again",
                pool.global.surplus.unwrap_or(0),
                human(*page)
            ));
        }
        // Per node: demands confined to one node must fit that node's pool.
        let mut per_node: BTreeMap<u32, (u64, Vec<String>)> = BTreeMap::new();
        for d in &of_size {
            if let [n] = d.nodes.as_slice() {
                let e = per_node.entry(*n).or_default();
                e.0 = e.0.saturating_add(d.pages);
                e.1.push(d.vm.clone());
            } else if d.nodes.len() > 1 {
                let have: Option<u64> = d
                    .nodes
                    .iter()
                    .map(|n| pool.nodes.get(n).and_then(|c| c.nr))
                    .try_fold(0u64, |a, b| b.map(|b| a.saturating_add(b)));
                if let Some(have) = have {
                    if d.pages > have {
                        fails.push(format!(
                            "{} needs {} × {} pages from nodes {:?} which hold {have}",
                            d.vm,
                            d.pages,
                            human(*page),
                            d.nodes
                        ));
                    }
                }
            }
        }
        if !pool.nodes.is_empty() {
            for (n, (need, vms)) in &per_node {
                match pool.nodes.get(n).and_then(|c| c.nr) {
                    Some(have) if *need > have => {
                        fails.push(format!(
                            "node {n} needs {need} × {} pages ({}) but its pool has {have}",
                            human(*page),
                            vms.join(", ")
                        ));
                        targets.push((
                            format!(
                                "/sys/devices/system/node/node{n}/hugepages/hugepages-{}kB/nr_hugepages",
                                page / 1024
                            ),
                            have,
                            *need,
                        ));
                        pool_data.push(pool_datum(Some(*n), *page, have, *need));
                    }
                    Some(_) => {}
                    None => unknowns.push(format!("node {n} {} pool unreadable", human(*page))),
                }
            }
            // Pools on nodes no VM draws from, when every demand is node-bound.
            if of_size.iter().all(|d| d.nodes.len() == 1) {
                for (n, c) in &pool.nodes {
                    let nr = c.nr.unwrap_or(0);
                    if nr > 0 && !per_node.contains_key(n) && nr.saturating_mul(*page) >= GIB {
                        warns.push(format!(
                            "node {n} holds {nr} × {} pages that no running VM is bound to",
                            human(*page)
                        ));
                    }
                }
            }
        }
    }
    for p in &pools {
        let nr = p.global.nr.unwrap_or(0);
        if nr > 0 && !sizes.contains(&p.page) && nr.saturating_mul(p.page) >= GIB {
            warns.push(format!(
                "{nr} × {} pages ({}) are reserved but no running VM uses that size: stranded memory",
                human(p.page),
                human(nr.saturating_mul(p.page))
            ));
        }
    }
    let o = if !fails.is_empty() {
        Outcome::fail(
            "host",
            format!("huge page pools do not cover the VMs: {}", fails.join("; ")),
        )
    } else if !unknowns.is_empty() {
        Outcome::unknown(
            "host",
            format!(
                "cannot tell whether the pools cover every VM: {}",
                unknowns.join("; ")
            ),
        )
    } else if !warns.is_empty() {
        Outcome::warn(
            "host",
            format!("every hugetlb VM fits its pool, but {}", warns.join("; ")),
        )
    } else {
        Outcome::pass(
            "host",
            "every hugetlb-backed VM's pages fit the pool of its page size on its node",
        )
    };
    let mut o = with_ev(o);
    if !fails.is_empty() {
        for (path, have, want) in targets {
            o = o.ev(path, have.to_string(), format!("≥ {want}"));
        }
        for d in pool_data {
            o = o.datum(d);
        }
    }
    vec![o]
}

/// What `fix` grows a pool to, as typed data: node (none: the host-wide pool), page size in
/// bytes, pages now, pages needed.
fn pool_datum(node: Option<u32>, page: u64, have: u64, need: u64) -> crate::report::Datum {
    crate::report::Datum::HugepagePool {
        node,
        page_kb: page / 1024,
        observed: have,
        at_least: need,
    }
}

// ---------------------------------------------------------------------------------------------
// hugetlbfs mounts

fn hugepages_mount(ctx: &Ctx) -> Vec<Outcome> {
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

// ---------------------------------------------------------------------------------------------
// Guest RAM backing per VM

/// THP mode: (enabled, shmem_enabled) bracketed values, or why unreadable.
fn thp_modes(ctx: &Ctx) -> (Result<String, String>, Result<String, String>) {
    let read = |f: &str| {
        let p = format!("{THP_DIR}/{f}");
        match ctx.get(&p) {
            Got::Val(v) => bracketed(v)
                .map(str::to_string)
                .ok_or_else(|| format!("{p}: unexpected {v:?}")),
            Got::Absent => Err(format!("{p}: absent (kernel without THP)")),
            other => Err(format!("{p}: {}", other.why())),
        }
    };
    (read("enabled"), read("shmem_enabled"))
}

fn thp_ok(mode: &str) -> bool {
    mode == "always" || mode == "madvise"
}

fn shmem_ok(mode: &str) -> bool {
    matches!(mode, "always" | "within_size" | "advise" | "force")
}

/// `nx_huge_pages=Y` note (KVM splits executable huge pages into 4 KiB EPT entries).
fn nx_note(ctx: &Ctx) -> Option<(String, String)> {
    let v = ctx
        .module_param("kvm", "nx_huge_pages")
        .val()?
        .trim()
        .to_string();
    let on = bool_param(&v) == Some(true) || v == "force";
    if !on {
        return None;
    }
    let vuln = ctx
        .text("/sys/devices/system/cpu/vulnerabilities/itlb_multihit")
        .unwrap_or("not recorded")
        .to_string();
    Some((v, vuln))
}

fn mem_hugepages(ctx: &Ctx) -> Vec<Outcome> {
    let (thp_en, thp_shmem) = thp_modes(ctx);
    let nx = nx_note(ctx);
    ctx.host
        .vms
        .iter()
        .map(|vm| {
            let t = ctx.vm_target(vm);
            let ram = &vm_ram(ctx, vm).pieces;
            let mut o = hugepages_verdict(ctx, vm, &t, ram, &thp_en, &thp_shmem);
            for r in ram {
                o = o.ev(
                    format!(
                        "{} {}",
                        vm.source,
                        r.piece
                            .backend_id
                            .as_deref()
                            .map(|b| format!("backend {b}"))
                            .unwrap_or_else(|| "boot RAM".into())
                    ),
                    format!(
                        "{}{}",
                        describe_backing(&r.backing),
                        r.size.map(|s| format!(", {}", human(s))).unwrap_or_default()
                    ),
                    "hugetlb pages",
                );
            }
            if let (Some((v, vuln)), true) = (&nx, matches!(o.status, Status::Pass | Status::Warn)) {
                o.message.push_str(&format!(
                    "; note: kvm.nx_huge_pages={v} (itlb_multihit: {vuln}), so KVM maps executable guest huge pages with 4 KiB EPT entries"
                ));
                o = o.ev(
                    "/sys/module/kvm/parameters/nx_huge_pages",
                    format!("{v}; /sys/devices/system/cpu/vulnerabilities/itlb_multihit: {vuln}"),
                    "",
                );
            }
            o
        })
        .collect()
}

fn describe_backing(b: &Backing) -> String {
    match b {
        Backing::Huge { page, how } => format!(
            "hugetlb {} ({how})",
            page.map(human).unwrap_or_else(|| "size ?".into())
        ),
        Backing::Anon => "anonymous memory".into(),
        Backing::Shmem(w) => format!("shared memory ({w})"),
        Backing::File(w) => format!("ordinary file ({w})"),
        Backing::Unknown(w) => format!("unknown ({w})"),
    }
}

fn hugepages_verdict(
    ctx: &Ctx,
    vm: &Vm,
    t: &Target,
    ram: &[Ram],
    thp_en: &Result<String, String>,
    thp_shmem: &Result<String, String>,
) -> Outcome {
    // Runtime proof first: numa_maps of the guest-RAM mappings.
    let mut runtime_note = String::new();
    let mut runtime_small = false;
    if let Some(nm) = ctx.process(vm).and_then(|p| p.numa_maps.as_ref()) {
        // `None` exactly when the text is unreadable.
        match guest_ram_maps(ctx, vm) {
            Some(maps) => {
                let ram_vmas = &maps.ram;
                if !ram_vmas.is_empty() {
                    let huge: Vec<_> = ram_vmas.iter().filter(|v| v.huge).collect();
                    let sizes: BTreeSet<u64> = huge
                        .iter()
                        .map(|v| v.page_kb.saturating_mul(1024))
                        .collect();
                    let sizes: Vec<String> = sizes.into_iter().map(human).collect();
                    let ev_obs = ram_vmas
                        .iter()
                        .map(|v| {
                            format!(
                                "{}{} kernelpagesize_kB={} ({})",
                                v.addr,
                                if v.huge { " huge" } else { "" },
                                v.page_kb,
                                human(v.bytes())
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                    if huge.len() == ram_vmas.len() {
                        return Outcome::pass(
                            t,
                            format!(
                                "guest RAM is mapped with {} hugetlb pages (numa_maps)",
                                sizes.join(" and ")
                            ),
                        )
                        .ev(
                            nm.path.clone(),
                            ev_obs,
                            "huge, kernelpagesize_kB ≥ 2048",
                        );
                    }
                    if !huge.is_empty() {
                        return Outcome::warn(
                            t,
                            format!(
                                "only part of guest RAM is on hugetlb pages ({} of {} guest-RAM mappings, numa_maps)",
                                huge.len(),
                                ram_vmas.len()
                            ),
                        )
                        .ev(nm.path.clone(), ev_obs, "huge on every guest-RAM mapping");
                    }
                    runtime_small = true;
                    runtime_note =
                        format!("numa_maps shows no hugetlb guest-RAM mapping ({ev_obs})");
                }
            }
            None => {
                runtime_note = format!(
                    "{}: {} (argv and mounts used instead)",
                    nm.path,
                    nm.fact.error().map(|e| e.describe()).unwrap_or_default()
                );
            }
        }
    }
    let huge = ram.iter().filter(|r| r.backing.is_huge()).count();
    let unknown: Vec<&str> = ram
        .iter()
        .filter_map(|r| match &r.backing {
            Backing::Unknown(w) => Some(w.as_str()),
            _ => None,
        })
        .collect();
    let with_note = |o: Outcome| {
        if runtime_note.is_empty() {
            o
        } else {
            o.ev("numa_maps", runtime_note.clone(), "")
        }
    };
    if !runtime_small {
        let inferred = ram.iter().any(|r| {
            matches!(&r.backing, Backing::Huge { how, .. } if how.contains("inferred from libvirt's hugetlbfs layout"))
        });
        if huge > 0 && huge == ram.len() {
            return with_note(Outcome::pass(
                t,
                format!(
                    "guest RAM is backed by hugetlb pages (argv backends on hugetlbfs / memfd hugetlb=on){}",
                    if inferred {
                        "; hugetlbfs inferred from libvirt's <mount>/libvirt/qemu/<id>-<name> path layout, no mount table shows it"
                    } else {
                        ""
                    }
                ),
            ));
        }
        // Partly on huge pages: warn when another piece is known to be on 4 KiB pages; when
        // the rest is only unknown it may be huge too.
        if huge > 0 && huge + unknown.len() < ram.len() {
            let small: Vec<String> = ram
                .iter()
                .filter(|r| !r.backing.is_huge() && !matches!(r.backing, Backing::Unknown(_)))
                .map(|r| {
                    format!(
                        "{} ({})",
                        r.piece.backend_id.as_deref().unwrap_or("boot RAM"),
                        describe_backing(&r.backing)
                    )
                })
                .collect();
            return with_note(Outcome::warn(
                t,
                format!(
                    "only {huge} of {} guest RAM pieces are hugetlb-backed; not: {}",
                    ram.len(),
                    small.join(", ")
                ),
            ));
        }
        if huge > 0 {
            return with_note(Outcome::unknown(
                t,
                format!(
                    "{huge} of {} guest RAM pieces are hugetlb-backed; for the rest: {}",
                    ram.len(),
                    unknown.join("; ")
                ),
            ));
        }
        if !unknown.is_empty() {
            return with_note(Outcome::unknown(
                t,
                format!(
                    "cannot tell how guest RAM is backed: {}",
                    unknown.join("; ")
                ),
            ));
        }
    }
    let argv_huge = huge > 0 || ram.iter().any(|r| r.piece.hugetlb_by_argv());
    if runtime_small && argv_huge {
        return with_note(Outcome::fail(
            t,
            "argv asks for hugetlb pages but the kernel mapped guest RAM with ordinary pages (numa_maps)",
        ));
    }
    // No hugetlb: THP is the acceptable alternative.
    let shmem = ram.iter().any(|r| matches!(r.backing, Backing::Shmem(_)));
    let anon = ram.iter().any(|r| matches!(r.backing, Backing::Anon));
    let en = match thp_en {
        Ok(v) => v.clone(),
        Err(why) => {
            return with_note(Outcome::unknown(
                t,
                format!("guest RAM is not on hugetlb pages and THP state is unreadable ({why})"),
            ))
        }
    };
    let mut o = if !thp_ok(&en) {
        Outcome::fail(
            t,
            format!("guest RAM uses 4 KiB pages only: no hugetlb backing and THP is [{en}]"),
        )
    } else if shmem {
        match thp_shmem {
            Ok(s) if shmem_ok(s) => Outcome::warn(
                t,
                format!("guest RAM relies on transparent huge pages (THP [{en}], shmem_enabled [{s}]); how much of it THP covers is not measured (smaps is not read); hugetlb pages are the guide's recommendation"),
            ),
            Ok(s) => Outcome::fail(
                t,
                format!("guest RAM is shared memory but shmem_enabled is [{s}]: it gets 4 KiB pages"),
            ),
            Err(why) => Outcome::unknown(
                t,
                format!("guest RAM is shared memory and shmem_enabled is unreadable ({why})"),
            ),
        }
    } else if anon {
        Outcome::warn(
            t,
            format!("guest RAM relies on transparent huge pages (THP [{en}]); how much of it THP covers is not measured (smaps is not read); hugetlb pages are the guide's recommendation"),
        )
    } else {
        Outcome::fail(
            t,
            "guest RAM is a file on an ordinary filesystem: 4 KiB page-cache pages",
        )
    };
    o = o.ev(
        format!("{THP_DIR}/enabled"),
        en,
        "hugetlb preferred; THP always|madvise acceptable",
    );
    with_note(o)
}

// ---------------------------------------------------------------------------------------------
// THP

fn thp(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = guest_without_vms(ctx) {
        return vec![o];
    }
    // VMs whose RAM is not entirely hugetlb, and which of those use shared memory.
    let mut need_anon = Vec::new();
    let mut need_shmem = Vec::new();
    for vm in &ctx.host.vms {
        let ram = &vm_ram(ctx, vm).pieces;
        let all_huge = !ram.is_empty()
            && ram.iter().all(|r| {
                r.backing.is_huge()
                    || (matches!(r.backing, Backing::Unknown(_)) && r.piece.hugetlb_by_argv())
            });
        if all_huge {
            continue;
        }
        if ram.iter().any(|r| matches!(r.backing, Backing::Shmem(_))) {
            need_shmem.push(vm.name());
        } else {
            need_anon.push(vm.name());
        }
    }
    if !ctx.host.vms.is_empty() && need_anon.is_empty() && need_shmem.is_empty() {
        return vec![Outcome::na(
            "host",
            "every VM's RAM is hugetlb-backed: transparent huge pages do not apply",
        )];
    }
    let (en, shmem) = thp_modes(ctx);
    let en = match en {
        Ok(v) => v,
        // Missing files are a kernel without THP only where /sys/kernel/mm was seen without
        // the directory (or the kernel config says so); a --root tree may just lack them.
        Err(why)
            if why.contains("absent")
                && (ctx.dir_has("/sys/kernel/mm", "transparent_hugepage") == Some(false)
                    && ctx.dir_exists("/sys/kernel/mm") == Some(true)
                    || ctx
                        .host
                        .kconfig
                        .as_ref()
                        .and_then(|k| k.enabled("TRANSPARENT_HUGEPAGE"))
                        == Some(false)) =>
        {
            return vec![Outcome::fail(
                "host",
                "the kernel has no transparent huge page support (/sys/kernel/mm/transparent_hugepage missing)",
            )
            .ev(format!("{THP_DIR}/enabled"), "absent", "always or madvise")]
        }
        Err(why) if why.contains("absent") => {
            return vec![Outcome::unknown(
                "host",
                format!("THP state not recorded ({THP_DIR} is not in this copy, and neither /sys/kernel/mm nor the kernel config shows a kernel without THP)"),
            )]
        }
        Err(why) => return vec![Outcome::unknown("host", format!("THP state unreadable ({why})"))],
    };
    let defrag = ctx
        .text(&format!("{THP_DIR}/defrag"))
        .and_then(bracketed)
        .unwrap_or("?")
        .to_string();
    let who = |v: &[String]| {
        if v.is_empty() {
            "future VMs".to_string()
        } else {
            v.join(", ")
        }
    };
    let mut o = if !thp_ok(&en) {
        let configured = persistent::kernel_cmdlines(ctx.snap)
            .into_iter()
            .find_map(|(p, c)| {
                c.value("transparent_hugepage")
                    .filter(|v| thp_ok(v))
                    .map(|v| (p, v.to_string()))
            });
        let base = Outcome::fail(
            "host",
            format!(
                "THP is [{en}]: {} get 4 KiB pages only",
                who(&[need_anon.clone(), need_shmem.clone()].concat())
            ),
        );
        match configured {
            Some((p, v)) => {
                let mut b = base.pending(true);
                b.message.push_str(&format!(
                    "; {p} already sets transparent_hugepage={v}, effective after a reboot"
                ));
                b.ev(p, format!("transparent_hugepage={v}"), "")
            }
            None => base,
        }
    } else if !need_shmem.is_empty() {
        match &shmem {
            Ok(s) if shmem_ok(s) => Outcome::pass(
                "host",
                format!("THP is [{en}] and shmem_enabled [{s}] covers the shared-memory guest RAM of {}", need_shmem.join(", ")),
            ),
            Ok(s) => Outcome::fail(
                "host",
                format!(
                    "THP is [{en}] but shmem_enabled is [{s}]: the shared-memory guest RAM of {} (memfd, share=on, /dev/shm) gets 4 KiB pages",
                    need_shmem.join(", ")
                ),
            ),
            Err(why) => Outcome::unknown(
                "host",
                format!("THP is [{en}] but shmem_enabled is unreadable ({why}) while {} use shared-memory RAM", need_shmem.join(", ")),
            ),
        }
    } else {
        Outcome::pass(
            "host",
            format!(
                "THP is [{en}]: QEMU advises guest RAM with MADV_HUGEPAGE, so {} can get 2 MiB pages",
                who(&need_anon)
            ),
        )
    };
    if defrag == "always" && o.status == Status::Pass {
        o.message
            .push_str("; note: defrag [always] can stall unrelated allocations while compacting");
    }
    o = o
        .ev(format!("{THP_DIR}/enabled"), en, "always or madvise")
        .ev(format!("{THP_DIR}/defrag"), defrag, "");
    if let Ok(s) = shmem {
        o = o.ev(
            format!("{THP_DIR}/shmem_enabled"),
            s,
            if need_shmem.is_empty() {
                ""
            } else {
                "always, within_size or advise"
            },
        );
    }
    if let Some(m) = &ctx.host.meminfo {
        if let Some(a) = m.anon_hugepages() {
            o = o.ev("/proc/meminfo AnonHugePages", human(a), "");
        }
    }
    vec![o]
}

// ---------------------------------------------------------------------------------------------
// KSM

fn ksm_present(ctx: &Ctx) -> Result<(), Outcome> {
    match ctx.dir(KSM_DIR) {
        Ok(_) => Ok(()),
        Err(None) => Err(Outcome::na(
            "host",
            "the kernel has no KSM (/sys/kernel/mm/ksm missing)",
        )),
        Err(Some(e)) => Err(Outcome::unknown(
            "host",
            format!("{KSM_DIR}: {}", e.describe()),
        )),
    }
}

fn ksm_run(ctx: &Ctx) -> Result<u32, String> {
    let p = format!("{KSM_DIR}/run");
    match ctx.get(&p) {
        Got::Val(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{p}: unexpected {v:?}")),
        other => Err(format!("{p}: {}", other.why())),
    }
}

fn run_words(run: u32) -> &'static str {
    match run {
        0 => "stopped",
        1 => "running",
        2 => "stopped and unmerged",
        _ => "in an unknown state",
    }
}

fn ksm_state(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = guest_without_vms(ctx) {
        return vec![o];
    }
    if let Err(o) = ksm_present(ctx) {
        return vec![o];
    }
    let run = match ksm_run(ctx) {
        Ok(r) => r,
        Err(why) => {
            return vec![Outcome::unknown(
                "host",
                format!("KSM state unreadable ({why})"),
            )]
        }
    };
    let k = |f: &str| num(ctx, &format!("{KSM_DIR}/{f}"));
    let sharing = k("pages_sharing");
    let shared = k("pages_shared");
    let saved = sharing.map(|s| s.saturating_mul(4096));
    let mut msg = format!(
        "KSM is {}{}",
        run_words(run),
        saved
            .filter(|s| *s > 0)
            .map(|s| format!(", saving about {}", human(s)))
            .unwrap_or_default()
    );
    match (ctx.flags.mem_overcommitted, run) {
        (Some(true), 1) => msg.push_str("; memory is overcommitted, so merging is what keeps the guests fitting"),
        (Some(true), _) => msg.push_str("; memory is overcommitted: consider running KSM (echo 1 > /sys/kernel/mm/ksm/run)"),
        (Some(false), 1) => msg.push_str("; memory is not overcommitted: KSM costs CPU and latency and weakens isolation between VMs for no needed saving — consider run=0 (or mem-merge=off on latency-critical VMs)"),
        (Some(false), _) => msg.push_str("; memory is not overcommitted: stopped is the right choice"),
        (None, _) => msg.push_str("; whether memory is overcommitted could not be determined"),
    }
    let mut o = Outcome::info("host", msg).ev(
        format!("{KSM_DIR}/run"),
        run.to_string(),
        match ctx.flags.mem_overcommitted {
            Some(true) => "1 (memory overcommitted)",
            Some(false) => "0 (memory not overcommitted)",
            None => "",
        },
    );
    for (f, v) in [("pages_sharing", sharing), ("pages_shared", shared)] {
        if let Some(v) = v {
            o = o.ev(format!("{KSM_DIR}/{f}"), v.to_string(), "");
        }
    }
    for f in ["pages_unshared", "pages_volatile", "full_scans"] {
        if let Some(v) = k(f) {
            o = o.ev(format!("{KSM_DIR}/{f}"), v.to_string(), "");
        }
    }
    vec![o]
}

fn ksm_tuning(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = guest_without_vms(ctx) {
        return vec![o];
    }
    if let Err(o) = ksm_present(ctx) {
        return vec![o];
    }
    let run_got = ksm_run(ctx);
    let run = run_got.as_ref().ok().copied();
    let k = |f: &str| ctx.text(&format!("{KSM_DIR}/{f}")).map(str::to_string);
    let fields = [
        ("pages_to_scan", "100"),
        ("sleep_millisecs", "20"),
        ("max_page_sharing", "256"),
        ("merge_across_nodes", "1"),
        ("use_zero_pages", "0"),
    ];
    let mut shown = Vec::new();
    let mut ev = Vec::new();
    for (f, def) in fields {
        if let Some(v) = k(f) {
            shown.push(format!(
                "{f} {v}{}",
                if v == def { "" } else { " (changed)" }
            ));
            ev.push((format!("{KSM_DIR}/{f}"), v, format!("default {def}")));
        }
    }
    let ksmtuned = match ctx.get("/etc/ksmtuned.conf") {
        Got::Val(_) => Some("present"),
        Got::Absent => Some("absent"),
        _ => None,
    };
    let merge_across = k("merge_across_nodes");
    // The warning needs all three facts; when one is unreadable and the others do not rule it
    // out, the verdict is unknown, never the milder info (less evidence must not look better).
    let missing: Vec<String> = [
        (ctx.flags.multi_node.is_none())
            .then(|| "the host's NUMA node count is unknown".to_string()),
        run_got.as_ref().err().cloned(),
        merge_across.is_none().then(|| {
            format!(
                "{KSM_DIR}/merge_across_nodes: {}",
                ctx.get(&format!("{KSM_DIR}/merge_across_nodes")).why()
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    let ruled_out = ctx.flags.multi_node == Some(false)
        || run.is_some_and(|r| r != 1)
        || merge_across.as_deref().is_some_and(|m| m != "1");
    let o = if ctx.flags.multi_node == Some(true)
        && run == Some(1)
        && merge_across.as_deref() == Some("1")
    {
        Outcome::warn(
            "host",
            "KSM runs on a multi-node host with merge_across_nodes=1: a merged page lives on one node, so it is remote for the VMs on the others; set it to 0 (echo 2 > run; echo 0 > merge_across_nodes; echo 1 > run)",
        )
        .datum(crate::report::Datum::Setting {
            path: format!("{KSM_DIR}/merge_across_nodes"),
            observed: "1".into(),
            expected: "0".into(),
        })
    } else if shown.is_empty() {
        Outcome::unknown("host", "KSM controls unreadable")
    } else if !ruled_out && !missing.is_empty() {
        Outcome::unknown(
            "host",
            format!(
                "whether KSM merges pages across NUMA nodes cannot be told: {}",
                missing.join("; ")
            ),
        )
    } else {
        Outcome::info(
            "host",
            format!(
                "KSM {}: {}",
                run.map(run_words).unwrap_or("state unknown"),
                shown.join(", ")
            ),
        )
    };
    let mut o = o;
    for (s, ob, ex) in ev {
        o = o.ev(s, ob, ex);
    }
    if let Some(t) = ksmtuned {
        o = o.ev(
            "/etc/ksmtuned.conf",
            t,
            "ksmtuned rewrites run and pages_to_scan when it runs",
        );
    }
    vec![o]
}

fn mem_merge(ctx: &Ctx) -> Vec<Outcome> {
    let ksm_on = ksm_run(ctx) == Ok(1);
    ctx.host
        .vms
        .iter()
        .map(|vm| {
            let t = ctx.vm_target(vm);
            let machine = vm.model.machine.mem_merge;
            let machine_on = machine.unwrap_or(true);
            let ram = &vm_ram(ctx, vm).pieces;
            let mut mergeable = Vec::new();
            let mut never = Vec::new();
            let mut ev = Vec::new();
            for r in ram {
                let name = r
                    .piece
                    .backend_id
                    .clone()
                    .unwrap_or_else(|| "boot RAM".into());
                let b = r.piece.backend_id.as_deref().and_then(|id| vm.model.backend(id));
                let merge = b.and_then(|b| b.merge).unwrap_or(machine_on);
                let unmergeable = match &r.backing {
                    Backing::Huge { .. } => Some("hugetlb"),
                    Backing::Shmem(_) => Some("shared memory"),
                    _ if b.is_some_and(|b| b.kind == BackendKind::File) => Some("file-backed"),
                    _ => None,
                };
                ev.push((
                    format!("{} {name}", vm.source),
                    format!(
                        "merge={}{}",
                        if merge { "on" } else { "off" },
                        unmergeable
                            .map(|w| format!(" ({w}: KSM never merges it)"))
                            .unwrap_or_default()
                    ),
                ));
                match (merge, unmergeable) {
                    (true, None) => mergeable.push(name),
                    (_, Some(_)) => never.push(name),
                    _ => {}
                }
            }
            let vfio = !vm.model.vfio_devices.is_empty();
            let advice = if ctx.dedicated(vm) == Some(true) || ctx.profile == Profile::Latency {
                if mergeable.is_empty() || vfio {
                    "fine for a latency-critical VM"
                } else {
                    "a latency-critical VM is better off with mem-merge=off (libvirt <nosharepages/>)"
                }
            } else if ctx.flags.mem_overcommitted == Some(true) {
                if mergeable.is_empty() {
                    "memory is overcommitted but none of this VM's RAM can be merged"
                } else {
                    "keeps this VM eligible for KSM on an overcommitted host"
                }
            } else if mergeable.is_empty() || !ksm_on {
                "only matters when KSM runs"
            } else {
                "KSM is running and merges it although memory is not overcommitted"
            };
            let msg = format!(
                "machine mem-merge={}{}; {}{}; {advice}",
                if machine_on { "on" } else { "off" },
                if machine.is_none() { " (default)" } else { "" },
                if mergeable.is_empty() {
                    "no guest RAM is mergeable".to_string()
                } else {
                    format!("mergeable: {}", mergeable.join(", "))
                },
                if vfio {
                    " (VFIO pins guest RAM: KSM cannot merge it)"
                } else {
                    ""
                },
            );
            let mut o = Outcome::info(t, msg).ev(
                vm.source.clone(),
                format!(
                    "-machine mem-merge={}",
                    machine.map_or("unset (on)", |m| if m { "on" } else { "off" })
                ),
                "",
            );
            for (s, ob) in ev {
                o = o.ev(s, ob, "");
            }
            o
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use crate::report::Profile::Throughput;
    use crate::rules::testkit::{findings, status, SnapBuilder};
    use crate::snapshot::{QemuProcess, ReadError, ReadErrorKind, Sourced};

    const HP: &str = "/sys/kernel/mm/hugepages";
    const NODE: &str = "/sys/devices/system/node";
    const THP: &str = "/sys/kernel/mm/transparent_hugepage";

    fn host() -> SnapBuilder {
        SnapBuilder::new()
            .icx("vmx")
            .topology(2, 4, 2)
            .file(
                "/proc/mounts",
                "/dev/sda2 / ext4 rw,relatime 0 0\n\
                 udev /dev devtmpfs rw 0 0\n\
                 tmpfs /dev/shm tmpfs rw 0 0\n\
                 hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n\
                 hugetlbfs /dev/hugepages1G hugetlbfs rw,relatime,pagesize=1024M 0 0",
            )
            .file(&format!("{THP}/enabled"), "always [madvise] never")
            .file(
                &format!("{THP}/defrag"),
                "always defer defer+madvise [madvise] never",
            )
            .file(
                &format!("{THP}/shmem_enabled"),
                "always within_size advise [never] deny force",
            )
    }

    /// Pools: `(kB size, [(node, nr)])`.
    fn pools(mut b: SnapBuilder, sizes: &[(u64, &[(u32, u64)])]) -> SnapBuilder {
        let names: Vec<String> = sizes
            .iter()
            .map(|(kb, _)| format!("hugepages-{kb}kB"))
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        b = b.dir(HP, &refs);
        for (kb, nodes) in sizes {
            let total: u64 = nodes.iter().map(|(_, n)| n).sum();
            let d = format!("hugepages-{kb}kB");
            b = b
                .file(&format!("{HP}/{d}/nr_hugepages"), &total.to_string())
                .file(&format!("{HP}/{d}/free_hugepages"), "0")
                .file(&format!("{HP}/{d}/surplus_hugepages"), "0");
            for (n, nr) in *nodes {
                b = b.file(
                    &format!("{NODE}/node{n}/hugepages/{d}/nr_hugepages"),
                    &nr.to_string(),
                );
            }
        }
        b
    }

    fn pinned1() -> Vec<(&'static str, &'static str, &'static str)> {
        vec![
            ("qemu-system-x86", "4", "1"),
            ("CPU 0/KVM", "5", "1"),
            ("CPU 1/KVM", "6", "1"),
        ]
    }

    fn mountinfo(text: &'static str) -> impl FnOnce(&mut QemuProcess) {
        move |p| p.mountinfo = Some(Sourced::value("/proc/1000/mountinfo", text.to_string()))
    }

    const VM_1G: &str = "qemu-system-x86_64 -name guest=db01,debug-threads=on -machine q35,memory-backend=ram0 -m 8G -smp 2 -object memory-backend-file,id=ram0,mem-path=/dev/hugepages1G/libvirt/qemu/1-db01,size=8G,host-nodes=1,policy=bind,prealloc=on";
    const VM_2M_4G: &str =
        "qemu-system-x86_64 -name guest=guide -m 4G -smp 2 -mem-prealloc -mem-path /dev/hugepages";
    const VM_ANON: &str = "qemu-system-x86_64 -name guest=app01,debug-threads=on -m 4G -smp 2";

    #[test]
    fn pool() {
        let fits = pools(host(), &[(1048576, &[(0, 0), (1, 8)])])
            .vm(VM_1G, &pinned1())
            .build();
        let f = &findings(&fits, Throughput, "host.hugepages.pool")[0];
        assert_eq!(f.status.as_str(), "pass", "{}", f.message);
        assert!(
            f.evidence
                .iter()
                .any(|e| e.observed.contains("needs 8 × 1 GiB")),
            "{:?}",
            f.evidence
        );

        // Enough pages in total, but on the wrong node.
        let wrong_node = pools(host(), &[(1048576, &[(0, 8), (1, 0)])])
            .vm(VM_1G, &pinned1())
            .build();
        let f = &findings(&wrong_node, Throughput, "host.hugepages.pool")[0];
        assert_eq!(f.status.as_str(), "fail");
        assert!(f.message.contains("node 1"), "{}", f.message);
        // The pool size that covers the VM, for `fix` to grow the node's pool to.
        let want = |f: &crate::report::Finding, src: &str| {
            f.evidence
                .iter()
                .find(|e| e.source == src)
                .map(|e| (e.observed.clone(), e.expected.clone().unwrap_or_default()))
        };
        assert_eq!(
            want(
                f,
                "/sys/devices/system/node/node1/hugepages/hugepages-1048576kB/nr_hugepages"
            ),
            Some(("0".to_string(), "≥ 8".to_string())),
            "{:?}",
            f.evidence
        );

        // The guide's 2000 × 2 MiB for -m 4G.
        let guide = pools(host(), &[(2048, &[(0, 1000), (1, 1000)])])
            .vm(VM_2M_4G, &[])
            .build();
        let f = &findings(&guide, Throughput, "host.hugepages.pool")[0];
        assert_eq!(f.status.as_str(), "fail");
        assert!(f.message.contains("2048"), "{}", f.message);
        assert_eq!(
            want(f, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"),
            Some(("2000".to_string(), "≥ 2048".to_string())),
            "{:?}",
            f.evidence
        );

        // A 16 GiB pool while no running VM uses hugetlb pages: stranded.
        let stranded = pools(host(), &[(1048576, &[(0, 8), (1, 8)])])
            .vm(VM_ANON, &pinned1())
            .build();
        assert_eq!(
            status(&stranded, Throughput, "host.hugepages.pool", "host"),
            "warn"
        );

        let none = pools(host(), &[(2048, &[(0, 0), (1, 0)])])
            .vm(VM_ANON, &pinned1())
            .build();
        assert_eq!(
            status(&none, Throughput, "host.hugepages.pool", "host"),
            "info"
        );

        let hidden = host().dir_denied(HP).vm(VM_1G, &pinned1()).build();
        assert_eq!(
            status(&hidden, Throughput, "host.hugepages.pool", "host"),
            "unknown"
        );
    }

    #[test]
    fn mount() {
        let ok = pools(host(), &[(1048576, &[(0, 0), (1, 8)]), (2048, &[(0, 0), (1, 0)])])
            .vm(VM_1G, &pinned1())
            .with_last_vm(mountinfo(
                "30 1 0:27 / /dev/hugepages1G/libvirt/qemu/1-db01 rw,relatime shared:2 - hugetlbfs hugetlbfs rw,pagesize=1024M",
            ))
            .build();
        let f = &findings(&ok, Throughput, "host.hugepages.mount")[0];
        assert_eq!(f.status.as_str(), "pass", "{}", f.message);

        // In the QEMU's namespace the mem-path is on tmpfs: ordinary pages.
        let tmpfs = pools(host(), &[(1048576, &[(0, 0), (1, 8)])])
            .vm(VM_1G, &pinned1())
            .with_last_vm(mountinfo("30 1 0:27 / /dev rw shared:2 - tmpfs tmpfs rw"))
            .build();
        let f = &findings(&tmpfs, Throughput, "host.hugepages.mount")[0];
        assert_eq!(f.status.as_str(), "fail");
        assert!(f.message.contains("not on hugetlbfs"), "{}", f.message);

        // A 1 GiB pool and no 1 GiB mount.
        let unmounted = pools(host(), &[(1048576, &[(0, 4), (1, 4)])])
            .file("/proc/mounts", "/dev/sda2 / ext4 rw 0 0")
            .build();
        assert_eq!(
            status(&unmounted, Throughput, "host.hugepages.mount", "host"),
            "warn"
        );

        let nothing = host().dir(HP, &[]).vm(VM_ANON, &pinned1()).build();
        assert_eq!(
            status(&nothing, Throughput, "host.hugepages.mount", "host"),
            "not_applicable"
        );
    }

    #[test]
    fn vm_hugepages() {
        // numa_maps proof.
        let proven = host()
            .vm(VM_1G, &pinned1())
            .with_last_vm(|p| {
                p.numa_maps = Some(Sourced::value(
                    "/proc/1000/numa_maps",
                    "7f5e80000000 bind:1 file=/dev/hugepages1G/libvirt/qemu/1-db01/qemu_back_mem.pc.ram huge dirty=8 N1=8 kernelpagesize_kB=1048576\n".to_string(),
                ))
            })
            .file("/sys/module/kvm/parameters/nx_huge_pages", "Y")
            .file(
                "/sys/devices/system/cpu/vulnerabilities/itlb_multihit",
                "KVM: Mitigation: Split huge pages",
            )
            .build();
        let f = &findings(&proven, Throughput, "qemu.mem.hugepages")[0];
        assert_eq!(f.status.as_str(), "pass", "{}", f.message);
        assert!(f.message.contains("nx_huge_pages=Y"), "{}", f.message);

        // Argv asks for hugetlb pages but the kernel mapped 4 KiB pages and THP is never.
        let fallback = host()
            .file(&format!("{THP}/enabled"), "always madvise [never]")
            .vm(VM_1G, &pinned1())
            .with_last_vm(|p| {
                p.numa_maps = Some(Sourced::value(
                    "/proc/1000/numa_maps",
                    "7f0000000000 bind:1 file=/dev/hugepages1G/libvirt/qemu/1-db01/x dirty=2097152 N1=2097152 kernelpagesize_kB=4\n".to_string(),
                ))
            })
            .build();
        let f = &findings(&fallback, Throughput, "qemu.mem.hugepages")[0];
        assert_eq!(f.status.as_str(), "fail");
        assert!(f.message.contains("ordinary pages"), "{}", f.message);

        // Anonymous RAM with THP madvise: the acceptable alternative.
        let thp = host().vm(VM_ANON, &pinned1()).build();
        assert_eq!(
            status(&thp, Throughput, "qemu.mem.hugepages", "vm:app01"),
            "warn"
        );
        let small = host()
            .file(&format!("{THP}/enabled"), "always madvise [never]")
            .vm(VM_ANON, &pinned1())
            .build();
        let f = &findings(&small, Throughput, "qemu.mem.hugepages")[0];
        assert_eq!(f.status.as_str(), "fail");
        assert!(f.message.contains("4 KiB pages only"), "{}", f.message);

        // memfd RAM needs shmem_enabled, which is never here.
        let memfd = host()
            .vm(
                "qemu-system-x86_64 -name guest=vu -m 4G -object memory-backend-memfd,id=m0,size=4G,share=on -machine memory-backend=m0",
                &pinned1(),
            )
            .build();
        assert_eq!(
            status(&memfd, Throughput, "qemu.mem.hugepages", "vm:vu"),
            "fail"
        );
        // memfd with hugetlb=on is hugetlb by construction.
        let memfd_huge = host()
            .vm(
                "qemu-system-x86_64 -name guest=vu -m 4G -object memory-backend-memfd,id=m0,size=4G,hugetlb=on,hugetlbsize=2M -machine memory-backend=m0",
                &pinned1(),
            )
            .build();
        assert_eq!(
            status(&memfd_huge, Throughput, "qemu.mem.hugepages", "vm:vu"),
            "pass"
        );

        // A hugepage-looking path the host shows on devtmpfs, QEMU's namespace unreadable.
        let blind = host()
            .file("/proc/mounts", "udev /dev devtmpfs rw 0 0")
            .vm(VM_1G, &pinned1())
            .with_last_vm(|p| {
                p.mountinfo = Some(Sourced::error(
                    "/proc/1000/mountinfo",
                    ReadError::new(ReadErrorKind::PermissionDenied, ""),
                ))
            })
            .build();
        assert_eq!(
            status(&blind, Throughput, "qemu.mem.hugepages", "vm:db01"),
            "unknown"
        );
    }

    /// Argv only (no process, no mount table): libvirt's hugetlbfs layout is the evidence,
    /// named as an inference; RAM partly on 4 KiB pages is a warn (issue 12 item 11).
    #[test]
    fn hugepages_from_libvirt_layout_without_mounts() {
        let argv_only = |args: &str| {
            let w: Vec<&str> = args.split_whitespace().collect();
            SnapBuilder::new()
                .vm_argv(&w, &[])
                .with_last_vm(|p| p.pid = None)
                .build()
        };
        let node = |id: u32, path: &str| {
            format!("-object memory-backend-file,id=ram-node{id},mem-path={path},size=4G,prealloc=on -numa node,nodeid={id},cpus={id},memdev=ram-node{id}")
        };
        let base =
            "qemu-system-x86_64 -name guest=Guest -machine pc-q35-9.2 -accel kvm -smp 2 -m 8G";
        let huge = "/dev/hugepages2M/libvirt/qemu/-1-Guest";
        let s = argv_only(&format!("{base} {} {}", node(0, huge), node(1, huge)));
        let f = &findings(&s, Throughput, "qemu.mem.hugepages")[0];
        assert_eq!(f.status.as_str(), "pass", "{}", f.message);
        assert!(
            f.message.contains("inferred from libvirt's"),
            "{}",
            f.message
        );
        assert!(
            f.evidence[0].observed.starts_with("hugetlb 2 MiB ("),
            "{:?}",
            f.evidence[0]
        );
        // One guest node on anonymous 4 KiB memory.
        let part = format!(
            "{base} {} -object memory-backend-ram,id=ram-node1,size=4G -numa node,nodeid=1,cpus=1,memdev=ram-node1",
            node(0, huge)
        );
        let f = &findings(&argv_only(&part), Throughput, "qemu.mem.hugepages")[0];
        assert_eq!(f.status.as_str(), "warn", "{}", f.message);
        assert!(f.message.contains("not: ram-node1"), "{}", f.message);
        // One DIMM on 4 KiB pages.
        let dimm = format!(
            "{base} -m 8G,slots=2,maxmem=16G {} {} -object memory-backend-ram,id=memdimm0,size=2G -device pc-dimm,node=0,memdev=memdimm0,id=dimm0",
            node(0, huge),
            node(1, huge)
        );
        let f = &findings(&argv_only(&dimm), Throughput, "qemu.mem.hugepages")[0];
        assert_eq!(f.status.as_str(), "warn", "{}", f.message);
        // libvirt's non-hugepage memory_backing_dir is not hugetlbfs.
        let ram_dir = format!("{base} {}", node(0, "/var/lib/libvirt/qemu/ram/-1-Guest"));
        assert_ne!(
            status(
                &argv_only(&ram_dir),
                Throughput,
                "qemu.mem.hugepages",
                "vm:Guest"
            ),
            "pass"
        );
    }

    #[test]
    fn thp() {
        let ok = host().vm(VM_ANON, &pinned1()).build();
        assert_eq!(status(&ok, Throughput, "host.thp", "host"), "pass");

        let never = host()
            .file(&format!("{THP}/enabled"), "always madvise [never]")
            .file(
                "/etc/default/grub",
                "GRUB_CMDLINE_LINUX=\"quiet transparent_hugepage=madvise\"",
            )
            .vm(VM_ANON, &pinned1())
            .build();
        let f = &findings(&never, Throughput, "host.thp")[0];
        assert_eq!(f.status.as_str(), "fail");
        assert!(f.pending_reboot, "GRUB already fixes it");

        let shmem = host()
            .vm(
                "qemu-system-x86_64 -name guest=vu -m 4G -object memory-backend-memfd,id=m0,size=4G -machine memory-backend=m0",
                &pinned1(),
            )
            .build();
        let f = &findings(&shmem, Throughput, "host.thp")[0];
        assert_eq!(f.status.as_str(), "fail");
        assert!(f.message.contains("shmem_enabled"), "{}", f.message);

        let all_huge = host().vm(VM_1G, &pinned1()).build();
        assert_eq!(
            status(&all_huge, Throughput, "host.thp", "host"),
            "not_applicable"
        );

        let hidden = host().denied(&format!("{THP}/enabled")).build();
        assert_eq!(status(&hidden, Throughput, "host.thp", "host"), "unknown");

        // Missing from a --root tree: unknown; missing next to a listed /sys/kernel/mm (or
        // with CONFIG_TRANSPARENT_HUGEPAGE off): a kernel without THP.
        let tree = host()
            .absent(&format!("{THP}/enabled"))
            .absent(&format!("{THP}/shmem_enabled"))
            .vm(VM_ANON, &pinned1())
            .build();
        assert_eq!(status(&tree, Throughput, "host.thp", "host"), "unknown");
        let no_thp = host()
            .absent(&format!("{THP}/enabled"))
            .absent(&format!("{THP}/shmem_enabled"))
            .dir("/sys/kernel/mm", &["hugepages", "ksm"])
            .vm(VM_ANON, &pinned1())
            .build();
        assert_eq!(status(&no_thp, Throughput, "host.thp", "host"), "fail");

        let guest = SnapBuilder::new()
            .icx("vmx hypervisor")
            .dir("/dev", &[])
            .build();
        assert_eq!(
            status(&guest, Throughput, "host.thp", "host"),
            "not_applicable"
        );
    }

    fn ksm(run: &str, sharing: &str, across: &str) -> SnapBuilder {
        let k = "/sys/kernel/mm/ksm";
        host()
            .dir(
                k,
                &["run", "pages_sharing", "pages_shared", "merge_across_nodes"],
            )
            .file(&format!("{k}/run"), run)
            .file(&format!("{k}/pages_sharing"), sharing)
            .file(&format!("{k}/pages_shared"), "1000")
            .file(&format!("{k}/pages_to_scan"), "100")
            .file(&format!("{k}/merge_across_nodes"), across)
    }

    #[test]
    fn ksm_state_and_tuning() {
        let running = ksm("1", "262144", "1").vm(VM_ANON, &pinned1()).build();
        let f = &findings(&running, Throughput, "host.ksm.state")[0];
        assert_eq!(f.status.as_str(), "info");
        assert!(f.message.contains("saving about 1 GiB"), "{}", f.message);
        assert!(f.message.contains("consider run=0"), "{}", f.message);
        // Multi-node, running, merging across nodes.
        assert_eq!(
            status(&running, Throughput, "host.ksm.tuning", "host"),
            "warn"
        );

        let local = ksm("1", "0", "0").build();
        assert_eq!(
            status(&local, Throughput, "host.ksm.tuning", "host"),
            "info"
        );

        let no_ksm = host().build();
        assert_eq!(
            status(&no_ksm, Throughput, "host.ksm.state", "host"),
            "not_applicable"
        );
        assert_eq!(
            status(&no_ksm, Throughput, "host.ksm.tuning", "host"),
            "not_applicable"
        );

        let hidden = ksm("1", "0", "1").denied("/sys/kernel/mm/ksm/run").build();
        assert_eq!(
            status(&hidden, Throughput, "host.ksm.state", "host"),
            "unknown"
        );
        // The warn above with one of its facts unreadable is unknown, with the reason, never
        // the milder info (issue 12 item 4).
        for path in ["run", "merge_across_nodes"] {
            let hidden = ksm("1", "262144", "1")
                .denied(&format!("/sys/kernel/mm/ksm/{path}"))
                .build();
            let f = &findings(&hidden, Throughput, "host.ksm.tuning")[0];
            assert_eq!(f.status.as_str(), "unknown", "{path}: {}", f.message);
            assert!(
                f.message
                    .contains(&format!("/sys/kernel/mm/ksm/{path}: permission denied")),
                "{}",
                f.message
            );
        }
        // A readable fact that rules the warning out keeps the info.
        let stopped = ksm("0", "0", "1")
            .denied("/sys/kernel/mm/ksm/merge_across_nodes")
            .build();
        assert_eq!(
            status(&stopped, Throughput, "host.ksm.tuning", "host"),
            "info"
        );
    }

    #[test]
    fn merge() {
        let s = host()
            .vm(&format!("{VM_ANON} -machine q35,mem-merge=off"), &pinned1())
            .vm(VM_1G, &pinned1())
            .build();
        let f = findings(&s, Throughput, "qemu.mem.merge");
        let app = f.iter().find(|f| f.target == "vm:app01").unwrap();
        assert_eq!(app.status.as_str(), "info");
        assert!(app.message.contains("mem-merge=off"), "{}", app.message);
        let db = f.iter().find(|f| f.target == "vm:db01").unwrap();
        assert!(
            db.message.contains("no guest RAM is mergeable"),
            "{}",
            db.message
        );
        assert!(
            db.evidence.iter().any(|e| e.observed.contains("hugetlb")),
            "{:?}",
            db.evidence
        );
        let empty = host().build();
        assert_eq!(
            status(&empty, Throughput, "qemu.mem.merge", "host"),
            "not_applicable"
        );
    }

    #[test]
    fn mounts_parse() {
        let m = super::parse_mountinfo(
            "36 35 98:0 / /mnt\\040x rw,noatime master:1 - hugetlbfs none rw,pagesize=1G",
        );
        assert_eq!(m[0].target, "/mnt x");
        assert_eq!(m[0].opt("pagesize"), Some("1G"));
        assert_eq!(super::hugetlbfs_pagesize(&m[0], None), Some(1 << 30));
        let t = super::parse_mounts("a / ext4 rw 0 0\nb /var xfs rw 0 0\nc /var ext4 rw 0 0");
        assert_eq!(
            super::mount_of(&t, "/var/lib/x").map(|m| m.source.as_str()),
            Some("c")
        );
        assert_eq!(
            super::mount_of(&t, "/variable").map(|m| m.source.as_str()),
            Some("a")
        );
        assert_eq!(super::unescape("a\\134b\\0"), "a\\b\\0");
    }
}
