//! A `--root` that is not a host tree is a mistake of the caller, not a host full of failures
//! (issue 12, "A --root that is not a host tree"): exit 1 with one line naming the directory.

fn scan_root(dir: &std::path::Path) -> std::process::Output {
    assert_cmd::Command::cargo_bin("kvmaudit")
        .unwrap()
        .args(["scan", "--root"])
        .arg(dir)
        .args(["--json", "-"])
        .output()
        .unwrap()
}

#[test]
fn an_empty_or_mistyped_root_exits_1_with_one_line() {
    let t = tempfile::tempdir().unwrap();
    // Empty, and holding only unrelated things (a typo landing on a home directory).
    std::fs::create_dir(t.path().join("docs")).unwrap();
    std::fs::write(t.path().join("notes.txt"), "x").unwrap();
    let out = scan_root(t.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(out.stdout.is_empty(), "no report for a non-tree");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("not a host tree"), "{err}");
    assert!(err.contains(&t.path().display().to_string()), "{err}");
}

#[test]
fn a_planted_link_to_proc_does_not_make_a_host_tree() {
    let t = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/proc", t.path().join("proc")).unwrap();
    let out = scan_root(t.path());
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_tree_with_only_sys_is_scanned() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("sys/devices/system/cpu")).unwrap();
    let out = scan_root(t.path());
    assert!(
        matches!(out.status.code(), Some(0) | Some(2)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
}
