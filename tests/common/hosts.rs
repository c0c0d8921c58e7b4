//! Fixture host trees (`fixtures/hosts/<name>`, see its README.md) and the helpers that turn
//! one into what an unprivileged scan sees on a real host.
//!
//! git keeps no file modes, so a tree's `RESTRICTED` file lists the root-only paths
//! (`0400 proc/2817/numa_maps`, `0700 proc/2817/fd`, ...). [`restricted_copy`] copies the tree
//! into a temporary directory (as root, so the copy is root-owned) and applies those modes;
//! kvmaudit then runs there as uid 65534 via `setpriv` ([`run_unprivileged`]).
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::Output;

/// The fixture host trees, in the order the README describes them.
pub const TREES: &[&str] = &[
    "icx-tuned",
    "icx-untuned",
    "amd-epyc",
    "kvm-guest",
    "icx-restricted",
    "icx-span",
    "icx-qemu82",
    "icx-virtual-host",
    "icx-rt-virtual-host",
    "icx-cpu-partitioning",
    "rhel9-stock",
    "ubuntu2204-cloud",
];

/// The uid/gid an unprivileged scan runs as ("nobody").
pub const NOBODY: u32 = 65534;

/// Path of a fixture host tree.
pub fn tree(name: &str) -> PathBuf {
    super::fixture("hosts").join(name)
}

/// Copy `src` to `dst` recursively; symlinks are recreated with the same target text (never
/// followed), regular files are copied, directories created.
pub fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    let mut entries: Vec<_> = std::fs::read_dir(src)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let from = e.path();
        let to = dst.join(e.file_name());
        let ft = std::fs::symlink_metadata(&from)?.file_type();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else if ft.is_dir() {
            copy_tree(&from, &to)?;
        } else {
            std::fs::copy(&from, &to)?;
        }
    }
    Ok(())
}

/// The `(mode, relative path)` pairs of a tree's `RESTRICTED` file.
pub fn restricted_entries(root: &Path) -> Vec<(u32, PathBuf)> {
    let text = std::fs::read_to_string(root.join("RESTRICTED"))
        .unwrap_or_else(|e| panic!("{}: no RESTRICTED file: {e}", root.display()));
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (mode, rel) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("bad RESTRICTED line {line:?}"));
        let mode = u32::from_str_radix(mode, 8)
            .unwrap_or_else(|_| panic!("bad mode in RESTRICTED line {line:?}"));
        let rel = PathBuf::from(rel.trim());
        assert!(
            rel.components().all(|c| matches!(c, Component::Normal(_))),
            "RESTRICTED paths must be relative and plain: {line:?}"
        );
        out.push((mode, rel));
    }
    out
}

/// Apply the modes of `root/RESTRICTED` inside `root`. Symlinks are refused: chmod would follow
/// them, possibly out of the tree.
pub fn apply_restricted(root: &Path) {
    for (mode, rel) in restricted_entries(root) {
        let p = root.join(&rel);
        let meta = std::fs::symlink_metadata(&p)
            .unwrap_or_else(|e| panic!("RESTRICTED names {}: {e}", rel.display()));
        assert!(
            !meta.file_type().is_symlink(),
            "RESTRICTED names a symlink: {}",
            rel.display()
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {:o} {}: {e}", mode, p.display()));
    }
}

/// A copy of tree `name` with its RESTRICTED modes applied, in a temporary directory that
/// uid 65534 can enter. Returns the guard and the copied tree's root. Run as root, so that the
/// copy is root-owned and the modes really lock `nobody` out.
pub fn restricted_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = tmp.path().join(name);
    copy_tree(&tree(name), &root).expect("copy fixture tree");
    apply_restricted(&root);
    (tmp, root)
}

/// Whether this process runs as root (needed to hand files to another uid and back).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Whether unprivileged-scan tests can run here. Outside CI a non-root run skips loudly;
/// under CI (which runs as root) not being root is a failure.
pub fn can_run_unprivileged() -> bool {
    if !is_root() {
        if super::in_ci() {
            panic!(
                "unprivileged-scan tests need root to drop to uid {NOBODY}, and CI runs as root"
            );
        }
        eprintln!(
            "\n*** SKIPPING: not root; run as root to check what kvmaudit sees as uid {NOBODY} ***\n"
        );
        return false;
    }
    super::require_tool("setpriv")
}

/// [`restricted_copy`] of tree `name` for a scan as uid 65534, or `None` where that scan cannot
/// run here (see [`can_run_unprivileged`]: skipped loudly outside CI, a failure in CI).
pub fn restricted_copy_for_nobody(name: &str) -> Option<(tempfile::TempDir, PathBuf)> {
    can_run_unprivileged().then(|| restricted_copy(name))
}

/// Run `bin args...` as uid/gid 65534 with no supplementary groups. `bin` is copied into
/// `tmp` first so that nobody can execute it whatever the permissions of the build directory.
pub fn run_unprivileged(tmp: &Path, bin: &Path, args: &[&str]) -> Output {
    let copy = tmp.join("kvmaudit-bin");
    if !copy.exists() {
        std::fs::copy(bin, &copy).expect("copy kvmaudit binary");
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::process::Command::new("setpriv")
        .arg(format!("--reuid={NOBODY}"))
        .arg(format!("--regid={NOBODY}"))
        .arg("--clear-groups")
        .arg(&copy)
        .args(args)
        .current_dir(tmp)
        .output()
        .expect("run setpriv")
}
