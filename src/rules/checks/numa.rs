//! NUMA affinity (guide §3.2.1): automatic balancing, VM placement, measured memory locality,
//! device locality and device interrupts.
//!
//! Placement is judged at run time, because libvirt applies it outside argv: vCPU threads'
//! `Cpus_allowed_list`, the process's `Mems_allowed_list`, memory backend `host-nodes`/`policy`
//! and the per-mapping policy in `numa_maps`.

use super::memory::{human, mount_of, path_looks_hugetlbfs, vm_mounts};
use super::CheckFn;
use crate::model::host::Vm;
use crate::model::vm::{DiskBus, VmModel};
use crate::parse::cpulist;
use crate::report::target::Target;
use crate::report::{Severity, Status};
use crate::rules::context::{Ctx, Got};
use crate::rules::outcome::Outcome;
use crate::rules::persistent;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

pub const CHECKS: &[(&str, CheckFn)] = &[
    ("host.numa.balancing", numa_balancing),
    ("qemu.numa.vm-placement", vm_placement),
    ("qemu.numa.memory-locality", memory_locality),
    ("qemu.numa.device-locality", device_locality),
    ("host.irq.affinity", irq_affinity),
];

const PCI: &str = "/sys/bus/pci/devices";
const NET: &str = "/sys/class/net";

fn list(set: &BTreeSet<u32>) -> String {
    if set.is_empty() {
        "(none)".into()
    } else {
        cpulist::format(set)
    }
}

fn parse_list(s: &str) -> Option<BTreeSet<u32>> {
    cpulist::parse(s).ok()
}

/// `None` when the host has several CPU-bearing nodes; otherwise the outcome to return.
fn single_node(ctx: &Ctx, target: &str) -> Option<Outcome> {
    match ctx.flags.multi_node {
        Some(true) => None,
        Some(false) => Some(Outcome::na(
            target,
            "single NUMA node with CPUs: there is nothing to place",
        )),
        None => Some(Outcome::unknown(
            target,
            "NUMA topology unreadable (/sys/devices/system/node)",
        )),
    }
}

/// Per-VM rules on a single-node host: one not-applicable outcome per VM.
fn single_node_vms(ctx: &Ctx) -> Option<Vec<Outcome>> {
    let probe = single_node(ctx, "host")?;
    Some(
        ctx.host
            .vms
            .iter()
            .map(|vm| {
                let mut o = probe.clone();
                o.target = ctx.vm_target(vm);
                o
            })
            .collect(),
    )
}

/// The CPUs nohz_full removes from housekeeping (empty when inactive).
pub(super) fn nohz_full_set(ctx: &Ctx) -> Result<BTreeSet<u32>, String> {
    let p = "/sys/devices/system/cpu/nohz_full";
    match ctx.get(p) {
        Got::Val(v) => parse_list(v).ok_or_else(|| format!("{p}: unexpected {v:?}")),
        Got::Absent => Ok(BTreeSet::new()),
        other => Err(format!("{p}: {}", other.why())),
    }
}

// ---------------------------------------------------------------------------------------------
// numa_maps

/// One line of `/proc/PID/numa_maps`; the words borrow from the text (a QEMU has ~300
/// mappings, and copying each one's words was most of the cost of parsing them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Vma<'t> {
    pub addr: &'t str,
    /// `default`, `bind:1`, `prefer:0`, `interleave:0-1`, `local`, ...
    pub policy: &'t str,
    /// Unescaped only when the kernel escaped something in it.
    pub file: Option<Cow<'t, str>>,
    pub huge: bool,
    pub heap: bool,
    pub stack: bool,
    /// Node → resident pages.
    pub nodes: BTreeMap<u32, u64>,
    pub page_kb: u64,
}

impl Vma<'_> {
    pub fn bytes(&self) -> u64 {
        self.nodes
            .values()
            .map(|p| p.saturating_mul(self.page_kb.saturating_mul(1024)))
            .fold(0u64, u64::saturating_add)
    }
    pub fn node_bytes(&self, node: u32) -> u64 {
        self.nodes
            .get(&node)
            .map_or(0, |p| p.saturating_mul(self.page_kb.saturating_mul(1024)))
    }
    /// Nodes of a `bind:`/`prefer:` policy.
    fn policy_nodes(&self, kind: &str) -> Option<BTreeSet<u32>> {
        let rest = self.policy.strip_prefix(kind)?.strip_prefix(':')?;
        parse_list(rest)
    }
}

/// The words of a numa_maps line, split as `str::split_whitespace` splits them. An ASCII line
/// without a vertical tab splits the same on ASCII whitespace, several times faster; numa_maps
/// is ASCII but for file names (the kernel escapes only whitespace and backslashes in them).
enum Words<'t> {
    Ascii(std::str::SplitAsciiWhitespace<'t>),
    Any(std::str::SplitWhitespace<'t>),
}

impl<'t> Iterator for Words<'t> {
    type Item = &'t str;
    fn next(&mut self) -> Option<&'t str> {
        match self {
            Words::Ascii(w) => w.next(),
            Words::Any(w) => w.next(),
        }
    }
}

fn words(l: &str) -> Words<'_> {
    if l.is_ascii() && !l.contains('\x0b') {
        Words::Ascii(l.split_ascii_whitespace())
    } else {
        Words::Any(l.split_whitespace())
    }
}

#[cfg(test)]
pub(crate) fn parse_numa_maps(text: &str) -> Vec<Vma<'_>> {
    text.lines().filter_map(|l| parse_vma(words(l))).collect()
}

/// For a line [`parse_vma`] takes (two words or more), an upper bound of its `Vma::bytes()`
/// (a node named twice is counted twice here, once there), found without building the Vma.
fn bytes_bound<'t>(mut w: impl Iterator<Item = &'t str>) -> Option<u64> {
    w.next()?;
    w.next()?;
    let mut pages = 0u64;
    let mut page_kb = 4u64;
    // Only `N<node>=` and `kernelpagesize_kB=` count: other words (file=, anon=, dirty=,
    // mapped=, ...) are passed over on their first byte, without looking for the '='.
    for tok in w.filter(|t| matches!(t.as_bytes().first(), Some(b'N' | b'k'))) {
        let Some((k, val)) = tok.split_once('=') else {
            continue;
        };
        if k == "kernelpagesize_kB" {
            page_kb = val.parse().unwrap_or(4);
        } else if let Some(n) = k.strip_prefix('N') {
            if let (Ok(_), Ok(p)) = (n.parse::<u32>(), val.parse::<u64>()) {
                pages = pages.saturating_add(p);
            }
        }
    }
    Some(pages.saturating_mul(page_kb.saturating_mul(1024)))
}

fn parse_vma<'t>(mut w: impl Iterator<Item = &'t str>) -> Option<Vma<'t>> {
    let mut v = Vma {
        addr: w.next()?,
        policy: w.next()?,
        page_kb: 4,
        ..Vma::default()
    };
    for tok in w {
        match tok {
            "huge" => v.huge = true,
            "heap" => v.heap = true,
            "stack" => v.stack = true,
            _ => {
                let Some((k, val)) = tok.split_once('=') else {
                    continue;
                };
                if k == "file" {
                    // `unescape` changes nothing in a word without a backslash.
                    v.file = Some(if val.contains('\\') {
                        Cow::Owned(super::memory::unescape(val))
                    } else {
                        Cow::Borrowed(val)
                    });
                } else if k == "kernelpagesize_kB" {
                    v.page_kb = val.parse().unwrap_or(4);
                } else if let Some(n) = k.strip_prefix('N') {
                    if let (Ok(n), Ok(p)) = (n.parse::<u32>(), val.parse::<u64>()) {
                        v.nodes.insert(n, p);
                    }
                }
            }
        }
    }
    Some(v)
}

/// The smallest mapping taken for guest RAM.
const MIN_GUEST_RAM: u64 = 32 << 20;

/// The mappings that hold guest RAM: hugetlb mappings, anonymous ones, memfd / devdax / tmpfs /
/// hugetlbfs files and files under a RAM backend's `mem-path`, keeping only the large ones
/// (QEMU's heap, stacks, libraries and malloc arenas are small next to guest RAM).
pub(super) fn guest_ram_vmas<'v, 't>(vmas: &'v [Vma<'t>], model: &VmModel) -> Vec<&'v Vma<'t>> {
    let mut paths: Vec<&str> = model
        .memory_backends
        .iter()
        .filter_map(|b| b.mem_path.as_deref())
        .collect();
    if let Some(p) = model.memory.mem_path.as_deref() {
        paths.push(p);
    }
    let candidate = |v: &Vma| {
        !v.heap
            && !v.stack
            && v.bytes() > 0
            && (v.huge
                || match v.file.as_deref() {
                    None => true,
                    Some(f) => {
                        f.starts_with("/memfd:")
                            || f.starts_with("/dev/dax")
                            || f.starts_with("/dev/zero")
                            || f.starts_with("/dev/shm/")
                            || f.starts_with("/SYSV")
                            || path_looks_hugetlbfs(f)
                            || paths.iter().any(|p| !p.is_empty() && f.starts_with(p))
                    }
                })
    };
    // Nothing under MIN_GUEST_RAM is ever kept, and leaving such mappings out of the
    // candidates changes no threshold (it is MIN_GUEST_RAM unless a larger candidate exists),
    // so the size test comes first: it spares the path tests on QEMU's ~300 library and heap
    // mappings.
    let cands: Vec<&Vma> = vmas
        .iter()
        .filter(|v| v.bytes() >= MIN_GUEST_RAM && candidate(v))
        .collect();
    let largest = cands.iter().map(|v| v.bytes()).max().unwrap_or(0);
    let threshold = (largest / 4).max(MIN_GUEST_RAM);
    cands
        .into_iter()
        .filter(|v| v.bytes() >= threshold)
        .collect()
}

/// What the rules need from a VM's numa_maps: its guest-RAM mappings ([`guest_ram_vmas`]) and
/// how many mappings there are in all.
#[derive(Debug, Clone, Default)]
pub(crate) struct GuestRamMaps<'t> {
    pub mappings: usize,
    pub ram: Vec<Vma<'t>>,
}

fn read_guest_ram_maps<'t>(text: &'t str, model: &VmModel) -> GuestRamMaps<'t> {
    // Only mappings of MIN_GUEST_RAM or more can be guest RAM; the others (nearly all of a
    // QEMU's ~300) are only counted, without building a Vma for each.
    let mut mappings = 0;
    let mut large = Vec::new();
    for l in text.lines() {
        let Some(bound) = bytes_bound(words(l)) else {
            continue;
        };
        mappings += 1;
        if bound >= MIN_GUEST_RAM {
            large.extend(parse_vma(words(l)));
        }
    }
    let ram = guest_ram_vmas(&large, model).into_iter().cloned().collect();
    GuestRamMaps { mappings, ram }
}

/// Parse the VM's numa_maps into the context now, so that rules running later find it.
pub(crate) fn warm(ctx: &Ctx, vm: &Vm) {
    let _ = guest_ram_maps(ctx, vm);
}

/// The VM's numa_maps as the rules need it, parsed once per VM (three rules read it); `None`
/// when there is no readable numa_maps.
pub(super) fn guest_ram_maps<'c, 'a>(
    ctx: &'c Ctx<'a>,
    vm: &Vm,
) -> Option<Cow<'c, GuestRamMaps<'a>>> {
    let text: &'a str = ctx.process(vm)?.numa_maps.as_ref()?.get()?;
    Some(match ctx.derived(vm) {
        Some(d) => Cow::Borrowed(
            d.guest_ram_maps
                .get_or_init(|| read_guest_ram_maps(text, &vm.model)),
        ),
        None => Cow::Owned(read_guest_ram_maps(text, &vm.model)),
    })
}

// ---------------------------------------------------------------------------------------------
// Where a VM runs

/// Where a VM's vCPUs may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CpuPlace {
    One(u32),
    Spans(BTreeSet<u32>),
    Unknown(String),
}

/// The vCPU CPU sets (vCPU threads, or every thread when none is named `CPU n/KVM`).
fn vcpu_sets(ctx: &Ctx, vm: &Vm) -> Result<(Vec<BTreeSet<u32>>, bool), String> {
    let f = ctx.facts(vm);
    let Some(t) = &f.threads else {
        return Err(match ctx.process(vm).and_then(|p| p.threads.as_ref()) {
            Some(s) => format!(
                "{}: {}",
                s.path,
                s.fact.error().map(|e| e.describe()).unwrap_or_default()
            ),
            None if vm.pid.is_none() => {
                "command line from a file: no running threads to read affinity from".into()
            }
            None => "thread affinity not collected".into(),
        });
    };
    if !t.vcpus.is_empty() {
        return Ok((t.vcpus.values().cloned().collect(), true));
    }
    let all: Vec<BTreeSet<u32>> = t.all_sets().filter(|s| !s.is_empty()).cloned().collect();
    if all.is_empty() {
        return Err("no thread affinity recorded".into());
    }
    Ok((all, false))
}

pub(super) fn cpu_place(ctx: &Ctx, vm: &Vm) -> CpuPlace {
    let (sets, _) = match vcpu_sets(ctx, vm) {
        Ok(s) => s,
        Err(why) => return CpuPlace::Unknown(why),
    };
    let union: BTreeSet<u32> = sets.iter().flatten().copied().collect();
    if let Some(n) = ctx.node_of_cpus(&union) {
        return CpuPlace::One(n);
    }
    let nodes: BTreeSet<u32> = ctx
        .node_cpus()
        .into_iter()
        .filter(|(_, cpus)| !cpus.is_disjoint(&union))
        .map(|(n, _)| n)
        .collect();
    CpuPlace::Spans(nodes)
}

/// A VM's home node and how it was found.
pub(super) struct Home {
    pub node: u32,
    pub how: String,
}

/// The single host node a VM is placed on: its vCPUs' node, else a single bound memory node.
pub(super) fn home_node(ctx: &Ctx, vm: &Vm) -> Option<Home> {
    match cpu_place(ctx, vm) {
        CpuPlace::One(n) => Some(Home {
            node: n,
            how: "vCPU threads' CPUs".into(),
        }),
        CpuPlace::Spans(_) => None,
        CpuPlace::Unknown(_) => match mem_bind(ctx, vm) {
            MemBind::Bound(s, how) | MemBind::Preferred(s, how) if s.len() == 1 => {
                s.into_iter().next().map(|node| Home { node, how })
            }
            _ => None,
        },
    }
}

/// How a VM's memory is bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum MemBind {
    Bound(BTreeSet<u32>, String),
    Preferred(BTreeSet<u32>, String),
    Unbound,
}

fn memory_nodes(ctx: &Ctx) -> BTreeSet<u32> {
    ctx.host.nodes.iter().flatten().map(|n| n.id).collect()
}

pub(super) fn mem_bind(ctx: &Ctx, vm: &Vm) -> MemBind {
    // cpuset: the kernel enforces it for every allocation.
    if let Some(t) = &ctx.facts(vm).threads {
        let all = memory_nodes(ctx);
        if !t.mems.is_empty() && !all.is_empty() && t.mems.is_subset(&all) && t.mems != all {
            return MemBind::Bound(t.mems.clone(), "Mems_allowed_list (cpuset)".into());
        }
    }
    // Memory backends of guest RAM.
    let ram = vm.model.guest_ram();
    let backends: Vec<_> = ram
        .iter()
        .filter_map(|p| p.backend_id.as_deref().and_then(|id| vm.model.backend(id)))
        .collect();
    if !backends.is_empty()
        && backends.len() == ram.len()
        && backends.iter().all(|b| !b.host_nodes.is_empty())
    {
        let nodes: BTreeSet<u32> = backends.iter().flat_map(|b| b.host_nodes.clone()).collect();
        let how = format!(
            "memory backend host-nodes ({})",
            backends
                .iter()
                .map(|b| format!(
                    "{}: {} policy {}",
                    b.id,
                    b.host_nodes
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                    b.policy.as_deref().unwrap_or("default")
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
        if backends
            .iter()
            .all(|b| matches!(b.policy.as_deref(), Some("bind") | Some("interleave")))
        {
            return MemBind::Bound(nodes, how);
        }
        if backends
            .iter()
            .all(|b| matches!(b.policy.as_deref(), Some("bind") | Some("preferred")))
        {
            return MemBind::Preferred(nodes, how);
        }
    }
    // numa_maps policy of the guest-RAM mappings (numactl --membind shows up here).
    if let Some(maps) = guest_ram_maps(ctx, vm) {
        let ram = &maps.ram;
        if !ram.is_empty() {
            let bind: Option<BTreeSet<u32>> = ram
                .iter()
                .map(|v| v.policy_nodes("bind"))
                .collect::<Option<Vec<_>>>()
                .map(|v| v.into_iter().flatten().collect());
            if let Some(b) = bind {
                return MemBind::Bound(b, "numa_maps bind policy".into());
            }
            let pref: Option<BTreeSet<u32>> = ram
                .iter()
                .map(|v| v.policy_nodes("prefer"))
                .collect::<Option<Vec<_>>>()
                .map(|v| v.into_iter().flatten().collect());
            if let Some(p) = pref {
                return MemBind::Preferred(p, "numa_maps preferred policy".into());
            }
        }
    }
    MemBind::Unbound
}

/// A guest with several virtual nodes, each mapped onto one host node (vCPUs and memory).
/// `Some(true)` all map 1:1 with bind, `Some(false)` some do not, `None` no guest NUMA.
fn guest_numa_1to1(ctx: &Ctx, vm: &Vm) -> Option<(bool, String)> {
    let f = ctx.facts(vm);
    if f.guest_nodes.is_empty() {
        return None;
    }
    let parts: Vec<String> = f
        .guest_nodes
        .iter()
        .map(|g| {
            format!(
                "guest node {} → host node {}{}",
                g.guest,
                g.host.map_or("?".into(), |h| h.to_string()),
                if g.mem_bound {
                    " (memory bound)"
                } else {
                    " (memory not bound there)"
                }
            )
        })
        .collect();
    Some((f.bound_guest_nodes().is_some(), parts.join("; ")))
}

/// The placement verdict of one VM (shared by the balancing rule).
struct Placement {
    status: Status,
    message: String,
    evidence: Vec<(String, String, String)>,
}

fn placement(ctx: &Ctx, vm: &Vm) -> Placement {
    let strict = !vm.model.vfio_devices.is_empty()
        || vm.model.uses_hugepages() != crate::model::vm::HugepageUse::None;
    let why_strict = if !vm.model.vfio_devices.is_empty() {
        "VFIO memory is pinned and never migrated"
    } else {
        "hugetlb memory is never migrated by NUMA balancing"
    };
    let mut ev: Vec<(String, String, String)> = Vec::new();
    let pid = vm.pid.map_or("PID".into(), |p| p.to_string());
    let (sets, named) = match vcpu_sets(ctx, vm) {
        Ok(s) => s,
        Err(why) => {
            return Placement {
                status: Status::Unknown,
                message: format!("vCPU thread affinity unreadable ({why})"),
                evidence: vec![(format!("/proc/{pid}/task"), why, String::new())],
            }
        }
    };
    let union: BTreeSet<u32> = sets.iter().flatten().copied().collect();
    let place = cpu_place(ctx, vm);
    ev.push((
        format!("/proc/{pid}/task/*/status Cpus_allowed_list"),
        format!(
            "{} {}{}",
            if named {
                "vCPU threads:"
            } else {
                "all threads (no vCPU thread names):"
            },
            list(&union),
            match &place {
                CpuPlace::One(n) => format!(" (node {n})"),
                CpuPlace::Spans(s) => format!(" (nodes {})", list(s)),
                CpuPlace::Unknown(_) => String::new(),
            }
        ),
        "CPUs of one node".into(),
    ));
    if let Some(t) = &ctx.facts(vm).threads {
        ev.push((
            format!("/proc/{pid}/task/*/status Mems_allowed_list"),
            list(&t.mems),
            "the same node".into(),
        ));
    }
    let bind = mem_bind(ctx, vm);
    ev.push((
        format!("{} memory policy", vm.source),
        match &bind {
            MemBind::Bound(s, how) => format!("bound to {} by {how}", list(s)),
            MemBind::Preferred(s, how) => format!("preferred {} by {how}", list(s)),
            MemBind::Unbound => "no binding (default policy, all nodes allowed)".into(),
        },
        "bind to the vCPUs' node".into(),
    ));
    if let Some((ok, desc)) = guest_numa_1to1(ctx, vm) {
        ev.push((format!("{} -numa", vm.source), desc.clone(), "1:1".into()));
        if ok {
            return Placement {
                status: Status::Pass,
                message: format!(
                    "each guest NUMA node maps onto one host node with bound memory ({desc})"
                ),
                evidence: ev,
            };
        }
    }
    let guest_numa = vm.model.numa_nodes.len() >= 2;
    let (status, message) = match (&place, &bind) {
        (CpuPlace::One(n), MemBind::Bound(s, _)) if s.len() == 1 && s.contains(n) => (
            Status::Pass,
            format!("vCPUs and memory are confined to node {n}"),
        ),
        (CpuPlace::One(n), MemBind::Preferred(s, _)) if s.len() == 1 && s.contains(n) => (
            Status::Warn,
            format!("vCPUs run on node {n} but memory only prefers it: under pressure it spills to other nodes (use policy bind / mode strict)"),
        ),
        (CpuPlace::One(n), MemBind::Unbound) => (
            Status::Warn,
            format!("vCPUs are pinned to node {n} but memory is not bound: pages can land on other nodes"),
        ),
        (CpuPlace::One(n), MemBind::Bound(s, _) | MemBind::Preferred(s, _)) if s.contains(n) => (
            Status::Warn,
            format!("vCPUs run on node {n} but memory may come from nodes {}: part of it can be remote", list(s)),
        ),
        (CpuPlace::One(n), MemBind::Bound(s, _) | MemBind::Preferred(s, _)) => (
            if strict { Status::Fail } else { Status::Warn },
            format!("vCPUs run on node {n} but memory is bound to node(s) {}: guest memory accesses are remote", list(s)),
        ),
        (CpuPlace::Spans(nodes), _) => {
            if strict && !guest_numa {
                (
                    Status::Fail,
                    format!("the VM spans nodes {} without guest NUMA, and {why_strict}: confine it to one node", list(nodes)),
                )
            } else if guest_numa {
                (
                    Status::Warn,
                    format!("the VM spans nodes {} and its guest NUMA nodes do not map 1:1 onto host nodes", list(nodes)),
                )
            } else {
                (
                    Status::Warn,
                    format!("the VM is not confined to one node (vCPUs may run on nodes {})", list(nodes)),
                )
            }
        }
        (CpuPlace::Unknown(why), _) => (Status::Unknown, format!("vCPU placement unknown ({why})")),
    };
    Placement {
        status,
        message,
        evidence: ev,
    }
}

fn escalation(vm: &Vm) -> Option<Severity> {
    (!vm.model.vfio_devices.is_empty()
        || vm.model.uses_hugepages() != crate::model::vm::HugepageUse::None)
        .then_some(Severity::High)
}

fn vm_placement(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(v) = single_node_vms(ctx) {
        return v;
    }
    ctx.host
        .vms
        .iter()
        .map(|vm| {
            let p = placement(ctx, vm);
            let mut o =
                Outcome::new(ctx.vm_target(vm), p.status, p.message).escalate(escalation(vm));
            if let CpuPlace::One(node) = cpu_place(ctx, vm) {
                o = o.datum(crate::report::Datum::NumaNode { node });
            }
            for (s, ob, ex) in p.evidence {
                o = o.ev(s, ob, ex);
            }
            o
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// host.numa.balancing

fn numa_balancing(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = single_node(ctx, "host") {
        return vec![o];
    }
    let path = "/proc/sys/kernel/numa_balancing";
    let (on, observed) = match ctx.get(path) {
        Got::Val(v) => match v.trim().parse::<u32>() {
            Ok(n) => (n & 1 == 1, n.to_string()),
            Err(_) => {
                return vec![Outcome::unknown(
                    "host",
                    format!("{path}: unexpected {v:?}"),
                )]
            }
        },
        // Only where the kernel's other sysctls were read is the file's absence the kernel's.
        Got::Absent if matches!(ctx.get("/proc/sys/kernel/osrelease"), Got::Val(_)) => {
            (false, "absent (kernel without NUMA balancing)".to_string())
        }
        Got::Absent => {
            return vec![Outcome::unknown(
                "host",
                format!("{path} is not in this tree (nor are the kernel's other sysctls)"),
            )]
        }
        other => return vec![Outcome::unknown("host", format!("{path}: {}", other.why()))],
    };
    let mut unplaced_strict = Vec::new();
    let mut unplaced = Vec::new();
    let mut unknown = Vec::new();
    let mut unknown_strict = Vec::new();
    for vm in &ctx.host.vms {
        let p = placement(ctx, vm);
        let strict = escalation(vm).is_some();
        match p.status {
            Status::Pass => {}
            Status::Unknown if strict => {
                unknown.push(vm.name());
                unknown_strict.push(vm.name());
            }
            Status::Unknown => unknown.push(vm.name()),
            _ if strict => unplaced_strict.push(vm.name()),
            _ => unplaced.push(vm.name()),
        }
    }
    let vmstat = |k: &str| {
        ctx.text("/proc/vmstat").and_then(|t| {
            t.lines().find_map(|l| {
                let (key, v) = l.split_once(' ')?;
                (key == k).then(|| v.trim().to_string())
            })
        })
    };
    let o = if on {
        if !unplaced_strict.is_empty() {
            Outcome::warn(
                "host",
                format!(
                    "NUMA balancing is on but cannot move the memory of {} (VFIO-pinned or hugetlb): place them explicitly",
                    unplaced_strict.join(", ")
                ),
            )
        } else if !unknown_strict.is_empty() {
            Outcome::unknown(
                "host",
                format!(
                    "NUMA balancing is on; placement of {} (VFIO or hugetlb) could not be read",
                    unknown_strict.join(", ")
                ),
            )
        } else {
            Outcome::pass(
                "host",
                "NUMA balancing is on and every VM it cannot help (VFIO, hugetlb) is explicitly placed",
            )
        }
    } else if !unplaced_strict.is_empty() || !unplaced.is_empty() {
        let mut o = Outcome::warn(
            "host",
            format!(
                "NUMA balancing is off and {} not placed on one node: nothing keeps their memory local",
                [unplaced_strict.clone(), unplaced.clone()].concat().join(", ")
                    + if unplaced_strict.len() + unplaced.len() == 1 { " is" } else { " are" }
            ),
        );
        let configured = persistent::configured_sysctl(ctx.snap, "kernel.numa_balancing")
            .filter(|(_, v)| v.trim() == "1" || v.trim() == "3")
            .or_else(|| {
                persistent::kernel_cmdlines(ctx.snap)
                    .into_iter()
                    .find_map(|(p, c)| {
                        (c.value("numa_balancing") == Some("enable")).then(|| (p, "enable".into()))
                    })
            });
        if let Some((p, v)) = configured {
            o = o.pending(true).ev(p.clone(), v.clone(), "");
            o.message.push_str(&format!(
                "; {p} already enables it ({v}): apply it (sysctl --system) or reboot"
            ));
        }
        o
    } else if !unknown.is_empty() {
        Outcome::unknown(
            "host",
            format!(
                "NUMA balancing is off; placement of {} could not be read",
                unknown.join(", ")
            ),
        )
    } else if ctx.host.vms.is_empty() {
        Outcome::info(
            "host",
            "NUMA balancing is off and no VM runs: future VMs must be placed by hand",
        )
    } else {
        Outcome::pass(
            "host",
            "NUMA balancing is off and every VM is explicitly placed",
        )
    };
    let mut o = o.ev(
        path,
        observed,
        "1 with unplaceable VMs placed, or 0 with every VM placed",
    );
    if let Some(c) = ctx
        .host
        .cmdline
        .as_ref()
        .and_then(|c| c.value("numa_balancing"))
    {
        o = o.ev("/proc/cmdline", format!("numa_balancing={c}"), "");
    }
    for k in ["numa_hint_faults", "numa_pages_migrated"] {
        if let Some(v) = vmstat(k) {
            o = o.ev(format!("/proc/vmstat {k}"), v, "");
        }
    }
    vec![o]
}

// ---------------------------------------------------------------------------------------------
// qemu.numa.memory-locality

fn memory_locality(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(v) = single_node_vms(ctx) {
        return v;
    }
    ctx.host
        .vms
        .iter()
        .map(|vm| {
            let t = ctx.vm_target(vm);
            let Some(nm) = ctx.process(vm).and_then(|p| p.numa_maps.as_ref()) else {
                return Outcome::unknown(
                    t,
                    "no /proc/PID/numa_maps for this VM (not a live process)",
                );
            };
            // `None` exactly when the text is unreadable.
            let Some(maps) = guest_ram_maps(ctx, vm) else {
                return Outcome::unknown(
                    t,
                    format!(
                        "{} unreadable ({}): measuring locality needs root",
                        nm.path,
                        nm.fact.error().map(|e| e.describe()).unwrap_or_default()
                    ),
                );
            };
            let ram = &maps.ram;
            let mut per_node: BTreeMap<u32, u64> = BTreeMap::new();
            for v in ram {
                for n in v.nodes.keys() {
                    let e = per_node.entry(*n).or_default();
                    *e = e.saturating_add(v.node_bytes(*n));
                }
            }
            let total: u64 = per_node.values().fold(0u64, |a, b| a.saturating_add(*b));
            if total == 0 {
                return Outcome::unknown(
                    t.clone(),
                    "no guest-RAM mapping found in numa_maps (guest memory not yet touched?)",
                )
                .ev(nm.path.clone(), format!("{} mappings", maps.mappings), "");
            }
            let huge = ram.iter().all(|v| v.huge);
            let pass_at = if huge { 95.0 } else { 90.0 };
            if let Some(bound) = ctx.facts(vm).bound_guest_nodes() {
                return per_guest_node_locality(vm, t, &nm.path, ram, &bound, pass_at);
            }
            let (home, how) = match (cpu_place(ctx, vm), mem_bind(ctx, vm)) {
                (CpuPlace::One(n), _) => (n, "the vCPUs' node".to_string()),
                (_, MemBind::Bound(s, _)) if s.len() == 1 => (
                    s.iter().next().copied().unwrap_or(0),
                    "the bound memory node".into(),
                ),
                _ => {
                    let (n, _) = per_node
                        .iter()
                        .max_by_key(|(_, b)| **b)
                        .map(|(n, b)| (*n, *b))
                        .unwrap_or((0, 0));
                    (n, "the node holding most of it (VM not placed)".into())
                }
            };
            let local = per_node.get(&home).copied().unwrap_or(0);
            let pct = local as f64 * 100.0 / total as f64;
            let dist = per_node
                .iter()
                .map(|(n, b)| {
                    format!(
                        "N{n}={} ({:.0} %)",
                        human(*b),
                        *b as f64 * 100.0 / total as f64
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let status = locality_status(pct, pass_at);
            Outcome::new(
                t,
                status,
                format!(
                    "{pct:.0} % of resident guest RAM ({}) is on node {home}, {how}{}",
                    human(total),
                    match status {
                        Status::Pass => String::new(),
                        _ => format!(
                            "; the rest is remote (want ≥ {pass_at:.0} %{})",
                            if huge { " for hugetlb RAM" } else { "" }
                        ),
                    }
                ),
            )
            .ev(
                nm.path.clone(),
                dist,
                format!("≥ {pass_at:.0} % on node {home}"),
            )
        })
        .collect()
}

/// The locality status for a local share (catalogue thresholds).
fn locality_status(pct: f64, pass_at: f64) -> Status {
    if pct >= pass_at {
        Status::Pass
    } else if pct >= 70.0 {
        Status::Warn
    } else {
        Status::Fail
    }
}

/// The memory backend a guest-RAM mapping belongs to, from the name QEMU gives a file backend's
/// file: `qemu_back_mem.<region>.XXXXXX`, the region being the backend id or its QOM path
/// `/objects/<id>` with '/' made '_' (`qemu_back_mem._objects_ram-node0.Qm4sLe`).
fn vma_backend_id(v: &Vma) -> Option<String> {
    let file = v.file.as_deref()?;
    let file = file.strip_suffix(" (deleted)").unwrap_or(file);
    let base = file.rsplit('/').next()?;
    let (region, _) = base.strip_prefix("qemu_back_mem.")?.rsplit_once('.')?;
    Some(
        region
            .strip_prefix("_objects_")
            .unwrap_or(region)
            .to_string(),
    )
}

/// Locality of a VM whose guest NUMA nodes are each bound to one host node: every guest-RAM
/// mapping is judged against the host node of the guest node it belongs to (by its backend's
/// file name, else by a single-node `bind`/`prefer` policy on one of the VM's nodes); a
/// mapping that belongs to no identifiable guest node counts as local on any of the VM's nodes.
fn per_guest_node_locality(
    vm: &Vm,
    t: Target,
    src: &str,
    ram: &[Vma],
    bound: &BTreeMap<u32, u32>,
    pass_at: f64,
) -> Outcome {
    let vm_nodes: BTreeSet<u32> = bound.values().copied().collect();
    let backend_node: BTreeMap<&str, u32> = vm
        .model
        .numa_nodes
        .iter()
        .enumerate()
        .filter_map(|(i, g)| {
            let h = bound.get(&g.nodeid.unwrap_or(i as u32))?;
            Some((g.memdev.as_deref()?, *h))
        })
        .collect();
    // Host node → (local bytes, total bytes) of the mappings bound to it; None = unattributed.
    let mut per: BTreeMap<Option<u32>, (u64, u64)> = BTreeMap::new();
    let mut dist: BTreeMap<u32, u64> = BTreeMap::new();
    for v in ram {
        let by_file = vma_backend_id(v).and_then(|id| backend_node.get(id.as_str()).copied());
        let by_policy = || {
            ["bind", "prefer"].iter().find_map(|k| {
                v.policy_nodes(k)
                    .filter(|s| s.len() == 1)
                    .and_then(|s| s.into_iter().next())
                    .filter(|n| vm_nodes.contains(n))
            })
        };
        let want = by_file.or_else(by_policy);
        let e = per.entry(want).or_default();
        for n in v.nodes.keys() {
            let b = v.node_bytes(*n);
            let d = dist.entry(*n).or_default();
            *d = d.saturating_add(b);
            e.1 = e.1.saturating_add(b);
            let local = match want {
                Some(w) => *n == w,
                None => vm_nodes.contains(n),
            };
            if local {
                e.0 = e.0.saturating_add(b);
            }
        }
    }
    let (local, total) = per.values().fold((0u64, 0u64), |(l, t), (a, b)| {
        (l.saturating_add(*a), t.saturating_add(*b))
    });
    let total_f = total.max(1) as f64;
    let pct = local as f64 * 100.0 / total_f;
    let status = locality_status(pct, pass_at);
    let parts: Vec<String> = per
        .iter()
        .filter(|(_, (_, b))| *b > 0)
        .map(|(w, (l, b))| {
            let share = *l as f64 * 100.0 / *b as f64;
            match w {
                Some(h) => format!(
                    "guest node {} → host node {h}: {share:.0} % of {}",
                    guest_nodes_on(bound, *h),
                    human(*b)
                ),
                None => format!(
                    "RAM of no identifiable guest node: {share:.0} % of {} on the VM's nodes {}",
                    human(*b),
                    list(&vm_nodes)
                ),
            }
        })
        .collect();
    let dist = dist
        .iter()
        .map(|(n, b)| format!("N{n}={} ({:.0} %)", human(*b), *b as f64 * 100.0 / total_f))
        .collect::<Vec<_>>()
        .join(", ");
    Outcome::new(
        t,
        status,
        format!(
            "{pct:.0} % of resident guest RAM ({}) is on the host node its guest NUMA node is bound to ({}){}",
            human(total),
            parts.join("; "),
            match status {
                Status::Pass => String::new(),
                _ => format!("; the rest is remote (want ≥ {pass_at:.0} %)"),
            }
        ),
    )
    .ev(
        src.to_string(),
        dist,
        format!("≥ {pass_at:.0} % of each guest node's RAM on its bound host node"),
    )
}

// ---------------------------------------------------------------------------------------------
// Devices and their nodes

/// Where a host device sits.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DevNode {
    /// On this node; the PCI functions behind it (for interrupts) and how it was found.
    Node(u32, Vec<String>, String),
    /// numa_node -1: single node or firmware without _PXM.
    NoNode(String),
    /// Purely virtual or network backend.
    Virtual(String),
    Unknown(String),
}

fn pci_node(ctx: &Ctx, bdf: &str) -> DevNode {
    let p = format!("{PCI}/{bdf}/numa_node");
    match ctx.get(&p) {
        Got::Val(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 0 => DevNode::Node(n as u32, vec![bdf.to_string()], format!("{p} = {n}")),
            Ok(_) => DevNode::NoNode(format!("{p} = -1 (no NUMA affinity reported)")),
            Err(_) => DevNode::Unknown(format!("{p}: unexpected {v:?}")),
        },
        Got::Absent => DevNode::Unknown(format!("{p} absent (device not present?)")),
        other => DevNode::Unknown(format!("{p}: {}", other.why())),
    }
}

fn basename(p: &str) -> &str {
    p.trim_end_matches('/').rsplit('/').next().unwrap_or(p)
}

fn looks_bdf(s: &str) -> bool {
    s.len() == 12 && s.as_bytes().get(4) == Some(&b':') && s.as_bytes().get(7) == Some(&b':')
}

/// A physical interface's PCI function: the last PCI address in its `/sys/class/net/IF`
/// link target (`../../devices/pci0000:30/0000:30:02.0/0000:31:00.0/net/IF`), else in its
/// `device` link. `None` for virtual interfaces (taps, bridges, bonds).
fn iface_bdf(ctx: &Ctx, ifname: &str) -> Option<String> {
    let from = |l: &str| {
        l.split('/')
            .rev()
            .find(|c| looks_bdf(c))
            .map(str::to_string)
    };
    if let Some(l) = ctx.link(&format!("{NET}/{ifname}")) {
        return from(l);
    }
    ctx.link(&format!("{NET}/{ifname}/device")).and_then(from)
}

/// A physical interface's node; `None` for virtual interfaces.
fn phys_iface(ctx: &Ctx, ifname: &str) -> Option<DevNode> {
    let class_link = ctx.link(&format!("{NET}/{ifname}"));
    let dev_link = ctx.link(&format!("{NET}/{ifname}/device"));
    let bdf = iface_bdf(ctx, ifname);
    if bdf.is_none() && (class_link.is_some() || dev_link.is_none()) {
        return None;
    }
    let p = format!("{NET}/{ifname}/device/numa_node");
    let shown = bdf.clone().unwrap_or_else(|| "?".into());
    let node = match ctx.get(&p) {
        Got::Val(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Some(n as u32),
            Ok(_) => return Some(DevNode::NoNode(format!("{p} = -1"))),
            Err(_) => return Some(DevNode::Unknown(format!("{p}: unexpected {v:?}"))),
        },
        _ => None,
    };
    let node = match (node, &bdf) {
        (Some(n), _) => n,
        (None, Some(b)) => match pci_node(ctx, b) {
            DevNode::Node(n, _, _) => n,
            other => return Some(other),
        },
        (None, None) => return Some(DevNode::Unknown(format!("{p}: {}", ctx.get(&p).why()))),
    };
    Some(DevNode::Node(
        node,
        bdf.into_iter().collect(),
        format!("{ifname} ({shown}) numa_node {node}"),
    ))
}

fn iface_node(ctx: &Ctx, ifname: &str) -> DevNode {
    match ctx.dir_has(NET, ifname) {
        Some(true) => {}
        Some(false) => return DevNode::Unknown(format!("interface {ifname} not found in {NET}")),
        None => return DevNode::Unknown(format!("{NET} unreadable")),
    }
    if let Some(d) = phys_iface(ctx, ifname) {
        return d;
    }
    let Some(master) = ctx.link(&format!("{NET}/{ifname}/master")).map(basename) else {
        return DevNode::Virtual(format!(
            "{ifname} has no physical device and no bridge: host-internal network"
        ));
    };
    if master == "ovs-system" {
        return DevNode::Unknown(format!(
            "{ifname} is an Open vSwitch port: its uplink is not resolved"
        ));
    }
    let members = match ctx.dir(&format!("{NET}/{master}/brif")) {
        Ok(m) => m,
        Err(_) => {
            return DevNode::Unknown(format!(
                "bridge {master} of {ifname}: member list unreadable"
            ))
        }
    };
    let mut nodes = BTreeSet::new();
    let mut bdfs = Vec::new();
    let mut descs = Vec::new();
    let mut other = Vec::new();
    for m in members {
        if m == ifname {
            continue;
        }
        match phys_iface(ctx, m) {
            Some(DevNode::Node(n, b, d)) => {
                nodes.insert(n);
                bdfs.extend(b);
                descs.push(d);
            }
            Some(DevNode::NoNode(w)) => return DevNode::NoNode(w),
            Some(DevNode::Unknown(w)) => return DevNode::Unknown(w),
            Some(DevNode::Virtual(_)) | None => {
                if !(m.starts_with("vnet") || m.starts_with("tap") || m.starts_with("veth")) {
                    other.push(m.clone());
                }
            }
        }
    }
    match nodes.len() {
        1 => DevNode::Node(
            nodes.into_iter().next().unwrap_or(0),
            bdfs,
            format!("{ifname} → bridge {master} → {}", descs.join(", ")),
        ),
        0 if other.is_empty() => DevNode::Virtual(format!(
            "bridge {master} has no physical uplink: host-internal network"
        )),
        0 => DevNode::Unknown(format!(
            "bridge {master}'s uplink {} is not a PCI NIC (bond, VLAN?): not resolved",
            other.join(", ")
        )),
        _ => DevNode::Unknown(format!(
            "bridge {master} has uplinks on several nodes ({})",
            descs.join(", ")
        )),
    }
}

fn nic_node(ctx: &Ctx, vm: &Vm, nic: &crate::model::vm::Nic) -> DevNode {
    let Some(b) = &nic.backend else {
        return DevNode::Virtual("no host network backend".into());
    };
    match b.backend_type.as_str() {
        "tap" | "bridge" => match &b.ifname {
            Some(i) if !i.is_empty() => iface_node(ctx, i),
            _ => match tap_by_fd(ctx, vm, nic) {
                Ok(i) => match iface_node(ctx, &i) {
                    DevNode::Node(n, bdfs, how) => {
                        DevNode::Node(n, bdfs, format!("tun fd → {how}"))
                    }
                    other => other,
                },
                Err(why) => DevNode::Unknown(why),
            },
        },
        "vhost-vdpa" => DevNode::Unknown("vhost-vdpa device: not resolved".into()),
        t => DevNode::Virtual(format!("{t} backend: no host NIC of its own")),
    }
}

/// The tap of a NIC whose backend was handed over as fds (libvirt): the netdev's `fd`/`fds`
/// numbers looked up in the process's tun fds (`/proc/PID/fdinfo`, `iff:`).
fn tap_by_fd(ctx: &Ctx, vm: &Vm, nic: &crate::model::vm::Nic) -> Result<String, String> {
    let Some(src) = ctx.process(vm).and_then(|p| p.fdinfo.as_ref()) else {
        return Err("tap handed over as a file descriptor: its name is only in /proc/PID/fdinfo, not available here".into());
    };
    let Some(infos) = src.get() else {
        return Err(format!(
            "tap handed over as a file descriptor; {} unreadable ({})",
            src.path,
            src.fact.error().map(|e| e.describe()).unwrap_or_default()
        ));
    };
    // The fd numbers the netdev names.
    let id = nic
        .netdev_id
        .as_deref()
        .or(nic.backend.as_ref().and_then(|b| b.id.as_deref()));
    let mut fds: Vec<u32> = Vec::new();
    if let Some(id) = id {
        let argv = ctx.process(vm).map(|p| p.argv.as_slice()).unwrap_or(&[]);
        let cl = crate::parse::qemu::parse_command_line(argv);
        for o in cl.all(&["netdev", "nic"]) {
            if o.props.str("id").as_deref() != Some(id) {
                continue;
            }
            for key in ["fd", "fds"] {
                if let Some(v) = o.props.str(key) {
                    fds.extend(v.split(':').filter_map(|f| f.trim().parse::<u32>().ok()));
                }
            }
        }
    }
    let tuns: Vec<(u32, &str)> = infos
        .iter()
        .filter(|i| i.target == "/dev/net/tun")
        .filter_map(|i| i.iff.as_deref().map(|n| (i.fd, n)))
        .collect();
    let names: BTreeSet<&str> = tuns
        .iter()
        .filter(|(fd, _)| fds.is_empty() || fds.contains(fd))
        .map(|(_, n)| *n)
        .collect();
    let mut it = names.iter();
    match (it.next(), it.next()) {
        (Some(one), None) => Ok((*one).to_string()),
        (None, _) => Err(format!(
            "tap handed over as a file descriptor; no matching tun fd in {}",
            src.path
        )),
        (Some(_), Some(_)) => Err(format!(
            "tap handed over as file descriptors that point to several taps ({})",
            names.iter().copied().collect::<Vec<_>>().join(", ")
        )),
    }
}

/// `nvme0n1p3` → `nvme0n1`, `sda2` → `sda`, `mmcblk0p1` → `mmcblk0`.
fn parent_disk(dev: &str) -> String {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if dev.starts_with("nvme") || dev.starts_with("mmcblk") {
        if let Some(i) = dev.rfind('p') {
            let (head, tail) = dev.split_at(i);
            let part = tail.get(1..).unwrap_or("");
            if digits(part) && (head.starts_with("mmcblk") || head.contains('n')) {
                return head.to_string();
            }
        }
        return dev.to_string();
    }
    if ["sd", "vd", "xvd", "hd"].iter().any(|p| dev.starts_with(p)) {
        return dev
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .to_string();
    }
    dev.to_string()
}

fn block_node(ctx: &Ctx, dev_path: &str, via: &str) -> DevNode {
    let name = dev_path.trim_start_matches("/dev/");
    let dm = if let Some(m) = name.strip_prefix("mapper/") {
        match dm_by_name(ctx, m) {
            Some(d) => Some(d),
            None => {
                return DevNode::Unknown(format!(
                    "{dev_path}{via}: no /sys/block/dm-*/dm/name is {m:?}"
                ))
            }
        }
    } else {
        name.starts_with("dm-").then(|| name.to_string())
    };
    match dm {
        Some(dm) => match dm_node(ctx, &dm, 0) {
            DevNode::Node(n, b, how) => DevNode::Node(n, b, format!("{dev_path}{via} = {how}")),
            other => other,
        },
        None if name.contains('/') || name.starts_with("md") || name.starts_with("loop") => {
            DevNode::Unknown(format!(
                "{dev_path}{via} is an LVM/RAID/loop/alias device: not resolved to a physical disk"
            ))
        }
        None => match sys_disk_node(ctx, &parent_disk(name)) {
            DevNode::Node(n, b, how) => DevNode::Node(n, b, format!("{dev_path}{via} → {how}")),
            DevNode::Unknown(w) => DevNode::Unknown(format!("{dev_path}{via}: {w}")),
            other => other,
        },
    }
}

/// `/dev/mapper/NAME` → `dm-N` through `/sys/block/dm-N/dm/name`.
fn dm_by_name(ctx: &Ctx, name: &str) -> Option<String> {
    ctx.dir("/sys/block")
        .ok()?
        .iter()
        .filter(|d| d.starts_with("dm-"))
        .find(|d| ctx.text(&format!("/sys/block/{d}/dm/name")) == Some(name))
        .cloned()
}

/// A device-mapper volume's node: the node of every device under it, when they agree.
fn dm_node(ctx: &Ctx, dm: &str, depth: u32) -> DevNode {
    let slaves = match ctx.dir(&format!("/sys/block/{dm}/slaves")) {
        Ok(s) if !s.is_empty() => s,
        Ok(_) | Err(None) => {
            return DevNode::Unknown(format!("{dm}: no underlying devices listed in slaves/"))
        }
        Err(Some(e)) => {
            return DevNode::Unknown(format!("/sys/block/{dm}/slaves: {}", e.describe()))
        }
    };
    let mut nodes = BTreeSet::new();
    let mut descs = Vec::new();
    for sl in slaves {
        let d = if sl.starts_with("dm-") && depth < 4 {
            dm_node(ctx, sl, depth + 1)
        } else {
            sys_disk_node(ctx, &parent_disk(sl))
        };
        match d {
            DevNode::Node(n, _, how) => {
                nodes.insert(n);
                descs.push(format!("{sl} ({how})"));
            }
            other => return other,
        }
    }
    match nodes.len() {
        1 => DevNode::Node(
            nodes.into_iter().next().unwrap_or(0),
            Vec::new(),
            format!("{dm} over {}", descs.join(", ")),
        ),
        _ => DevNode::Unknown(format!(
            "{dm} spans devices on several nodes: {}",
            descs.join(", ")
        )),
    }
}

/// A whole disk's node: the PCI controller named by the `/sys/block/DISK` link, else the
/// disk's `device/numa_node`.
fn sys_disk_node(ctx: &Ctx, disk: &str) -> DevNode {
    if let Some(link) = ctx.link(&format!("/sys/block/{disk}")) {
        if let Some(bdf) = link.split('/').rev().find(|c| looks_bdf(c)) {
            return match pci_node(ctx, bdf) {
                DevNode::Node(n, _, _) => {
                    DevNode::Node(n, Vec::new(), format!("{disk} behind {bdf}, numa_node {n}"))
                }
                DevNode::Unknown(_) => device_numa_file(ctx, disk),
                other => other,
            };
        }
    }
    device_numa_file(ctx, disk)
}

fn device_numa_file(ctx: &Ctx, disk: &str) -> DevNode {
    let p = format!("/sys/block/{disk}/device/numa_node");
    match ctx.get(&p) {
        Got::Val(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 0 => DevNode::Node(n as u32, Vec::new(), format!("{p} = {n}")),
            Ok(_) => DevNode::NoNode(format!("{p} = -1")),
            Err(_) => DevNode::Unknown(format!("{p}: unexpected {v:?}")),
        },
        Got::Absent | Got::NotCollected => {
            DevNode::Unknown(match ctx.dir_has("/sys/block", disk) {
                Some(true) => {
                    format!("{disk} reports no NUMA node (no PCI controller in its sysfs path)")
                }
                _ => format!("/sys/block/{disk} not found"),
            })
        }
        other => DevNode::Unknown(format!("{p}: {}", other.why())),
    }
}

const NETWORK_PROTOCOLS: &[&str] = &[
    "rbd", "nbd", "iscsi", "gluster", "ssh", "http", "https", "ftp", "ftps", "sheepdog", "vxhs",
    "nfs", "curl", "blkio",
];

fn disk_node(ctx: &Ctx, vm: &Vm, disk: &crate::model::vm::Disk) -> DevNode {
    if disk.bus == DiskBus::VhostUserBlk {
        return DevNode::Virtual("vhost-user-blk: the storage lives in another process".into());
    }
    let proto = disk.protocol.as_deref().unwrap_or("file");
    if NETWORK_PROTOCOLS.contains(&proto) {
        return DevNode::Virtual(format!("{proto}: network storage"));
    }
    if proto == "nvme" {
        // Userspace NVMe driver: filename nvme://0000:44:00.0/1.
        if let Some(bdf) = disk
            .path
            .as_deref()
            .and_then(|p| p.strip_prefix("nvme://"))
            .and_then(|p| p.split('/').next())
            .and_then(crate::parse::qemu::pci::normalize_bdf)
        {
            return pci_node(ctx, &bdf);
        }
    }
    let Some(path) = disk.path.as_deref().filter(|p| !p.is_empty()) else {
        return DevNode::Virtual("no medium / no host file".into());
    };
    if path.starts_with("/dev/fdset/") {
        return DevNode::Unknown(format!(
            "{path}: passed as an fd set; the file is only visible through /proc/PID/fd"
        ));
    }
    if path.starts_with("/dev/") {
        return block_node(ctx, path, "");
    }
    let Some(view) = vm_mounts(ctx, vm) else {
        return DevNode::Unknown(format!(
            "{path}: no readable mount table to find its filesystem"
        ));
    };
    let Some(m) = mount_of(&view.mounts, path) else {
        return DevNode::Unknown(format!("{path}: no mount found"));
    };
    let fs = m.fstype.as_str();
    if matches!(
        fs,
        "nfs" | "nfs4" | "cifs" | "smb3" | "ceph" | "glusterfs" | "9p" | "virtiofs"
    ) || fs.starts_with("fuse")
    {
        return DevNode::Virtual(format!("{path} is on {fs} {}: network storage", m.target));
    }
    if matches!(fs, "tmpfs" | "ramfs") {
        return DevNode::Virtual(format!("{path} is on {fs}: memory"));
    }
    if m.source.starts_with("/dev/") {
        return block_node(
            ctx,
            &m.source,
            &format!(" (holds {} mounted at {})", path, m.target),
        );
    }
    DevNode::Unknown(format!(
        "{path} is on {fs} from {}: not a block device",
        m.source
    ))
}

/// A host device a VM uses.
struct Dev {
    /// Target suffix: `hostdev:ID`, `net:ID`, `drive:ID`.
    suffix: String,
    what: String,
    node: DevNode,
    /// PCI functions whose interrupts serve this device (VFIO function, NIC uplinks).
    bdfs: Vec<String>,
    /// The guest-side `-device` id, to find the guest NUMA node it sits on.
    device_id: Option<String>,
}

/// Every host device a VM uses, with its node.
fn vm_devices(ctx: &Ctx, vm: &Vm) -> Vec<Dev> {
    let mut out = Vec::new();
    for (i, d) in vm.model.vfio_devices.iter().enumerate() {
        let id = d.id.clone().unwrap_or_else(|| format!("hostdev{i}"));
        let node = match &d.host_bdf {
            Some(b) => pci_node(ctx, b),
            None => DevNode::Unknown(format!(
                "{}: no PCI address (mediated device?)",
                d.sysfsdev.as_deref().unwrap_or("vfio device")
            )),
        };
        out.push(Dev {
            suffix: format!("hostdev:{id}"),
            what: format!("vfio-pci {}", d.host_bdf.as_deref().unwrap_or("?")),
            node,
            bdfs: d.host_bdf.iter().cloned().collect(),
            device_id: d.id.clone(),
        });
    }
    for (i, n) in vm.model.nics.iter().enumerate() {
        let id = n.id.clone().unwrap_or_else(|| format!("net{i}"));
        let what = format!(
            "{} on {}",
            n.model.as_deref().unwrap_or("NIC"),
            n.backend
                .as_ref()
                .map(|b| format!(
                    "{}{}",
                    b.backend_type,
                    b.ifname
                        .as_deref()
                        .map(|i| format!(" ifname={i}"))
                        .unwrap_or_default()
                ))
                .unwrap_or_else(|| "no backend".into())
        );
        let node = nic_node(ctx, vm, n);
        let bdfs = match &node {
            DevNode::Node(_, b, _) => b.clone(),
            _ => Vec::new(),
        };
        out.push(Dev {
            suffix: format!("net:{id}"),
            what,
            node,
            bdfs,
            device_id: n.id.clone(),
        });
    }
    // Drive targets exactly as the blk rules name them (device id, drive id, QEMU's generated
    // id such as ide0-hd0, else the position).
    let targets = super::blk::disk_targets(ctx, vm);
    let vm_target = ctx.vm_target(vm);
    let prefix = format!("{}/", vm_target.as_str());
    for (i, d) in vm.model.disks.iter().enumerate() {
        let suffix = targets
            .get(i)
            .and_then(|t| t.as_str().strip_prefix(&prefix))
            .map(str::to_string)
            .unwrap_or_else(|| format!("drive:disk{i}"));
        out.push(Dev {
            suffix,
            what: d.path.clone().unwrap_or_else(|| "(no file)".into()),
            node: disk_node(ctx, vm, d),
            // Disk queue interrupts are kernel-managed: judged by the queue map, not here.
            bdfs: Vec::new(),
            device_id: d.id.clone(),
        });
    }
    out
}

fn device_locality(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(v) = single_node_vms(ctx) {
        return v;
    }
    let mut out = Vec::new();
    for vm in &ctx.host.vms {
        let place = match cpu_place(ctx, vm) {
            CpuPlace::Unknown(why) => match home_node(ctx, vm) {
                Some(h) => CpuPlace::One(h.node),
                None => CpuPlace::Unknown(why),
            },
            p => p,
        };
        let devs = vm_devices(ctx, vm);
        if devs.is_empty() {
            out.push(Outcome::na(
                ctx.vm_target(vm),
                "the VM uses no host NIC, disk or PCI device",
            ));
            continue;
        }
        // A VM whose guest nodes are bound 1:1 to host nodes has a node per guest node: a
        // device on any of them is local to the guest node bound there.
        let bound = ctx.facts(vm).bound_guest_nodes();
        for Dev {
            suffix,
            what,
            node,
            device_id,
            ..
        } in devs
        {
            // The guest node the guest sees the device on, where it is told (expander bus).
            let guest_node = device_id
                .as_deref()
                .and_then(|id| vm.model.guest_numa_node_of(id));
            let t = ctx.vm_target(vm).child(&suffix);
            let vm_obs = match &place {
                CpuPlace::One(h) => format!("node {h}"),
                CpuPlace::Spans(s) => format!("nodes {}", list(s)),
                CpuPlace::Unknown(w) => format!("unknown ({w})"),
            };
            let o = match &node {
                DevNode::Virtual(w) => Outcome::na(t, format!("{what}: {w}")),
                DevNode::NoNode(w) => {
                    Outcome::na(t, format!("{what}: the device reports no NUMA node ({w})"))
                }
                DevNode::Unknown(w) => Outcome::unknown(t, format!("{what}: {w}")),
                DevNode::Node(d, _, how) => {
                    let o = match &place {
                        CpuPlace::One(h) if h == d => Outcome::pass(
                            t,
                            format!("{what} is on node {d}, the VM's node"),
                        ),
                        CpuPlace::One(h) => Outcome::warn(
                            t,
                            format!("{what} is on node {d} but the VM runs on node {h}: every I/O crosses the interconnect"),
                        ),
                        CpuPlace::Spans(s) => match bound.as_ref().map(|b| guest_nodes_on(b, *d)) {
                            // The guest sees it on a guest node bound to another host node.
                            Some(_) if guest_node.is_some_and(|g| bound.as_ref().and_then(|b| b.get(&g)) != Some(d)) => Outcome::warn(
                                t,
                                format!(
                                    "{what} is on host node {d}, but the guest sees it on guest NUMA node {}, which is bound to host node {}: its I/O crosses the interconnect",
                                    guest_node.unwrap_or_default(),
                                    guest_node.and_then(|g| bound.as_ref().and_then(|b| b.get(&g))).map_or("?".into(), |h| h.to_string())
                                ),
                            ),
                            Some(g) if !g.is_empty() => Outcome::pass(
                                t,
                                format!(
                                    "{what} is on node {d}, the host node guest NUMA node {} is bound to{}",
                                    guest_node.map_or(g, |n| n.to_string()),
                                    if guest_node.is_some() { ", where the guest sees it (expander bus numa_node)" } else { "" }
                                ),
                            ),
                            Some(_) => Outcome::warn(
                                t,
                                format!("{what} is on node {d}, none of the host nodes the VM's guest NUMA nodes are bound to (nodes {})", list(s)),
                            ),
                            None => Outcome::warn(
                                t,
                                format!("{what} is on node {d} but the VM is not confined to it (nodes {})", list(s)),
                            ),
                        },
                        CpuPlace::Unknown(w) => Outcome::unknown(
                            t,
                            format!("{what} is on node {d}; the VM's node is unknown ({w})"),
                        ),
                    };
                    o.ev(how.clone(), format!("node {d}"), "the VM's node")
                }
            };
            out.push(o.ev(format!("{} vCPU placement", vm.source), vm_obs, ""));
        }
    }
    out
}

/// The guest nodes bound to host node `host`, as a list ("0" or "0,2"; empty when none).
fn guest_nodes_on(bound: &BTreeMap<u32, u32>, host: u32) -> String {
    bound
        .iter()
        .filter(|(_, h)| **h == host)
        .map(|(g, _)| g.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

// ---------------------------------------------------------------------------------------------
// host.irq.affinity

/// The VMs using a PCI function (with their home nodes) and the function's own node.
type DevUse = (Vec<(String, Option<u32>)>, Option<u32>);

/// Stray interrupts per device whose requested affinity the evidence names (an MSI-X device
/// has up to a few hundred; the evidence stays bounded).
const MAX_IRQ_TARGETS: usize = 64;

fn irq_affinity(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = single_node(ctx, "host") {
        return vec![o];
    }
    // BDF → (users with their home node, device node)
    let mut devs: BTreeMap<String, DevUse> = BTreeMap::new();
    let mut unresolved = Vec::new();
    for vm in &ctx.host.vms {
        let home = home_node(ctx, vm).map(|h| h.node);
        for d in vm_devices(ctx, vm) {
            if d.suffix.starts_with("drive:") {
                continue;
            }
            let dev_node = match &d.node {
                DevNode::Node(n, _, _) => Some(*n),
                DevNode::NoNode(_) => None,
                DevNode::Unknown(w) => {
                    unresolved.push(format!("{}/{}: {w}", vm.name(), d.suffix));
                    continue;
                }
                DevNode::Virtual(_) => continue,
            };
            for b in d.bdfs {
                let e = devs.entry(b).or_insert((Vec::new(), dev_node));
                e.0.push((vm.name(), home));
            }
        }
    }
    let nohz = nohz_full_set(ctx).unwrap_or_default();
    let node_cpus = ctx.node_cpus();
    let mut out = Vec::new();
    for (bdf, (users, dev_node)) in &devs {
        let t = format!("host/dev:{bdf}");
        let homes: BTreeSet<Option<u32>> = users.iter().map(|(_, h)| *h).collect();
        let reference = match (homes.iter().next(), homes.len()) {
            (Some(Some(h)), 1) => Some((*h, "the node of the VM using it".to_string())),
            _ => dev_node.map(|n| {
                (
                    n,
                    "the device's own node (its VMs are not on one node)".to_string(),
                )
            }),
        };
        let names: Vec<String> = users.iter().map(|(n, _)| n.clone()).collect();
        let Some((rnode, rhow)) = reference else {
            out.push(Outcome::unknown(
                t,
                format!(
                    "used by {}: neither the VM's node nor the device's node is known",
                    names.join(", ")
                ),
            ));
            continue;
        };
        let Some(cpus) = node_cpus.get(&rnode) else {
            out.push(Outcome::unknown(t, format!("node {rnode} has no CPU list")));
            continue;
        };
        let hk: BTreeSet<u32> = cpus.difference(&nohz).copied().collect();
        let allowed = if hk.is_empty() { cpus.clone() } else { hk };
        let msi_dir = format!("{PCI}/{bdf}/msi_irqs");
        let irqs: Vec<u32> = match ctx.dir(&msi_dir) {
            Ok(names) => names.iter().filter_map(|n| n.parse().ok()).collect(),
            Err(None) => {
                out.push(Outcome::na(t, format!("{bdf} has no MSI/MSI-X interrupts allocated (device idle or using INTx)")).ev(msi_dir, "absent", ""));
                continue;
            }
            Err(Some(e)) => {
                out.push(Outcome::unknown(t, format!("{msi_dir}: {}", e.describe())));
                continue;
            }
        };
        if irqs.is_empty() {
            out.push(
                Outcome::na(t, format!("{bdf} has no MSI/MSI-X interrupts allocated"))
                    .ev(msi_dir, "empty", ""),
            );
            continue;
        }
        let mut bad = Vec::new();
        let mut unreadable = Vec::new();
        let mut good = 0usize;
        for irq in &irqs {
            let eff = format!("/proc/irq/{irq}/effective_affinity_list");
            let smp = format!("/proc/irq/{irq}/smp_affinity_list");
            let (src, val) = match ctx.get(&eff) {
                Got::Val(v) if !v.trim().is_empty() => (eff, v.trim().to_string()),
                _ => match ctx.get(&smp) {
                    Got::Val(v) => (smp, v.trim().to_string()),
                    other => {
                        unreadable.push(format!("{irq} ({})", other.why()));
                        continue;
                    }
                },
            };
            match parse_list(&val) {
                Some(set) if !set.is_empty() && set.is_subset(&allowed) => good += 1,
                Some(_) => bad.push((src, val, *irq)),
                None => unreadable.push(format!("{irq} (unparsable {val:?})")),
            }
        }
        let scope = if nohz.is_empty() {
            format!("node {rnode} CPUs {}", list(&allowed))
        } else {
            format!("node {rnode} housekeeping CPUs {}", list(&allowed))
        };
        let mut o = if !bad.is_empty() {
            Outcome::warn(
                t,
                format!(
                    "{} of {} interrupts of {bdf} (used by {}) may fire outside {scope}, {rhow}",
                    bad.len(),
                    irqs.len(),
                    names.join(", ")
                ),
            )
        } else if good == 0 {
            Outcome::unknown(
                t,
                format!(
                    "affinity of {bdf}'s interrupts unreadable: {}",
                    unreadable.join(", ")
                ),
            )
        } else {
            Outcome::pass(
                t,
                format!(
                    "all {good} readable interrupts of {bdf} (used by {}) stay on {scope}",
                    names.join(", ")
                ),
            )
        };
        o = o.ev(
            msi_dir,
            format!(
                "IRQs {}",
                irqs.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            "",
        );
        for (src, val, _) in bad.iter().take(8) {
            o = o.ev(src.clone(), val.clone(), list(&allowed));
        }
        if bad.len() > 8 {
            o = o.ev(
                "/proc/irq/*",
                format!("{} more outside", bad.len() - 8),
                list(&allowed),
            );
        }
        // What to write where: the requested affinity of each stray interrupt (the effective
        // list the verdict reads is the kernel's choice within it), for `fix` to set.
        for (src, _, irq) in bad.iter().take(MAX_IRQ_TARGETS) {
            let smp = format!("/proc/irq/{irq}/smp_affinity_list");
            if *src == smp {
                continue;
            }
            let cur = ctx.get(&smp).val().map_or("?", str::trim).to_string();
            o = o.ev(smp, cur, list(&allowed));
        }
        for (_, val, irq) in bad.iter().take(MAX_IRQ_TARGETS) {
            o = o.datum(crate::report::Datum::IrqAffinity {
                irq: *irq,
                observed: val.clone(),
                expected: list(&allowed),
            });
        }
        out.push(o);
    }
    if !unresolved.is_empty() {
        out.push(Outcome::unknown(
            "host",
            format!(
                "host devices of some VMs could not be identified: {}",
                unresolved.join("; ")
            ),
        ));
    }
    if out.is_empty() {
        out.push(Outcome::na(
            "host",
            "no VM uses a host NIC or PCI device whose interrupts kvmaudit can follow (disk queues are kernel-managed)",
        ));
    }
    out
}

#[cfg(test)]
mod numa_maps_parse_tests {
    use proptest::prelude::*;

    proptest! {
        /// The ASCII fast path splits exactly as `split_whitespace` does, Unicode or not.
        #[test]
        fn same_as_split_whitespace(
            words in proptest::collection::vec(
                "(N[0-9]=[0-9]{1,3}|huge|heap|stack|file=/[a-z\\\\0-7\u{e9}\u{a0}]{0,6}|kernelpagesize_kB=2048|[a-z:0-9-]{1,5})",
                0..8,
            ),
            seps in proptest::collection::vec("[ \t\u{b}\u{c}\r\u{a0}\u{2003}]{1,2}", 8),
        ) {
            let mut line = String::new();
            for (w, sep) in words.iter().zip(&seps) {
                line.push_str(w);
                line.push_str(sep);
            }
            let fast = super::parse_numa_maps(&line);
            let slow: Vec<_> = line.lines().filter_map(|l| super::parse_vma(l.split_whitespace())).collect();
            prop_assert_eq!(fast, slow);
        }

        /// Skipping the small mappings keeps the same guest-RAM mappings and count as parsing
        /// every line and filtering.
        #[test]
        fn guest_ram_maps_same_as_full_parse(
            lines in proptest::collection::vec(
                (
                    "[0-9a-f]{4} (default|bind:0|prefer:1)",
                    "( file=/(memfd:x|dev/shm/a|usr/lib/x|hugepages/y))?( huge)?( heap)?",
                    proptest::collection::vec((0u32..3, 0u64..40_000), 0..3),
                    "( kernelpagesize_kB=(4|2048|x))?",
                ),
                0..12,
            ),
        ) {
            let text: String = lines
                .iter()
                .map(|(a, f, nodes, k)| {
                    let n: String = nodes.iter().map(|(n, p)| format!(" N{n}={p}")).collect();
                    format!("{a}{f}{n}{k}\n")
                })
                .collect();
            let model = crate::model::vm::VmModel::default();
            let all = super::parse_numa_maps(&text);
            let want: Vec<_> = super::guest_ram_vmas(&all, &model).into_iter().cloned().collect();
            let got = super::read_guest_ram_maps(&text, &model);
            prop_assert_eq!(got.mappings, all.len());
            prop_assert_eq!(got.ram, want);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::report::Profile::Throughput;
    use crate::report::Severity;
    use crate::rules::testkit::{findings, status, SnapBuilder};
    use crate::snapshot::{FdInfo, ReadError, ReadErrorKind, Sourced};

    /// Two sockets of 4 cores × 2 threads: node 0 = 0-3,8-11, node 1 = 4-7,12-15.
    fn host() -> SnapBuilder {
        SnapBuilder::new()
            .icx("vmx")
            .topology(2, 4, 2)
            .file("/proc/sys/kernel/numa_balancing", "1")
    }

    const HUGE_VM: &str = "qemu-system-x86_64 -name guest=db01,debug-threads=on -machine q35,memory-backend=ram0 -m 8G -smp 2 -object memory-backend-file,id=ram0,mem-path=/dev/hugepages1G/db01,size=8G,host-nodes=1,policy=bind,prealloc=on";
    const PLAIN_VM: &str =
        "qemu-system-x86_64 -name guest=app01,debug-threads=on -machine q35 -m 4G -smp 2";

    fn on_node1() -> Vec<(&'static str, &'static str, &'static str)> {
        vec![
            ("qemu-system-x86", "4-7,12-15", "1"),
            ("CPU 0/KVM", "5", "1"),
            ("CPU 1/KVM", "6", "1"),
        ]
    }

    /// vCPUs pinned on node 1, no cpuset memory restriction.
    fn on_node1_all_mems() -> Vec<(&'static str, &'static str, &'static str)> {
        vec![
            ("qemu-system-x86", "4-7,12-15", "0-1"),
            ("CPU 0/KVM", "5", "0-1"),
            ("CPU 1/KVM", "6", "0-1"),
        ]
    }

    fn unplaced() -> Vec<(&'static str, &'static str, &'static str)> {
        vec![
            ("qemu-system-x86", "0-15", "0-1"),
            ("CPU 0/KVM", "0-15", "0-1"),
            ("CPU 1/KVM", "0-15", "0-1"),
        ]
    }

    fn numa_maps(text: &str) -> impl FnOnce(&mut crate::snapshot::QemuProcess) + '_ {
        move |p| p.numa_maps = Some(Sourced::value("/proc/1000/numa_maps", text.to_string()))
    }

    #[test]
    fn balancing() {
        let placed = host().vm(HUGE_VM, &on_node1()).build();
        assert_eq!(
            status(&placed, Throughput, "host.numa.balancing", "host"),
            "pass"
        );

        let stray = host().vm(HUGE_VM, &unplaced()).build();
        let f = &findings(&stray, Throughput, "host.numa.balancing")[0];
        assert_eq!(f.status.as_str(), "warn");
        assert!(f.message.contains("db01"), "{}", f.message);

        // Off, an unplaced VM, and sysctl.d already turning it on: warn, pending.
        let off = host()
            .file("/proc/sys/kernel/numa_balancing", "0")
            .file("/etc/sysctl.d/90-numa.conf", "kernel.numa_balancing = 1")
            .vm(PLAIN_VM, &unplaced())
            .build();
        let f = &findings(&off, Throughput, "host.numa.balancing")[0];
        assert_eq!(f.status.as_str(), "warn");
        assert!(f.pending_reboot);

        let one_node = SnapBuilder::new().topology(1, 4, 1).build();
        assert_eq!(
            status(&one_node, Throughput, "host.numa.balancing", "host"),
            "not_applicable"
        );
        let hidden = host().denied("/proc/sys/kernel/numa_balancing").build();
        assert_eq!(
            status(&hidden, Throughput, "host.numa.balancing", "host"),
            "unknown"
        );
    }

    #[test]
    fn vm_placement() {
        let s = host().vm(HUGE_VM, &on_node1()).build();
        let f = &findings(&s, Throughput, "qemu.numa.vm-placement")[0];
        assert_eq!(f.status.as_str(), "pass", "{}", f.message);
        assert_eq!(f.severity, Severity::High, "hugetlb VM escalates");

        // CPU pinning without memory binding.
        let cpu_only = host()
            .vm(
                PLAIN_VM,
                &[
                    ("qemu-system-x86", "4-7", "0-1"),
                    ("CPU 0/KVM", "5", "0-1"),
                    ("CPU 1/KVM", "6", "0-1"),
                ],
            )
            .build();
        let f = &findings(&cpu_only, Throughput, "qemu.numa.vm-placement")[0];
        assert_eq!(f.status.as_str(), "warn");
        assert_eq!(f.severity, Severity::Medium);

        // Memory interleaved over both nodes while the vCPUs sit on node 1.
        let wide = host()
            .vm(
                "qemu-system-x86_64 -name guest=w,debug-threads=on -machine q35,memory-backend=m0 -m 4G -smp 2 \
                 -object memory-backend-ram,id=m0,size=4G,host-nodes=0-1,policy=interleave",
                &on_node1_all_mems(),
            )
            .build();
        let f = &findings(&wide, Throughput, "qemu.numa.vm-placement")[0];
        assert_eq!(f.status.as_str(), "warn");
        assert!(f.message.contains("nodes 0-1"), "{}", f.message);
        // Memory bound to node 0 while the vCPUs sit on node 1.
        let away = host()
            .vm(
                &HUGE_VM.replace("host-nodes=1", "host-nodes=0"),
                &on_node1_all_mems(),
            )
            .build();
        assert_eq!(
            status(&away, Throughput, "qemu.numa.vm-placement", "vm:db01"),
            "fail"
        );

        // A VFIO VM spanning both nodes without guest NUMA fails, escalated.
        let vfio = host()
            .vm(
                &format!("{PLAIN_VM} -device vfio-pci,host=0000:65:01.0,id=hostdev0"),
                &unplaced(),
            )
            .build();
        let f = &findings(&vfio, Throughput, "qemu.numa.vm-placement")[0];
        assert_eq!(f.status.as_str(), "fail");
        assert_eq!(f.severity, Severity::High);

        // Two guest nodes, each on its own host node with bound memory.
        let gnuma = host()
            .vm(
                "qemu-system-x86_64 -name guest=big,debug-threads=on -m 8G -smp 2 \
                 -object memory-backend-ram,id=m0,size=4G,host-nodes=0,policy=bind \
                 -object memory-backend-ram,id=m1,size=4G,host-nodes=1,policy=bind \
                 -numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1",
                &[
                    ("qemu-system-x86", "0-15", "0-1"),
                    ("CPU 0/KVM", "1", "0-1"),
                    ("CPU 1/KVM", "5", "0-1"),
                ],
            )
            .build();
        assert_eq!(
            status(&gnuma, Throughput, "qemu.numa.vm-placement", "vm:big"),
            "pass"
        );

        // No thread affinity at all: unknown, never a verdict.
        let blind = host().vm(PLAIN_VM, &[]).build();
        assert_eq!(
            status(&blind, Throughput, "qemu.numa.vm-placement", "vm:app01"),
            "unknown"
        );
    }

    #[test]
    fn memory_locality() {
        let local = host()
            .vm(HUGE_VM, &on_node1())
            .with_last_vm(numa_maps(
                "55d0c3a00000 default file=/usr/bin/qemu-system-x86_64 mapped=1372 N1=1372 kernelpagesize_kB=4\n\
                 55d0c6c1b000 default heap anon=48215 dirty=48215 N0=48215 kernelpagesize_kB=4\n\
                 7f5e80000000 bind:1 file=/dev/hugepages1G/db01/qemu_back_mem.pc.ram\\040(deleted) huge dirty=8 N1=8 kernelpagesize_kB=1048576\n\
                 7f1e4b600000 default anon=4097 dirty=4097 N0=4097 kernelpagesize_kB=4",
            ))
            .build();
        let f = &findings(&local, Throughput, "qemu.numa.memory-locality")[0];
        assert_eq!(f.status.as_str(), "pass", "{}", f.message);
        assert!(
            f.evidence[0].observed.contains("N1=8 GiB"),
            "{:?}",
            f.evidence
        );

        let split = |n0: u64, n1: u64| {
            host()
                .vm(PLAIN_VM, &unplaced())
                .with_last_vm(move |p| {
                    p.numa_maps = Some(Sourced::value(
                        "/proc/1000/numa_maps",
                        format!(
                            "7f0000000000 default anon={} N0={n0} N1={n1} kernelpagesize_kB=4\n",
                            n0 + n1
                        ),
                    ))
                })
                .build()
        };
        assert_eq!(
            status(
                &split(520_000, 480_000),
                Throughput,
                "qemu.numa.memory-locality",
                "vm:app01"
            ),
            "fail"
        );
        assert_eq!(
            status(
                &split(820_000, 180_000),
                Throughput,
                "qemu.numa.memory-locality",
                "vm:app01"
            ),
            "warn"
        );
        assert_eq!(
            status(
                &split(950_000, 50_000),
                Throughput,
                "qemu.numa.memory-locality",
                "vm:app01"
            ),
            "pass"
        );

        let root_only = host()
            .vm(PLAIN_VM, &unplaced())
            .with_last_vm(|p| {
                p.numa_maps = Some(Sourced::error(
                    "/proc/1000/numa_maps",
                    ReadError::new(
                        ReadErrorKind::PermissionDenied,
                        "Permission denied (os error 13)",
                    ),
                ))
            })
            .build();
        let f = &findings(&root_only, Throughput, "qemu.numa.memory-locality")[0];
        assert_eq!(f.status.as_str(), "unknown");
        assert!(f.message.contains("permission denied"), "{}", f.message);
    }

    /// A host with a NIC on node 1 behind bridge br1, a VF on node 0 and an NVMe disk on node 1.
    fn devices() -> SnapBuilder {
        host()
            .dir("/sys/class/net", &["br1", "enp202s0f0", "tap0"])
            .link("/sys/class/net/tap0", "../../devices/virtual/net/tap0")
            .link("/sys/class/net/tap0/master", "../br1")
            .link("/sys/class/net/br1", "../../devices/virtual/net/br1")
            .dir("/sys/class/net/br1/brif", &["enp202s0f0", "tap0"])
            .link(
                "/sys/class/net/enp202s0f0",
                "../../devices/pci0000:c9/0000:c9:02.0/0000:ca:00.0/net/enp202s0f0",
            )
            .link("/sys/class/net/enp202s0f0/device", "../../../0000:ca:00.0")
            .file("/sys/class/net/enp202s0f0/device/numa_node", "1")
            .file("/sys/bus/pci/devices/0000:ca:00.0/numa_node", "1")
            .file("/sys/bus/pci/devices/0000:65:01.0/numa_node", "0")
            .file("/sys/bus/pci/devices/0000:b1:00.0/numa_node", "1")
            .dir("/sys/block", &["nvme1n1"])
            .link(
                "/sys/block/nvme1n1",
                "../devices/pci0000:b0/0000:b0:02.0/0000:b1:00.0/nvme/nvme1/nvme1n1",
            )
    }

    const DEV_VM: &str = "qemu-system-x86_64 -name guest=db01,debug-threads=on -m 4G -smp 2 \
        -netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=on \
        -device virtio-net-pci,netdev=n0,id=net0 \
        -blockdev node-name=d0,driver=host_device,filename=/dev/nvme1n1p2,cache.direct=on \
        -device virtio-blk-pci,drive=d0,id=virtio-disk0 \
        -device vfio-pci,host=0000:65:01.0,id=hostdev0 \
        -netdev user,id=u0 -device e1000,netdev=u0,id=net1";

    #[test]
    fn device_locality() {
        let s = devices().vm(DEV_VM, &on_node1()).build();
        let st = |t: &str| status(&s, Throughput, "qemu.numa.device-locality", t);
        assert_eq!(st("vm:db01/net:net0"), "pass");
        assert_eq!(st("vm:db01/drive:virtio-disk0"), "pass");
        assert_eq!(st("vm:db01/hostdev:hostdev0"), "warn");
        assert_eq!(st("vm:db01/net:net1"), "not_applicable");
        let f = findings(&s, Throughput, "qemu.numa.device-locality");
        let nic = f.iter().find(|f| f.target == "vm:db01/net:net0").unwrap();
        assert!(
            nic.evidence[0].source.contains("bridge br1"),
            "{:?}",
            nic.evidence
        );

        // libvirt hands the tap over as an fd: its name comes from fdinfo.
        const FD_VM: &str = "qemu-system-x86_64 -name guest=db01,debug-threads=on -netdev {\"type\":\"tap\",\"fds\":\"33:34\",\"vhost\":true,\"vhostfds\":\"40:41\",\"id\":\"hostnet0\"} -device virtio-net-pci,netdev=hostnet0,id=net0";
        let fd = devices()
            .vm(FD_VM, &on_node1())
            .with_last_vm(|p| {
                let tun = |fd: u32, iff: &str| FdInfo {
                    fd,
                    target: "/dev/net/tun".into(),
                    flags: "04002".into(),
                    iff: Some(iff.into()),
                };
                p.fdinfo = Some(Sourced::value(
                    "/proc/1000/fdinfo",
                    vec![tun(33, "tap0"), tun(34, "tap0"), tun(50, "other")],
                ))
            })
            .build();
        let f = &findings(&fd, Throughput, "qemu.numa.device-locality")[0];
        assert_eq!(f.status.as_str(), "pass", "{}", f.message);
        assert!(
            f.evidence[0].source.starts_with("tun fd → tap0"),
            "{:?}",
            f.evidence
        );
        // Without fdinfo (not root): unknown, with the reason.
        let blind = devices()
            .vm(FD_VM, &on_node1())
            .with_last_vm(|p| {
                p.fdinfo = Some(Sourced::error(
                    "/proc/1000/fdinfo",
                    ReadError::new(ReadErrorKind::PermissionDenied, ""),
                ))
            })
            .build();
        let f = &findings(&blind, Throughput, "qemu.numa.device-locality")[0];
        assert_eq!(f.status.as_str(), "unknown");
        assert!(f.message.contains("fdinfo"), "{}", f.message);

        // numa_node -1: no affinity reported.
        let flat = devices()
            .file("/sys/bus/pci/devices/0000:65:01.0/numa_node", "-1")
            .vm(DEV_VM, &on_node1())
            .build();
        assert_eq!(
            status(
                &flat,
                Throughput,
                "qemu.numa.device-locality",
                "vm:db01/hostdev:hostdev0"
            ),
            "not_applicable"
        );
    }

    #[test]
    fn irq_affinity() {
        let base = || {
            devices()
                .dir("/sys/bus/pci/devices/0000:ca:00.0/msi_irqs", &["40", "41"])
                .file("/proc/irq/40/effective_affinity_list", "4")
                .dir("/sys/bus/pci/devices/0000:65:01.0/msi_irqs", &["56"])
                .file("/proc/irq/56/effective_affinity_list", "0")
        };
        let good = base()
            .file("/proc/irq/41/effective_affinity_list", "13")
            .vm(DEV_VM, &on_node1())
            .build();
        let st = |s, t: &str| status(s, Throughput, "host.irq.affinity", t);
        assert_eq!(st(&good, "host/dev:0000:ca:00.0"), "pass");
        // The VF is on node 0 but its VM on node 1: its IRQ on CPU 0 is off the VM's node.
        assert_eq!(st(&good, "host/dev:0000:65:01.0"), "warn");

        let spread = base()
            .file("/proc/irq/41/effective_affinity_list", "2")
            .vm(DEV_VM, &on_node1())
            .build();
        let f = findings(&spread, Throughput, "host.irq.affinity");
        let nic = f
            .iter()
            .find(|f| f.target == "host/dev:0000:ca:00.0")
            .unwrap();
        assert_eq!(nic.status.as_str(), "warn");
        assert!(nic
            .evidence
            .iter()
            .any(|e| e.source == "/proc/irq/41/effective_affinity_list"));
        // The requested affinity to set, with the CPUs of the VM's node as the target.
        let smp = nic
            .evidence
            .iter()
            .find(|e| e.source == "/proc/irq/41/smp_affinity_list")
            .expect("smp_affinity_list evidence");
        assert_eq!(smp.observed, "?");
        assert!(
            smp.expected
                .as_deref()
                .is_some_and(|x| crate::parse::cpulist::parse(x).is_ok_and(|s| s.contains(&13))),
            "{smp:?}"
        );

        let one_node = SnapBuilder::new().topology(1, 4, 1).build();
        assert_eq!(st(&one_node, "host"), "not_applicable");
    }

    #[test]
    fn numa_maps_and_disks() {
        let v = super::parse_numa_maps(
            "7f00 bind:0-1 file=/a\\040b huge dirty=3 N0=1 N1=2 kernelpagesize_kB=2048\nbad\n",
        );
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].file.as_deref(), Some("/a b"));
        assert_eq!(v[0].bytes(), 3 * 2048 * 1024);
        assert_eq!(v[0].policy_nodes("bind").map(|s| s.len()), Some(2));
        assert_eq!(super::parent_disk("nvme0n1p3"), "nvme0n1");
        assert_eq!(super::parent_disk("nvme0n1"), "nvme0n1");
        assert_eq!(super::parent_disk("sda2"), "sda");
        assert_eq!(super::parent_disk("mmcblk0p1"), "mmcblk0");
    }
}
