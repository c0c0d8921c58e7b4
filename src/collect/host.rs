//! Walks [`super::paths::HOST_PATHS`] through an [`FsRoot`] into the snapshot's file, directory
//! and link maps.

use super::fsroot::FsRoot;
use super::paths::{is_pattern, matches, Kind, HOST_PATHS};
use crate::snapshot::{Fact, ReadError, ReadErrorKind};
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
                if !literal && fs.budget_spent() {
                    // Past the budget, a pattern's matches would each be recorded as "not
                    // read" (a million of them in a hostile tree): the listing they came from
                    // is marked unread instead, so they are unknown all the same.
                    facts.unlist(listed_dir(spec, &path));
                    continue;
                }
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

    /// Replace the listing of `dir` (when it is still a listing) with a budget error.
    fn unlist(&mut self, dir: &str) {
        if let Some(f) = self.dirs.get_mut(dir) {
            if f.value().is_some() {
                *f = Fact::Error(budget_spent());
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
                if fs.budget_spent() && listing.value().is_some() {
                    // Its entries would not be read: the listing is unknown from here on.
                    *listing = Fact::Error(budget_spent());
                }
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

fn budget_spent() -> ReadError {
    ReadError::new(
        ReadErrorKind::Budget,
        "entries not read: the scan budget of the --root tree is spent",
    )
}

/// The directory whose listing produced `path`: its components up to the last pattern
/// component of `spec`.
fn listed_dir<'a>(spec: &str, path: &'a str) -> &'a str {
    let comps: Vec<&str> = spec.split('/').filter(|c| !c.is_empty()).collect();
    let Some(last) = comps.iter().rposition(|c| is_pattern(c)) else {
        return path;
    };
    // `path` has one component per spec component; keep the first `last` of them.
    let mut end = 0;
    for _ in 0..last {
        match path[end + 1..].find('/') {
            Some(i) => end += 1 + i,
            None => return path,
        }
    }
    if end == 0 {
        "/"
    } else {
        &path[..end]
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn listed_dir_is_the_parent_of_the_last_pattern() {
        let f = super::listed_dir;
        assert_eq!(
            f(
                "/sys/devices/system/cpu/cpu%d/cpuidle/state%d/name",
                "/sys/devices/system/cpu/cpu3/cpuidle/state7/name"
            ),
            "/sys/devices/system/cpu/cpu3/cpuidle"
        );
        assert_eq!(
            f("/sys/class/net/*", "/sys/class/net/eth0"),
            "/sys/class/net"
        );
        assert_eq!(f("/*", "/x"), "/");
    }
}
