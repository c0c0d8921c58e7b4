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
    /// `live`, `root:DIR`, `sos:PATH` or `snapshot` plus any per-source overrides.
    pub source: String,
    /// The sosreport's version, host and the parts of it the scan used (`sos:` sources only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sos: Option<SosInfo>,
    pub cpu: CpuBlock,
    pub platform: PlatformBlock,
    pub kernel: KernelBlock,
    pub numa_nodes: Option<u32>,
    /// Set when the host is not the guide's platform (another vendor or Intel generation) or
    /// cannot run KVM at all; every renderer shows it first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_note: Option<String>,
}

/// What a sosreport says about itself, and which of its parts the scan used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, JsonSchema)]
pub struct SosInfo {
    /// The sos version from version.txt (`4.0`, `3.9.1`); `None` when unreadable.
    pub version: Option<String>,
    /// `sos 4.x` or `sos 3.x`: which file names were expected.
    pub layout: String,
    /// The host the sosreport was taken on (host plugin, or `uname -a`'s node name).
    pub hostname: Option<String>,
    /// Read from a `.tar.xz`/`.tar.gz` archive in place (not an extracted directory).
    pub archive: bool,
    /// The sosreport files the scan mapped into its facts (`sos_commands/processor/cpuid_-r`, ...).
    pub found: Vec<String>,
    /// What kvmaudit looks for but this sosreport lacks (the plugin did not run or failed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}
