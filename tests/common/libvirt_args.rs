//! libvirt 11.3.0's expected argv files (`fixtures/libvirt-args`, see SOURCE.md there) and
//! their MANIFEST.tsv, shared by the corpus tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `fixtures/libvirt-args`.
pub fn root() -> PathBuf {
    super::fixture("libvirt-args")
}

/// (relative path, tags) for every MANIFEST.tsv row.
pub fn manifest() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(root().join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut cols = l.split('\t');
            let path = cols.next().unwrap_or_default().to_string();
            let _wrapping = cols.next();
            let tags = cols
                .next()
                .unwrap_or_default()
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect();
            (path, tags)
        })
        .collect()
}

/// The bytes of one corpus file (a path relative to [`root`]).
pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}
