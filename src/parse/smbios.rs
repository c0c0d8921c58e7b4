//! Placeholder until the SMBIOS parser lands.
use crate::error::ParseError;
use crate::snapshot::SmbiosRaw;
pub fn parse(_b: &[u8], _ep: Option<&[u8]>) -> Result<SmbiosRaw, ParseError> {
    Err(ParseError::new("not implemented yet"))
}
pub fn load_path(p: &std::path::Path) -> Result<SmbiosRaw, crate::error::Error> {
    Err(crate::error::Error::parse(p, "not implemented yet"))
}
