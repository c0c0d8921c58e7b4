//! Firmware (BIOS) settings of guide §2.1, read through their OS-visible consequences and,
//! where readable, the MSRs that hold them; plus the QAT link of §5 and the kernel side of
//! VT-d. kvmaudit never changes firmware. One file per rule or small rule family; each reads
//! its facts, decides, and writes the message.

use super::CheckFn;

// Facts several bios rules read; the rule files reach them through these lines.
use crate::rules::facts::cpufreq::{self, Policies};
use crate::rules::facts::kernel::kernel_version;
use crate::rules::facts::qat;

mod c1e_c6_msr;
mod cstates;
mod eet;
mod eist;
mod hwp;
mod hyperthreading;
mod idle_states;
mod iommu;
mod iommu_interrupts;
mod msr;
mod numa;
mod power_policy;
mod qat_link;
mod readers;
mod turbo;
mod vtd;
mod vtx;

#[cfg(test)]
mod tests;

pub const CHECKS: &[(&str, CheckFn)] = &[
    ("bios.vtx", vtx::bios_vtx),
    ("bios.vtd", vtd::bios_vtd),
    ("host.iommu.enabled", iommu::iommu_enabled),
    ("bios.ht", hyperthreading::bios_ht),
    ("bios.numa", numa::bios_numa),
    ("bios.power-policy", power_policy::power_policy),
    ("bios.eist", eist::bios_eist),
    ("bios.turbo", turbo::bios_turbo),
    ("bios.eet", eet::bios_eet),
    ("bios.hwp-native", hwp::hwp_native),
    ("bios.c1e", c1e_c6_msr::bios_c1e),
    ("bios.c6", c1e_c6_msr::bios_c6),
    ("hw.qat.pcie-link", qat_link::qat_pcie_link),
];
