//! Walk the structures of an SMBIOS table ourselves before handing it to smbios-lib.
//!
//! smbios-lib stops silently at the first malformed structure and never says whether it saw the
//! end-of-table marker. This walk finds exactly where and why a table breaks, so the platform
//! can keep every valid structure and still say "table truncated at offset N: reason".

/// Type of the end-of-table structure.
pub const END_OF_TABLE: u8 = 127;
/// Every structure starts with type (u8), length (u8) and handle (u16).
const HEADER_LEN: usize = 4;

/// One well-formed structure: formatted area plus its string set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: usize,
    /// Offset just past the string set's double NUL.
    pub end: usize,
    pub kind: u8,
    pub handle: u16,
}

/// Where and why the walk stopped before an end-of-table marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub offset: usize,
    pub reason: String,
}

/// The result of walking a table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Every well-formed structure, in table order, the end-of-table marker included.
    pub structures: Vec<Span>,
    /// Offset of the end-of-table structure, when one was reached.
    pub end_of_table: Option<usize>,
    /// Set when a malformed structure stopped the walk.
    pub broken: Option<Break>,
}

impl Scan {
    /// Bytes covered by the well-formed structures (the prefix safe to decode).
    pub fn valid_len(&self) -> usize {
        self.structures.last().map_or(0, |s| s.end)
    }
}

/// Walk `table` from its first byte until the end-of-table marker, the end of the data or the
/// first malformed structure.
pub fn scan(table: &[u8]) -> Scan {
    let mut out = Scan::default();
    let mut offset = 0;
    while offset < table.len() {
        match structure_at(table, offset) {
            Ok(span) => {
                out.structures.push(span);
                offset = span.end;
                if span.kind == END_OF_TABLE {
                    out.end_of_table = Some(span.offset);
                    break;
                }
            }
            Err(reason) => {
                out.broken = Some(Break { offset, reason });
                break;
            }
        }
    }
    out
}

/// True when `data` starts with one well-formed structure: what a raw sysfs table must do.
pub fn starts_with_structure(data: &[u8]) -> bool {
    structure_at(data, 0).is_ok()
}

/// The structure at `offset`, or why there is none.
fn structure_at(table: &[u8], offset: usize) -> Result<Span, String> {
    let rest = table.get(offset..).unwrap_or(&[]);
    let (kind, len, handle) = match rest {
        [kind, len, lo, hi, ..] => (*kind, *len as usize, u16::from_le_bytes([*lo, *hi])),
        _ => {
            return Err(format!(
                "{} stray bytes, too short for a structure header",
                rest.len()
            ))
        }
    };
    if len < HEADER_LEN {
        return Err(format!(
            "structure header declares length {len} (type {kind}); a structure is at least 4 bytes"
        ));
    }
    let strings = rest.get(len..).ok_or_else(|| {
        format!(
            "type {kind} structure declares {len} bytes but only {} remain",
            rest.len()
        )
    })?;
    // The string set ends with two NULs (just "\0\0" when the structure has no strings).
    let nul_pair = strings
        .windows(2)
        .position(|w| w == [0, 0])
        .ok_or_else(|| format!("type {kind} structure's string set is not terminated"))?;
    Ok(Span {
        offset,
        end: offset + len + nul_pair + 2,
        kind,
        handle,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_to_end_of_table() {
        let t = [
            1, 4, 0, 0, b'a', 0, 0, // type 1, one string
            127, 4, 1, 0, 0, 0,    // end of table
            0xff, // padding after the end is ignored
        ];
        let s = scan(&t);
        assert_eq!(s.structures.len(), 2);
        assert_eq!(s.end_of_table, Some(7));
        assert_eq!(s.broken, None);
        assert_eq!(s.valid_len(), 13);
    }

    #[test]
    fn zero_length_header_breaks_the_walk() {
        let t = [2, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let s = scan(&t);
        assert_eq!(s.structures.len(), 1);
        let b = s.broken.unwrap();
        assert_eq!(b.offset, 6);
        assert!(b.reason.contains("length 0"), "{}", b.reason);
        assert_eq!(s.end_of_table, None);
    }

    #[test]
    fn unterminated_strings_and_overlong_structures_break() {
        assert!(scan(&[1, 4, 0, 0, b'a', 0])
            .broken
            .unwrap()
            .reason
            .contains("not terminated"));
        assert!(scan(&[1, 40, 0, 0, 0, 0])
            .broken
            .unwrap()
            .reason
            .contains("only 6 remain"));
    }
}
