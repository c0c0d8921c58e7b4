//! `/proc/PID/numa_maps`: one line per mapping, its policy and pages per node.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// One line of `/proc/PID/numa_maps`; the words borrow from the text (a QEMU has ~300
/// mappings, and copying each one's words was most of the cost of parsing them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vma<'t> {
    pub addr: &'t str,
    /// `default`, `bind:1`, `prefer:0`, `interleave:0-1`, `local`, ...
    pub policy: &'t str,
    /// Unescaped only when the kernel escaped something in it.
    pub file: Option<Cow<'t, str>>,
    pub huge: bool,
    pub heap: bool,
    pub stack: bool,
    /// Node → resident pages.
    pub nodes: BTreeMap<u32, u64>,
    pub page_kb: u64,
}

impl Vma<'_> {
    pub fn bytes(&self) -> u64 {
        self.nodes
            .values()
            .map(|p| p.saturating_mul(self.page_kb.saturating_mul(1024)))
            .fold(0u64, u64::saturating_add)
    }
    pub fn node_bytes(&self, node: u32) -> u64 {
        self.nodes
            .get(&node)
            .map_or(0, |p| p.saturating_mul(self.page_kb.saturating_mul(1024)))
    }
    /// Nodes of a `bind:`/`prefer:` policy.
    pub fn policy_nodes(&self, kind: &str) -> Option<BTreeSet<u32>> {
        let rest = self.policy.strip_prefix(kind)?.strip_prefix(':')?;
        super::cpulist::parse(rest).ok()
    }
}

/// The words of a numa_maps line, split as `str::split_whitespace` splits them. An ASCII line
/// without a vertical tab splits the same on ASCII whitespace, several times faster; numa_maps
/// is ASCII but for file names (the kernel escapes only whitespace and backslashes in them).
pub enum Words<'t> {
    Ascii(std::str::SplitAsciiWhitespace<'t>),
    Any(std::str::SplitWhitespace<'t>),
}

pub fn words(l: &str) -> Words<'_> {
    if l.is_ascii() && !l.contains('\x0b') {
        Words::Ascii(l.split_ascii_whitespace())
    } else {
        Words::Any(l.split_whitespace())
    }
}

#[cfg(test)]
pub fn parse_numa_maps(text: &str) -> Vec<Vma<'_>> {
    text.lines().filter_map(|l| parse_vma(words(l))).collect()
}

/// For a line [`parse_vma`] takes (two words or more), an upper bound of its `Vma::bytes()`
/// (a node named twice is counted twice here, once there), found without building the Vma.
pub fn bytes_bound<'t>(mut w: impl Iterator<Item = &'t str>) -> Option<u64> {
    w.next()?;
    w.next()?;
    let mut pages = 0u64;
    let mut page_kb = 4u64;
    // Only `N<node>=` and `kernelpagesize_kB=` count: other words (file=, anon=, dirty=,
    // mapped=, ...) are passed over on their first byte, without looking for the '='.
    for tok in w.filter(|t| matches!(t.as_bytes().first(), Some(b'N' | b'k'))) {
        let Some((k, val)) = tok.split_once('=') else {
            continue;
        };
        if k == "kernelpagesize_kB" {
            page_kb = val.parse().unwrap_or(4);
        } else if let Some(n) = k.strip_prefix('N') {
            if let (Ok(_), Ok(p)) = (n.parse::<u32>(), val.parse::<u64>()) {
                pages = pages.saturating_add(p);
            }
        }
    }
    Some(pages.saturating_mul(page_kb.saturating_mul(1024)))
}

pub fn parse_vma<'t>(mut w: impl Iterator<Item = &'t str>) -> Option<Vma<'t>> {
    let mut v = Vma {
        addr: w.next()?,
        policy: w.next()?,
        page_kb: 4,
        ..Vma::default()
    };
    for tok in w {
        match tok {
            "huge" => v.huge = true,
            "heap" => v.heap = true,
            "stack" => v.stack = true,
            _ => {
                let Some((k, val)) = tok.split_once('=') else {
                    continue;
                };
                if k == "file" {
                    // `unescape` changes nothing in a word without a backslash.
                    v.file = Some(if val.contains('\\') {
                        Cow::Owned(super::mounts::unescape(val))
                    } else {
                        Cow::Borrowed(val)
                    });
                } else if k == "kernelpagesize_kB" {
                    v.page_kb = val.parse().unwrap_or(4);
                } else if let Some(n) = k.strip_prefix('N') {
                    if let (Ok(n), Ok(p)) = (n.parse::<u32>(), val.parse::<u64>()) {
                        v.nodes.insert(n, p);
                    }
                }
            }
        }
    }
    Some(v)
}

impl<'t> Iterator for Words<'t> {
    type Item = &'t str;
    fn next(&mut self) -> Option<&'t str> {
        match self {
            Words::Ascii(w) => w.next(),
            Words::Any(w) => w.next(),
        }
    }
}
