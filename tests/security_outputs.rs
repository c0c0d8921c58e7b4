//! Outputs never write through something planted at their path (issue 13, "Outputs").
//!
//! The attacks of the security review, replayed against every output flag: a symlink planted
//! in a world-writable sticky directory pointing at a root-owned 0600 file, a link to a block
//! device (a loop device over a scratch file, so nothing real is ever at risk), a FIFO (which
//! used to block the run forever), `--libvirt-xml` into a linked directory. And the modes: new
//! files honour the umask, a replaced file keeps its mode and owner; a write that fails or is
//! killed leaves no temporary file behind.
//!
//! Every run is bounded in time (a hang is a failure, not a stuck suite) and in address space.

mod common;

use common::bounded::{kvmaudit, run_bounded, Bounded};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// `kvmaudit ARGS` under `umask` and a 4 GiB address-space limit, bounded in time.
fn run_umask(umask: &str, args: &[&str]) -> Bounded {
    let script = format!("ulimit -v 4194304; umask {umask}; exec \"$0\" \"$@\"");
    let mut argv = vec!["-c", &script, kvmaudit()];
    argv.extend_from_slice(args);
    run_bounded("sh", &argv, LIMIT)
}

fn run(args: &[&str]) -> Bounded {
    run_umask("022", args)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A snapshot of a fixture host and a JSON report of it, the inputs of every output below.
struct Inputs {
    _dir: tempfile::TempDir,
    snap: PathBuf,
    report: PathBuf,
}

fn inputs() -> Inputs {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let report = dir.path().join("report.json");
    let root = common::fixture("hosts/icx-tuned");
    run(&["collect", "--root", s(&root), "-o", s(&snap)]).assert_exit("collect", &[0]);
    run(&["scan", "--snapshot", s(&snap), "--json", s(&report)]).assert_exit("scan", &[0, 2]);
    Inputs {
        _dir: dir,
        snap,
        report,
    }
}

/// Every way kvmaudit writes a file, each writing to `out`.
fn every_output(i: &Inputs, out: &Path) -> Vec<Vec<String>> {
    let (snap, report, out) = (s(&i.snap), s(&i.report), s(out));
    let fixture = common::fixture("hosts/icx-tuned");
    let root = s(&fixture);
    let mut all: Vec<Vec<&str>> = vec![
        vec!["scan", "--snapshot", snap, "--json", out],
        vec!["scan", "--snapshot", snap, "--html", out],
        vec!["scan", "--snapshot", snap, "--prom", out],
        vec!["scan", "--snapshot", snap, "--junit", out],
        vec!["collect", "--root", root, "-o", out],
        vec!["fix", "--generate-script", "--snapshot", snap, "-o", out],
        vec!["fix", "--generate-script", "--report", report, "-o", out],
    ];
    for flag in ["--json", "--csv", "--html", "--prom"] {
        all.push(vec!["fleet", report, flag, out]);
    }
    all.into_iter()
        .map(|a| a.into_iter().map(String::from).collect())
        .collect()
}

fn args(a: &[String]) -> Vec<&str> {
    a.iter().map(String::as_str).collect()
}

/// Exit 1, not hung, and one line on stderr that names `out` and says `why`.
fn assert_refused(r: &Bounded, a: &[String], out: &Path, why: &str) {
    assert!(!r.timed_out, "{a:?} hung");
    assert_eq!(r.code, Some(1), "{a:?}: {}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{a:?}: one line expected: {}", r.stderr);
    assert_eq!(
        lines[0],
        format!("kvmaudit: error: cannot write {}: {why}", out.display()),
        "{a:?}"
    );
}

/// Names in `dir` that start with a dot: temporary files left behind.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

/// The review's attack: root's cron job writes /tmp/report.json, a local user planted
/// /tmp/report.json -> /etc/shadow. The file behind the link is untouched and the run fails.
#[test]
fn a_link_planted_in_a_sticky_dir_is_not_followed() {
    let i = inputs();
    let t = tempfile::tempdir().unwrap();
    let victim_dir = t.path().join("etc");
    std::fs::create_dir(&victim_dir).unwrap();
    let victim = victim_dir.join("shadow");
    std::fs::write(&victim, "root:secret\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    let tmp = t.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let link = tmp.join("report.json");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    for a in every_output(&i, &link) {
        let r = run(&args(&a));
        assert_refused(
            &r,
            &a,
            &link,
            "is a symbolic link (kvmaudit does not write through links)",
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root:secret\n");
        let m = std::fs::metadata(&victim).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o600, "{a:?}");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(leftovers(&tmp), Vec::<String>::new(), "{a:?}");
        assert_eq!(leftovers(&victim_dir), Vec::<String>::new(), "{a:?}");
    }
}

/// A loop device over a scratch file, detached on drop.
struct Loop {
    dev: PathBuf,
    backing: PathBuf,
}

impl Loop {
    fn new(dir: &Path) -> Option<Loop> {
        if !is_root() || !common::require_tool("losetup") {
            return None;
        }
        let backing = dir.join("disk.img");
        std::fs::write(&backing, vec![0u8; 1 << 20]).unwrap();
        let out = std::process::Command::new("losetup")
            .args(["-f", "--show", s(&backing)])
            .output()
            .unwrap();
        if !out.status.success() {
            assert!(
                !common::in_ci(),
                "losetup failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
        let dev = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        Some(Loop { dev, backing })
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .arg("-d")
            .arg(&self.dev)
            .status();
    }
}

/// An output that is a block device, or a link to one, is refused and the device not
/// written. The device is a loop device over a scratch file; without root (or losetup) a
/// device node of our own making that no driver backs stands in (root only), never a real
/// disk.
#[test]
fn block_devices_and_links_to_them_are_refused() {
    let i = inputs();
    let t = tempfile::tempdir().unwrap();
    let lo = Loop::new(t.path());
    let dev = match &lo {
        Some(l) => l.dev.clone(),
        None => {
            if !is_root() {
                if common::in_ci() {
                    panic!("this test needs root (CI runs it as root)");
                }
                eprintln!("\n*** SKIPPING: block device outputs need root ***\n");
                return;
            }
            // Loop major 7, a minor no loop device uses: opening it fails (ENXIO).
            let node = t.path().join("blk");
            let c = std::ffi::CString::new(s(&node)).unwrap();
            // SAFETY: valid NUL-terminated path.
            let r =
                unsafe { libc::mknod(c.as_ptr(), libc::S_IFBLK | 0o600, libc::makedev(7, 250)) };
            assert_eq!(r, 0, "mknod: {}", std::io::Error::last_os_error());
            node
        }
    };
    let link = t.path().join("out.prom");
    std::os::unix::fs::symlink(&dev, &link).unwrap();
    let outs = every_output(&i, &dev);
    for a in outs.iter().take(3) {
        assert_refused(&run(&args(a)), a, &dev, "is a block device");
    }
    for a in every_output(&i, &link).iter().take(3) {
        assert_refused(
            &run(&args(a)),
            a,
            &link,
            "is a symbolic link (kvmaudit does not write through links)",
        );
    }
    assert!(std::fs::symlink_metadata(&dev)
        .unwrap()
        .file_type()
        .is_block_device());
    if let Some(l) = &lo {
        let data = std::fs::read(&l.backing).unwrap();
        assert!(data.iter().all(|&b| b == 0), "the loop device was written");
    }
}

/// A FIFO as output used to block the scan until someone read it; now it is refused at once,
/// as are a directory and any device but /dev/null. `-` and /dev/null still work.
#[test]
fn a_fifo_as_output_is_refused_without_hanging() {
    let i = inputs();
    let t = tempfile::tempdir().unwrap();
    let fifo = t.path().join("report.json");
    let c = std::ffi::CString::new(s(&fifo)).unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for a in every_output(&i, &fifo) {
        let r = run(&args(&a));
        assert!(r.wall < Duration::from_secs(30), "{a:?} took {:?}", r.wall);
        assert_refused(&r, &a, &fifo, "is a FIFO");
    }
    // A directory and a character device other than /dev/null are refused too.
    for (out, why) in [
        (t.path().to_path_buf(), "is a directory"),
        (PathBuf::from("/dev/zero"), "is a character device"),
    ] {
        let a: Vec<String> = ["scan", "--snapshot", s(&i.snap), "--json", s(&out)]
            .map(String::from)
            .to_vec();
        assert_refused(&run(&args(&a)), &a, &out, why);
    }
    stdout_and_dev_null_still_work(&i);
}

/// `-` is stdout and `/dev/null` is written in place (and stays a device).
fn stdout_and_dev_null_still_work(i: &Inputs) {
    let r = run(&["scan", "--snapshot", s(&i.snap), "--json", "-"]);
    r.assert_exit("--json -", &[0, 2]);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    for a in every_output(i, Path::new("/dev/null")) {
        let r = run(&args(&a));
        assert!(
            matches!(r.code, Some(0) | Some(2)),
            "{a:?}: {:?} {}",
            r.code,
            r.stderr
        );
        assert!(r.stderr.is_empty(), "{a:?}: {}", r.stderr);
    }
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
}

/// New files get 0666 less the umask (reports carry host detail); a file that is replaced
/// keeps its mode and its owner.
#[test]
fn new_files_honour_the_umask_and_replaced_files_keep_mode_and_owner() {
    let i = inputs();
    let t = tempfile::tempdir().unwrap();
    for (umask, mode) in [("077", 0o600), ("027", 0o640), ("022", 0o644)] {
        for (n, a) in every_output(&i, &t.path().join(format!("new-{umask}")))
            .iter()
            .enumerate()
        {
            let out = t.path().join(format!("new-{umask}-{n}"));
            let mut a = a.clone();
            *a.last_mut().unwrap() = s(&out).to_string();
            let r = run_umask(umask, &args(&a));
            assert!(matches!(r.code, Some(0) | Some(2)), "{a:?}: {}", r.stderr);
            let m = std::fs::metadata(&out).unwrap();
            assert_eq!(m.mode() & 0o7777, mode, "umask {umask}: {a:?}");
        }
    }
    let old = t.path().join("old.json");
    std::fs::write(&old, "old").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o640)).unwrap();
    let owner = if is_root() {
        std::os::unix::fs::chown(&old, Some(4321), Some(4322)).unwrap();
        (4321, 4322)
    } else {
        let m = std::fs::metadata(&old).unwrap();
        (m.uid(), m.gid())
    };
    for a in every_output(&i, &old) {
        let r = run_umask("000", &args(&a));
        assert!(matches!(r.code, Some(0) | Some(2)), "{a:?}: {}", r.stderr);
        let m = std::fs::metadata(&old).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o640, "{a:?}");
        assert_eq!((m.uid(), m.gid()), owner, "{a:?}");
        assert_ne!(std::fs::read(&old).unwrap(), b"old", "{a:?}: not replaced");
    }
    assert_eq!(leftovers(t.path()), Vec::<String>::new());
}

/// In a sticky directory a file owned by another user was planted there: replacing it while
/// keeping its owner would give that user our report, so it is refused (as the kernel's
/// `fs.protected_regular` refuses opening it).
#[test]
fn a_file_planted_by_another_user_in_a_sticky_dir_is_refused() {
    if !is_root() {
        assert!(
            !common::in_ci(),
            "this test needs root (CI runs it as root)"
        );
        eprintln!("\n*** SKIPPING: needs root ***\n");
        return;
    }
    let i = inputs();
    let t = tempfile::tempdir().unwrap();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let planted = t.path().join("report.json");
    std::fs::write(&planted, "mine").unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::os::unix::fs::chown(&planted, Some(4321), Some(4321)).unwrap();
    let a: Vec<String> = ["scan", "--snapshot", s(&i.snap), "--json", s(&planted)]
        .map(String::from)
        .to_vec();
    assert_refused(
        &run(&args(&a)),
        &a,
        &planted,
        "is owned by another user in a sticky directory (not replacing it)",
    );
    assert_eq!(std::fs::read_to_string(&planted).unwrap(), "mine");
}

/// `fix --libvirt-xml DIR` where DIR is a link to another directory writes nothing there.
#[test]
fn libvirt_xml_into_a_linked_directory_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let target = t.path().join("elsewhere");
    std::fs::create_dir(&target).unwrap();
    let link = t.path().join("xml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let root = common::fixture("hosts/icx-untuned");
    let script = t.path().join("fix.sh");
    let a: Vec<String> = [
        "fix",
        "--generate-script",
        "--root",
        s(&root),
        "--libvirt-xml",
        s(&link),
        "-o",
        s(&script),
    ]
    .map(String::from)
    .to_vec();
    assert_refused(
        &run(&args(&a)),
        &a,
        &link,
        "is a symbolic link (kvmaudit does not write through links)",
    );
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    // A directory that is not there yet is created, with the fragments in it.
    let fresh = t.path().join("new/xml");
    let mut a = a.clone();
    a[5] = s(&fresh).to_string();
    let r = run(&args(&a));
    r.assert_exit("--libvirt-xml new dir", &[0]);
    let mut names: Vec<String> = std::fs::read_dir(&fresh)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["app01.xml", "build01.xml", "scratch01.xml"]);
}

/// A write that fails (the file size limit, with SIGXFSZ ignored so write(2) says EFBIG) and a
/// write killed by SIGTERM, SIGINT or SIGHUP while in progress (strace holds the fsync so the
/// signal lands mid-write) leave no temporary file behind, and the old file stays whole.
#[test]
fn failed_and_killed_writes_leave_no_temporary_file() {
    let i = inputs();
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("report.json");
    std::fs::write(&out, "previous").unwrap();
    let script = "trap '' XFSZ; ulimit -f 4; exec \"$0\" \"$@\"";
    let r = run_bounded(
        "sh",
        &[
            "-c",
            script,
            kvmaudit(),
            "scan",
            "--snapshot",
            s(&i.snap),
            "--json",
            s(&out),
        ],
        LIMIT,
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("File too large"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous");
    assert_eq!(leftovers(t.path()), Vec::<String>::new());

    if !common::require_tool("strace") {
        return;
    }
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        killed_mid_write(&i, t.path(), &out, sig);
    }
}

fn killed_mid_write(i: &Inputs, dir: &Path, out: &Path, sig: i32) {
    // strace delays every fsync by 3 s: the temporary file exists, full, not yet renamed.
    let mut child = std::process::Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync"])
        .args(["-e", "inject=fsync:delay_enter=3000000", kvmaudit()])
        .args(["scan", "--snapshot", s(&i.snap), "--json", s(out)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while leftovers(dir).is_empty() {
        assert!(start.elapsed() < LIMIT, "no temporary file appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
    let children = format!("/proc/{0}/task/{0}/children", child.id());
    let pid: i32 = std::fs::read_to_string(children)
        .unwrap()
        .split_whitespace()
        .next()
        .expect("kvmaudit under strace")
        .parse()
        .unwrap();
    // SAFETY: pid is kvmaudit, the child of our strace child, still running (in its fsync).
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
    let status = child.wait().unwrap();
    assert!(!status.success(), "signal {sig}: kvmaudit finished anyway");
    assert_eq!(leftovers(dir), Vec::<String>::new(), "signal {sig}");
    assert_eq!(std::fs::read_to_string(out).unwrap(), "previous");
}
