//! `--sos` on the committed subset of a real sosreport (fixtures/sos/, see its SOURCE.md): the
//! directory, the same files as a `.tar.xz` and `--root` on the directory give one report.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    common::fixture("sos/debian12-sos4.0-libvirt")
}

fn vm<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["vms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("VM {name} not found: {}", r["vms"]))
}

fn finding<'a>(r: &'a Value, rule: &str, target: &str) -> &'a Value {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule && f["target"] == target)
        .unwrap_or_else(|| panic!("no {rule} for {target}"))
}

/// The fixture as sos ships it: `sosreport-HOST-DATE/...` in a `.tar.xz` (links kept).
fn archive_of(dir: &Path, out: &Path) {
    let f = std::fs::File::create(out).unwrap();
    let xz = xz2::write::XzEncoder::new(f, 6);
    let mut b = tar::Builder::new(xz);
    b.follow_symlinks(false);
    b.append_dir_all("sosreport-vm-2026-12-07-abcdefg", dir)
        .unwrap();
    b.into_inner().unwrap().finish().unwrap();
}

#[test]
fn fixture_directory_maps_what_sos_collected() {
    let r = common::scan_report(&[Path::new("--sos"), fixture().as_path()]);
    let sos = &r["host"]["sos"];
    assert_eq!(sos["version"], "4.0");
    assert_eq!(sos["layout"], "sos 4.x");
    assert_eq!(sos["hostname"], "vm");
    assert_eq!(sos["archive"], false);
    assert_eq!(r["host"]["hostname"], "vm");
    assert!(r["host"]["source"].as_str().unwrap().starts_with("sos:"));
    // Kernel release from uname -a (sos copies no /proc/sys/kernel/osrelease); CPU from
    // cpuid -r (a tree carries no CPUID).
    assert_eq!(r["host"]["kernel"]["release"], "6.18.44-fc-v1300");
    assert_eq!(r["host"]["cpu"]["vendor"], "AuthenticAMD");
    assert_eq!(r["host"]["cpu"]["family"], 25);
    assert_eq!(r["host"]["cpu"]["model"], 17);

    // Two running VMs; the two zombie QEMUs of the listing are none.
    assert_eq!(r["vms"].as_array().unwrap().len(), 2, "{}", r["vms"]);
    let lv = vm(&r, "sostest-lv");
    assert_eq!(lv["pid"], 21310);
    assert_eq!(lv["source"], "/var/log/libvirt/qemu/sostest-lv.log");
    let plain = vm(&r, "plain-sos");
    assert_eq!(plain["pid"], 22819);
    assert_eq!(plain["source"], "sos_commands/process/ps_auxwwwm");

    // argv decides: libvirt's disk is cache=writeback (a warning), the plain one cache=none.
    let lv_cache = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["rule"] == "qemu.blk.cache"
                && f["target"].as_str().unwrap().starts_with("vm:sostest-lv/")
        })
        .expect("qemu.blk.cache for sostest-lv's disk");
    assert_eq!(lv_cache["status"], "warn", "{lv_cache}");
    assert_eq!(
        finding(&r, "qemu.blk.cache", "vm:plain-sos/drive:virtio0")["status"],
        "pass"
    );
    // The QEMU version of libvirt's start line (sos copies no binary): 7.2.22 >= 6.0, while
    // the plain VM's unversioned `-machine q35` and no package database leave it unknown.
    let v = finding(&r, "base.qemu.version", "vm:sostest-lv");
    assert_eq!(v["status"], "pass", "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("QEMU 7.2.22"),
        "{v}"
    );
    assert_eq!(
        finding(&r, "base.qemu.version", "vm:plain-sos")["status"],
        "unknown"
    );
    // What sos never collects is unknown, and says so.
    let aio = finding(&r, "qemu.blk.aio", "vm:plain-sos/drive:virtio0");
    assert_eq!(aio["status"], "unknown");
    assert!(
        aio["message"]
            .as_str()
            .unwrap()
            .contains("not collected by sos"),
        "{aio}"
    );
}

#[test]
fn archive_and_root_read_the_same_as_the_directory() {
    let dir = common::scan_report(&[Path::new("--sos"), fixture().as_path()]);
    let t = tempfile::tempdir().unwrap();
    let archive = t.path().join("sosreport-vm-2026-12-07-abcdefg.tar.xz");
    archive_of(&fixture(), &archive);
    let ar = common::scan_report(&[Path::new("--sos"), archive.as_path()]);
    assert_eq!(ar["host"]["sos"]["archive"], true);
    assert_eq!(ar["vms"], dir["vms"]);
    assert_eq!(ar["results"], dir["results"]);
    assert_eq!(ar["host"]["sos"]["found"], dir["host"]["sos"]["found"]);
    // Nothing was extracted next to the archive.
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);

    // --root on an extracted sosreport is --sos.
    let root = common::scan_report(&[Path::new("--root"), fixture().as_path()]);
    assert_eq!(root["host"]["sos"], dir["host"]["sos"]);
    assert_eq!(root["results"], dir["results"]);
}

/// A `--root` tree's dpkg database names the installed QEMU for processes whose binary the
/// tree does not hold.
#[test]
fn root_tree_version_from_dpkg_status() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    std::fs::create_dir_all(root.join("proc/4242")).unwrap();
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::write(
        root.join("proc/4242/cmdline"),
        b"qemu-system-x86_64\0-name\0guest=db\0-machine\0q35\0",
    )
    .unwrap();
    std::fs::write(
        root.join("var/lib/dpkg/status"),
        "Package: qemu-system-x86\nStatus: install ok installed\nVersion: 1:5.2+dfsg-11+deb11u3\n",
    )
    .unwrap();
    let r = common::scan_report(&[Path::new("--root"), root]);
    let v = finding(&r, "base.qemu.version", "vm:db");
    assert_eq!(v["status"], "warn", "{v}");
    assert!(v["message"].as_str().unwrap().contains("QEMU 5.2"), "{v}");
    assert!(
        v["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["source"] == "/var/lib/dpkg/status (qemu-system-x86)"),
        "{v}"
    );
}

#[test]
fn not_a_sosreport_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let junk = t.path().join("x.tar.xz");
    std::fs::write(&junk, b"not an archive").unwrap();
    for p in [t.path().to_path_buf(), junk] {
        let out = assert_cmd::Command::cargo_bin("kvmaudit")
            .unwrap()
            .args(["scan", "--sos"])
            .arg(&p)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", p.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not a sosreport"), "{err}");
    }
    // --sos and --root are alternatives.
    let out = assert_cmd::Command::cargo_bin("kvmaudit")
        .unwrap()
        .args(["scan", "--sos"])
        .arg(fixture())
        .arg("--root")
        .arg(fixture())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// A sosreport whose processor plugin ran `turbostat --debug` gives its registers to the MSR
/// evidence, as `--msr FILE` would: the snapshot names the sosreport's file, and the report
/// lists it among what the scan used.
#[test]
fn turbostat_output_in_the_sosreport_is_the_msr_evidence() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("sos");
    common::hosts::copy_tree(&fixture(), &dir).unwrap();
    let name = "sos_commands/processor/turbostat_--debug_sleep_10";
    std::fs::copy(
        common::fixture("msr/turbostat-8-haswell.txt"),
        dir.join(name),
    )
    .unwrap();
    let snap = t.path().join("snap.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kvmaudit"))
        .args(["collect", "--sos"])
        .arg(&dir)
        .arg("-o")
        .arg(&snap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    assert_eq!(s["msr"]["path"], name, "{}", s["msr"]);
    // turbostat printed cpu4's MSR_IA32_POWER_CTL as 0x0004005d (C1E auto-promotion off).
    let text = s["msr"].to_string();
    assert!(text.contains(&0x4005d_u64.to_string()), "{text}");

    let r = common::scan_report(&[Path::new("--sos"), dir.as_path()]);
    let found = r["host"]["sos"]["found"].as_array().unwrap();
    assert!(found.iter().any(|f| f == name), "{found:?}");
    // Without the file the sosreport says what it lacks.
    let plain = common::scan_report(&[Path::new("--sos"), fixture().as_path()]);
    let missing = plain["host"]["sos"]["missing"].to_string();
    assert!(missing.contains("turbostat_--debug"), "{missing}");
}
