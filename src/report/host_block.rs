//! The report's `host` block: who the host is, in the shape design.md fixes.

use crate::model::host::HostModel;
use crate::snapshot::Snapshot;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
pub struct CpuBlock {
    pub vendor: Option<String>,
    pub family: Option<u32>,
    pub model: Option<u32>,
    pub stepping: Option<u32>,
    pub brand: Option<String>,
    pub codename: Option<String>,
    pub vmx: Option<bool>,
    pub hypervisor: Option<bool>,
    pub sockets: Option<u32>,
    pub cores: Option<u32>,
    pub threads: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
pub struct PlatformBlock {
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub bios_vendor: Option<String>,
    pub bios_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
pub struct KernelBlock {
    pub release: Option<String>,
    pub cmdline: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
pub struct HostBlock {
    pub hostname: Option<String>,
    /// `live`, `root:DIR` or `snapshot` plus any per-source overrides.
    pub source: String,
    pub cpu: CpuBlock,
    pub platform: PlatformBlock,
    pub kernel: KernelBlock,
    pub numa_nodes: Option<u32>,
}

impl HostBlock {
    pub fn from_model(s: &Snapshot, h: &HostModel) -> HostBlock {
        let dmi = |f: &str| {
            s.text(&format!("/sys/class/dmi/id/{f}"))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let p = h.platform.as_ref();
        HostBlock {
            hostname: h.hostname.clone(),
            source: source_label(s),
            cpu: CpuBlock {
                vendor: h.cpu.vendor.clone(),
                family: h.cpu.family,
                model: h.cpu.model,
                stepping: h.cpu.stepping,
                brand: h.cpu.brand.clone(),
                codename: h.cpu.codename.clone(),
                vmx: h.cpu.vmx,
                hypervisor: h.cpu.hypervisor,
                sockets: h.topology.sockets,
                cores: h.topology.cores,
                threads: h.topology.threads,
            },
            // SMBIOS when readable (root), else the world-readable /sys/class/dmi/id summary.
            platform: PlatformBlock {
                vendor: p
                    .and_then(|p| p.system_vendor.clone())
                    .or_else(|| dmi("sys_vendor")),
                product: p
                    .and_then(|p| p.system_product.clone())
                    .or_else(|| dmi("product_name")),
                bios_vendor: p
                    .and_then(|p| p.bios_vendor.clone())
                    .or_else(|| dmi("bios_vendor")),
                bios_version: p
                    .and_then(|p| p.bios_version.clone())
                    .or_else(|| dmi("bios_version")),
            },
            kernel: KernelBlock {
                release: h.kernel_release.clone(),
                cmdline: h.cmdline_raw.clone(),
            },
            numa_nodes: h.nodes.as_ref().map(|n| n.len() as u32),
        }
    }
}

fn source_label(s: &Snapshot) -> String {
    let mut label = match (&s.source.kind[..], &s.source.root) {
        ("root", Some(r)) => format!("root:{r}"),
        (k, _) => k.to_string(),
    };
    for (what, paths) in &s.source.overrides {
        for p in paths {
            label.push_str(&format!(" +{what}:{p}"));
        }
    }
    label
}
