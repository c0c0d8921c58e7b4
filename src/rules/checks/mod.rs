//! One function per rule id, grouped by guide section. Each module lists its checks in `CHECKS`;
//! the engine reaches them only through [`super::registry`].

pub use super::units::Check;

pub mod baseline;
pub mod bios;
pub mod blk;
pub mod cpufreq;
pub mod guest;
pub mod idle;
pub mod memory;
pub mod net;
pub mod numa;
pub mod overcommit;
pub mod pmem;
pub mod qat;

/// A rule's check as the modules' `CHECKS` tables list it (see [`super::units`]).
pub type CheckFn = Check;

/// Every module's `CHECKS`, in registry order.
const MODULES: &[&[(&str, CheckFn)]] = &[
    baseline::CHECKS,
    bios::CHECKS,
    cpufreq::CHECKS,
    numa::CHECKS,
    memory::CHECKS,
    idle::CHECKS,
    overcommit::CHECKS,
    net::CHECKS,
    blk::CHECKS,
    guest::CHECKS,
    pmem::CHECKS,
    qat::CHECKS,
];

/// Every (rule id, check), module by module; [`super::registry`] joins them with the metadata.
pub(crate) fn all() -> impl Iterator<Item = (&'static str, CheckFn)> {
    MODULES.iter().flat_map(|c| c.iter().copied())
}
