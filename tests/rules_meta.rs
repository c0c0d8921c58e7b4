//! Rules are data plus code: every metadata entry has a check, every check has metadata, and
//! the ids are exactly the catalogue's master index.

mod common;

use common::catalogue::CATALOGUE_IDS;
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

#[test]
fn ids_are_the_catalogue_master_index() {
    let want: BTreeSet<&str> = CATALOGUE_IDS.iter().copied().collect();
    assert_eq!(want.len(), 62);
    let have: BTreeSet<&str> = meta::catalogue().iter().map(|m| m.id.as_str()).collect();
    let missing: Vec<_> = want.difference(&have).collect();
    let extra: Vec<_> = have.difference(&want).collect();
    assert!(missing.is_empty(), "rules not implemented yet: {missing:?}");
    assert!(extra.is_empty(), "ids not in the catalogue: {extra:?}");
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
