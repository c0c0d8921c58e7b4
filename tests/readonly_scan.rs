//! Scans are read-only: `scan` and `collect` write nothing but the outputs they were asked for.
//!
//! * strace (`-f -e trace=%file`) watches a live scan of `/` and a `--root` scan: every open
//!   for writing (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, creat) and every call that
//!   changes the filesystem (unlink, rename, mkdir, rmdir, link, symlink, chmod, chown,
//!   truncate, utimes, mknod, xattrs) must name a path inside the output directory, where
//!   the output writer (`output.rs`) creates its temporary file and renames it into place
//!   (relative to a descriptor of that directory: `strace -y` names it). Failed attempts
//!   count too. Needs Debian's `strace`.
//! * The fixture root bind-mounted read-only in a private mount namespace (`unshare -m` +
//!   `mount --bind -o ro`) gives the same snapshot as the writable tree. Needs root.
//!
//! Outside CI a missing tool or missing root skips loudly; under CI both are failures.

mod common;

use common::bounded::{kvmaudit, run_bounded};
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

/// Calls that change the filesystem whatever their flags.
const MUTATING: &[&str] = &[
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "mkdir",
    "mkdirat",
    "rmdir",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "chmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "lchown",
    "fchownat",
    "truncate",
    "utime",
    "utimes",
    "utimensat",
    "futimesat",
    "mknod",
    "mknodat",
    "setxattr",
    "lsetxattr",
    "removexattr",
    "lremovexattr",
    "creat",
];

const WRITE_FLAGS: &[&str] = &["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"];

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Skip loudly outside CI, fail under CI.
fn skip(why: &str) {
    if common::in_ci() {
        panic!("{why} (CI must provide it: see .ci/run)");
    }
    eprintln!("\n*** SKIPPING: {why} ***\n");
}

/// The quoted path arguments of one strace line (`"..."`, escapes left as strace prints them),
/// each with its byte offset in the line.
fn quoted(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = line[from..].find('"').map(|i| from + i) {
        let after = &line[start + 1..];
        let mut end = None;
        let b = after.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => {
                    end = Some(i);
                    break;
                }
                _ => i += 1,
            }
        }
        let Some(end) = end else { break };
        out.push((start, &after[..end]));
        from = start + 1 + end + 1;
    }
    out
}

/// A path argument made absolute: a relative one is resolved against the directory
/// descriptor before it, which `strace -y` prints as `3</tmp/out>` (the writer creates and
/// renames its temporary file relative to the output directory). Relative to the working
/// directory (`AT_FDCWD`), or with no directory known, it stays relative: not allowed.
fn absolute(line: &str, at: usize, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    let before = line[..at].trim_end().trim_end_matches(',').trim_end();
    match before.strip_suffix('>').and_then(|b| b.rsplit_once('<')) {
        Some((_, dir)) => format!("{dir}/{path}"),
        None => path.to_string(),
    }
}

/// Offending lines of an strace log: writes or changes outside `allowed_dir`.
fn writes_outside(trace: &str, allowed_dir: &Path) -> Vec<String> {
    let allowed = format!("{}/", allowed_dir.display());
    let mut bad = Vec::new();
    for line in trace.lines() {
        // "1234 openat(AT_FDCWD, \"/x\", O_RDONLY|O_CLOEXEC) = 3"
        let call = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.split('(').next())
            .unwrap_or("");
        let args = line.split_once('(').map(|(_, a)| a).unwrap_or("");
        let writes = match call {
            "open" | "openat" | "openat2" => WRITE_FLAGS.iter().any(|f| args.contains(f)),
            c => MUTATING.contains(&c),
        };
        if !writes {
            continue;
        }
        let paths: Vec<String> = quoted(line)
            .into_iter()
            .map(|(at, p)| absolute(line, at, p))
            .collect();
        if paths.is_empty() || paths.iter().any(|p| !p.starts_with(&allowed)) {
            bad.push(line.to_string());
        }
    }
    bad
}

/// Run kvmaudit under strace; returns the trace text. Exit 0 or 2 is success for a scan.
fn traced(out_dir: &Path, args: &[&str]) -> String {
    let trace = out_dir.parent().unwrap().join("trace.txt");
    let mut argv: Vec<String> = [
        "-f",
        "-qq",
        "-y",
        "-e",
        "trace=%file",
        "-o",
        trace.to_str().unwrap(),
        kvmaudit(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    argv.extend(args.iter().map(|s| s.to_string()));
    let r = run_bounded("strace", &argv, LIMIT);
    assert!(!r.timed_out, "strace kvmaudit {args:?} hung");
    assert!(
        matches!(r.code, Some(0) | Some(2)),
        "kvmaudit {args:?}: exit {:?}: {}",
        r.code,
        r.stderr
    );
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(
        text.contains("execve(") && text.lines().count() > 50,
        "strace recorded nothing useful:\n{text}"
    );
    text
}

fn check(out_dir: &Path, args: &[&str], expect_outputs: &[&str]) {
    let trace = traced(out_dir, args);
    let bad = writes_outside(&trace, out_dir);
    assert!(
        bad.is_empty(),
        "kvmaudit {args:?} wrote outside its outputs:\n{}",
        bad.join("\n")
    );
    // The requested outputs were written, through the output directory only.
    for o in expect_outputs {
        assert!(out_dir.join(o).is_file(), "{o} not written");
    }
    let names: Vec<String> = std::fs::read_dir(out_dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names.len(), expect_outputs.len(), "stray files: {names:?}");
}

#[test]
fn live_scan_and_collect_write_only_their_outputs() {
    if !common::require_tool("strace") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let report = out.join("report.json");
    check(
        &out,
        &["scan", "--json", report.to_str().unwrap()],
        &["report.json"],
    );
    let snap = out.join("snap.json");
    check(
        &out,
        &["collect", "-o", snap.to_str().unwrap()],
        &["report.json", "snap.json"],
    );
    // A scan of the snapshot reads only the snapshot (and writes only its report).
    let again = out.join("again.json");
    check(
        &out,
        &[
            "scan",
            "--snapshot",
            snap.to_str().unwrap(),
            "--json",
            again.to_str().unwrap(),
        ],
        &["report.json", "snap.json", "again.json"],
    );
}

#[test]
fn root_scan_writes_only_its_outputs() {
    if !common::require_tool("strace") {
        return;
    }
    let root = common::hosts::tree("icx-tuned");
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let report = out.join("r.json");
    let snap = out.join("s.json");
    let r = root.to_str().unwrap();
    check(
        &out,
        &["scan", "--root", r, "--json", report.to_str().unwrap()],
        &["r.json"],
    );
    check(
        &out,
        &["collect", "--root", r, "-o", snap.to_str().unwrap()],
        &["r.json", "s.json"],
    );
}

#[test]
fn read_only_bind_mounted_root_gives_the_same_snapshot() {
    if !is_root() {
        skip("a read-only bind mount needs root (unshare -m + mount --bind -o ro)");
        return;
    }
    if !common::require_tool("unshare") {
        return;
    }
    let tree = common::hosts::tree("icx-tuned");
    let t = tempfile::tempdir().unwrap();
    let mnt = t.path().join("ro");
    std::fs::create_dir(&mnt).unwrap();
    let ro_snap = t.path().join("ro.json");
    let rw_snap = t.path().join("rw.json");
    let ro_report = t.path().join("ro-report.json");
    // The mount exists only in the child's private namespace and vanishes with it.
    let script = format!(
        "set -e; mount --make-rprivate / ; mount --bind -o ro '{tree}' '{mnt}'; \
         if touch '{mnt}/.kvmaudit-probe' 2>/dev/null; then echo 'mount is writable' >&2; exit 99; fi; \
         '{bin}' collect --root '{mnt}' -o '{ro_snap}'; \
         rc=0; '{bin}' scan --root '{mnt}' --json '{ro_report}' >/dev/null || rc=$?; \
         [ $rc = 0 ] || [ $rc = 2 ]",
        tree = tree.display(),
        mnt = mnt.display(),
        bin = kvmaudit(),
        ro_snap = ro_snap.display(),
        ro_report = ro_report.display(),
    );
    let r = run_bounded("unshare", &["-m", "sh", "-c", &script], LIMIT);
    if r.code != Some(0) && r.stderr.contains("unshare failed") && !common::in_ci() {
        skip(&format!("no mount namespaces here: {}", r.stderr.trim()));
        return;
    }
    assert_eq!(r.code, Some(0), "read-only run: {}", r.stderr);
    let w = run_bounded(
        kvmaudit(),
        &[
            "collect",
            "--root",
            tree.to_str().unwrap(),
            "-o",
            rw_snap.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(w.code, Some(0), "{}", w.stderr);
    let norm = |p: &Path| {
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("collected_at");
        o.remove("source");
        v
    };
    assert_eq!(
        norm(&ro_snap),
        norm(&rw_snap),
        "a read-only root must give the same facts"
    );
    assert!(ro_report.is_file());
}

#[test]
fn the_trace_checker_catches_writes() {
    let dir = Path::new("/tmp/out");
    let trace = "\
1 openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC) = 3
1 openat(AT_FDCWD, \"/tmp/out/.kvmaudit-x\", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600) = 3
1 renameat(AT_FDCWD, \"/tmp/out/.kvmaudit-x\", AT_FDCWD, \"/tmp/out/r.json\") = 0
1 openat(AT_FDCWD, \"/sys/kernel/mm/ksm/run\", O_WRONLY) = -1 EACCES (Permission denied)
1 unlinkat(AT_FDCWD, \"/var/tmp/x\", 0) = 0
1 renameat(AT_FDCWD, \"/tmp/out/a\", AT_FDCWD, \"/etc/b\") = 0
1 mkdir(\"/tmp/outside\", 0777) = 0
1 openat(3</tmp/out>, \".kvmaudit-y\", O_WRONLY|O_CREAT|O_EXCL, 0666) = 4</tmp/out/.kvmaudit-y>
1 renameat(3</tmp/out>, \".kvmaudit-y\", 3</tmp/out>, \"r.json\") = 0
1 openat(3</etc>, \"passwd\", O_WRONLY) = 4</etc/passwd>
1 renameat(3</tmp/out>, \".kvmaudit-y\", 4</etc>, \"passwd\") = 0
1 unlinkat(AT_FDCWD, \"relative\", 0) = 0
";
    let bad = writes_outside(trace, dir);
    assert_eq!(bad.len(), 7, "{bad:#?}");
    assert!(bad[0].contains("ksm/run"));
}
