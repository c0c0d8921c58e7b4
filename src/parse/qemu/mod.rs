//! Placeholder until the QEMU argv parser lands.
use crate::error::ParseError;
use crate::snapshot::RawBytes;
pub struct ArgvFile {
    pub env: Vec<String>,
    pub argv: Vec<RawBytes>,
}
pub fn parse_argv_file(_b: &[u8]) -> Result<ArgvFile, ParseError> {
    Err(ParseError::new("not implemented yet"))
}
