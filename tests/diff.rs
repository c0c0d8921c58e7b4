//! `kvmaudit diff OLD NEW` and `kvmaudit fleet --baseline DIR` on real reports of fixture trees:
//! icx-tuned, the same host degraded (tests/common/degraded.rs) and icx-untuned (another host).

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kvmaudit() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("kvmaudit"))
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    let o = kvmaudit().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    o
}

/// `scan --root ROOT --json OUT`; OUT.
fn report(root: &Path, out: PathBuf) -> PathBuf {
    let o = run(&[
        "scan".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        "--json".as_ref(),
        out.as_os_str(),
    ]);
    assert!(matches!(o.status.code(), Some(0) | Some(2)), "{o:?}");
    out
}

struct Reports {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    tuned: PathBuf,
    degraded: PathBuf,
    untuned: PathBuf,
    degraded_root: PathBuf,
}

fn reports() -> Reports {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let degraded_root = common::degraded::degraded_tuned(&dir);
    Reports {
        tuned: report(&common::hosts::tree("icx-tuned"), dir.join("tuned.json")),
        degraded: report(&degraded_root, dir.join("degraded.json")),
        untuned: report(
            &common::hosts::tree("icx-untuned"),
            dir.join("untuned.json"),
        ),
        degraded_root,
        dir,
        _tmp: tmp,
    }
}

fn diff_json(old: &Path, new: &Path, extra: &[&str]) -> (Value, i32) {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "diff".as_ref(),
        old.as_os_str(),
        new.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    let o = run(&args);
    let code = o.status.code().unwrap();
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    (v, code)
}

fn target<'a>(d: &'a Value, t: &str) -> &'a Value {
    d["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["target"] == t)
        .unwrap_or_else(|| panic!("no target {t} in {d:#}"))
}

fn changed<'a>(d: &'a Value, t: &str, rule: &str) -> &'a Value {
    target(d, t)["changed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"] == rule)
        .unwrap_or_else(|| panic!("{rule} did not change on {t}"))
}

#[test]
fn a_degraded_host_regresses_and_the_repair_does_not() {
    let r = reports();
    let (d, code) = diff_json(&r.tuned, &r.degraded, &[]);
    assert_eq!(code, 2, "{d:#}");
    assert_eq!(d["kind"], "kvmaudit-diff");
    assert_eq!(d["regressed"], true);
    // The disk made cache=unsafe: pass -> fail, worse; a blocker appeared.
    let cache = changed(&d, "vm:web01/drive:virtio-disk0", "qemu.blk.cache");
    assert_eq!(cache["old_status"], "pass");
    assert_eq!(cache["new_status"], "fail");
    assert_eq!(cache["worse"], true);
    assert_eq!(d["blockers"]["old"], 0.0);
    assert_eq!(d["blockers"]["new"], 1.0);
    // Score and coverage deltas are the reports' own numbers.
    let old: Value = serde_json::from_slice(&std::fs::read(&r.tuned).unwrap()).unwrap();
    let new: Value = serde_json::from_slice(&std::fs::read(&r.degraded).unwrap()).unwrap();
    for (k, json) in [("score", "value"), ("coverage", "coverage")] {
        assert_eq!(d[k]["old"], old["score"][json]);
        assert_eq!(d[k]["new"], new["score"][json]);
        let delta = new["score"][json].as_f64().unwrap() - old["score"][json].as_f64().unwrap();
        assert!(
            (d[k]["delta"].as_f64().unwrap() - delta).abs() < 1e-9,
            "{k}"
        );
        assert!(delta < 0.0, "{k} should drop on the degraded tree");
    }
    // The VM whose process files vanished: its coverage dropped, and the reasons say so.
    let db = target(&d, "vm:db01");
    assert!(db["coverage"]["delta"].as_f64().unwrap() < -0.1, "{db:#}");
    let why: Vec<&str> = d["regressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(
        why.iter().any(|w| w.starts_with("coverage of vm:db01: ")),
        "{why:?}"
    );
    assert!(
        why.iter()
            .any(|w| w.starts_with("qemu.blk.cache on vm:web01/drive:virtio-disk0: pass → fail")),
        "{why:?}"
    );
    assert_eq!(
        why.iter()
            .filter(|w| w.starts_with("score of vm:web01"))
            .count(),
        1,
        "{why:?}"
    );

    // The repair: the same changes backwards are improvements only.
    let (back, code) = diff_json(&r.degraded, &r.tuned, &[]);
    assert_eq!(code, 0, "{back:#}");
    assert_eq!(back["regressed"], false);
    assert!(back["regressions"].as_array().unwrap().is_empty());
    let cache = changed(&back, "vm:web01/drive:virtio-disk0", "qemu.blk.cache");
    assert_eq!(cache["new_status"], "pass");
    assert_eq!(cache["worse"], false);

    // A report against itself: nothing changed at all.
    let (same, code) = diff_json(&r.tuned, &r.tuned, &[]);
    assert_eq!(code, 0);
    assert!(same["targets"].as_array().unwrap().is_empty(), "{same:#}");
    assert_eq!(same["score"]["delta"], 0.0);

    // The table says the same, and exits the same.
    let o = run(&["diff".as_ref(), r.tuned.as_os_str(), r.degraded.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(table.contains("REGRESSED ("), "{table}");
    assert!(table.contains("! qemu.blk.cache"), "{table}");
    assert!(table.contains("pass → fail"), "{table}");
}

#[test]
fn another_host_is_refused_unless_any_host() {
    let r = reports();
    let o = run(&["diff".as_ref(), r.tuned.as_os_str(), r.untuned.as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("different hosts") && err.contains("hv-icx01 ≠ hv-icx02"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
    let (d, code) = diff_json(&r.tuned, &r.untuned, &["--any-host"]);
    assert_eq!(code, 2);
    assert!(!d["identity_differences"].as_array().unwrap().is_empty());
    assert!(d["host_score"]["delta"].as_f64().unwrap() < -5.0);
}

#[test]
fn snapshots_are_evaluated_and_other_files_refused() {
    let r = reports();
    let snap = r.dir.join("degraded.snapshot.json");
    let o = run(&[
        "collect".as_ref(),
        "--root".as_ref(),
        r.degraded_root.as_os_str(),
        "-o".as_ref(),
        snap.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    // The snapshot of the degraded tree against the tuned report: the same regression.
    let (d, code) = diff_json(&r.tuned, &snap, &[]);
    assert_eq!(code, 2);
    assert_eq!(d["new"]["kind"], "snapshot");
    assert_eq!(d["old"]["kind"], "report");
    assert_eq!(
        changed(&d, "vm:web01/drive:virtio-disk0", "qemu.blk.cache")["new_status"],
        "fail"
    );
    // The snapshot against the report of the same tree: no finding changed.
    let (same, code) = diff_json(&snap, &r.degraded, &[]);
    assert_eq!(code, 0, "{same:#}");
    assert!(same["targets"].as_array().unwrap().is_empty(), "{same:#}");

    // Not a report: exit 1, naming the file and what it is.
    let fleet = r.dir.join("fleet.json");
    let o = run(&[
        "fleet".as_ref(),
        r.tuned.as_os_str(),
        "--json".as_ref(),
        fleet.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let junk = r.dir.join("junk.json");
    std::fs::write(&junk, b"{\"tool\": 3}").unwrap();
    for (bad, says) in [
        (&fleet, "fleet roll-up"),
        (&junk, "not a kvmaudit JSON report"),
    ] {
        let o = run(&["diff".as_ref(), r.tuned.as_os_str(), bad.as_os_str()]);
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(says) && err.contains(&*bad.to_string_lossy()),
            "{err}"
        );
    }
}

#[test]
fn fleet_baseline_marks_the_host_that_regressed() {
    let r = reports();
    let (base, now) = (r.dir.join("base"), r.dir.join("now"));
    for (d, files) in [
        (&base, [&r.tuned, &r.untuned]),
        (&now, [&r.degraded, &r.untuned]),
    ] {
        std::fs::create_dir(d).unwrap();
        for f in files {
            std::fs::copy(f, d.join(f.file_name().unwrap())).unwrap();
        }
    }
    let o = run(&[
        "fleet".as_ref(),
        now.as_os_str(),
        "--baseline".as_ref(),
        base.as_os_str(),
        "--json".as_ref(),
        "-".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let b = &v["baseline"];
    assert_eq!(b["baseline_hosts"], 2);
    let reg = b["regressed"].as_array().unwrap();
    assert_eq!(reg.len(), 1, "{b:#}");
    assert_eq!(reg[0]["host"], "hv-icx01");
    assert_eq!(
        reg[0]["smbios_uuid"],
        "4d2c1b3f-6f5e-8047-9a1b-2c3d4e5f6071"
    );
    let why: Vec<&str> = reg[0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(
        why.iter()
            .any(|w| w.starts_with("newly failing: ") && w.contains("qemu.blk.cache")),
        "{why:?}"
    );
    assert!(why.contains(&"blockers 0 → 1"), "{why:?}");
    assert!(b["new_hosts"].as_array().unwrap().is_empty());
    assert!(b["missing_hosts"].as_array().unwrap().is_empty());
    // The roll-up itself is unchanged by --baseline.
    assert_eq!(v["summary"]["hosts"], 2);

    // The table marks it too; against itself nothing regressed (exit 0).
    let o = run(&[
        "fleet".as_ref(),
        now.as_os_str(),
        "--baseline".as_ref(),
        now.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let t = String::from_utf8(o.stdout).unwrap();
    assert!(
        t.contains("Since the baseline (2 host(s)") && t.contains(": 0 regressed"),
        "{t}"
    );
    let o = run(&[
        "fleet".as_ref(),
        now.as_os_str(),
        "--baseline".as_ref(),
        base.as_os_str(),
    ]);
    let t = String::from_utf8(o.stdout).unwrap();
    assert!(t.contains("REGRESSED hv-icx01: "), "{t}");

    // A host only in the baseline is missing; one only now is new.
    let (only_tuned, only_untuned) = (r.dir.join("only-tuned"), r.dir.join("only-untuned"));
    std::fs::create_dir(&only_tuned).unwrap();
    std::fs::create_dir(&only_untuned).unwrap();
    std::fs::copy(&r.tuned, only_tuned.join("a.json")).unwrap();
    std::fs::copy(&r.untuned, only_untuned.join("b.json")).unwrap();
    let o = run(&[
        "fleet".as_ref(),
        only_untuned.as_os_str(),
        "--baseline".as_ref(),
        only_tuned.as_os_str(),
        "--json".as_ref(),
        "-".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["baseline"]["new_hosts"][0], "hv-icx02");
    assert_eq!(v["baseline"]["missing_hosts"][0], "hv-icx01");
    // An empty baseline is bad input.
    let empty = r.dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = run(&[
        "fleet".as_ref(),
        now.as_os_str(),
        "--baseline".as_ref(),
        empty.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1));
}
