//! Facts: what the rules judge, derived from the snapshot once per scan and shared by every
//! check that needs it (insights-core's combiners). A check reads facts and the [`Ctx`]; it
//! never imports another check module, and the engine and the context import no check module.
//! Text parsing lives in [`crate::parse`]; a fact module turns parsed text and the snapshot's
//! paths into typed values (and caches what several rules ask for, in [`Ctx`]).
//!
//! [`Ctx`]: super::context::Ctx

pub mod boot_cmdline;
pub mod cpufreq;
pub mod cpuidle;
pub mod cpuidle_driver;
pub mod device_nodes;
pub mod flags;
pub mod guest_ram;
pub mod guest_side;
pub mod host_aio;
pub mod hugepage_pools;
pub mod iommu;
pub mod irqs;
pub mod kernel;
pub mod ksm;
pub mod machine;
pub mod module_params;
pub mod mounts;
pub mod nohz;
pub mod numa_balancing;
pub mod pci_function;
pub mod pci_link;
pub mod persistent;
pub mod placement;
pub mod platform;
pub mod pm_qos;
pub mod pmem;
pub mod power;
pub mod qat;
pub mod ram_backing;
pub mod scope;
pub mod thp;
pub mod units;
pub mod vm_args;
pub mod vm_runtime;
pub mod vmx;
