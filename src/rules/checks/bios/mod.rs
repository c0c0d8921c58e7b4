//! Firmware (BIOS) settings of guide §2.1, read through their OS-visible consequences and,
//! where readable, the MSRs that hold them; plus the QAT link of §5 and the kernel side of
//! VT-d. kvmaudit never changes firmware. One file per rule or small rule family; each reads
//! its facts, decides, and writes the message.

use super::{Check, CheckFn};

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
    ("bios.vtx", Check::host(vtx::bios_vtx)),
    ("bios.vtd", Check::host(vtd::bios_vtd)),
    ("host.iommu.enabled", Check::host(iommu::iommu_enabled)),
    ("bios.ht", Check::host(hyperthreading::bios_ht)),
    ("bios.numa", Check::host(numa::bios_numa)),
    ("bios.power-policy", Check::host(power_policy::power_policy)),
    ("bios.eist", Check::host(eist::bios_eist)),
    ("bios.turbo", Check::host(turbo::bios_turbo)),
    ("bios.eet", Check::host(eet::bios_eet)),
    ("bios.hwp-native", Check::host(hwp::hwp_native)),
    ("bios.c1e", Check::host(c1e_c6_msr::bios_c1e)),
    ("bios.c6", Check::host(c1e_c6_msr::bios_c6)),
    (
        "hw.qat.pcie-link",
        Check::host_devices(qat::qat_pfs, qat_link::qat_pcie_link)
            .unless(qat_link::qat_pcie_link_moot),
    ),
];
