//! `--root` budgets (issue 13): trees that name one file or directory many times finish
//! quickly, in bounded memory, with one note saying the budget limited the scan.

mod common;

use common::bounded::*;
use serde_json::Value;
use std::os::unix::fs::symlink;
use std::path::Path;

const MIB: u64 = 1024;

fn notes(r: &Bounded) -> Vec<String> {
    let v: Value = serde_json::from_slice(&r.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {}", r.stderr));
    v["notes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn budget_notes(r: &Bounded) -> Vec<String> {
    notes(r)
        .into_iter()
        .filter(|n| n.contains("scan budget") || n.contains("not walked again"))
        .collect()
}

/// One QEMU process with a `numa_maps` of `size` bytes, and `links` more pids linking to it.
fn numa_fan_out(root: &Path, size: usize, links: u32) {
    let d = root.join("proc/100");
    std::fs::create_dir_all(d.join("task/100")).unwrap();
    std::fs::write(
        d.join("cmdline"),
        b"/usr/bin/qemu-system-x86_64\0-name\0guest=vm0\0-m\x002048\0",
    )
    .unwrap();
    let status = "Name:\tqemu-system-x86\nState:\tS (sleeping)\nThreads:\t1\n";
    std::fs::write(d.join("status"), status).unwrap();
    std::fs::write(d.join("task/100/status"), status).unwrap();
    symlink("/usr/bin/qemu-system-x86_64", d.join("exe")).unwrap();
    let line = "7f0000000000 default anon=1 dirty=1 N0=1 kernelpagesize_kB=4\n";
    std::fs::write(d.join("numa_maps"), line.repeat(size / line.len())).unwrap();
    for pid in 101..101 + links {
        symlink("100", root.join(format!("proc/{pid}"))).unwrap();
    }
}

/// One directory with the six files of an idle state.
fn state_dir(root: &Path) {
    let s = root.join("sys/shared/state");
    std::fs::create_dir_all(&s).unwrap();
    for (f, v) in [
        ("name", "C1"),
        ("disable", "0"),
        ("default_status", "enabled"),
        ("usage", "1"),
        ("time", "1"),
        ("latency", "2"),
    ] {
        std::fs::write(s.join(f), format!("{v}\n")).unwrap();
    }
}

/// 200 links to one 4 MB numa_maps needed 800 MB (400 links to 16 MB: more than 3 GiB).
#[test]
fn links_to_one_large_file_are_not_read_without_bound() {
    let t = tempfile::tempdir().unwrap();
    numa_fan_out(t.path(), 4 * 1024 * 1024, 200);
    let r = scan_root(t.path(), LIMIT);
    r.assert_exit("scan", &[0, 2]);
    r.assert_peak_below("scan", 250 * MIB);
    let b = budget_notes(&r);
    assert_eq!(b.len(), 1, "{:?}", notes(&r));
    assert!(
        b[0].contains("scan budget of the --root tree was spent"),
        "{b:?}"
    );
    eprintln!("numa fan-out: {}", r.cost());
}

/// 1,000 cpuN/cpuidle links to one directory of 1,000 state links: each directory is listed
/// once (today 6 million reads, 240 s).
#[test]
fn a_directory_linked_a_thousand_times_is_walked_once() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    state_dir(root);
    let shared = root.join("sys/shared/cpuidle");
    std::fs::create_dir_all(&shared).unwrap();
    for s in 0..1000 {
        symlink("../state", shared.join(format!("state{s}"))).unwrap();
    }
    let cpu = root.join("sys/devices/system/cpu");
    for c in 0..1000 {
        std::fs::create_dir_all(cpu.join(format!("cpu{c}"))).unwrap();
        symlink("/sys/shared/cpuidle", cpu.join(format!("cpu{c}/cpuidle"))).unwrap();
    }
    let r = scan_root(root, LIMIT);
    r.assert_exit("scan", &[0, 2]);
    let b = budget_notes(&r);
    assert_eq!(b.len(), 1, "{:?}", notes(&r));
    assert!(b[0].starts_with("999 directories"), "{b:?}");
    eprintln!("cpuidle fan-out: {}", r.cost());
}

/// 200 cpuidle directories of 200 links each to one state: 240,000 reads of six files, which
/// the allowance for files read again ends.
#[test]
fn many_links_to_one_small_file_end_the_scan_with_a_note() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    state_dir(root);
    let cpu = root.join("sys/devices/system/cpu");
    for c in 0..200 {
        let d = cpu.join(format!("cpu{c}/cpuidle"));
        std::fs::create_dir_all(&d).unwrap();
        for s in 0..200 {
            symlink("/sys/shared/state", d.join(format!("state{s}"))).unwrap();
        }
    }
    let r = scan_root(root, LIMIT);
    r.assert_exit("scan", &[0, 2]);
    let b = budget_notes(&r);
    assert_eq!(b.len(), 1, "{:?}", notes(&r));
    assert!(b[0].contains("read again through other names"), "{b:?}");
    eprintln!("state fan-out: {}", r.cost());
}
