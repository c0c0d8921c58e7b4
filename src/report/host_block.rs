//! The report's `host` block: who the host is, in the shape design.md fixes.

use crate::model::host::HostModel;
use crate::snapshot::Snapshot;
pub use crate::vocab::host::{CpuBlock, HostBlock, KernelBlock, PlatformBlock};

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
            machine_id: h.identity.machine_id.clone(),
            smbios_uuid: h.identity.smbios_uuid.clone(),
            source: source_label(s),
            sos: s.source.sos.clone(),
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
            platform_note: super::platform_note::platform_note(s, h),
        }
    }

    /// "GenuineIntel Ice Lake-SP", in words for the table and the HTML page (unescaped).
    pub fn cpu_part(&self) -> String {
        format!(
            "{} {}",
            or_unknown(&self.cpu.vendor),
            self.cpu.codename.as_deref().unwrap_or("unknown part")
        )
    }

    /// "family 6 model 0x6a stepping 6".
    pub fn cpu_signature(&self) -> String {
        format!(
            "family {} model {} stepping {}",
            or_unknown(&self.cpu.family),
            self.cpu
                .model
                .map(|m| format!("{m:#x}"))
                .unwrap_or_else(|| "unknown".into()),
            or_unknown(&self.cpu.stepping)
        )
    }

    /// "2 sockets, 56 cores, 112 threads, 2 NUMA nodes".
    pub fn topology_line(&self) -> String {
        format!(
            "{} sockets, {} cores, {} threads, {} NUMA nodes",
            or_unknown(&self.cpu.sockets),
            or_unknown(&self.cpu.cores),
            or_unknown(&self.cpu.threads),
            or_unknown(&self.numa_nodes)
        )
    }

    /// "Dell Inc. PowerEdge R750 (BIOS Dell Inc. 1.6.5)".
    pub fn platform_line(&self) -> String {
        format!(
            "{} {} (BIOS {} {})",
            or_unknown(&self.platform.vendor),
            or_unknown(&self.platform.product),
            or_unknown(&self.platform.bios_vendor),
            or_unknown(&self.platform.bios_version)
        )
    }
}

/// A value, or "unknown" when it was not seen.
pub fn or_unknown<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|x| x.to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn source_label(s: &Snapshot) -> String {
    let mut label = match (&s.source.kind[..], &s.source.root) {
        ("root", Some(r)) => format!("root:{r}"),
        ("sos", Some(r)) => {
            let sos = s.source.sos.as_ref();
            format!(
                "sos:{r} ({} {}, host {})",
                sos.map_or("sos", |i| i.layout.as_str()),
                sos.and_then(|i| i.version.as_deref())
                    .unwrap_or("version unknown"),
                sos.and_then(|i| i.hostname.as_deref()).unwrap_or("unknown")
            )
        }
        (k, _) => k.to_string(),
    };
    for (what, paths) in &s.source.overrides {
        for p in paths {
            label.push_str(&format!(" +{what}:{p}"));
        }
    }
    label
}

/// The terminal's host lines: the same facts as the lines above, with what was not seen left
/// out instead of spelled "unknown" word by word, and counts of one in the singular.
impl HostBlock {
    /// "GenuineIntel Ice Lake-SP (family 6 model 0x6a stepping 6)"; "unknown" when nothing
    /// about the CPU was seen.
    pub fn cpu_text(&self) -> String {
        let c = &self.cpu;
        let head = match (&c.vendor, &c.codename) {
            (None, None) => String::new(),
            (Some(v), None) => format!("{v} unknown part"),
            (None, Some(n)) => n.clone(),
            (Some(v), Some(n)) => format!("{v} {n}"),
        };
        let sig = [
            c.family.map(|f| format!("family {f}")),
            c.model.map(|m| format!("model {m:#x}")),
            c.stepping.map(|s| format!("stepping {s}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        joined(head, sig)
    }

    /// "2 sockets, 56 cores, 112 threads, 2 NUMA nodes", "1 socket, …"; parts not seen left
    /// out.
    pub fn topology_text(&self) -> String {
        let part = |n: Option<u32>, one: &str, many: &str| {
            n.map(|n| format!("{n} {}", if n == 1 { one } else { many }))
        };
        let parts: Vec<String> = [
            part(self.cpu.sockets, "socket", "sockets"),
            part(self.cpu.cores, "core", "cores"),
            part(self.cpu.threads, "thread", "threads"),
            part(self.numa_nodes, "NUMA node", "NUMA nodes"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            "unknown".into()
        } else {
            parts.join(", ")
        }
    }

    /// "Dell Inc. PowerEdge R750 (BIOS Dell Inc. 1.6.5)"; parts not seen left out.
    pub fn platform_text(&self) -> String {
        let p = &self.platform;
        let words = |a: &Option<String>, b: &Option<String>| {
            [a, b]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let board = words(&p.vendor, &p.product);
        let bios = words(&p.bios_vendor, &p.bios_version);
        joined(
            board,
            if bios.is_empty() {
                bios
            } else {
                format!("BIOS {bios}")
            },
        )
    }
}

/// "head (detail)", either alone when the other is empty, "unknown" when both are.
fn joined(head: String, detail: String) -> String {
    match (head.is_empty(), detail.is_empty()) {
        (true, true) => "unknown".into(),
        (false, true) => head,
        (true, false) => detail,
        (false, false) => format!("{head} ({detail})"),
    }
}
