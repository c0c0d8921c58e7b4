//! One function per rule id, grouped by guide section. Each module lists its checks in `CHECKS`;
//! the engine reaches them only through [`super::registry`].

use super::context::Ctx;
use super::outcome::Outcome;

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

pub type CheckFn = fn(&Ctx) -> Vec<Outcome>;

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
