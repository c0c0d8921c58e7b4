//! The rule ids of the catalogue for the tests, taken from the embedded catalogue (the one
//! place they are written) instead of a copy; `rules_meta` pins them so that a rename is seen.
#![allow(dead_code)]

use std::sync::OnceLock;

/// Every rule id, in catalogue order (the order of `rules/*.toml`, guide order).
pub fn catalogue_ids() -> &'static [&'static str] {
    static IDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    IDS.get_or_init(|| {
        kvmaudit::vocab::catalogue::catalogue()
            .iter()
            .map(|r| r.id.as_str())
            .collect()
    })
}

/// The catalogue ids starting with `prefix` (e.g. "qemu.blk."), in catalogue order.
pub fn with_prefix(prefix: &str) -> Vec<&'static str> {
    catalogue_ids()
        .iter()
        .copied()
        .filter(|id| id.starts_with(prefix))
        .collect()
}

/// The ids from `first` to `last` inclusive, in catalogue order (a guide section's rules).
pub fn run(first: &str, last: &str) -> &'static [&'static str] {
    let ids = catalogue_ids();
    let pos = |id: &str| {
        ids.iter()
            .position(|c| *c == id)
            .unwrap_or_else(|| panic!("{id} is not a catalogue id"))
    };
    &ids[pos(first)..=pos(last)]
}
