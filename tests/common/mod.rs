//! Helpers shared by the integration tests.
#![allow(dead_code)]

use serde_json::Value;
use std::ffi::OsStr;
use std::path::PathBuf;

/// The repository root (where Cargo.toml is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path under `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    repo().join("fixtures").join(rel)
}

/// True when running under CI (the `CI` environment variable is set and not empty/"false").
pub fn in_ci() -> bool {
    matches!(std::env::var("CI"), Ok(v) if !v.is_empty() && v != "false" && v != "0")
}

/// Whether an external program is on PATH. Outside CI a missing program makes the caller skip,
/// loudly; under CI it is a test failure, because CI installs every tool the suite needs.
pub fn require_tool(name: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    if !found {
        if in_ci() {
            panic!("required tool `{name}` is not installed (CI must install it: see .ci/run)");
        }
        eprintln!("\n*** SKIPPING: `{name}` is not installed; install it (see .ci/run) to run this test ***\n");
    }
    found
}
/// `kvmaudit scan ARGS --json -`, which must not panic and must exit 0 (no failure) or 2:
/// its report and exit code.
pub fn scan_report_code<S: AsRef<OsStr>>(args: &[S]) -> (Value, i32) {
    let args: Vec<&OsStr> = args.iter().map(AsRef::as_ref).collect();
    let out = assert_cmd::Command::cargo_bin("kvmaudit")
        .unwrap()
        .arg("scan")
        .args(&args)
        .args(["--json", "-"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "panic for {args:?}: {err}");
    let code = out.status.code();
    assert!(
        matches!(code, Some(0) | Some(2)),
        "exit {code:?} for {args:?}: {err}"
    );
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report for {args:?} ({e}): {err}"));
    (report, code.unwrap())
}

/// The report of [`scan_report_code`].
pub fn scan_report<S: AsRef<OsStr>>(args: &[S]) -> Value {
    scan_report_code(args).0
}

pub mod bounded;
pub mod catalogue;
pub mod degraded;
pub mod expected;
pub mod hosts;
pub mod libvirt_args;
