//! Walks [`super::paths::HOST_PATHS`] through an [`FsRoot`] into the snapshot's file, directory
//! and link maps.

use super::fsroot::FsRoot;
use super::paths::{is_pattern, matches, Kind, HOST_PATHS};
use crate::snapshot::{Fact, ReadErrorKind};
use std::collections::BTreeMap;

/// The generic part of a snapshot: path-keyed raw facts.
#[derive(Default)]
pub struct HostFacts {
    pub files: BTreeMap<String, Fact<String>>,
    pub dirs: BTreeMap<String, Fact<Vec<String>>>,
    pub links: BTreeMap<String, Fact<String>>,
}

impl HostFacts {
    pub fn collect(fs: &FsRoot) -> HostFacts {
        let mut facts = HostFacts::default();
        for (spec, kind) in HOST_PATHS {
            let literal = !spec.split('/').any(is_pattern);
            for path in facts.expand(fs, spec) {
                facts.record(fs, &path, *kind, literal);
            }
        }
        facts.trim_cpuinfo();
        facts
    }

    /// /proc/cpuinfo repeats one block per CPU (300 KB on a 224-CPU host); the rules need one.
    fn trim_cpuinfo(&mut self) {
        if let Some(Fact::Value(t)) = self.files.get_mut("/proc/cpuinfo") {
            if let Some(end) = t.find("\n\n") {
                t.truncate(end + 1);
            }
        }
    }

    /// Record one path; absent pattern matches are dropped (the directory listing tells).
    fn record(&mut self, fs: &FsRoot, path: &str, kind: Kind, literal: bool) {
        let keep = |k: Option<ReadErrorKind>| literal || k != Some(ReadErrorKind::Absent);
        match kind {
            Kind::File(max) => {
                if self.files.contains_key(path) {
                    return;
                }
                let f = fs.read_text(path, max);
                if keep(f.error().map(|e| e.kind)) {
                    self.files.insert(path.to_string(), f);
                }
            }
            Kind::Dir => {
                if !self.dirs.contains_key(path) {
                    let d = fs.list_dir(path);
                    self.dirs.insert(path.to_string(), d);
                }
            }
            Kind::Link => {
                if self.links.contains_key(path) {
                    return;
                }
                let l = fs.read_link(path);
                if keep(l.error().map(|e| e.kind)) {
                    self.links.insert(path.to_string(), l);
                }
            }
        }
    }

    /// Expand a pattern into existing host paths, recording every directory it lists so that
    /// "no entries" and "could not list" stay distinguishable later.
    fn expand(&mut self, fs: &FsRoot, spec: &str) -> Vec<String> {
        let mut prefixes = vec![String::new()];
        for comp in spec.split('/').filter(|c| !c.is_empty()) {
            if !is_pattern(comp) {
                for p in &mut prefixes {
                    p.push('/');
                    p.push_str(comp);
                }
                continue;
            }
            let mut next = Vec::new();
            for dir in &prefixes {
                let dir = if dir.is_empty() { "/" } else { dir.as_str() };
                let listing = self
                    .dirs
                    .entry(dir.to_string())
                    .or_insert_with(|| fs.list_dir(dir));
                if let Some(names) = listing.value() {
                    for n in names.iter().filter(|n| matches(comp, n)) {
                        next.push(format!("{}/{}", dir.trim_end_matches('/'), n));
                    }
                }
            }
            prefixes = next;
        }
        prefixes
    }
}
