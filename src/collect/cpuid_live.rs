//! Placeholder until live CPUID lands.
use crate::snapshot::{CpuidDump, Fact, ReadErrorKind};
pub fn read_live() -> Fact<CpuidDump> {
    Fact::err(ReadErrorKind::NotAvailable, "not implemented yet")
}
