//! SMBIOS entry points: the 32-bit `_SM_`, the 64-bit `_SM3_`, the legacy `_DMI_` one, and the
//! 8-byte header Windows puts in front of the table in an RSMB blob.
//!
//! Decoded by hand rather than with smbios-lib: `SMBiosEntryPoint32::try_from` indexes with a fixed
//! length and panics on a buffer longer than 31 bytes, and it rejects a bad checksum outright, while
//! we want to keep the table and only report the checksum.

use crate::error::ParseError;

/// Which kind of header described the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// `_SM_`: SMBIOS 2.1 – 2.8 32-bit entry point (normally 31 bytes).
    Smbios32,
    /// `_SM3_`: SMBIOS 3.x 64-bit entry point (24 bytes).
    Smbios64,
    /// `_DMI_` on its own: the legacy DMI 2.0 entry point (15 bytes).
    LegacyDmi,
    /// Windows `GetSystemFirmwareTable('RSMB')` header (8 bytes).
    Rsmb,
}

/// What an entry point says about its table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPoint {
    pub kind: EntryKind,
    /// Bytes the entry point occupies (its own length field, bounded by the data given).
    pub length: usize,
    pub major: u8,
    pub minor: u8,
    /// `_SM3_` docrev or the RSMB DMI revision; absent for 32-bit and legacy entry points.
    pub revision: Option<u8>,
    /// Physical address of the table (a file offset in a `--dump-bin` file); 0 for RSMB.
    pub table_address: u64,
    /// Exact table length (`_SM_`, `_DMI_`, RSMB).
    pub table_length: Option<u32>,
    /// Upper bound of the table length (`_SM3_`).
    pub table_max_length: Option<u32>,
    /// Number of structures, end-of-table included (`_SM_`, `_DMI_`).
    pub structure_count: Option<u16>,
    /// Defects that do not stop decoding (bad checksum, odd length), for the platform notes.
    pub problems: Vec<String>,
}

impl EntryPoint {
    /// The version as dmidecode prints it: "2.7" for 32-bit entry points, "3.0.0" from 3.x on.
    pub fn version_string(&self) -> String {
        match self.revision {
            Some(rev) if self.major >= 3 => format!("{}.{}.{}", self.major, self.minor, rev),
            _ => format!("{}.{}", self.major, self.minor),
        }
    }
}

const SM_ANCHOR: &[u8] = b"_SM_";
const SM3_ANCHOR: &[u8] = b"_SM3_";
const DMI_ANCHOR: &[u8] = b"_DMI_";
/// Size of the RSMB header in front of the table.
pub const RSMB_HEADER_LEN: usize = 8;

/// True when `data` begins with one of the three entry point anchors.
pub fn has_anchor(data: &[u8]) -> bool {
    data.starts_with(SM_ANCHOR) || data.starts_with(SM3_ANCHOR) || data.starts_with(DMI_ANCHOR)
}

/// Decode the entry point at the start of `data` (which may continue with other bytes).
pub fn decode(data: &[u8]) -> Result<EntryPoint, ParseError> {
    if data.starts_with(SM3_ANCHOR) {
        decode_64(data)
    } else if data.starts_with(SM_ANCHOR) {
        decode_32(data)
    } else if data.starts_with(DMI_ANCHOR) {
        decode_legacy(data)
    } else {
        Err(ParseError::new(
            "entry point: no _SM_, _SM3_ or _DMI_ anchor at its start",
        ))
    }
}

fn decode_32(data: &[u8]) -> Result<EntryPoint, ParseError> {
    let declared = byte(data, 0x05).unwrap_or(0) as usize;
    // 0x1E is a known SMBIOS 2.1 firmware bug for 0x1F; the fields we read end at 0x1E.
    require(data, 0x1E, "_SM_")?;
    let length = bounded_length(data, declared, 0x1E, 0x1F);
    let mut problems = Vec::new();
    if declared != 0x1F && declared != 0x1E {
        problems.push(format!(
            "32-bit entry point declares length {declared:#x}, expected 0x1f"
        ));
    }
    check_sum(data, declared, "32-bit entry point", &mut problems);
    if data.get(0x10..0x15) != Some(DMI_ANCHOR) {
        problems.push("32-bit entry point lacks its intermediate _DMI_ anchor".to_string());
    } else if checksum(data.get(0x10..0x1F)) != Some(0) {
        problems.push("32-bit entry point: intermediate checksum is wrong".to_string());
    }
    Ok(EntryPoint {
        kind: EntryKind::Smbios32,
        length,
        major: byte(data, 0x06).unwrap_or(0),
        minor: byte(data, 0x07).unwrap_or(0),
        revision: None,
        table_address: u64::from(dword(data, 0x18).unwrap_or(0)),
        table_length: word(data, 0x16).map(u32::from),
        table_max_length: None,
        structure_count: word(data, 0x1C),
        problems,
    })
}

fn decode_64(data: &[u8]) -> Result<EntryPoint, ParseError> {
    let declared = byte(data, 0x06).unwrap_or(0) as usize;
    require(data, 0x18, "_SM3_")?;
    let length = bounded_length(data, declared, 0x18, 0x18);
    let mut problems = Vec::new();
    if declared != 0x18 {
        problems.push(format!(
            "64-bit entry point declares length {declared:#x}, expected 0x18"
        ));
    }
    check_sum(data, declared, "64-bit entry point", &mut problems);
    Ok(EntryPoint {
        kind: EntryKind::Smbios64,
        length,
        major: byte(data, 0x07).unwrap_or(0),
        minor: byte(data, 0x08).unwrap_or(0),
        revision: byte(data, 0x09),
        table_address: qword(data, 0x10).unwrap_or(0),
        table_length: None,
        table_max_length: dword(data, 0x0C),
        structure_count: None,
        problems,
    })
}

fn decode_legacy(data: &[u8]) -> Result<EntryPoint, ParseError> {
    let length = require(data, 0x0F, "_DMI_")?;
    let mut problems = Vec::new();
    check_sum(data, 0x0F, "legacy DMI entry point", &mut problems);
    // The revision is BCD: 0x21 means 2.1.
    let bcd = byte(data, 0x0E).unwrap_or(0);
    Ok(EntryPoint {
        kind: EntryKind::LegacyDmi,
        length,
        major: bcd >> 4,
        minor: bcd & 0x0F,
        revision: None,
        table_address: u64::from(dword(data, 0x08).unwrap_or(0)),
        table_length: word(data, 0x06).map(u32::from),
        table_max_length: None,
        structure_count: word(data, 0x0C),
        problems,
    })
}

/// Decode the 8-byte RSMB header: calling method, major, minor, DMI revision, u32 table length.
pub fn decode_rsmb(data: &[u8]) -> Result<EntryPoint, ParseError> {
    require(data, RSMB_HEADER_LEN, "RSMB")?;
    let mut problems = Vec::new();
    let method = byte(data, 0).unwrap_or(0);
    if method > 1 {
        problems.push(format!(
            "RSMB header: Used20CallingMethod is {method}, expected 0 or 1"
        ));
    }
    Ok(EntryPoint {
        kind: EntryKind::Rsmb,
        length: RSMB_HEADER_LEN,
        major: byte(data, 1).unwrap_or(0),
        minor: byte(data, 2).unwrap_or(0),
        revision: byte(data, 3),
        table_address: 0,
        table_length: dword(data, 4),
        table_max_length: None,
        structure_count: None,
        problems,
    })
}

/// The entry point's length if `data` holds at least `needed` bytes, else a clear error.
fn require(data: &[u8], needed: usize, what: &str) -> Result<usize, ParseError> {
    if data.len() < needed {
        return Err(ParseError::new(format!(
            "entry point: {what} header needs {needed} bytes, only {} present",
            data.len()
        )));
    }
    Ok(needed)
}

/// The declared length when it is plausible (at least `min`, within `data`), else `usual`
/// bounded by `data`: a corrupt length field must not make us read past the entry point.
fn bounded_length(data: &[u8], declared: usize, min: usize, usual: usize) -> usize {
    if declared >= min && declared <= data.len() {
        declared
    } else {
        usual.min(data.len())
    }
}

fn check_sum(data: &[u8], len: usize, what: &str, problems: &mut Vec<String>) {
    if checksum(data.get(..len)) != Some(0) {
        problems.push(format!("{what}: checksum is wrong"));
    }
}

/// 8-bit wrapping sum of the bytes; a valid SMBIOS checksum makes it 0.
fn checksum(bytes: Option<&[u8]>) -> Option<u8> {
    bytes.map(|b| b.iter().fold(0u8, |acc, x| acc.wrapping_add(*x)))
}

pub(crate) fn byte(data: &[u8], at: usize) -> Option<u8> {
    data.get(at).copied()
}

pub(crate) fn word(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes(b.try_into().ok()?))
}

pub(crate) fn dword(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

fn qword(data: &[u8], at: usize) -> Option<u64> {
    let b = data.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_checksum(mut v: Vec<u8>, at: usize, range: std::ops::Range<usize>) -> Vec<u8> {
        v[at] = 0;
        let sum = v[range].iter().fold(0u8, |a, x| a.wrapping_add(*x));
        v[at] = 0u8.wrapping_sub(sum);
        v
    }

    #[test]
    fn decodes_64_bit_entry_point() {
        let mut v = b"_SM3_\0\x18\x03\x02\x01\x01\x00".to_vec();
        v.extend_from_slice(&0x1234u32.to_le_bytes());
        v.extend_from_slice(&0x20u64.to_le_bytes());
        let v = with_checksum(v, 5, 0..0x18);
        let ep = decode(&v).unwrap();
        assert_eq!(ep.kind, EntryKind::Smbios64);
        assert_eq!(ep.version_string(), "3.2.1");
        assert_eq!(ep.table_max_length, Some(0x1234));
        assert_eq!(ep.table_address, 0x20);
        assert!(ep.problems.is_empty(), "{:?}", ep.problems);
    }

    #[test]
    fn reports_bad_checksum_without_failing() {
        let mut v = b"_SM3_\0\x18\x03\x00\x00\x01\x00".to_vec();
        v.extend_from_slice(&[0; 12]);
        let ep = decode(&v).unwrap();
        assert_eq!(ep.problems, vec!["64-bit entry point: checksum is wrong"]);
    }

    #[test]
    fn short_entry_point_is_an_error() {
        let e = decode(b"_SM_\x00\x1f\x02").unwrap_err();
        assert!(e.0.contains("needs 30 bytes"), "{e}");
    }

    #[test]
    fn legacy_version_is_bcd() {
        let mut v = b"_DMI_\0".to_vec();
        v.extend_from_slice(&[0x10, 0, 0, 0, 0, 0, 3, 0, 0x21]);
        let v = with_checksum(v, 5, 0..15);
        let ep = decode(&v).unwrap();
        assert_eq!(ep.version_string(), "2.1");
        assert_eq!(ep.structure_count, Some(3));
        assert!(ep.problems.is_empty());
    }
}
