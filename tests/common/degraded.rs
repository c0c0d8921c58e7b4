//! A real host tree that got worse: a copy of icx-tuned with one VM's disk made cache=unsafe
//! (a blocker) and mem-lock off, and the other VM's process files removed (its coverage
//! drops). Same host identity as icx-tuned, so drift, alert and baseline tests compare
//! like with like.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The degraded copy of icx-tuned: web01's disk becomes cache=unsafe (a blocker) without
/// mem-lock, and db01's process loses the files its placement rules read (its coverage drops).
pub fn degraded_tuned(dir: &Path) -> PathBuf {
    let root = dir.join("degraded");
    super::hosts::copy_tree(&super::hosts::tree("icx-tuned"), &root).unwrap();
    let mut seen = BTreeSet::new();
    for e in std::fs::read_dir(root.join("proc")).unwrap() {
        let p = e.unwrap().path();
        let Ok(cmd) = std::fs::read(p.join("cmdline")) else {
            continue;
        };
        let text = String::from_utf8_lossy(&cmd).into_owned();
        if text.contains("guest=web01") {
            let edited = text
                .replace(
                    "\"cache\":{\"direct\":true,\"no-flush\":false}",
                    "\"cache\":{\"direct\":false,\"no-flush\":true}",
                )
                .replace("-overcommit\0mem-lock=on", "-overcommit\0mem-lock=off");
            assert_ne!(edited, text, "the web01 fixture changed: update this edit");
            std::fs::write(p.join("cmdline"), edited).unwrap();
            seen.insert("web01");
        } else if text.contains("guest=db01") {
            for f in ["numa_maps", "status", "task", "fd", "fdinfo"] {
                let f = p.join(f);
                if f.is_dir() {
                    std::fs::remove_dir_all(&f).unwrap();
                } else {
                    std::fs::remove_file(&f).unwrap();
                }
            }
            seen.insert("db01");
        }
    }
    assert_eq!(seen.len(), 2, "icx-tuned's VMs changed: {seen:?}");
    root
}
