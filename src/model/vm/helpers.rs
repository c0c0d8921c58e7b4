//! Questions rules ask of a [`VmModel`]: vCPU count, where guest RAM lives, huge pages, KVM.

use super::{BackendKind, MemoryBackend, MemoryDevice, MemoryDeviceKind, VmModel};
use serde::{Deserialize, Serialize};

/// Whether the VM runs on KVM, from argv alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KvmUse {
    /// KVM is the first (and only usable) accelerator, or a `*kvm` wrapper with no accelerator
    /// given (distribution builds default to KVM).
    Yes,
    /// TCG or another accelerator comes first; or upstream `qemu-system-*` with no accelerator
    /// given (its default is `tcg`).
    No,
    /// KVM first with a fallback (`accel=kvm:tcg`), or KVM listed after an accelerator that may
    /// fail: QEMU may have fallen back silently; runtime proof decides.
    Maybe,
    /// The binary is not recognizable and no accelerator is given.
    Unknown,
}

/// Which part of guest RAM a piece is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RamRole {
    /// Boot RAM (`-m`): the machine's memory backend or a guest NUMA node's memdev.
    Boot,
    /// A hot-pluggable DIMM or virtio-mem device.
    Hotplug,
}

/// How a piece of guest RAM is provided, as far as argv tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RamSource {
    /// Anonymous memory (`memory-backend-ram`, or no backend and no `-mem-path`).
    Anonymous,
    /// memfd; `hugetlb` true means huge pages of `page_size_bytes` (host default when `None`).
    Memfd {
        hugetlb: bool,
        page_size_bytes: Option<u64>,
    },
    /// A file backend or `-mem-path`: huge pages only if `path` is on hugetlbfs, which must be
    /// checked against the QEMU process's mount namespace (`/proc/PID/mountinfo`).
    File { path: String },
    /// A backend id that no `-object` defines, or a backend type without RAM semantics.
    Unresolved,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RamPiece {
    pub role: RamRole,
    pub backend_id: Option<String>,
    pub size_bytes: Option<u64>,
    pub source: RamSource,
}

impl RamPiece {
    /// True when argv shows huge pages: memfd `hugetlb=on`, or a file path that looks like a
    /// hugetlbfs mount (`/dev/hugepages*`, `*huge*`). A verdict must still confirm the mount.
    pub fn hugetlb_by_argv(&self) -> bool {
        match &self.source {
            RamSource::Memfd { hugetlb, .. } => *hugetlb,
            RamSource::File { path } => path_looks_hugetlbfs(path),
            RamSource::Anonymous | RamSource::Unresolved => false,
        }
    }
}

/// Heuristic for paths on hugetlbfs: libvirt uses `/dev/hugepages*/libvirt/qemu/...`, hand
/// setups `/dev/hugepages1G`, `/mnt/huge`, `/hugetlbfs`.
pub fn path_looks_hugetlbfs(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.contains("hugepage") || p.contains("hugetlb") || p.contains("/huge")
}

/// Huge page coverage of guest RAM, by argv.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HugepageUse {
    /// No piece of guest RAM is hugetlb-backed (THP may still apply).
    None,
    /// Some pieces are, some are not.
    Partial,
    /// Every piece is.
    All,
}

impl VmModel {
    /// Boot vCPUs: `-smp cpus`, else the product of the topology given, else `maxcpus`,
    /// else 1 (QEMU's default without `-smp`).
    pub fn vcpus(&self) -> Option<u32> {
        let s = &self.smp;
        if let Some(c) = s.cpus.filter(|c| *c > 0) {
            return Some(c);
        }
        let topo = [
            s.drawers, s.books, s.sockets, s.dies, s.clusters, s.cores, s.threads,
        ];
        if topo.iter().any(Option::is_some) {
            return topo
                .iter()
                .try_fold(1u32, |acc, x| acc.checked_mul(x.unwrap_or(1)));
        }
        Some(s.maxcpus.filter(|m| *m > 0).unwrap_or(1))
    }

    /// A memory backend by id.
    pub fn backend(&self, id: &str) -> Option<&MemoryBackend> {
        self.memory_backends.iter().find(|b| b.id == id)
    }

    /// The vNVDIMM devices (memory devices of kind nvdimm).
    pub fn nvdimms(&self) -> impl Iterator<Item = &MemoryDevice> {
        self.memory_devices
            .iter()
            .filter(|d| d.kind == MemoryDeviceKind::Nvdimm)
    }

    /// The backend holding all of boot RAM, when exactly one does (`-machine memory-backend=`
    /// or a single guest NUMA node's memdev). Use [`VmModel::guest_ram`] for the general case.
    pub fn main_ram_backend(&self) -> Option<&MemoryBackend> {
        match self.memory.ram_backend_ids.as_slice() {
            [only] => self.backend(only),
            _ => None,
        }
    }

    /// Every piece of guest RAM: boot RAM (per backend, or one anonymous/`-mem-path` piece) and
    /// hot-pluggable DIMMs / virtio-mem. NVDIMM and virtio-pmem are not RAM and are left out.
    pub fn guest_ram(&self) -> Vec<RamPiece> {
        let index = super::devices::backend_index(self);
        let piece = |role: RamRole, id: &str| {
            let b = index.get(id).and_then(|i| self.memory_backends.get(*i));
            RamPiece {
                role,
                backend_id: Some(id.to_string()),
                size_bytes: b.and_then(|b| b.size_bytes),
                source: b.map_or(RamSource::Unresolved, source_of),
            }
        };
        let mut out: Vec<RamPiece> = if self.memory.ram_backend_ids.is_empty() {
            let source = match &self.memory.mem_path {
                Some(p) => RamSource::File { path: p.clone() },
                None => RamSource::Anonymous,
            };
            vec![RamPiece {
                role: RamRole::Boot,
                backend_id: None,
                size_bytes: self.memory.size_bytes,
                source,
            }]
        } else {
            self.memory
                .ram_backend_ids
                .iter()
                .map(|id| piece(RamRole::Boot, id))
                .collect()
        };
        for d in &self.memory_devices {
            if matches!(
                d.kind,
                MemoryDeviceKind::PcDimm | MemoryDeviceKind::VirtioMem
            ) {
                if let Some(id) = &d.memdev {
                    out.push(piece(RamRole::Hotplug, id));
                }
            }
        }
        out
    }

    /// Huge page coverage of guest RAM by argv (see [`RamPiece::hugetlb_by_argv`]).
    pub fn uses_hugepages(&self) -> HugepageUse {
        let pieces = self.guest_ram();
        let huge = pieces.iter().filter(|p| p.hugetlb_by_argv()).count();
        match huge {
            0 => HugepageUse::None,
            n if n == pieces.len() => HugepageUse::All,
            _ => HugepageUse::Partial,
        }
    }

    /// Whether the VM uses KVM, by argv (see [`KvmUse`]).
    pub fn is_kvm(&self) -> KvmUse {
        let list = &self.accel.list;
        let Some(first) = list.first() else {
            return default_accel(&self.binary);
        };
        let kvm_later = list.iter().skip(1).any(|a| a.name == "kvm");
        let others_later = list.iter().skip(1).any(|a| a.name != "kvm");
        match first.name.as_str() {
            "kvm" if others_later => KvmUse::Maybe,
            "kvm" => KvmUse::Yes,
            // TCG never fails to initialise: nothing after it is tried.
            "tcg" => KvmUse::No,
            _ if kvm_later => KvmUse::Maybe,
            _ => KvmUse::No,
        }
    }
}

fn source_of(b: &MemoryBackend) -> RamSource {
    match b.kind {
        BackendKind::Ram => RamSource::Anonymous,
        BackendKind::Memfd => RamSource::Memfd {
            hugetlb: b.hugetlb == Some(true),
            page_size_bytes: b.hugetlbsize_bytes,
        },
        BackendKind::File => match &b.mem_path {
            Some(p) => RamSource::File { path: p.clone() },
            None => RamSource::Unresolved,
        },
        BackendKind::Epc | BackendKind::Other => RamSource::Unresolved,
    }
}

/// QEMU's choice without any accelerator option: a program name ending in "kvm" prefers KVM
/// (and distribution `qemu-kvm` builds often lack TCG altogether); anything else uses TCG.
fn default_accel(binary: &str) -> KvmUse {
    let base = binary.rsplit('/').next().unwrap_or(binary);
    if base.ends_with("kvm") {
        KvmUse::Yes
    } else if base.starts_with("qemu-system-") || base.starts_with("qemu") {
        KvmUse::No
    } else {
        KvmUse::Unknown
    }
}
