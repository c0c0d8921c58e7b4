//! `cpuid -r` output of Todd Allen's `cpuid` tool (Debian/Fedora package `cpuid`):
//!
//! ```text
//! CPU 0:
//!    0x00000007 0x00: eax=0x00000000 ebx=0xf3bfffff ecx=0x40417f5e edx=0xbc000012
//! ```
//!
//! `cpuid -r -1` prints `CPU:` without a number. Every value is printed with a fixed width, so a
//! short value means a truncated file and is reported rather than read as a smaller number.

use super::{parse_hex_u32, LeafSet};
use crate::error::ParseError;
use crate::snapshot::CpuidLeaf;

const REGISTERS: [&str; 4] = ["eax", "ebx", "ecx", "edx"];

/// A line that can only come from `cpuid -r`.
pub(super) fn is_record(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("0x") && t.contains("eax=")
}

pub(super) fn parse(text: &str) -> Result<Vec<CpuidLeaf>, ParseError> {
    let mut set = LeafSet::default();
    for (idx, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if is_cpu_header(line) {
            if set.leaves.is_empty() {
                continue;
            }
            // The next CPU starts: CPU 0's leaves are complete.
            break;
        }
        if !(line.starts_with("0x") && line.contains(':')) {
            continue;
        }
        let lineno = idx + 1;
        let leaf = parse_record(line, &set)
            .map_err(|msg| ParseError::new(format!("line {lineno}: {msg}")))?;
        set.push(leaf);
    }
    Ok(set.into_leaves())
}

/// `CPU:` or `CPU 12:`.
fn is_cpu_header(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("CPU").and_then(|r| r.strip_suffix(':')) else {
        return false;
    };
    let n = rest.trim();
    n.bytes().all(|b| b.is_ascii_digit()) && (n.is_empty() || rest.starts_with(' '))
}

fn parse_record(line: &str, set: &LeafSet) -> Result<CpuidLeaf, String> {
    let (input, output) = line
        .split_once(':')
        .ok_or_else(|| "expected `0xLEAF 0xSUBLEAF:` before the registers".to_string())?;
    let (leaf, subleaf) = parse_input(input, set)?;
    let regs = parse_registers(output)?;
    Ok(CpuidLeaf {
        leaf,
        subleaf,
        eax: regs[0],
        ebx: regs[1],
        ecx: regs[2],
        edx: regs[3],
    })
}

/// `0x00000007 0x00`; very old `cpuid` versions printed no sub-leaf, so a missing one counts on.
fn parse_input(input: &str, set: &LeafSet) -> Result<(u32, u32), String> {
    let mut tokens = input.split_whitespace();
    let leaf = tokens
        .next()
        .filter(|t| t.len() == 10)
        .and_then(parse_hex_u32)
        .ok_or_else(|| format!("expected a leaf like 0x00000007, found `{}`", input.trim()))?;
    let subleaf = match tokens.next() {
        Some(t) if t.starts_with("0x") => {
            parse_hex_u32(t).ok_or_else(|| format!("expected a sub-leaf like 0x00, found `{t}`"))?
        }
        Some(t) => return Err(format!("expected a sub-leaf like 0x00, found `{t}`")),
        None => set.implicit_subleaf(leaf),
    };
    if let Some(extra) = tokens.next() {
        return Err(format!("unexpected `{extra}` before the registers"));
    }
    Ok((leaf, subleaf))
}

/// `eax=0x... ebx=0x... ecx=0x... edx=0x...`, in this order and nothing else.
fn parse_registers(output: &str) -> Result<[u32; 4], String> {
    let mut regs = [0u32; 4];
    let mut tokens = output.split_whitespace();
    for (slot, name) in regs.iter_mut().zip(REGISTERS) {
        let token = tokens.next().unwrap_or("");
        *slot = token
            .strip_prefix(name)
            .and_then(|v| v.strip_prefix('='))
            .filter(|v| v.len() == 10)
            .and_then(parse_hex_u32)
            .ok_or_else(|| match token {
                "" => format!("expected {name}=0x........, found end of line"),
                t => format!("expected {name}=0x........, found `{t}`"),
            })?;
    }
    if let Some(extra) = tokens.next() {
        return Err(format!("unexpected `{extra}` after edx"));
    }
    Ok(regs)
}

#[cfg(test)]
mod tests {
    use super::super::{parse as parse_any, FORMAT_CPUID_R};
    use super::*;

    const TWO_CPUS: &str = "\
CPU 0:
   0x00000000 0x00: eax=0x00000024 ebx=0x756e6547 ecx=0x6c65746e edx=0x49656e69
   0x00000001 0x00: eax=0x000a0671 ebx=0x00020800 ecx=0xfffa3203 edx=0x1f8bfbff
   0x00000004 0x01: eax=0x04000122 ebx=0x03c0003f ecx=0x0000003f edx=0x00000000
CPU 1:
   0x00000000 0x00: eax=0x00000024 ebx=0x756e6547 ecx=0x6c65746e edx=0x49656e69
   0x00000001 0x00: eax=0x000a0671 ebx=0x01020800 ecx=0xfffa3203 edx=0x1f8bfbff
";

    #[test]
    fn takes_only_the_first_cpu() {
        let d = parse_any(TWO_CPUS.as_bytes()).unwrap();
        assert_eq!(d.format, FORMAT_CPUID_R);
        assert_eq!(d.leaves.len(), 3);
        assert_eq!(d.get(1, 0).map(|l| l.ebx), Some(0x00020800));
        assert_eq!(d.get(4, 1).map(|l| l.eax), Some(0x04000122));
    }

    #[test]
    fn accepts_unnumbered_header_crlf_and_surrounding_noise() {
        let text = "$ cpuid -r -1\r\nCPU:\r\n   0x00000000 0x00: eax=0x00000001 ebx=0x756e6547 \
                    ecx=0x6c65746e edx=0x49656e69\r\nsome trailing note\r\n";
        let d = parse_any(text.as_bytes()).unwrap();
        assert_eq!(d.leaves.len(), 1);
        assert_eq!(d.get(0, 0).map(|l| l.edx), Some(0x49656e69));
    }

    #[test]
    fn missing_subleaf_counts_on() {
        let text =
            "   0x0000000d: eax=0x00000001 ebx=0x00000002 ecx=0x00000003 edx=0x00000004\n   \
                    0x0000000d: eax=0x00000005 ebx=0x00000006 ecx=0x00000007 edx=0x00000008\n";
        let d = parse_any(text.as_bytes()).unwrap();
        assert_eq!(d.get(0xd, 1).map(|l| l.eax), Some(5));
    }

    #[test]
    fn errors_name_the_line_and_the_register() {
        let text = "CPU 0:\n   0x00000000 0x00: eax=0x00000001 ebx=0x756e6547 ecx=0x6c65746e edx=0x49656e69\n   \
                    0x00000001 0x00: eax=0x00000001 ebx=0x0000 ecx=0x00000000 edx=0x00000000\n";
        let err = parse_any(text.as_bytes()).unwrap_err();
        assert_eq!(err.0, "line 3: expected ebx=0x........, found `ebx=0x0000`");

        let truncated = "CPU 0:\n   0x00000000 0x00: eax=0x00000001 ebx=0x756e6547 ecx=0x";
        let err = parse_any(truncated.as_bytes()).unwrap_err();
        assert!(err.0.starts_with("line 2: expected ecx="), "{err}");

        let bad_leaf =
            "   0x0007 0x00: eax=0x00000001 ebx=0x00000000 ecx=0x00000000 edx=0x00000000";
        let err = parse_any(bad_leaf.as_bytes()).unwrap_err();
        assert!(err.0.starts_with("line 1: expected a leaf"), "{err}");
    }

    #[test]
    fn cpu_header_shapes() {
        assert!(is_cpu_header("CPU:"));
        assert!(is_cpu_header("CPU 0:"));
        assert!(is_cpu_header("CPU 127:"));
        assert!(!is_cpu_header("CPU0:"));
        assert!(!is_cpu_header("CPU x:"));
        assert!(!is_cpu_header("CPUID:"));
    }
}
