//! CPU and node lists as the kernel prints them: `0-3,8,10-11`, empty, or `(null)`.

use crate::error::ParseError;
use std::collections::BTreeSet;

/// Upper bound for a list member; larger numbers are an error rather than a huge allocation.
/// Linux's NR_CPUS tops out at 8192 (MAXSMP) and node ids at 1024: 65536 leaves room.
const MAX_ID: u32 = 1 << 16;

/// Members one list may name, counting repeats: `0-65536` repeated over a 64 KB sysfs file
/// would otherwise insert 400 million of them (minutes of CPU for one value).
const MAX_MEMBERS: u64 = 4 * (MAX_ID as u64 + 1);

/// Parse a list; `(null)` and empty mean the empty set.
pub fn parse(s: &str) -> Result<BTreeSet<u32>, ParseError> {
    let s = s.trim();
    let mut out = BTreeSet::new();
    let mut members: u64 = 0;
    if s.is_empty() || s == "(null)" {
        return Ok(out);
    }
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        // `0-31:2` (range with stride) is accepted by the kernel's bitmap parser.
        let (range, stride) = match part.split_once(':') {
            Some((r, st)) => (r, num(st, part)?.max(1)),
            None => (part, 1),
        };
        let (a, b) = match range.split_once('-') {
            Some((a, b)) => (num(a, part)?, num(b, part)?),
            None => {
                let v = num(range, part)?;
                (v, v)
            }
        };
        if a > b {
            return Err(ParseError::new(format!("descending range `{part}`")));
        }
        members += u64::from((b - a) / stride) + 1;
        if members > MAX_MEMBERS {
            return Err(ParseError::new(format!(
                "more than {MAX_MEMBERS} members (ranges repeat); not a CPU or node list"
            )));
        }
        out.extend((a..=b).step_by(stride as usize));
    }
    Ok(out)
}

fn num(s: &str, part: &str) -> Result<u32, ParseError> {
    let v: u32 = s
        .trim()
        .parse()
        .map_err(|_| ParseError::new(format!("bad number in `{part}`")))?;
    if v > MAX_ID {
        return Err(ParseError::new(format!("`{part}` is out of range")));
    }
    Ok(v)
}

/// Format a set back into the kernel's compact form.
pub fn format(set: &BTreeSet<u32>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut it = set.iter().copied().peekable();
    while let Some(start) = it.next() {
        let mut end = start;
        while it.peek() == Some(&(end + 1)) {
            end += 1;
            it.next();
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lists() {
        let s = parse("0-3,8,10-11\n").unwrap();
        assert_eq!(
            s.iter().copied().collect::<Vec<_>>(),
            [0, 1, 2, 3, 8, 10, 11]
        );
        assert_eq!(format(&s), "0-3,8,10-11");
        assert!(parse("(null)").unwrap().is_empty());
        assert!(parse("3-1").is_err());
        assert!(parse("x").is_err());
        assert!(parse("0-4294967295").is_err());
        assert!(parse("0-65537").is_err());
        assert_eq!(parse("0-8191").unwrap().len(), 8192);
        // Repeated large ranges are refused after a bounded amount of work.
        let t = std::time::Instant::now();
        assert!(parse(&"0-65535,".repeat(8000)).is_err());
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(parse("0-6:2").unwrap().len(), 4);
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = parse(&s);
        }
        #[test]
        fn roundtrip(v in proptest::collection::btree_set(0u32..512, 0..40)) {
            prop_assert_eq!(parse(&format(&v)).unwrap(), v);
        }
    }
}
