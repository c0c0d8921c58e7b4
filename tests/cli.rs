//! The command-line contract of design.md: exit codes, one-line errors, snapshot round trip.

mod common;

use assert_cmd::Command;
use serde_json::Value;

fn kvmaudit() -> Command {
    Command::cargo_bin("kvmaudit").unwrap()
}

/// Exit 1 with one line on stderr that names the file; no panic, no backtrace.
fn assert_one_line_error(args: &[&str], must_name: &str) {
    let out = kvmaudit()
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "args {args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "stderr was: {err}");
    assert!(
        err.contains(must_name),
        "stderr {err:?} does not name {must_name}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn missing_inputs_exit_1_naming_the_file() {
    for flag in [
        "--cpuid",
        "--dmi",
        "--kconfig",
        "--qemu-argv",
        "--domain-xml",
        "--snapshot",
    ] {
        assert_one_line_error(&["scan", flag, "/nonexistent/input"], "/nonexistent/input");
    }
}

#[test]
fn malformed_inputs_exit_1_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"\x00\x01\x02 this is not any supported format \xff").unwrap();
    let junk = junk.to_str().unwrap();
    for flag in [
        "--cpuid",
        "--dmi",
        "--kconfig",
        "--domain-xml",
        "--snapshot",
    ] {
        assert_one_line_error(&["scan", flag, junk], junk);
    }
    let empty = dir.path().join("empty.args");
    std::fs::write(&empty, b"").unwrap();
    assert_one_line_error(
        &["scan", "--qemu-argv", empty.to_str().unwrap()],
        "empty.args",
    );
}

#[test]
fn newer_snapshot_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("future.json");
    std::fs::write(&p, br#"{"schema_version": 99, "tool": "kvmaudit"}"#).unwrap();
    assert_one_line_error(&["scan", "--snapshot", p.to_str().unwrap()], "newer");
}

#[test]
fn bad_flags_exit_1_and_help_exits_0() {
    let out = kvmaudit()
        .args(["scan", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = kvmaudit()
        .args(["scan", "--profile", "fastest"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = kvmaudit().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for sub in ["scan", "collect", "fix", "rules", "explain", "fleet"] {
        assert!(help.contains(sub), "--help lacks {sub}");
    }
    let out = kvmaudit().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn root_and_snapshot_are_exclusive() {
    let out = kvmaudit()
        .args(["scan", "--root", "/", "--snapshot", "x.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

fn scan_json(args: &[&str]) -> Value {
    let out = kvmaudit()
        .args(args)
        .args(["--json", "-"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0) | Some(2)),
        "scan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("scan --json - prints JSON")
}

#[test]
fn collect_then_scan_snapshot_gives_the_live_host_block() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("host.json");
    let pids = |r: &Value| -> Vec<Value> {
        r["vms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["pid"].clone())
            .collect()
    };
    // Other processes (VMs started by other tests) may come and go between the two reads; the
    // comparison is only meaningful when both saw the same VMs, so retry a few times.
    for attempt in 0..5 {
        kvmaudit()
            .args(["collect", "-o", snap.to_str().unwrap()])
            .assert()
            .success();
        let live = scan_json(&["scan"]);
        let replay = scan_json(&["scan", "--snapshot", snap.to_str().unwrap()]);
        if pids(&live) != pids(&replay) && attempt < 4 {
            continue;
        }
        assert_eq!(live["host"], replay["host"]);
        assert_eq!(live["schema_version"], 1);
        assert_eq!(live["host"]["source"], "live");
        // The live host block carries real values from this machine.
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        assert_eq!(live["host"]["kernel"]["release"], release.trim());
        let threads = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
        let n = kvmaudit::parse::cpulist::parse(&threads).unwrap().len() as u64;
        assert_eq!(live["host"]["cpu"]["threads"], n);
        // Same verdicts, rule by rule (the rule set only reads the snapshot).
        assert_eq!(verdicts(&live), verdicts(&replay));
        return;
    }
}

fn verdicts(r: &Value) -> Vec<(String, String, String)> {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["target"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn collect_writes_nothing_else_and_is_valid_json() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("s.json");
    kvmaudit()
        .current_dir(dir.path())
        .args(["collect", "-o", "s.json"])
        .assert()
        .success();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["s.json"]);
    let v: Value = serde_json::from_slice(&std::fs::read(snap).unwrap()).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert!(v["files"]["/proc/cmdline"]["value"].is_string());
}
