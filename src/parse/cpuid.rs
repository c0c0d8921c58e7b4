//! Placeholder until the CPUID parser lands.
use crate::error::ParseError;
use crate::snapshot::CpuidDump;
pub fn parse(_b: &[u8]) -> Result<CpuidDump, ParseError> {
    Err(ParseError::new("not implemented yet"))
}
