//! Rules are data plus code: every metadata entry has a check, every check has metadata, and
//! the ids are exactly the catalogue's master index.

mod common;

use common::catalogue::catalogue_ids;
use kvmaudit::rules::{meta, registry};
use std::collections::BTreeSet;

#[test]
fn every_embedded_file_parses() {
    for (name, text) in meta::files() {
        meta::parse_file(name, text).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn metadata_and_checks_match() {
    let metas: Vec<&str> = meta::catalogue().iter().map(|m| m.id.as_str()).collect();
    let checks: Vec<&str> = registry::check_ids();
    let m: BTreeSet<&str> = metas.iter().copied().collect();
    let c: BTreeSet<&str> = checks.iter().copied().collect();
    assert_eq!(m.len(), metas.len(), "duplicate metadata ids");
    assert_eq!(c.len(), checks.len(), "duplicate check ids");
    let no_check: Vec<_> = m.difference(&c).collect();
    let no_meta: Vec<_> = c.difference(&m).collect();
    assert!(
        no_check.is_empty(),
        "metadata without a check: {no_check:?}"
    );
    assert!(no_meta.is_empty(), "checks without metadata: {no_meta:?}");
    // The registry the engine iterates says the same, and pairs every rule with its check.
    assert_eq!(registry::mismatches(), Vec::<String>::new());
    let rules = registry::rules();
    assert_eq!(rules.len(), metas.len());
    for r in rules {
        assert!(r.check.is_some(), "{}: no check in the registry", r.id());
        assert!(std::ptr::eq(
            registry::find(r.id()).expect("find by id").meta,
            r.meta
        ));
    }
}

/// FNV-1a (64 bit) of the sorted ids, one per line: a fingerprint of the public rule ids.
fn fingerprint(ids: &BTreeSet<&str>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in ids.iter().flat_map(|id| id.bytes().chain([b'\n'])) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The ids are public (waivers, dashboards and saved reports name them): never renamed once
/// released. The 62 of the catalogue's master index (rules-catalogue.md §4) are pinned by their
/// fingerprint, not copied, so the catalogue stays the one place they are written. Adding a
/// rule changes the count and the fingerprint on purpose; renaming one must not happen.
#[test]
fn ids_are_the_catalogue_master_index() {
    const MASTER_INDEX_RULES: usize = 62;
    const MASTER_INDEX_FINGERPRINT: u64 = 8_556_286_062_064_719_696;
    let have: BTreeSet<&str> = catalogue_ids().iter().copied().collect();
    assert_eq!(have.len(), catalogue_ids().len(), "duplicate ids");
    for id in &have {
        let ok = id.split('.').count() >= 2
            && id.split('.').all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            });
        assert!(ok, "{id}: ids are lowercase dotted words");
    }
    assert_eq!(
        (have.len(), fingerprint(&have)),
        (MASTER_INDEX_RULES, MASTER_INDEX_FINGERPRINT),
        "the rule ids changed: {have:#?}"
    );
}

#[test]
fn the_fingerprint_sees_a_rename() {
    let ids: BTreeSet<&str> = catalogue_ids().iter().copied().collect();
    let mut renamed = ids.clone();
    renamed.remove("qemu.blk.cache");
    renamed.insert("qemu.blk.cache-mode");
    assert_ne!(fingerprint(&ids), fingerprint(&renamed));
}

#[test]
fn metadata_is_complete() {
    for m in meta::catalogue() {
        assert!(!m.title.trim().is_empty(), "{}: title", m.id);
        assert!(!m.section.trim().is_empty(), "{}: section", m.id);
        assert!(!m.rationale.trim().is_empty(), "{}: rationale", m.id);
        assert!(!m.evidence.is_empty(), "{}: evidence", m.id);
        assert!(!m.pass.trim().is_empty(), "{}: pass condition", m.id);
        assert!(
            !m.remediation.summary.trim().is_empty(),
            "{}: remediation",
            m.id
        );
        assert!(
            !m.remediation.disruption.trim().is_empty(),
            "{}: disruption",
            m.id
        );
        assert!(
            !m.remediation.rollback.trim().is_empty()
                || m.severity == kvmaudit::report::Severity::Info,
            "{}: rollback",
            m.id
        );
    }
}
