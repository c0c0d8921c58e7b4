//! SMBIOS input: recognise the container a user (or the collector) handed us and keep its bytes.
//!
//! Containers, by the `format` string stored in [`SmbiosRaw`]:
//! * `dump-bin` — `dmidecode --dump-bin`: an entry point (`_SM_`, `_SM3_` or `_DMI_`) at offset 0
//!   whose table address was rewritten to the file offset of the table (0x20 in practice).
//! * `sysfs-table` — `/sys/firmware/dmi/tables/DMI` alone: structures from the first byte.
//! * `sysfs-pair` — that table plus `/sys/firmware/dmi/tables/smbios_entry_point`; the entry
//!   point's address is a physical address and is ignored.
//! * `rsmb` — Windows `GetSystemFirmwareTable('RSMB')`: an 8-byte header (calling method, major,
//!   minor, DMI revision, u32 length) then the table. The header is kept as `entry_point`.
//! * `dmidecode-text` — dmidecode's text output (with or without `-q`).
//!
//! [`parse`] only checks that the input is SMBIOS and splits it; decoding (and reporting a broken
//! table) is [`crate::model::platform::Platform::from_smbios`]'s job, so a damaged table still
//! yields whatever it holds.

pub mod entry;
pub mod table;
pub mod text;

use crate::error::{Error, ParseError};
use crate::snapshot::{HexBytes, SmbiosRaw};
use std::path::Path;

pub const FORMAT_DUMP_BIN: &str = "dump-bin";
pub const FORMAT_SYSFS_TABLE: &str = "sysfs-table";
pub const FORMAT_SYSFS_PAIR: &str = "sysfs-pair";
pub const FORMAT_RSMB: &str = "rsmb";
pub const FORMAT_TEXT: &str = "dmidecode-text";

/// File names of the kernel's sysfs pair.
pub const SYSFS_TABLE_NAME: &str = "DMI";
pub const SYSFS_ENTRY_POINT_NAME: &str = "smbios_entry_point";

/// Bound on what `--dmi` reads: a 64-bit table may in theory reach 4 GiB, real ones are < 64 KiB
/// and dmidecode text < 1 MiB.
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Recognise the container of `bytes` and split it into entry point and table (or text).
///
/// `entry_point` is the separate `smbios_entry_point` file of a sysfs pair, when there is one.
pub fn parse(bytes: &[u8], entry_point: Option<&[u8]>) -> Result<SmbiosRaw, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::new("not SMBIOS: the input is empty"));
    }
    if let Some(ep) = entry_point {
        return parse_pair(bytes, ep);
    }
    if entry::has_anchor(bytes) {
        return parse_dump_bin(bytes);
    }
    if let Some(raw) = parse_text(bytes) {
        return Ok(raw);
    }
    if looks_like_rsmb(bytes) {
        return parse_rsmb(bytes);
    }
    if table::starts_with_structure(bytes) {
        return Ok(binary(FORMAT_SYSFS_TABLE, None, bytes));
    }
    Err(ParseError::new(
        "not SMBIOS: no entry point anchor and first structure header is invalid \
         (expected a DMI table, a dmidecode --dump-bin file, an RSMB blob or dmidecode text)",
    ))
}

/// Read `--dmi PATH`: a file in any supported container, or a directory holding the sysfs pair
/// (`DMI` + `smbios_entry_point`). A file named `DMI` picks up a sibling `smbios_entry_point`.
pub fn load_path(path: &Path) -> Result<SmbiosRaw, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::read(path, e))?;
    if meta.is_dir() {
        let table = path.join(SYSFS_TABLE_NAME);
        let ep = path.join(SYSFS_ENTRY_POINT_NAME);
        // The directory form promises a pair; a missing entry point still leaves a usable table.
        return load_table_with_entry_point(&table, ep.exists().then_some(ep.as_path()));
    }
    let sibling = path
        .file_name()
        .filter(|n| *n == SYSFS_TABLE_NAME)
        .and_then(|_| path.parent())
        .map(|dir| dir.join(SYSFS_ENTRY_POINT_NAME))
        .filter(|p| p.is_file());
    load_table_with_entry_point(path, sibling.as_deref())
}

fn load_table_with_entry_point(table: &Path, ep: Option<&Path>) -> Result<SmbiosRaw, Error> {
    let table_bytes = read_bounded(table)?;
    let ep_bytes = match ep {
        Some(p) => {
            let bytes = read_bounded(p)?;
            // Checked here so that a bad entry point is blamed on its own file.
            entry::decode(&bytes).map_err(|e| Error::parse(p, e.0))?;
            Some(bytes)
        }
        None => None,
    };
    parse(&table_bytes, ep_bytes.as_deref()).map_err(|e| Error::parse(table, e.0))
}

/// Read a whole file, refusing anything larger than [`MAX_INPUT_BYTES`].
fn read_bounded(path: &Path) -> Result<Vec<u8>, Error> {
    crate::input::read_input_file(path, MAX_INPUT_BYTES, "an SMBIOS table or dmidecode output")
}

fn binary(format: &str, entry_point: Option<&[u8]>, table: &[u8]) -> SmbiosRaw {
    SmbiosRaw {
        format: format.to_string(),
        entry_point: entry_point.map(|b| HexBytes(b.to_vec())),
        table: Some(HexBytes(table.to_vec())),
        text: None,
    }
}

/// The sysfs pair: the table from the first byte, the entry point from its own file.
fn parse_pair(table: &[u8], ep: &[u8]) -> Result<SmbiosRaw, ParseError> {
    if entry::has_anchor(table) {
        return Err(ParseError::new(
            "a separate entry point was given but the data already starts with one \
             (a dmidecode --dump-bin file needs no entry point file)",
        ));
    }
    let decoded = entry::decode(ep)?;
    if !table::starts_with_structure(table) {
        return Err(ParseError::new(
            "not SMBIOS: the DMI table's first structure header is invalid",
        ));
    }
    let ep = ep.get(..decoded.length).unwrap_or(ep);
    Ok(binary(FORMAT_SYSFS_PAIR, Some(ep), table))
}

/// `dmidecode --dump-bin`: entry point at 0, table at the offset the entry point names.
fn parse_dump_bin(bytes: &[u8]) -> Result<SmbiosRaw, ParseError> {
    let ep = entry::decode(bytes)?;
    let start = usize::try_from(ep.table_address).unwrap_or(usize::MAX);
    if start >= bytes.len() || start < ep.length {
        return Err(ParseError::new(format!(
            "entry point names its table at {:#x}, which is not inside this {}-byte file \
             (an smbios_entry_point file alone? give the DMI table or the directory holding both)",
            ep.table_address,
            bytes.len()
        )));
    }
    let announced = ep.table_length.or(ep.table_max_length).unwrap_or(u32::MAX);
    let end = start.saturating_add(announced as usize).min(bytes.len());
    let table = bytes.get(start..end).unwrap_or(&[]);
    if !table::starts_with_structure(table) {
        return Err(ParseError::new(format!(
            "not SMBIOS: entry point found but the structure at {start:#x} is invalid"
        )));
    }
    let ep_bytes = bytes.get(..ep.length).unwrap_or(&[]);
    Ok(binary(FORMAT_DUMP_BIN, Some(ep_bytes), table))
}

/// RSMB header plausible: calling method 0/1, a length that fits, and a structure after it.
/// A raw table starting with type 0/1 has a structure length ≥ 4 where RSMB has the major
/// version (2 or 3); only when that byte is ≥ 4 does the raw-table reading get priority.
fn looks_like_rsmb(bytes: &[u8]) -> bool {
    let Ok(ep) = entry::decode_rsmb(bytes) else {
        return false;
    };
    let body = bytes.get(entry::RSMB_HEADER_LEN..).unwrap_or(&[]);
    let fits = ep
        .table_length
        .is_some_and(|l| l >= 4 && (l as usize) <= body.len());
    let plausible = bytes.first().is_some_and(|m| *m <= 1) && fits;
    plausible
        && table::starts_with_structure(body)
        && (ep.major < 4 || !table::starts_with_structure(bytes))
}

fn parse_rsmb(bytes: &[u8]) -> Result<SmbiosRaw, ParseError> {
    let ep = entry::decode_rsmb(bytes)?;
    let len = ep.table_length.unwrap_or(0) as usize;
    let table = bytes
        .get(entry::RSMB_HEADER_LEN..entry::RSMB_HEADER_LEN + len)
        .ok_or_else(|| ParseError::new("RSMB: table length exceeds the data"))?;
    let header = bytes.get(..entry::RSMB_HEADER_LEN).unwrap_or(&[]);
    Ok(binary(FORMAT_RSMB, Some(header), table))
}

/// dmidecode text, recognised by its banner or record layout. Invalid UTF-8 is replaced: dmidecode
/// itself only prints ASCII, so such bytes are damage, not content.
fn parse_text(bytes: &[u8]) -> Option<SmbiosRaw> {
    // Binary tables start with a structure type; text starts with a printable character.
    let first = *bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if !(first.is_ascii_graphic() || first == 0xEF) {
        return None;
    }
    let text = String::from_utf8_lossy(bytes);
    if !text::looks_like_dmidecode(&text) {
        return None;
    }
    Some(SmbiosRaw {
        format: FORMAT_TEXT.to_string(),
        entry_point: None,
        table: None,
        text: Some(text.into_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_garbage_are_not_smbios() {
        assert!(parse(b"", None).unwrap_err().0.contains("empty"));
        let e = parse(&[0, 2, 0, 0, 0, 0], None).unwrap_err();
        assert!(e.0.starts_with("not SMBIOS: no entry point anchor"), "{e}");
    }

    #[test]
    fn raw_table_and_rsmb_are_told_apart() {
        let table = [1u8, 4, 0, 0, 0, 0, 127, 4, 1, 0, 0, 0];
        assert_eq!(parse(&table, None).unwrap().format, FORMAT_SYSFS_TABLE);
        let mut rsmb = vec![0u8, 3, 2, 0];
        rsmb.extend_from_slice(&(table.len() as u32).to_le_bytes());
        rsmb.extend_from_slice(&table);
        let raw = parse(&rsmb, None).unwrap();
        assert_eq!(raw.format, FORMAT_RSMB);
        assert_eq!(raw.table.unwrap().0, table);
        assert_eq!(raw.entry_point.unwrap().0.len(), 8);
    }

    #[test]
    fn entry_point_alone_is_explained() {
        let mut ep = b"_SM_".to_vec();
        ep.resize(0x1F, 0);
        ep[0x18] = 0x00;
        ep[0x19] = 0xd0;
        let e = parse(&ep, None).unwrap_err();
        assert!(e.0.contains("smbios_entry_point file alone"), "{e}");
    }
}
