//! AIDA64 CPUID dumps, as InstLatx64 publishes them and as AIDA64's report writes them:
//!
//! ```text
//! ------[ Logical CPU #0 ]------
//! CPUID 00000000: 0000001B-756E6547-6C65746E-49656E69 [GenuineIntel]
//! CPUID 00000004: 3C004121-02C0003F-0000003F-00000000 [SL 00]
//!       CPUID 0000000D                       000002E7-00000A88-00000A88-00000000 [SL 00]
//! ```
//!
//! `[SL nn]` is the sub-leaf in **hex** (`[SL 0A]` occurs). Lines without it are sub-leaf 0, and a
//! repeated unlabelled leaf counts on from the last sub-leaf seen — a guess, because some dumps skip
//! sub-leaves, which is why an explicit label always wins. A new CPU starts at a
//! `Logical CPU #n` / `CPU #n` header or, in dumps without headers, at a second leaf-0 line.

use super::{parse_hex_u32, LeafSet};
use crate::error::ParseError;
use crate::snapshot::CpuidLeaf;

/// A line that can only come from an AIDA64-style dump.
pub(super) fn is_record(line: &str) -> bool {
    split_record(line).is_some_and(|(_, regs)| regs.split('-').count() == 4)
}

pub(super) fn parse(text: &str) -> Result<Vec<CpuidLeaf>, ParseError> {
    let mut set = LeafSet::default();
    for (idx, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if is_cpu_header(line) {
            if set.leaves.is_empty() {
                continue;
            }
            break;
        }
        let Some((leaf_token, rest)) = split_record(line) else {
            continue;
        };
        let lineno = idx + 1;
        let leaf = parse_hex_u32(leaf_token)
            .ok_or_else(|| ParseError::new(format!("line {lineno}: bad leaf `{leaf_token}`")))?;
        if leaf == 0 && set.contains_leaf(0) {
            // InstLatx64 files without headers list CPUs back to back, each from leaf 0.
            break;
        }
        let record = parse_record(leaf, rest, &set)
            .map_err(|msg| ParseError::new(format!("line {lineno}: {msg}")))?;
        set.push(record);
    }
    Ok(set.into_leaves())
}

/// `CPUID 0000000D: rest` or `CPUID 0000000D   rest` → ("0000000D", "rest"). Other lines that
/// start with "CPUID" (section titles, AIDA64's decoded summary) have no 8-digit hex leaf.
fn split_record(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix("CPUID")?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let rest = rest.trim_start();
    let end = rest.find([' ', '\t', ':']).unwrap_or(rest.len());
    let (leaf, after) = rest.split_at(end);
    if leaf.len() != 8 || !leaf.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let after = after.trim_start();
    let after = after.strip_prefix(':').unwrap_or(after).trim_start();
    Some((leaf, after))
}

fn parse_record(leaf: u32, rest: &str, set: &LeafSet) -> Result<CpuidLeaf, String> {
    let (regs_token, comment) = rest
        .split_once([' ', '\t'])
        .map_or((rest, ""), |(r, c)| (r, c.trim()));
    let regs = parse_registers(regs_token)?;
    let subleaf = match subleaf_label(comment)? {
        Some(sl) => sl,
        None => set.implicit_subleaf(leaf),
    };
    Ok(CpuidLeaf {
        leaf,
        subleaf,
        eax: regs[0],
        ebx: regs[1],
        ecx: regs[2],
        edx: regs[3],
    })
}

/// `AAAAAAAA-BBBBBBBB-CCCCCCCC-DDDDDDDD`.
fn parse_registers(token: &str) -> Result<[u32; 4], String> {
    let expected = || format!("expected EAX-EBX-ECX-EDX as 8-digit hex groups, found `{token}`");
    let mut regs = [0u32; 4];
    let mut parts = token.split('-');
    for slot in regs.iter_mut() {
        *slot = parts
            .next()
            .filter(|p| p.len() == 8)
            .and_then(parse_hex_u32)
            .ok_or_else(expected)?;
    }
    if parts.next().is_some() {
        return Err(expected());
    }
    Ok(regs)
}

/// The hex sub-leaf of an `[SL nn]` label, if the comment has one.
fn subleaf_label(comment: &str) -> Result<Option<u32>, String> {
    let Some(start) = comment.find("[SL") else {
        return Ok(None);
    };
    let label = comment.get(start + 3..).unwrap_or("");
    let value = label.split(']').next().unwrap_or("").trim();
    parse_hex_u32(value)
        .map(Some)
        .ok_or_else(|| format!("expected a hex sub-leaf in `[SL nn]`, found `[SL{label}`"))
}

/// `------[ Logical CPU #1 ]------`, `CPUID Registers (CPU #1):`, `CPU #1`.
fn is_cpu_header(line: &str) -> bool {
    let Some(pos) = line.find("CPU #") else {
        return false;
    };
    let before = line.get(..pos).unwrap_or("");
    let number_follows = line
        .get(pos + 5..)
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()));
    number_follows && (before.is_empty() || before.ends_with(['[', ' ', '(']))
}

#[cfg(test)]
mod tests {
    use super::super::{parse as parse_any, FORMAT_AIDA64};
    use super::*;

    #[test]
    fn explicit_hex_subleaf_wins_over_counting() {
        let text = "\
CPUID 00000000: 0000001B-756E6547-6C65746E-49656E69 [GenuineIntel]
CPUID 0000000D: 000002E7-00000A88-00000A88-00000000 [SL 00]
CPUID 0000000D: 0000000F-00000988-00000100-00000000 [SL 01]
CPUID 0000000D: 00000100-00000240-00000000-00000000 [SL 02]
CPUID 0000000D: 00000008-00000A80-00000000-00000000 [SL 09]
CPUID 0000000D: 00000008-00000A81-00000000-00000000 [SL 0A]
CPUID 0000000D: 00000008-00000A82-00000000-00000000 [SL 11]
";
        let d = parse_any(text.as_bytes()).unwrap();
        assert_eq!(d.format, FORMAT_AIDA64);
        assert_eq!(d.get(0xd, 9).map(|l| l.ebx), Some(0xa80));
        assert_eq!(d.get(0xd, 0xa).map(|l| l.ebx), Some(0xa81));
        assert_eq!(d.get(0xd, 0x11).map(|l| l.ebx), Some(0xa82));
        assert_eq!(d.get(0xd, 3), None, "skipped sub-leaves stay absent");
    }

    #[test]
    fn unlabelled_repeats_count_and_first_leaf0_repeat_ends_cpu0() {
        let text = "\
    CPUID 00000000: 00000016-756E6547-6C65746E-49656E69
    CPUID 0000000B: 00000001-00000002-00000100-00000000
    CPUID 0000000B: 00000004-00000004-00000201-00000000
    CPUID 00000000: 00000016-756E6547-6C65746E-49656E69
    CPUID 0000000B: 00000001-00000002-00000100-00000001
";
        let d = parse_any(text.as_bytes()).unwrap();
        assert_eq!(d.leaves.len(), 3);
        assert_eq!(d.get(0xb, 1).map(|l| l.eax), Some(4));
    }

    #[test]
    fn report_layout_without_colon_and_cpu_sections() {
        let text = "\
CPUID Registers (CPU #0):
      CPUID 00000000                                    0000000D-756E6547-6C65746E-49656E69 [GenuineIntel]
      CPUID 00000004                                    1C004121-01C0003F-0000003F-00000000 [SL 00]
      CPUID 00000004                                    1C004122-01C0003F-0000003F-00000000 [SL 01]

CPUID Registers (CPU #1):
      CPUID 00000000                                    0000000D-756E6547-6C65746E-49656E69 [GenuineIntel]
      CPUID 00000004                                    1C004121-01C0003F-0000003F-00000009 [SL 02]
";
        let d = parse_any(text.as_bytes()).unwrap();
        assert_eq!(d.leaves.len(), 3);
        assert_eq!(d.get(4, 1).map(|l| l.eax), Some(0x1c004122));
    }

    #[test]
    fn instlatx64_sections_and_msr_lines_are_skipped() {
        let text = "\
InstLatX64 some header
------[ Versions ]------
Program Version : 7.00.6700
------[ Logical CPU #0 ]------
allcpu: Package 0 / Core 0 / Thread 0: Valid
CPUID 00000000: 00000016-756E6547-6C65746E-49656E69 [GenuineIntel]
CPUID 00000001: 000906ED-00100800-7FFAFBBF-BFEBFBFF
------[ Logical CPU #1 ]------
CPUID 00000002: 76036301-00F0B5FF-00000000-00C30000
------[ MSR Registers ]------
MSR 00000017: 0004-0000-0000-0000 [PlatID = 1]
";
        let d = parse_any(text.as_bytes()).unwrap();
        assert_eq!(d.leaves.len(), 2);
        assert_eq!(d.get(1, 0).map(|l| l.eax), Some(0x000906ed));
    }

    #[test]
    fn malformed_record_lines_are_errors_with_line_numbers() {
        let text = "CPUID 00000000: 00000016-756E6547-6C65746E-49656E69\n\
                    CPUID 00000001: 000906ED-00100800-7FFAFBBF\n";
        // The second line has three groups, so detection still picks AIDA64 from line 1.
        let err = parse_any(text.as_bytes()).unwrap_err();
        assert!(
            err.0.starts_with("line 2: expected EAX-EBX-ECX-EDX"),
            "{err}"
        );

        let text = "CPUID 00000000: 00000016-756E6547-6C65746E-49656E69\n\
                    CPUID 00000004: 1C004121-01C0003F-0000003F-00000000 [SL zz]\n";
        let err = parse_any(text.as_bytes()).unwrap_err();
        assert!(
            err.0.starts_with("line 2: expected a hex sub-leaf"),
            "{err}"
        );
    }

    #[test]
    fn non_record_cpuid_lines_are_not_records() {
        assert!(split_record("CPUID Registers (CPU #0):").is_none());
        assert!(split_record("CPUID Manufacturer   GenuineIntel").is_none());
        assert!(split_record("CPUIDX 00000000: 1-2-3-4").is_none());
        assert!(is_cpu_header("------[ Logical CPU #3 ]------"));
        assert!(is_cpu_header("CPUID Registers (CPU #1):"));
        assert!(!is_cpu_header("------[ CPUID ]------"));
    }
}
