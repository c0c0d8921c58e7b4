use super::*;
use crate::fleet::model::{RuleText, SkipKind, Skipped};
use crate::report::sample;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

fn outcome(vms: usize, host: &str) -> Outcome {
    let mut spec = sample::Spec::new(7, host);
    spec.vms = vms;
    let mut r = sample::report(&spec);
    r.labels.insert("site".into(), "fra1".into());
    let bytes = serde_json::to_vec(&r).unwrap();
    crate::fleet::read::parse(Path::new("/r/x.json"), &bytes)
}

fn encoded(o: &Outcome) -> Vec<u8> {
    let mut e = codec::Enc::default();
    codec::encode(&mut e, o);
    e.0
}

#[test]
fn an_entry_decodes_to_what_was_rolled_up() {
    let mut host = outcome(3, "hv03");
    let h = host.as_mut().unwrap();
    assert!(h.vms.len() == 3 && !h.rules.is_empty() && !h.summary.labels.is_empty());
    // A rule worded as another kvmaudit version words it keeps its own words.
    h.rules[0].text = RuleText::Own(Box::new(["old.rule".into(), "Old".into(), "9.9".into()]));
    h.summary.blockers = vec!["VT-x is off".into()];
    let skipped: Outcome = Err(Skipped::new(
        Path::new("/r/x.json"),
        SkipKind::Foreign,
        "JSON, but not a kvmaudit report",
    ));
    for o in [host, skipped, outcome(0, "hv00")] {
        let back = codec::decode(Path::new("/r/x.json"), &encoded(&o)).unwrap();
        assert_eq!(back, o);
    }
}

#[test]
fn a_damaged_entry_is_not_cached_and_never_panics() {
    let o = outcome(2, "hv02");
    let bytes = encoded(&o);
    // Every cut is refused (the whole entry must be consumed); flipped bytes either are
    // refused or decode to something, never panic.
    for cut in 0..bytes.len() {
        assert!(
            codec::decode(Path::new("x"), &bytes[..cut]).is_err(),
            "cut {cut}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(codec::decode(Path::new("x"), &longer).is_err());
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut b = bytes.clone();
        let at = (seed % b.len() as u64) as usize;
        b[at] = (seed >> 32) as u8;
        let _ = codec::decode(Path::new("x"), &b);
    }
}

#[test]
fn only_what_the_bytes_decide_is_cached() {
    let c = Cache::empty(1_000_000);
    let old = FileId([1, 2, 3, 4, 5, 1_000_000 - 10, 0]);
    let fresh = FileId([1, 2, 3, 4, 5, 1_000_000 - 1, 0]);
    let host = outcome(1, "hv01");
    assert!(c.entry(Some(old), &host).is_some());
    // Changed within RACY_SECS of the run: its change time may not move on the next write.
    assert!(c.entry(Some(fresh), &host).is_none());
    assert!(c.entry(None, &host).is_none());
    let skip = |kind| Err(Skipped::new(Path::new("x"), kind, "why"));
    assert!(c.entry(Some(old), &skip(SkipKind::Corrupt)).is_some());
    assert!(c.entry(Some(old), &skip(SkipKind::Unreadable)).is_none());
    // Without --cache nothing is encoded at all.
    assert!(Cache::none(1_000_000).entry(Some(old), &host).is_none());
}

/// A cache file with one entry for `report`, as a run would write it.
fn write_cache(cache: &Path, report: &Path, o: &Outcome) {
    let meta = std::fs::metadata(report).unwrap();
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out).unwrap();
    let entry = encoded(o);
    w.add(report, FileId::of(&meta), &entry).unwrap();
    std::fs::write(cache, &out).unwrap();
    std::fs::set_permissions(cache, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A directory with a report file and a cache of one entry for it, the outcome of a sample
/// report of `vms` VMs on `host` (not what the file holds).
fn cached(vms: usize, host: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let report = d.path().join("hv.json");
    std::fs::write(&report, b"{}").unwrap();
    let cache = d.path().join("fleet.cache");
    write_cache(&cache, &report, &outcome(vms, host));
    (d, report, cache)
}

#[test]
fn an_unchanged_file_is_served_and_a_changed_one_is_read() {
    // The entry deliberately says something the file does not: a hit must come from it.
    let (d, report, cache) = cached(2, "hv02");
    let (c, why) = Cache::open(&cache, i64::MAX);
    assert_eq!((why, c.len()), (None, 1));
    let hit = c.lookup(&report).unwrap();
    assert!(hit.hit);
    assert_eq!(
        hit.outcome.unwrap().identity.hostname.as_deref(),
        Some("hv02")
    );
    // Same size, same modification time, new bytes: the change time moved.
    let mtime = std::fs::metadata(&report).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&report, b"[]").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&report)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert!(c.lookup(&report).is_none(), "a rewritten file was served");
    assert!(c.lookup(&d.path().join("other.json")).is_none());
}

#[test]
fn a_cache_someone_else_could_write_is_not_read() {
    let (d, report, cache) = cached(1, "hv01");
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (c, why) = Cache::open(&cache, i64::MAX);
    assert!(why.unwrap().contains("writable by group or others"));
    assert!(c.lookup(&report).is_none());

    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = d.path().join("link.cache");
    std::os::unix::fs::symlink(&cache, &link).unwrap();
    let (c, why) = Cache::open(&link, i64::MAX);
    assert_eq!(why.as_deref(), Some("it is a symbolic link"));
    assert!(c.is_empty());

    // No cache yet is no complaint.
    let (_, why) = Cache::open(&d.path().join("none.cache"), i64::MAX);
    assert_eq!(why, None);
}

#[test]
fn a_cut_or_foreign_cache_is_rebuilt() {
    let (_dir, _report, cache) = cached(1, "hv01");
    let whole = std::fs::read(&cache).unwrap();
    for cut in [5, MAGIC.len() + 3, whole.len() - 1, whole.len() - 30] {
        std::fs::write(&cache, &whole[..cut]).unwrap();
        let (c, why) = Cache::open(&cache, i64::MAX);
        assert!(
            why.unwrap().contains("not a kvmaudit fleet cache"),
            "cut {cut}"
        );
        assert!(c.is_empty());
    }
    let mut other = whole.clone();
    other[MAGIC.len() + 4] ^= 1; // another build's catalogue fingerprint
    std::fs::write(&cache, &other).unwrap();
    let (c, why) = Cache::open(&cache, i64::MAX);
    assert!(why.unwrap().contains("another kvmaudit version"));
    assert!(c.is_empty());
}
