//! Everything a check may read: the snapshot, its parsed models, the profile, and the context
//! flags of catalogue §2 computed once per run.

use super::facts::cpufreq::Policies;
use super::facts::cpuidle::IdleState;
use super::facts::guest_ram::GuestRamMaps;
use super::facts::hugepage_pools::Pool;
use super::facts::ksm::Ksm;
use super::facts::machine::{machine_version, MachineVersion};
use super::facts::persistent::PersistentConfig;
use super::facts::pmem::Region;
use super::facts::ram_backing::VmRam;
use super::facts::thp::Thp;
use crate::model::host::{HostModel, Vm};
use crate::model::vm::MemLock;
use crate::parse::cpulist;
use crate::parse::mounts::Mount;
use crate::report::target::Target;
use crate::report::Profile;
use crate::snapshot::{Fact, QemuProcess, ReadError, Snapshot};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// A raw fact as a check sees it.
#[derive(Debug, Clone, Copy)]
pub enum Got<'a> {
    /// The content, with the trailing newline removed.
    Val(&'a str),
    /// The path does not exist on the host.
    Absent,
    /// It exists (or may) but could not be read.
    Unreadable(&'a ReadError),
    /// The collector did not look at this path (e.g. a pattern matched nothing).
    NotCollected,
}

impl<'a> Got<'a> {
    pub fn val(self) -> Option<&'a str> {
        match self {
            Got::Val(v) => Some(v),
            _ => None,
        }
    }
    /// Words for a report when there is no value.
    pub fn why(self) -> String {
        match self {
            Got::Val(v) => v.to_string(),
            Got::Absent => "absent".into(),
            Got::Unreadable(e) => e.describe(),
            Got::NotCollected => "not collected".into(),
        }
    }
}

/// Threads of one QEMU process, sorted into the roles QEMU names them with.
#[derive(Debug, Clone, Default)]
pub struct VmThreads {
    /// vCPU index → allowed CPUs, from threads named "CPU n/KVM" (or "CPU n/TCG").
    pub vcpus: BTreeMap<u32, BTreeSet<u32>>,
    /// IOThread id → allowed CPUs ("IO iothread1").
    pub iothreads: BTreeMap<String, BTreeSet<u32>>,
    /// Every other thread (main loop, workers): the emulator threads.
    pub emulator: Vec<BTreeSet<u32>>,
    /// Union of Mems_allowed_list over all threads.
    pub mems: BTreeSet<u32>,
    /// Whether any vCPU thread name ends in "/KVM" (runtime proof of KVM).
    pub kvm_named: bool,
    pub tcg_named: bool,
}

impl VmThreads {
    /// Allowed-CPU sets of every thread.
    pub fn all_sets(&self) -> impl Iterator<Item = &BTreeSet<u32>> {
        self.vcpus
            .values()
            .chain(self.iothreads.values())
            .chain(self.emulator.iter())
    }
    /// Allowed-CPU sets of IOThreads and emulator threads.
    pub fn iter_threads_except_vcpus(&self) -> impl Iterator<Item = &BTreeSet<u32>> {
        self.iothreads.values().chain(self.emulator.iter())
    }
}

/// One guest NUMA node (`-numa node`) and where the host runs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestNode {
    /// `nodeid`, else the position.
    pub guest: u32,
    /// `memdev=`: the backend holding this node's RAM.
    pub memdev: Option<String>,
    /// The single host node its vCPUs' threads are confined to (`None`: several, none named,
    /// or unreadable).
    pub host: Option<u32>,
    /// Its backend is bound (`policy bind`) to exactly that host node.
    pub mem_bound: bool,
}

/// An `-overcommit` key's effective value. QEMU < 9.1 let each `-overcommit` reset the keys it
/// did not name; 9.1 merges them. A versioned machine type ≥ 9.1 proves the newer binary;
/// otherwise (an older or unversioned machine type: the binary may be older or newer) the two
/// readings can differ, and then the value is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OvercommitValue<T> {
    Known(T),
    /// QEMU ≥ 9.1 gives `merged`, an older QEMU `before_9_1`.
    Depends {
        merged: T,
        before_9_1: T,
    },
}

impl<T: Copy + PartialEq> OvercommitValue<T> {
    /// `version`: the running binary's major.minor, when known ([`Ctx::qemu_version`]); it
    /// settles which reading applies.
    fn of(vm: &Vm, version: Option<(u32, u32)>, merged: T, before_9_1: T) -> OvercommitValue<T> {
        if let Some(v) = version {
            return OvercommitValue::Known(if v >= (9, 1) { merged } else { before_9_1 });
        }
        let at_least_9_1 = vm.model.machine.machine_type.as_deref().is_some_and(|m| {
            matches!(
                machine_version(m),
                MachineVersion::AtLeast(v, _) if v >= (9, 1)
            )
        });
        if at_least_9_1 || merged == before_9_1 {
            OvercommitValue::Known(merged)
        } else {
            OvercommitValue::Depends { merged, before_9_1 }
        }
    }

    pub fn known(self) -> Option<T> {
        match self {
            OvercommitValue::Known(v) => Some(v),
            OvercommitValue::Depends { .. } => None,
        }
    }
}

/// A running QEMU's version ([`Ctx::qemu_version`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuVersion {
    pub major_minor: (u32, u32),
    /// As found: `7.2.22`.
    pub text: String,
    /// Where: `/proc/4242/exe`, `/var/lib/dpkg/status (qemu-system-x86)`, a libvirt log.
    pub source: String,
}

/// Per-VM derived facts.
#[derive(Debug, Clone, Default)]
pub struct VmFacts {
    /// `None` when `/proc/PID/task` could not be read (or the VM is an argv file).
    pub threads: Option<VmThreads>,
    /// The single host node all vCPUs are confined to, if any.
    pub cpu_node: Option<u32>,
    /// The guest NUMA nodes of a VM with two or more, with their host nodes (empty otherwise,
    /// or when thread affinity is unreadable).
    pub guest_nodes: Vec<GuestNode>,
}

impl VmFacts {
    /// Guest node → host node, when the VM has several guest NUMA nodes and each one runs on,
    /// and has its memory bound to, one host node (catalogue: such a VM is placed even though
    /// it spans host nodes). Locality is then judged per guest node, against the host node it
    /// is bound to, and never by squeezing the VM onto one node.
    pub fn bound_guest_nodes(&self) -> Option<BTreeMap<u32, u32>> {
        if self.guest_nodes.len() < 2 || !self.guest_nodes.iter().all(|g| g.mem_bound) {
            return None;
        }
        self.guest_nodes
            .iter()
            .map(|g| g.host.map(|h| (g.guest, h)))
            .collect()
    }

    /// The host nodes a VM with [`VmFacts::bound_guest_nodes`] is bound to.
    pub fn bound_host_nodes(&self) -> Option<BTreeSet<u32>> {
        self.bound_guest_nodes().map(|m| m.into_values().collect())
    }
}

/// Context flags of catalogue §2. `None` = could not be determined.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub multi_node: Option<bool>,
    pub vfio_vms: bool,
    pub hugetlb_vms: bool,
    pub cpu_overcommitted: Option<bool>,
    pub mem_overcommitted: Option<bool>,
    pub pmem_present: Option<bool>,
    pub qat_present: Option<bool>,
    /// The scanned machine is itself a VM (CPUID hypervisor bit).
    pub nested: Option<bool>,
    /// Some VM has dedicated vCPUs (`None` when affinity could not be read).
    pub any_dedicated: Option<bool>,
    /// `cpu_dedicated(vm)` per VM, parallel to `host.vms`.
    pub dedicated: Vec<Option<bool>>,
}

/// What several rules derive from one VM, derived on first use and kept for the run. Each
/// rule used to derive it itself: numa_maps was parsed by three rules and the RAM backing
/// (with the mount table) resolved by five, per VM; with 50 VMs that was most of the rule
/// time. Only the small results are kept, not every parsed mapping or mount, so that a host
/// with thousands of VMs does not hold them all. `OnceLock` so that rules can run on
/// several threads.
#[derive(Default)]
pub(crate) struct VmDerived<'a> {
    pub guest_ram_maps: OnceLock<GuestRamMaps<'a>>,
    pub ram: OnceLock<VmRam>,
    pub disk_targets: OnceLock<Vec<Target>>,
}

/// Per-run derived data shared by rules (see [`VmDerived`]).
#[derive(Default)]
pub(crate) struct DeriveCache<'a> {
    /// Indexed by `Vm::index`.
    pub vms: Vec<VmDerived<'a>>,
    /// `/proc/mounts`, or why it is missing.
    pub host_mounts: OnceLock<Result<Vec<Mount>, String>>,
    pub cpufreq: OnceLock<Policies<'a>>,
    /// cpuidle states per CPU (bios.c1e and bios.c6).
    pub cpuidle: OnceLock<BTreeMap<u32, Vec<IdleState<'a>>>>,
    pub hugepage_pools: OnceLock<Result<Vec<Pool>, String>>,
    /// The host's QAT functions and the buses of its QAT PFs.
    pub qat_functions: OnceLock<(BTreeSet<String>, BTreeSet<String>)>,
    /// Every VM's QAT functions (see `facts::qat::vm_qat_refs`).
    pub qat_refs: OnceLock<Vec<crate::rules::facts::qat::QatRef<'a>>>,
    pub thp: OnceLock<Thp>,
    pub ksm: OnceLock<Ksm>,
    pub pmem_regions: OnceLock<Result<Vec<Region>, Option<String>>>,
}

pub struct Ctx<'a> {
    pub snap: &'a Snapshot,
    pub host: &'a HostModel,
    pub profile: Profile,
    pub flags: Flags,
    /// Parallel to `host.vms`.
    pub vm_facts: Vec<VmFacts>,
    /// Persistent configuration (kernel command lines, modprobe.d, sysctl.d), read once.
    pub persistent: PersistentConfig,
    pub(crate) cache: DeriveCache<'a>,
}

impl<'a> Ctx<'a> {
    pub fn new(snap: &'a Snapshot, host: &'a HostModel, profile: Profile) -> Ctx<'a> {
        let vm_facts: Vec<VmFacts> = host.vms.iter().map(|vm| vm_facts(snap, host, vm)).collect();
        let slots = host.vms.iter().map(|v| v.index + 1).max().unwrap_or(0);
        let mut ctx = Ctx {
            snap,
            host,
            profile,
            flags: Flags::default(),
            vm_facts,
            persistent: PersistentConfig::read(snap),
            cache: DeriveCache {
                vms: (0..slots).map(|_| VmDerived::default()).collect(),
                ..DeriveCache::default()
            },
        };
        ctx.flags = super::facts::flags::compute(&ctx);
        ctx
    }

    /// A text fact by host path.
    pub fn get(&self, path: &str) -> Got<'a> {
        match self.snap.files.get(path) {
            Some(Fact::Value(v)) => Got::Val(v.trim_end_matches('\n')),
            Some(Fact::Error(e)) if e.kind == crate::snapshot::ReadErrorKind::Absent => Got::Absent,
            Some(Fact::Error(e)) => Got::Unreadable(e),
            None => Got::NotCollected,
        }
    }

    /// The host's model-specific registers (`/dev/cpu/*/msr` or `--msr`).
    pub fn msrs(&self) -> crate::model::msr::Msrs<'a> {
        crate::model::msr::Msrs::new(&self.snap.msr)
    }

    /// A text fact, trimmed, or `None`.
    pub fn text(&self, path: &str) -> Option<&'a str> {
        self.get(path).val().map(str::trim)
    }

    /// A directory listing: `Ok(names)`, `Err(None)` when absent, `Err(Some(e))` unreadable.
    pub fn dir(&self, path: &str) -> Result<&'a [String], Option<&'a ReadError>> {
        match self.snap.dirs.get(path) {
            Some(Fact::Value(v)) => Ok(v),
            Some(Fact::Error(e)) if e.kind == crate::snapshot::ReadErrorKind::Absent => Err(None),
            Some(Fact::Error(e)) => Err(Some(e)),
            None => Err(None),
        }
    }

    /// Whether a directory exists: `Some(false)` only when the collector recorded it absent,
    /// `None` when it could not be read or was never looked at (a `--root` tree that lacks a
    /// parent says nothing about the host).
    pub fn dir_exists(&self, path: &str) -> Option<bool> {
        match self.snap.dirs.get(path) {
            Some(Fact::Value(_)) => Some(true),
            Some(Fact::Error(e)) if e.kind == crate::snapshot::ReadErrorKind::Absent => Some(false),
            _ => None,
        }
    }

    /// Whether a directory listing contains `name` (`None` when the listing is unreadable).
    pub fn dir_has(&self, path: &str, name: &str) -> Option<bool> {
        match self.dir(path) {
            Ok(names) => Some(names.iter().any(|n| n == name)),
            Err(None) => Some(false),
            Err(Some(_)) => None,
        }
    }

    pub fn link(&self, path: &str) -> Option<&'a str> {
        self.snap
            .links
            .get(path)
            .and_then(|f| f.value())
            .map(|s| s.as_str())
    }

    pub fn process(&self, vm: &Vm) -> Option<&'a QemuProcess> {
        self.snap.qemu.get().and_then(|l| l.get(vm.index))
    }

    /// The running QEMU's version, when the collector found it (the binary's version string,
    /// the package database, libvirt's log).
    pub fn qemu_version(&self, vm: &Vm) -> Option<QemuVersion> {
        let v = self.process(vm)?.version.as_ref()?;
        let text = v.get()?;
        let mut parts = text.split('.').map(|p| p.parse::<u32>().ok());
        let (Some(Some(major)), Some(Some(minor))) = (parts.next(), parts.next()) else {
            return None;
        };
        Some(QemuVersion {
            major_minor: (major, minor),
            text: text.clone(),
            source: v.path.clone(),
        })
    }

    /// The derive cache of a VM (`None` only for a VM that is not in `host.vms`).
    pub(crate) fn derived(&self, vm: &Vm) -> Option<&VmDerived<'a>> {
        self.cache.vms.get(vm.index)
    }

    /// `cpu_dedicated(vm)` of catalogue §2.
    pub fn dedicated(&self, vm: &Vm) -> Option<bool> {
        self.flags.dedicated.get(vm.index).copied().flatten()
    }

    /// The VM's derived facts.
    pub fn facts(&self, vm: &Vm) -> &VmFacts {
        static EMPTY: VmFacts = VmFacts {
            threads: None,
            cpu_node: None,
            guest_nodes: Vec::new(),
        };
        self.vm_facts.get(vm.index).unwrap_or(&EMPTY)
    }

    /// Module loaded (or built in with parameters): `/sys/module/<name>` exists.
    pub fn module_present(&self, name: &str) -> Option<bool> {
        self.dir_has("/sys/module", name)
    }

    /// A module parameter's value.
    pub fn module_param(&self, module: &str, param: &str) -> Got<'a> {
        self.get(&format!("/sys/module/{module}/parameters/{param}"))
    }

    /// Names of the VMs known to run with cpu-pm on ([`Ctx::cpu_pm`]), in VM order.
    pub fn cpu_pm_vm_names(&self) -> Vec<String> {
        self.host
            .vms
            .iter()
            .filter(|v| self.cpu_pm_on(v))
            .map(|v| v.name())
            .collect()
    }

    /// The VM's effective `-overcommit cpu-pm`, by what its QEMU may be ([`OvercommitValue`]).
    pub fn cpu_pm(&self, vm: &Vm) -> OvercommitValue<bool> {
        let oc = &vm.model.overcommit;
        OvercommitValue::of(
            vm,
            self.qemu_version(vm).map(|v| v.major_minor),
            oc.merged().1,
            oc.before_9_1().1,
        )
    }

    /// The VM's effective `-overcommit mem-lock` ([`OvercommitValue`]).
    pub fn mem_lock(&self, vm: &Vm) -> OvercommitValue<MemLock> {
        let oc = &vm.model.overcommit;
        OvercommitValue::of(
            vm,
            self.qemu_version(vm).map(|v| v.major_minor),
            oc.merged().0,
            oc.before_9_1().0,
        )
    }

    /// cpu-pm is on whatever the QEMU version: an on that an older QEMU would have reset
    /// does not count (no rule may pass on it).
    pub fn cpu_pm_on(&self, vm: &Vm) -> bool {
        self.cpu_pm(vm) == OvercommitValue::Known(true)
    }

    /// The VM's cpu-pm in words for evidence, naming a pre-9.1 reset.
    pub fn cpu_pm_words(&self, vm: &Vm) -> &'static str {
        match self.cpu_pm(vm) {
            OvercommitValue::Known(true) => "cpu-pm=on",
            OvercommitValue::Known(false) => "cpu-pm off",
            OvercommitValue::Depends { merged: true, .. } => {
                "cpu-pm=on only on QEMU >= 9.1: a later -overcommit resets it on older QEMU, which the machine type allows"
            }
            OvercommitValue::Depends { .. } => {
                "cpu-pm=on only on QEMU < 9.1, which the machine type allows"
            }
        }
    }

    /// The VM's target: `vm:LABEL` for display, with the VM's index for grouping.
    pub fn vm_target(&self, vm: &Vm) -> Target {
        Target::vm(vm.index)
    }

    /// CPUs of each NUMA node (only nodes that have CPUs).
    pub fn node_cpus(&self) -> BTreeMap<u32, BTreeSet<u32>> {
        self.host
            .nodes
            .iter()
            .flatten()
            .filter(|n| !n.cpus.is_empty())
            .map(|n| (n.id, n.cpus.clone()))
            .collect()
    }

    /// The node whose CPU list contains every CPU in `cpus`.
    pub fn node_of_cpus(&self, cpus: &BTreeSet<u32>) -> Option<u32> {
        if cpus.is_empty() {
            return None;
        }
        self.node_cpus()
            .into_iter()
            .find(|(_, set)| cpus.is_subset(set))
            .map(|(id, _)| id)
    }
}

fn parse_set(s: &str) -> BTreeSet<u32> {
    cpulist::parse(s).unwrap_or_default()
}

/// Sort a VM's threads by role and decide whether its vCPUs are placed on one node.
fn vm_facts(snap: &Snapshot, host: &HostModel, vm: &Vm) -> VmFacts {
    let Some(proc_) = snap.qemu.get().and_then(|l| l.get(vm.index)) else {
        return VmFacts::default();
    };
    let Some(list) = proc_.threads.as_ref().and_then(|t| t.get()) else {
        // No thread list: libvirt's status XML says where it pinned them, when there is one.
        return match super::status_pinning::threads_from_status(host, vm) {
            Some(t) => placed(host, vm, t),
            None => VmFacts::default(),
        };
    };
    let mut t = VmThreads::default();
    for th in list {
        let cpus = parse_set(&th.cpus_allowed_list);
        t.mems.extend(parse_set(&th.mems_allowed_list));
        if let Some(rest) = th.comm.strip_prefix("CPU ") {
            if let Some((n, accel)) = rest.split_once('/') {
                if let Ok(idx) = n.trim().parse::<u32>() {
                    t.kvm_named |= accel == "KVM";
                    t.tcg_named |= accel == "TCG";
                    t.vcpus.insert(idx, cpus);
                    continue;
                }
            }
        }
        if let Some(id) = th.comm.strip_prefix("IO ") {
            t.iothreads.insert(id.to_string(), cpus);
            continue;
        }
        t.emulator.push(cpus);
    }
    placed(host, vm, t)
}

/// The facts that follow from where a VM's threads may run.
fn placed(host: &HostModel, vm: &Vm, t: VmThreads) -> VmFacts {
    let all: BTreeSet<u32> = t.vcpus.values().flatten().copied().collect();
    let cpu_node = host.nodes.as_ref().and_then(|nodes| {
        nodes
            .iter()
            .filter(|n| !n.cpus.is_empty())
            .find(|n| !all.is_empty() && all.is_subset(&n.cpus))
            .map(|n| n.id)
    });
    let guest_nodes = guest_nodes(host, vm, &t);
    VmFacts {
        threads: Some(t),
        cpu_node,
        guest_nodes,
    }
}

/// Each guest NUMA node's host node (from its vCPU threads) and whether its memory backend is
/// bound there. Empty for fewer than two guest nodes.
fn guest_nodes(host: &HostModel, vm: &Vm, t: &VmThreads) -> Vec<GuestNode> {
    let gnodes = &vm.model.numa_nodes;
    if gnodes.len() < 2 {
        return Vec::new();
    }
    let host_nodes: Vec<_> = host
        .nodes
        .iter()
        .flatten()
        .filter(|n| !n.cpus.is_empty())
        .collect();
    gnodes
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let cpus: BTreeSet<u32> = g
                .cpus
                .iter()
                .filter_map(|v| t.vcpus.get(v))
                .flatten()
                .copied()
                .collect();
            let on = (!cpus.is_empty())
                .then(|| host_nodes.iter().find(|n| cpus.is_subset(&n.cpus)))
                .flatten()
                .map(|n| n.id);
            let backend = g.memdev.as_deref().and_then(|id| vm.model.backend(id));
            let mem_bound = match (on, backend) {
                (Some(h), Some(b)) => {
                    b.host_nodes == [h] && matches!(b.policy.as_deref(), Some("bind"))
                }
                _ => false,
            };
            GuestNode {
                guest: g.nodeid.unwrap_or(i as u32),
                memdev: g.memdev.clone(),
                host: on,
                mem_bound,
            }
        })
        .collect()
}

impl Ctx<'_> {
    /// A flag of the first processor in `/proc/cpuinfo` (the kernel's view, which clears `vmx`
    /// when firmware disabled VT-x). `None` when cpuinfo was not readable.
    pub fn cpuinfo_flag(&self, flag: &str) -> Option<bool> {
        let info = self.text("/proc/cpuinfo")?;
        let line = info
            .lines()
            .find(|l| l.split(':').next().map(str::trim) == Some("flags"))?;
        let (_, flags) = line.split_once(':')?;
        Some(flags.split_whitespace().any(|f| f == flag))
    }

    pub fn is_intel(&self) -> bool {
        self.host.cpu.vendor.as_deref() == Some("GenuineIntel")
    }

    pub fn is_amd(&self) -> bool {
        self.host.cpu.vendor.as_deref() == Some("AuthenticAMD")
    }
}
