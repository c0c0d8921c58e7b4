//! The parsed view of a whole snapshot: what every rule starts from. Built once per scan.

use super::cpu::CpuModel;
use super::platform::Platform;
use super::topology::{numa_nodes, NumaNode, Topology};
use super::vm::VmModel;
use crate::parse::cmdline::Cmdline;
use crate::parse::kconfig::KernelConfig;
use crate::parse::meminfo::Meminfo;
use crate::snapshot::{Fact, Snapshot};

/// One QEMU process with its parsed model; `index` points into `snapshot.qemu`.
#[derive(Debug, Clone)]
pub struct Vm {
    pub index: usize,
    pub pid: Option<u32>,
    pub source: String,
    pub model: VmModel,
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
    pub kernel_release: Option<String>,
    pub cmdline: Option<Cmdline>,
    pub cmdline_raw: Option<String>,
    pub kconfig: Option<KernelConfig>,
    pub topology: Topology,
    pub nodes: Option<Vec<NumaNode>>,
    /// `/proc/meminfo`, every field that parses (values in bytes).
    pub meminfo: Option<Meminfo>,
    pub vms: Vec<Vm>,
}

impl HostModel {
    pub fn build(s: &Snapshot) -> HostModel {
        let (cpu, cpu_notes) = cpu_model(s);
        let cmdline_raw = s.text("/proc/cmdline").map(|t| t.trim().to_string());
        HostModel {
            hostname: s.hostname.get().cloned(),
            cpu,
            cpu_notes,
            platform: s.smbios.get().map(Platform::from_smbios),
            kernel_release: s
                .text("/proc/sys/kernel/osrelease")
                .map(|t| t.trim().to_string()),
            cmdline: cmdline_raw.as_deref().map(Cmdline::parse),
            cmdline_raw,
            kconfig: s.kconfig.get().map(|t| KernelConfig::parse(t)),
            topology: Topology::from_snapshot(s),
            nodes: numa_nodes(s),
            meminfo: s.text("/proc/meminfo").and_then(Meminfo::parse),
            vms: vms(s),
        }
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
                })
                .collect()
        })
        .unwrap_or_default()
}
