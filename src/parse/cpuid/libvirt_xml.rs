//! libvirt cpu-data XML, as written by libvirt's `tests/cputestdata/cpu-data.py`:
//!
//! ```text
//! <cpudata arch='x86'>
//!   <cpuid eax_in='0x00000007' ecx_in='0x00' eax='0x00000000' ebx='0xf3bfffff' ecx='...' edx='...'/>
//!   <msr index='0x10a' edx='0x00000000' eax='0x0000000b'/>
//! </cpudata>
//! ```
//!
//! `<msr>` and anything else is ignored. `function`/`index` are accepted as the older names of
//! `eax_in`/`ecx_in`; a missing `ecx_in` means sub-leaf 0, as in libvirt's own reader.

use super::{parse_hex_u32, LeafSet};
use crate::error::ParseError;
use crate::snapshot::CpuidLeaf;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use quick_xml::XmlVersion;

pub(super) fn parse(text: &str) -> Result<Vec<CpuidLeaf>, ParseError> {
    let mut reader = Reader::from_str(text);
    let mut set = LeafSet::default();
    loop {
        let start = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            let line = line_of(text, reader.error_position());
            ParseError::new(format!("line {line}: malformed XML: {e}"))
        })?;
        match event {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "cpuid" => {
                let leaf = parse_cpuid_element(&e).map_err(|msg| {
                    ParseError::new(format!("line {}: <cpuid>: {msg}", line_of(text, start)))
                })?;
                set.push(leaf);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(set.into_leaves())
}

/// 1-based line of a byte offset (an offset past the end counts as the last line).
fn line_of(text: &str, offset: u64) -> usize {
    let end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    let before = text.as_bytes().get(..end).unwrap_or(&[]);
    // The reader reports the position before leading whitespace; the element is on the next
    // non-blank line.
    let skipped = text
        .as_bytes()
        .get(end..)
        .unwrap_or(&[])
        .iter()
        .take_while(|b| b.is_ascii_whitespace())
        .filter(|&&b| b == b'\n')
        .count();
    before.iter().filter(|&&b| b == b'\n').count() + skipped + 1
}

#[derive(Default)]
struct Attrs {
    eax_in: Option<u32>,
    ecx_in: Option<u32>,
    regs: [Option<u32>; 4],
}

fn parse_cpuid_element(e: &BytesStart<'_>) -> Result<CpuidLeaf, String> {
    let mut a = Attrs::default();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| format!("bad attribute: {err}"))?;
        let key = attr.key.as_ref();
        let slot = match key {
            "eax_in" | "function" => &mut a.eax_in,
            "ecx_in" | "index" => &mut a.ecx_in,
            "eax" => &mut a.regs[0],
            "ebx" => &mut a.regs[1],
            "ecx" => &mut a.regs[2],
            "edx" => &mut a.regs[3],
            _ => continue,
        };
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| format!("{key}: {err}"))?;
        let value = value.trim();
        *slot = Some(
            parse_hex_u32(value)
                .ok_or_else(|| format!("{key}='{value}' is not a 32-bit hex number"))?,
        );
    }
    let leaf = a.eax_in.ok_or("missing attribute eax_in")?;
    let [eax, ebx, ecx, edx] = a.regs;
    let reg = |v: Option<u32>, name: &str| v.ok_or(format!("missing attribute {name}"));
    Ok(CpuidLeaf {
        leaf,
        subleaf: a.ecx_in.unwrap_or(0),
        eax: reg(eax, "eax")?,
        ebx: reg(ebx, "ebx")?,
        ecx: reg(ecx, "ecx")?,
        edx: reg(edx, "edx")?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{parse as parse_any, FORMAT_LIBVIRT_XML};

    #[test]
    fn reads_cpuid_and_ignores_msr() {
        let text = "<!-- x -->\n<cpudata arch='x86'>\n  \
            <cpuid eax_in='0x00000007' ecx_in='0x01' eax='0x00001c30' ebx='0x0' ecx='0x00000000' edx=\"0x00084000\"/>\n  \
            <msr index='0x10a' edx='0x00000000' eax='0x0000000b'/>\n</cpudata>\n";
        let d = parse_any(text.as_bytes()).unwrap();
        assert_eq!(d.format, FORMAT_LIBVIRT_XML);
        assert_eq!(d.leaves.len(), 1);
        let l = d.get(7, 1).unwrap();
        assert_eq!((l.eax, l.edx), (0x1c30, 0x84000));
    }

    #[test]
    fn old_attribute_names_and_default_subleaf() {
        let text = "<cpudata><cpuid function='0x00000001' eax='0x000606a0' ebx='0x1' ecx='0x2' edx='0x3'/></cpudata>";
        let d = parse_any(text.as_bytes()).unwrap();
        assert_eq!(d.get(1, 0).map(|l| l.eax), Some(0x606a0));
    }

    #[test]
    fn errors_name_the_line_and_the_attribute() {
        let text = "<cpudata arch='x86'>\n\n  <cpuid eax_in='0x00000001' ecx_in='0x00' eax='0x1' ecx='0x2' edx='0x3'/>\n</cpudata>";
        let err = parse_any(text.as_bytes()).unwrap_err();
        assert_eq!(err.0, "line 3: <cpuid>: missing attribute ebx");

        let text =
            "<cpudata>\n<cpuid eax_in='0x1' ecx_in='0x0' eax='0xzz' ebx='0' ecx='0' edx='0'/>";
        let err = parse_any(text.as_bytes()).unwrap_err();
        assert_eq!(
            err.0,
            "line 2: <cpuid>: eax='0xzz' is not a 32-bit hex number"
        );

        let err = parse_any(b"<cpudata>\n<cpuid eax_in='0x1' ecx_in=</cpudata>").unwrap_err();
        assert!(err.0.starts_with("line 2: <cpuid>: bad attribute"), "{err}");

        let err = parse_any(b"<cpudata>\n<cpuid eax_in='0x1'\n").unwrap_err();
        assert!(err.0.contains("malformed XML"), "{err}");

        let err = parse_any(b"<cpudata arch='x86'></cpudata>").unwrap_err();
        assert_eq!(err.0, "no CPUID leaves found in the libvirt-xml dump");
    }
}
