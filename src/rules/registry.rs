//! The one registry of rules: each entry of the catalogue (`rules/*.toml`, [`meta`]) joined
//! with the one check that judges it (each check module's `CHECKS` table, next to its code).
//! The engine iterates it, and the tests prove the join is one-to-one: every metadata entry
//! has exactly one check and every check exactly one metadata entry ([`mismatches`]).

use super::checks::{self, CheckFn};
use super::meta::{self, RuleMeta};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// A rule: its metadata and its check.
#[derive(Clone, Copy)]
pub struct Rule {
    pub meta: &'static RuleMeta,
    /// `None` only for metadata without code, which [`mismatches`] reports and the engine
    /// turns into `unknown` ("no check is implemented") rather than a silent pass.
    pub check: Option<CheckFn>,
}

impl Rule {
    pub fn id(&self) -> &'static str {
        &self.meta.id
    }
}

/// Every rule, in catalogue order.
pub fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let by_id: BTreeMap<&str, CheckFn> = checks::all().collect();
        meta::catalogue()
            .iter()
            .map(|m| Rule {
                meta: m,
                check: by_id.get(m.id.as_str()).copied(),
            })
            .collect()
    })
}

/// The rule with this exact id.
pub fn find(id: &str) -> Option<&'static Rule> {
    rules().iter().find(|r| r.meta.id == id)
}

/// The ids that have a check, in check-module order.
pub fn check_ids() -> Vec<&'static str> {
    checks::all().map(|(id, _)| id).collect()
}

/// What breaks the one-to-one join of metadata and checks, in words (empty when none does):
/// an id twice in the metadata or in the checks, metadata without a check, a check without
/// metadata.
pub fn mismatches() -> Vec<String> {
    let mut out = Vec::new();
    let mut metas = BTreeSet::new();
    for m in meta::catalogue() {
        if !metas.insert(m.id.as_str()) {
            out.push(format!("{}: twice in rules/*.toml", m.id));
        }
    }
    let mut with_check = BTreeSet::new();
    for id in check_ids() {
        if !with_check.insert(id) {
            out.push(format!("{id}: two checks"));
        }
    }
    for id in metas.difference(&with_check) {
        out.push(format!("{id}: metadata without a check"));
    }
    for id in with_check.difference(&metas) {
        out.push(format!("{id}: a check without metadata"));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_rule_has_exactly_one_check_and_metadata() {
        assert_eq!(super::mismatches(), Vec::<String>::new());
        assert!(super::rules().iter().all(|r| r.check.is_some()));
        assert_eq!(super::rules().len(), super::check_ids().len());
    }
}
