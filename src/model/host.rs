//! The parsed view of a whole snapshot: what every rule starts from. Built once per scan.

use super::cpu::CpuModel;
use super::platform::Platform;
use super::topology::{numa_nodes, NumaNode, Topology};
use super::vm::VmModel;
use crate::parse::cmdline::Cmdline;
use crate::parse::kconfig::KernelConfig;
use crate::parse::libvirt_domain::CpuTune;
use crate::parse::meminfo::Meminfo;
use crate::snapshot::{Fact, Snapshot};

/// One QEMU process with its parsed model; `index` points into `snapshot.qemu`.
#[derive(Debug, Clone)]
pub struct Vm {
    pub index: usize,
    pub pid: Option<u32>,
    pub source: String,
    pub model: VmModel,
    /// The display name, unique in this scan: [`Vm::name`], with the pid (else the uuid,
    /// else the position) added when another VM has the same name.
    pub label: String,
    pub state: VmState,
    /// `<cputune>` of the domain's libvirt XML: for a running VM its status XML (matched by
    /// pid), for a defined one its definition. Pinning that argv never shows.
    pub cputune: Option<CpuTune>,
}

/// Whether a VM is a running QEMU or a domain definition audited before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VmState {
    /// A QEMU process (or a `--qemu-argv` command line).
    #[default]
    Running,
    /// A libvirt definition with no running process: audited, kept out of the running score.
    DefinedNotRunning,
}

impl VmState {
    pub fn as_str(self) -> &'static str {
        match self {
            VmState::Running => "running",
            VmState::DefinedNotRunning => "defined, not running",
        }
    }
}

impl Vm {
    /// The VM's display name: `-name`, else `pid-N`, else the argv file's name.
    pub fn name(&self) -> String {
        if let Some(n) = self.model.name.as_deref().filter(|n| !n.is_empty()) {
            return n.to_string();
        }
        match self.pid {
            Some(p) => format!("pid-{p}"),
            None => std::path::Path::new(&self.source)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.source.clone()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct HostModel {
    pub hostname: Option<String>,
    pub cpu: CpuModel,
    /// Why the CPU model is incomplete, when it is.
    pub cpu_notes: Vec<String>,
    pub platform: Option<Platform>,
    /// Hostname, machine-id and SMBIOS UUID, as the report and the remediation script name
    /// the host.
    pub identity: super::identity::HostIdentity,
    pub kernel_release: Option<String>,
    pub cmdline: Option<Cmdline>,
    pub cmdline_raw: Option<String>,
    pub kconfig: Option<KernelConfig>,
    pub topology: Topology,
    pub nodes: Option<Vec<NumaNode>>,
    /// `/proc/meminfo`, every field that parses (values in bytes).
    pub meminfo: Option<Meminfo>,
    /// Running VMs: `vms[i].index == i`, the position of its process in `snapshot.qemu`.
    pub vms: Vec<Vm>,
    /// Domains defined but not running (libvirt definitions, `--domain-xml`), numbered after
    /// the running ones: `defined[k].index == vms.len() + k`.
    pub defined: Vec<Vm>,
    /// Domain XML that could not be read or parsed, one sentence each.
    pub domain_notes: Vec<String>,
}

impl HostModel {
    pub fn build(s: &Snapshot) -> HostModel {
        let (cpu, cpu_notes) = cpu_model(s);
        let cmdline_raw = s.text("/proc/cmdline").map(|t| t.trim().to_string());
        let platform = s.smbios.get().map(Platform::from_smbios);
        HostModel {
            hostname: s.hostname.get().cloned(),
            cpu,
            cpu_notes,
            identity: super::identity::HostIdentity::from_snapshot(s, platform.as_ref()),
            platform,
            kernel_release: s
                .text("/proc/sys/kernel/osrelease")
                .map(|t| t.trim().to_string()),
            cmdline: cmdline_raw.as_deref().map(Cmdline::parse),
            cmdline_raw,
            kconfig: s.kconfig.get().map(|t| KernelConfig::parse(t)),
            topology: Topology::from_snapshot(s),
            nodes: numa_nodes(s),
            meminfo: s.text("/proc/meminfo").and_then(Meminfo::parse),
            vms: Vec::new(),
            defined: Vec::new(),
            domain_notes: Vec::new(),
        }
        .with_vms(s)
    }

    fn with_vms(mut self, s: &Snapshot) -> HostModel {
        let running = vms(s);
        let (running, defined, notes) = super::domains::attach(s, running);
        // Labels are unique across both lists: a defined VM may share a running one's name.
        let n = running.len();
        let mut all = label_vms(running.into_iter().chain(defined).collect());
        self.defined = all.split_off(n);
        self.vms = all;
        self.domain_notes = notes;
        self
    }

    /// Running VMs then defined ones, each at its `index`.
    pub fn all_vms(&self) -> impl Iterator<Item = &Vm> {
        self.vms.iter().chain(self.defined.iter())
    }
}

/// CPU model from recorded CPUID, completed by `/proc/cpuinfo` (the kernel's view, which also
/// carries the `vmx flags` line); either alone is enough for identification.
fn cpu_model(s: &Snapshot) -> (CpuModel, Vec<String>) {
    let mut notes = Vec::new();
    let from_info = match s.file("/proc/cpuinfo") {
        Some(Fact::Value(t)) => match CpuModel::from_cpuinfo(t) {
            Ok(m) => Some(m),
            Err(e) => {
                notes.push(format!("/proc/cpuinfo: {}", e.0));
                None
            }
        },
        Some(Fact::Error(e)) => {
            notes.push(format!("/proc/cpuinfo: {}", e.describe()));
            None
        }
        None => None,
    };
    match (s.cpuid.get(), from_info) {
        (Some(d), info) => {
            let mut m = CpuModel::from_cpuid(d);
            if let Some(i) = info {
                m.merge_missing(&i);
            }
            (m, notes)
        }
        (None, Some(i)) => {
            if let Some(e) = s.cpuid.fact.error() {
                notes.push(format!("CPUID: {}", e.describe()));
            }
            (i, notes)
        }
        (None, None) => {
            if let Some(e) = s.cpuid.fact.error() {
                notes.push(format!("CPUID: {}", e.describe()));
            }
            (CpuModel::default(), notes)
        }
    }
}

fn vms(s: &Snapshot) -> Vec<Vm> {
    s.qemu
        .get()
        .map(|list| {
            list.iter()
                .enumerate()
                .map(|(index, p)| Vm {
                    index,
                    pid: p.pid,
                    source: p.source.clone(),
                    model: VmModel::from_argv(&p.argv),
                    label: String::new(),
                    state: VmState::Running,
                    cputune: None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Give every VM a display label no other VM has: two QEMU processes named `myvm` become
/// `myvm (pid 4242)` and `myvm (pid 4243)`, so that a reader can tell their findings apart.
pub(super) fn label_vms(mut vms: Vec<Vm>) -> Vec<Vm> {
    use std::collections::HashMap;
    let names: Vec<String> = vms.iter().map(Vm::name).collect();
    let mut per_name: HashMap<&str, usize> = HashMap::new();
    for n in &names {
        *per_name.entry(n.as_str()).or_default() += 1;
    }
    let labels: Vec<String> = vms
        .iter()
        .zip(&names)
        .map(|(vm, name)| {
            if per_name.get(name.as_str()).copied().unwrap_or(0) < 2 {
                return name.clone();
            }
            match (vm.pid, vm.model.uuid.as_deref()) {
                (Some(pid), _) => format!("{name} (pid {pid})"),
                (None, Some(uuid)) => format!("{name} (uuid {uuid})"),
                (None, None) => format!("{name} (#{})", vm.index),
            }
        })
        .collect();
    // Labels that still collide (same name and pid or uuid, or a name that looks like
    // another's label) get the VM's position, which is unique.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for l in &labels {
        *seen.entry(l.as_str()).or_default() += 1;
    }
    let unique: Vec<String> = labels
        .iter()
        .zip(&vms)
        .map(|(l, vm)| match seen.get(l.as_str()) {
            Some(n) if *n > 1 => format!("{l} #{}", vm.index),
            _ => l.clone(),
        })
        .collect();
    for (vm, l) in vms.iter_mut().zip(unique) {
        vm.label = l;
    }
    vms
}
