//! Helpers shared by the report and fleet tests: real reports from every fixture kvmaudit has.
#![allow(dead_code)]

pub mod chromium;
pub mod promparse;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("kvmaudit")
}

pub fn kvmaudit() -> Command {
    Command::cargo_bin("kvmaudit").unwrap()
}

/// Host trees under `fixtures/hosts/` (roots with `proc/` or `sys/`), when that fixture set is
/// present in this checkout.
pub fn fixture_hosts() -> Vec<PathBuf> {
    let dir = repo().join("fixtures/hosts");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|it| {
            it.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("proc").is_dir() || p.join("sys").is_dir())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Every libvirt argv file of the corpus.
pub fn argv_corpus() -> Vec<PathBuf> {
    let dir = repo().join("fixtures/libvirt-args/v11.3.0/qemuxmlconfdata");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// The VM name an attacker would choose.
pub const EVIL_NAME: &str = "<img src=x onerror=alert(1)>";

/// A libvirt-style argv file whose VM is named [`EVIL_NAME`] and whose disk path tries to close
/// a script element; its disk is `cache=unsafe` (a blocker).
pub fn evil_argv(dir: &Path) -> PathBuf {
    let p = dir.join("evil.args");
    let lines = [
        "LC_ALL=C \\",
        "/usr/bin/qemu-system-x86_64 \\",
        "-name 'guest=<img src=x onerror=alert(1)>,debug-threads=on' \\",
        "-machine pc-q35-8.2,accel=kvm \\",
        "-m 2048 \\",
        "-smp 2 \\",
        "-drive 'file=/var/lib/libvirt/images/</script><b>x.qcow2,format=qcow2,if=none,id=drive0,cache=unsafe' \\",
        "-device virtio-blk-pci,drive=drive0,id=virtio-disk0",
    ];
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

/// Run `kvmaudit scan ARGS --json -`: exit 0 or 2, no panic; the report.
pub fn scan_json(args: &[&std::ffi::OsStr]) -> Value {
    crate::common::scan_report(args)
}

/// The hostile argv file (see [`evil_argv`]) written in `dir`, scanned on top of the
/// icx-untuned host tree when that fixture is present: the arguments of that scan.
pub fn evil_on_untuned_args(dir: &Path) -> Vec<std::ffi::OsString> {
    let mut args = vec!["--qemu-argv".into(), evil_argv(dir).into_os_string()];
    if let Some(h) = fixture_hosts()
        .into_iter()
        .find(|h| h.ends_with("icx-untuned"))
    {
        args.extend(["--root".into(), h.into_os_string()]);
    }
    args
}

/// `kvmaudit scan ARGS FLAG OUT --json JSON`, FLAG an output option (`--html`, `--prom`),
/// which must exit 0 or 2; the report it wrote to JSON.
pub fn scan_writing<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    flag: &str,
    out: &Path,
    json: &Path,
) -> Value {
    let o = kvmaudit()
        .arg("scan")
        .args(args)
        .arg(flag)
        .arg(out)
        .arg("--json")
        .arg(json)
        .output()
        .unwrap();
    assert!(matches!(o.status.code(), Some(0) | Some(2)), "{o:?}");
    serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap()
}

/// Every finding status, in the report's order.
pub const STATUSES: [&str; 7] = [
    "pass",
    "fail",
    "warn",
    "info",
    "not_applicable",
    "unknown",
    "waived",
];

/// A waiver file that waives one rule everywhere until 2099 and one expired waiver.
pub fn waivers(dir: &Path) -> PathBuf {
    let p = dir.join("waivers.toml");
    std::fs::write(
        &p,
        "[[waiver]]\nrule = \"*\"\ntarget = \"host\"\nreason = \"test: accepted\"\nexpires = \"2099-12-31\"\n\n\
         [[waiver]]\nrule = \"qemu.*\"\nreason = \"expired one\"\nexpires = \"2001-01-01\"\n",
    )
    .unwrap();
    p
}

/// Real reports: this host, every fixture host tree (both profiles), the whole argv corpus in
/// one scan, the hostile argv file, and a run with waivers. (label, report)
pub fn real_reports(tmp: &Path) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    out.push(("this host".to_string(), scan_json(&[])));
    for h in fixture_hosts() {
        for profile in ["throughput", "latency"] {
            out.push((
                format!("{} ({profile})", h.display()),
                scan_json(&[
                    "--root".as_ref(),
                    h.as_os_str(),
                    "--profile".as_ref(),
                    profile.as_ref(),
                ]),
            ));
        }
    }
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    for f in argv_corpus() {
        args.push("--qemu-argv".into());
        args.push(f.into_os_string());
    }
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    out.push(("argv corpus".to_string(), scan_json(&refs)));
    let evil = evil_argv(tmp);
    out.push((
        "hostile argv".to_string(),
        scan_json(&["--qemu-argv".as_ref(), evil.as_os_str()]),
    ));
    let w = waivers(tmp);
    out.push((
        "waivers".to_string(),
        scan_json(&[
            "--waivers".as_ref(),
            w.as_os_str(),
            "--qemu-argv".as_ref(),
            evil.as_os_str(),
        ]),
    ));
    out
}
