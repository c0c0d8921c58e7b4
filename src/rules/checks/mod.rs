//! One function per rule id, grouped by guide section. Each module lists its checks in `CHECKS`.

use super::context::Ctx;
use super::outcome::Outcome;
use std::collections::HashMap;

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

/// Every check by rule id.
pub fn registry() -> HashMap<&'static str, CheckFn> {
    MODULES.iter().flat_map(|c| c.iter().copied()).collect()
}

/// All rule ids that have a check, in registry order (for the metadata ↔ code test).
pub fn ids() -> Vec<&'static str> {
    MODULES
        .iter()
        .flat_map(|c| c.iter().map(|(id, _)| *id))
        .collect()
}
