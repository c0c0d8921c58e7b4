//! Typed values a finding carries next to its prose: what the rule observed and what it wants,
//! as numbers, node ids, CPU lists and device addresses. Consumers that act on a finding (the
//! fix planner) read these instead of parsing the message or an evidence path back.
//!
//! In the JSON report they are the optional `data` array of a finding (additive: readers that
//! do not know it ignore it). Every value came from the host, so consumers validate it again
//! (ranges, formats) before using it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Datum {
    /// A huge page pool of `page_kb`-sized pages (of NUMA node `node`, else the host-wide one)
    /// holds `observed` pages; the VMs need at least `at_least`.
    HugepagePool {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<u32>,
        page_kb: u64,
        observed: u64,
        at_least: u64,
    },
    /// Interrupt `irq` may fire on `observed` CPUs; it should stay on `expected` (CPU lists).
    IrqAffinity {
        irq: u32,
        observed: String,
        expected: String,
    },
    /// The host NUMA node a VM belongs on (the node its vCPUs or devices are on).
    NumaNode { node: u32 },
    /// A kernel attribute (sysfs/procfs path) reads `observed`; the rule wants `expected`.
    Setting {
        path: String,
        observed: String,
        expected: String,
    },
    /// SR-IOV physical function `device` (PCI address) has `observed` VFs enabled out of
    /// `total`; a VM needs them.
    SriovVfs {
        device: String,
        observed: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total: Option<u32>,
    },
    /// The host's vCPU commitment (base.capacity.commit): `vcpus` vCPUs of the running VMs
    /// (absent when a VM's count is unknown) on `cpus` online pCPUs (absent when unknown), and
    /// the rules' verdict `overcommitted` (Σ vCPUs > pCPUs, or a pCPU two VMs' vCPU threads
    /// may run on; absent when it cannot be told).
    CpuCommit {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vcpus: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cpus: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        overcommitted: Option<bool>,
    },
    /// The VM's effective `-overcommit KEY=VALUE` (`cpu-pm`: on/off, `mem-lock`:
    /// on/off/on-fault), QEMU's default when no option names it; when QEMU before 9.1 would
    /// read the options differently, the 9.1 reading the finding's message describes.
    OvercommitOption { key: String, value: String },
    /// PCI function `device` is bound to `observed` (none when unbound); it should be bound to
    /// `expected`.
    PciDriver {
        device: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        observed: Option<String>,
        expected: String,
    },
}
