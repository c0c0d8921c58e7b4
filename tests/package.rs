//! The crate package (`cargo package`, what `cargo install` and crates.io get): small, without
//! the fixture and test trees, and with every file the build embeds.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

/// `cargo package --list`: the files the crate package would hold.
fn package_list() -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(common::repo())
        .output()
        .expect("run cargo package --list");
    assert!(
        out.status.success(),
        "cargo package --list failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8 file list")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Every `include_str!`/`include_bytes!` path under src/, resolved against the repository root.
fn embedded_files() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut dirs = vec![common::repo().join("src")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for macro_name in ["include_str!(\"", "include_bytes!(\""] {
                for (i, _) in text.match_indices(macro_name) {
                    let rest = &text[i + macro_name.len()..];
                    let rel = &rest[..rest.find('"').unwrap()];
                    // Resolve `../..` against the including file's directory, lexically.
                    let mut parts: Vec<String> = p
                        .parent()
                        .unwrap()
                        .strip_prefix(common::repo())
                        .unwrap()
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect();
                    for c in rel.split('/') {
                        match c {
                            ".." => {
                                parts.pop();
                            }
                            "." => {}
                            c => parts.push(c.to_owned()),
                        }
                    }
                    out.insert(parts.join("/"));
                }
            }
        }
    }
    out
}

#[test]
fn package_is_small_and_holds_what_the_build_embeds() {
    let list = package_list();
    // 292,605 files before `include` (the fixtures): unpublishable, uninstallable. The
    // sources alone are ~320 files (one per rule and per fact); the bound catches a tree.
    assert!(list.len() < 500, "{} files in the package", list.len());
    let test_trees: Vec<_> = list
        .iter()
        .filter(|p| {
            p.starts_with("fixtures/")
                || p.starts_with("tests/")
                || p.starts_with("fuzz/")
                || p.starts_with("benches/")
        })
        .collect();
    assert!(test_trees.is_empty(), "test trees packaged: {test_trees:?}");

    let embedded = embedded_files();
    // The rule catalogue (12 files) and the five HTML report assets at least.
    assert!(embedded.len() >= 17, "include_str! scan found {embedded:?}");
    let missing: Vec<_> = embedded.difference(&list).collect();
    assert!(
        missing.is_empty(),
        "embedded by the build, not packaged: {missing:?}"
    );
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "LICENSE",
        "src/main.rs",
        "reports/schema/report-v1.schema.json",
        "contrib/systemd/kvmaudit.service",
        "contrib/systemd/kvmaudit.timer",
        "contrib/cron/kvmaudit",
    ] {
        assert!(list.contains(f), "{f} not packaged");
    }
}
