//! CPU and node lists as the kernel prints them: `0-3,8,10-11`, empty, or `(null)`.

use crate::error::ParseError;
use std::collections::BTreeSet;

/// Upper bound for a list member; larger numbers are an error rather than a huge allocation.
const MAX_ID: u32 = 1 << 20;

/// Parse a list; `(null)` and empty mean the empty set.
pub fn parse(s: &str) -> Result<BTreeSet<u32>, ParseError> {
    let s = s.trim();
    let mut out = BTreeSet::new();
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
