//! The report's `host` block: who the host is, in the shape design.md fixes. Built from the
//! host model by `report::host_block`; worded for display there too.

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
    /// `/etc/machine-id` (32 lowercase hex digits), when readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_id: Option<String>,
    /// The SMBIOS system UUID (lowercase), when the firmware sets one and it is readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smbios_uuid: Option<String>,
    /// `live`, `root:DIR` or `snapshot` plus any per-source overrides.
    pub source: String,
    pub cpu: CpuBlock,
    pub platform: PlatformBlock,
    pub kernel: KernelBlock,
    pub numa_nodes: Option<u32>,
    /// Set when the host is not the guide's platform (another vendor or Intel generation) or
    /// cannot run KVM at all; every renderer shows it first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_note: Option<String>,
}
