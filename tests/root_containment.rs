//! `--root DIR` never reads outside DIR, through any kind of read the collector does (file,
//! directory listing, symlink, process exe/cmdline/status/fd/fdinfo/task/maps), and reports
//! carry facts, not file dumps.
//!
//! Every escape route below points at a marker file outside the root (and at /etc/shadow):
//! absolute links, `..` links, links on intermediate directories, a whole `/proc/<pid>` that is a
//! link. The marker's content must appear in no snapshot, report, stdout or stderr.

mod common;

use common::bounded::{collect_root, kvmaudit, run_bounded, scan_root, LIMIT};
use serde_json::Value;
use std::os::unix::fs::symlink;
use std::path::Path;

const MARKER: &str = "KVMAUDIT-OUTSIDE-CONTENT-7f3a9c";

fn write(p: &Path, content: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

fn link(target: impl AsRef<Path>, at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    symlink(target, at).unwrap();
}

/// The outside world: files and directories that hold the marker in every format a reader
/// could accept (text, a NUL command line, a kernel config, a status file, a DMI-ish blob).
fn outside(dir: &Path) {
    write(&dir.join("marker.txt"), format!("{MARKER}\n").as_bytes());
    write(
        &dir.join("cmdline"),
        format!("/usr/bin/qemu-system-x86_64\0-name\0guest={MARKER}\0").as_bytes(),
    );
    write(
        &dir.join("config"),
        format!("CONFIG_{MARKER}=y\nCONFIG_HZ_1000=y\n").as_bytes(),
    );
    write(
        &dir.join("status"),
        format!("Name:\t{MARKER}\nState:\tS (sleeping)\nCpus_allowed_list:\t0-3\n").as_bytes(),
    );
    write(&dir.join("dir").join(format!("{MARKER}-entry")), b"x");
    write(
        &dir.join("dir/mm/ksm/run"),
        format!("{MARKER}\n").as_bytes(),
    );
    write(&dir.join("proc/cmdline"), format!("{MARKER}\n").as_bytes());
    write(
        &dir.join("pid/cmdline"),
        format!("/usr/bin/qemu-system-x86_64\0-name\0guest={MARKER}\0").as_bytes(),
    );
    link("/usr/bin/qemu-system-x86_64", &dir.join("pid/exe"));
    write(&dir.join("pid/status"), b"Name:\tqemu\n");
}

/// A host tree whose every interesting path escapes, by absolute or relative links.
fn hostile_root(root: &Path, out: &Path) {
    let o = out.display();
    // Files: absolute, `..`-relative (more `..` than the root is deep), and via /etc/shadow.
    link("/etc/shadow", &root.join("etc/hostname"));
    link("/etc/shadow", &root.join("proc/sys/kernel/hostname"));
    link(format!("{o}/marker.txt"), &root.join("etc/os-release"));
    link(
        format!("{}{}/marker.txt", "../".repeat(30), o),
        &root.join("etc/fstab"),
    );
    link(
        format!("{o}/marker.txt"),
        &root.join("proc/sys/kernel/osrelease"),
    );
    link(format!("{o}/config"), &root.join("proc/config.gz"));
    link(
        format!("{o}/marker.txt"),
        &root.join("sys/firmware/dmi/tables/DMI"),
    );
    link(
        format!("{o}/marker.txt"),
        &root.join("sys/firmware/dmi/tables/smbios_entry_point"),
    );
    // An intermediate directory that escapes: /proc as a whole, /sys/kernel, /etc/modprobe.d.
    link(format!("{o}/dir"), &root.join("sys/kernel"));
    link(
        format!("{}{}/dir", "../".repeat(12), o),
        &root.join("etc/modprobe.d"),
    );
    link(format!("{o}/dir"), &root.join("sys/module"));
    // Directory listings: a listed directory that is outside.
    link(format!("{o}/dir"), &root.join("sys/bus/pci/devices"));
    link(format!("{o}/dir"), &root.join("dev/vfio"));
    // Processes: a real-looking one whose files all escape, and a pid directory that is a link.
    let p = root.join("proc/4242");
    write(
        &p.join("cmdline"),
        b"/usr/bin/qemu-system-x86_64\0-name\0guest=inside\0-m\x001024\0",
    );
    link("/usr/bin/qemu-system-x86_64", &p.join("exe"));
    link(format!("{o}/status"), &p.join("status"));
    link(format!("{o}/dir"), &p.join("task"));
    link(format!("{o}/marker.txt"), &p.join("numa_maps"));
    link(
        format!("{}{}/marker.txt", "../".repeat(9), o),
        &p.join("mountinfo"),
    );
    link(format!("{o}/marker.txt"), &p.join("maps"));
    link(format!("{o}/marker.txt"), &p.join("fd/3"));
    link("/dev/net/tun", &p.join("fd/4"));
    link(format!("{o}/marker.txt"), &p.join("fdinfo/3"));
    link(format!("{o}/marker.txt"), &p.join("fdinfo/4"));
    let q = root.join("proc/4343");
    write(&q.join("status"), b"Name:\tqemu\n");
    link(format!("{o}/cmdline"), &q.join("cmdline"));
    link("/usr/bin/qemu-system-x86_64", &q.join("exe"));
    link(format!("{o}/pid"), &root.join("proc/4444"));
    link(
        format!("{}{}/pid", "../".repeat(5), o),
        &root.join("proc/4545"),
    );
}

/// Everything a scan printed or wrote, as one string.
fn all_output(parts: &[&[u8]]) -> String {
    parts
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first line of the real /etc/shadow, when this test may read it (as root).
fn shadow_line() -> Option<String> {
    let t = std::fs::read_to_string("/etc/shadow").ok()?;
    t.lines().find(|l| l.len() > 8).map(str::to_string)
}

#[test]
fn no_read_through_any_link_leaves_the_root() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let out = t.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    outside(&out);
    hostile_root(&root, &out);

    let snap_path = t.path().join("snap.json");
    let report_path = t.path().join("report.json");
    let r = collect_root(&root, &snap_path, LIMIT);
    r.assert_exit("collect", &[0]);
    let snap_bytes = std::fs::read(&snap_path).unwrap();
    let s = run_bounded(
        kvmaudit(),
        &[
            "scan",
            "--root",
            root.to_str().unwrap(),
            "--json",
            report_path.to_str().unwrap(),
            "--format",
            "json",
        ],
        LIMIT,
    );
    s.assert_exit("scan", &[0, 2]);
    let report_bytes = std::fs::read(&report_path).unwrap();
    let everything = all_output(&[
        &snap_bytes,
        &report_bytes,
        &s.stdout,
        s.stderr.as_bytes(),
        &r.stdout,
        r.stderr.as_bytes(),
    ]);
    assert!(
        !everything.contains(MARKER),
        "content from outside the root leaked: {}",
        everything
            .lines()
            .filter(|l| l.contains(MARKER))
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
    if let Some(line) = shadow_line() {
        assert!(!everything.contains(&line), "/etc/shadow leaked");
    }

    // And the reads did happen, inside: each escaping path is an error fact, not skipped.
    let snap: Value = serde_json::from_slice(&snap_bytes).unwrap();
    for p in [
        "/etc/hostname",
        "/etc/os-release",
        "/etc/fstab",
        "/proc/sys/kernel/osrelease",
    ] {
        assert_eq!(
            snap["files"][p]["error"]["kind"], "absent",
            "{p}: {}",
            snap["files"][p]
        );
    }
    assert_eq!(
        snap["dirs"]["/sys/bus/pci/devices"]["error"]["kind"],
        "absent"
    );
    assert_eq!(snap["kconfig"]["error"]["kind"], "absent");
    // The process whose own cmdline is inside is found; its escaping facts are errors; the
    // processes whose cmdline or whole directory is outside are not found at all.
    let vms = snap["qemu"]["value"].as_array().unwrap();
    let pids: Vec<u64> = vms.iter().filter_map(|v| v["pid"].as_u64()).collect();
    assert_eq!(pids, [4242]);
    let vm = &vms[0];
    for fact in ["status", "threads", "numa_maps", "mountinfo", "aio_rings"] {
        assert_eq!(vm[fact]["error"]["kind"], "absent", "{fact}: {}", vm[fact]);
    }
    // An fd link's target is the link's own text (inside the root); its fdinfo is not read.
    assert!(vm["fdinfo"]["value"].as_array().unwrap().is_empty());
}

/// A tree that is swapped while being read cannot make a read escape: a file replaced by a
/// link after resolution is refused by O_NOFOLLOW; this checks the simple static case of the
/// same guard (the final component is a link to outside, re-rooted, absent) on every fixture
/// path kind through the library API.
#[test]
fn library_reads_stay_inside() {
    use kvmaudit::collect::fsroot::FsRoot;
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let out = t.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    outside(&out);
    hostile_root(&root, &out);
    let fs = FsRoot::under(&root);
    for p in [
        "/etc/hostname",
        "/etc/fstab",
        "/proc/4242/numa_maps",
        "/proc/4444/cmdline",
    ] {
        assert!(fs.read_text(p, 4096).value().is_none(), "{p}");
    }
    for d in [
        "/sys/kernel",
        "/sys/kernel/mm/ksm",
        "/proc/4242/task",
        "/proc/4545",
    ] {
        assert!(fs.list_dir(d).value().is_none(), "{d}");
    }
    // Link targets are text; reading one never follows it.
    assert_eq!(
        fs.read_link("/proc/4242/fd/3").value().map(String::as_str),
        Some(format!("{}/marker.txt", out.display()).as_str())
    );
}

/// Reports carry facts, not file dumps: for every fixture host tree, no file of the tree
/// longer than a few lines (/proc/interrupts, /proc/cpuinfo, numa_maps, mountinfo, the kernel
/// config, ...) appears whole in the JSON report, and no string in the report is long enough
/// to be one.
#[test]
fn reports_carry_facts_not_file_dumps() {
    for tree in ["icx-tuned", "amd-epyc"] {
        let root = common::hosts::tree(tree);
        let r = scan_root(&root, LIMIT);
        r.assert_exit(tree, &[0, 2]);
        let report: Value = serde_json::from_slice(&r.stdout).unwrap();
        let mut strings = Vec::new();
        collect_strings(&report, &mut strings);
        let longest = strings.iter().map(|s| s.len()).max().unwrap_or(0);
        assert!(
            longest < 4096,
            "{tree}: a report string of {longest} bytes is a dump, not a fact"
        );
        let mut checked = 0;
        for f in files_under(&root) {
            let Ok(body) = std::fs::read_to_string(&f) else {
                continue;
            };
            let body = body.trim();
            if body.lines().count() < 4 || body.len() < 256 {
                continue;
            }
            checked += 1;
            assert!(
                !strings.iter().any(|s| s.contains(body)),
                "{tree}: the report holds the whole of {}",
                f.display()
            );
        }
        assert!(
            checked > 20,
            "{tree}: only {checked} multi-line files checked"
        );
        for must in ["proc/interrupts", "proc/cpuinfo"] {
            let body = std::fs::read_to_string(root.join(must)).unwrap();
            let line = body.lines().nth(1).unwrap();
            assert!(
                !strings.iter().any(|s| s.contains(line.trim())),
                "{tree}: {must} line in report"
            );
        }
    }
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                todo.push(e.path());
            } else if ft.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}
