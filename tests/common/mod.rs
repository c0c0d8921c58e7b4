//! Helpers shared by the integration tests.
#![allow(dead_code)]

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
pub mod bounded;
pub mod catalogue;
pub mod expected;
pub mod hosts;
pub mod libvirt_args;
