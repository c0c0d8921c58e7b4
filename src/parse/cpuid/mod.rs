//! Raw CPUID dumps a user hands us (`--cpuid FILE`), in whichever of the three formats people
//! actually have: `cpuid -r` output, libvirt cpu-data XML, or an AIDA64/InstLatx64 text dump.
//!
//! The format is detected from the content, not the file name, because users rename files freely.
//! Only the first logical CPU is kept: the audit identifies the part, and per-CPU differences
//! (APIC ids) are noise for it. Parsers never panic; malformed record lines are errors that name the
//! line, while unrelated lines (headers, MSR dumps, decoded text) are skipped.

mod aida64;
mod cpuid_r;
mod libvirt_xml;

use crate::error::ParseError;
use crate::snapshot::{CpuidDump, CpuidLeaf};
use std::collections::{BTreeMap, HashSet};

/// `CpuidDump::format` of a `cpuid -r` dump.
pub const FORMAT_CPUID_R: &str = "cpuid-r";
/// `CpuidDump::format` of a libvirt cpu-data XML file.
pub const FORMAT_LIBVIRT_XML: &str = "libvirt-xml";
/// `CpuidDump::format` of an AIDA64/InstLatx64 text dump.
pub const FORMAT_AIDA64: &str = "aida64";

/// Parses a raw CPUID dump in any supported format (auto-detected).
pub fn parse(bytes: &[u8]) -> Result<CpuidDump, ParseError> {
    let text = decode_text(bytes);
    let (format, leaves) = match detect(&text) {
        Some(Format::LibvirtXml) => (FORMAT_LIBVIRT_XML, libvirt_xml::parse(&text)?),
        Some(Format::CpuidR) => (FORMAT_CPUID_R, cpuid_r::parse(&text)?),
        Some(Format::Aida64) => (FORMAT_AIDA64, aida64::parse(&text)?),
        None => {
            return Err(ParseError::new(
                "unrecognised CPUID dump: expected `cpuid -r` output, libvirt cpu-data XML \
                 (<cpuid eax_in=...>) or an AIDA64/InstLatx64 dump (CPUID 00000000: ...)",
            ))
        }
    };
    if leaves.is_empty() {
        return Err(ParseError::new(format!(
            "no CPUID leaves found in the {format} dump"
        )));
    }
    Ok(CpuidDump {
        format: format.to_string(),
        leaves,
    })
}

/// Renders a dump in `cpuid -r` form (one CPU), so any dump can be fed to `cpuid -f FILE`.
pub fn to_cpuid_r_text(dump: &CpuidDump) -> String {
    let mut out = String::from("CPU 0:\n");
    for l in &dump.leaves {
        out.push_str(&format!(
            "   0x{:08x} 0x{:02x}: eax=0x{:08x} ebx=0x{:08x} ecx=0x{:08x} edx=0x{:08x}\n",
            l.leaf, l.subleaf, l.eax, l.ebx, l.ecx, l.edx
        ));
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    CpuidR,
    LibvirtXml,
    Aida64,
}

/// The first kind of record line found decides; XML is checked first because an XML comment could
/// quote a line of another format, never the other way round.
fn detect(text: &str) -> Option<Format> {
    if text.contains("<cpuid") || text.contains("<cpudata") {
        return Some(Format::LibvirtXml);
    }
    text.lines().find_map(|line| {
        if cpuid_r::is_record(line) {
            Some(Format::CpuidR)
        } else if aida64::is_record(line) {
            Some(Format::Aida64)
        } else {
            None
        }
    })
}

/// Text from bytes, tolerating what Windows tools write (AIDA64 saves UTF-16 with a BOM) and
/// stray non-UTF-8 bytes in free-text lines we skip anyway.
fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return decode_utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return decode_utf16(rest, u16::from_be_bytes);
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    // chunks_exact never yields a short chunk; a trailing odd byte is dropped like a torn write.
    let units = bytes.chunks_exact(2).map(|p| match p {
        [a, b] => unit([*a, *b]),
        _ => 0xFFFD,
    });
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Parses a hex number with or without `0x`, as dumps write both.
fn parse_hex_u32(s: &str) -> Option<u32> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// Accumulates leaves in input order, keeping the first of any repeated (leaf, sub-leaf) pair:
/// a repeat means the dump went on to another CPU or re-read a leaf, and CPU 0's value wins.
#[derive(Default)]
struct LeafSet {
    leaves: Vec<CpuidLeaf>,
    seen: HashSet<(u32, u32)>,
    /// Per leaf, the sub-leaf an unlabelled repeat of that leaf stands for.
    next_implicit: BTreeMap<u32, u32>,
}

impl LeafSet {
    /// Records a leaf; returns false when that (leaf, sub-leaf) was already recorded.
    fn push(&mut self, leaf: CpuidLeaf) -> bool {
        if !self.seen.insert((leaf.leaf, leaf.subleaf)) {
            return false;
        }
        let next = self.next_implicit.entry(leaf.leaf).or_insert(0);
        *next = (*next).max(leaf.subleaf.saturating_add(1));
        self.leaves.push(leaf);
        true
    }

    /// The sub-leaf of a line that does not name one: 0 the first time, then counting on from the
    /// highest sub-leaf seen, which is how dumps without sub-leaf labels list them.
    fn implicit_subleaf(&self, leaf: u32) -> u32 {
        self.next_implicit.get(&leaf).copied().unwrap_or(0)
    }

    fn contains_leaf(&self, leaf: u32) -> bool {
        self.next_implicit.contains_key(&leaf)
    }

    fn into_leaves(self) -> Vec<CpuidLeaf> {
        self.leaves
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_accepts_both_prefix_styles_and_rejects_junk() {
        assert_eq!(parse_hex_u32("0x0000001b"), Some(0x1b));
        assert_eq!(parse_hex_u32("0000001B"), Some(0x1b));
        assert_eq!(parse_hex_u32("0X1f"), Some(0x1f));
        assert_eq!(parse_hex_u32("0x"), None);
        assert_eq!(parse_hex_u32("0x123456789"), None);
        assert_eq!(parse_hex_u32("12g4"), None);
        assert_eq!(parse_hex_u32("+1"), None);
    }

    #[test]
    fn unknown_text_is_rejected_with_the_formats_we_expect() {
        let err = parse(b"hello\nworld\n").unwrap_err();
        assert!(err.0.contains("unrecognised CPUID dump"), "{err}");
        let err = parse(b"").unwrap_err();
        assert!(err.0.contains("unrecognised"), "{err}");
    }

    #[test]
    fn utf16_with_bom_is_decoded() {
        let text = "CPUID 00000000: 0000001B-756E6547-6C65746E-49656E69 [GenuineIntel]\r\n";
        let mut bytes = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let d = parse(&bytes).unwrap();
        assert_eq!(d.format, FORMAT_AIDA64);
        assert_eq!(d.get(0, 0).map(|l| l.eax), Some(0x1b));
    }

    #[test]
    fn leafset_keeps_first_and_counts_implicit_subleaves() {
        let mut s = LeafSet::default();
        let l = |leaf, subleaf, eax| CpuidLeaf {
            leaf,
            subleaf,
            eax,
            ebx: 0,
            ecx: 0,
            edx: 0,
        };
        assert_eq!(s.implicit_subleaf(0xd), 0);
        assert!(s.push(l(0xd, 0, 1)));
        assert_eq!(s.implicit_subleaf(0xd), 1);
        assert!(s.push(l(0xd, 5, 2)));
        assert_eq!(s.implicit_subleaf(0xd), 6);
        assert!(!s.push(l(0xd, 0, 3)));
        assert_eq!(s.into_leaves().len(), 2);
    }

    #[test]
    fn round_trip_through_cpuid_r_text() {
        let d = CpuidDump {
            format: FORMAT_LIBVIRT_XML.into(),
            leaves: vec![
                CpuidLeaf {
                    leaf: 0,
                    subleaf: 0,
                    eax: 0x1b,
                    ebx: 0x756e6547,
                    ecx: 0x6c65746e,
                    edx: 0x49656e69,
                },
                CpuidLeaf {
                    leaf: 0xb,
                    subleaf: 1,
                    eax: 5,
                    ebx: 0x1c,
                    ecx: 0x201,
                    edx: 0x25,
                },
            ],
        };
        let back = parse(to_cpuid_r_text(&d).as_bytes()).unwrap();
        assert_eq!(back.format, FORMAT_CPUID_R);
        assert_eq!(back.leaves, d.leaves);
    }
}
