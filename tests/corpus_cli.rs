//! Every real-world input of a supported format goes through the CLI: no panic, exit 0 or 2,
//! a JSON report that shows the input was read.

mod common;

use common::{fixture, scan_report as scan};
use std::path::{Path, PathBuf};

fn files(dir: &str, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixture(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| keep(p))
        .collect();
    v.sort();
    v
}

#[test]
fn every_cpuid_capture() {
    let inputs = files("cpuid", |p| {
        let n = p.file_name().unwrap().to_string_lossy();
        n.ends_with(".xml") || n.ends_with(".txt")
    });
    assert!(inputs.len() >= 6);
    for f in inputs {
        let r = scan(&["--cpuid".as_ref(), f.as_os_str()]);
        let vendor = r["host"]["cpu"]["vendor"].as_str().unwrap_or("");
        assert!(
            vendor == "GenuineIntel" || vendor == "AuthenticAMD",
            "{f:?}: vendor {vendor:?}"
        );
        assert!(r["host"]["cpu"]["family"].is_u64(), "{f:?}");
    }
}

#[test]
fn every_smbios_container() {
    let mut inputs = Vec::new();
    for d in [
        "dump-bin",
        "sysfs-table-only",
        "dmidecode-text",
        "windows-rsmb",
    ] {
        inputs.extend(files(&format!("smbios/{d}"), |p| {
            p.extension().is_none_or(|e| e != "json")
        }));
    }
    inputs.push(fixture("smbios/sysfs-pair/tables"));
    inputs.push(fixture("smbios/sysfs-pair/tables64"));
    inputs.push(fixture("smbios/sysfs-pair/tables64/DMI"));
    assert!(inputs.len() >= 12);
    for f in inputs {
        let r = scan(&["--dmi".as_ref(), f.as_os_str()]);
        assert!(
            r["host"]["platform"]["bios_vendor"].is_string(),
            "{f:?}: no BIOS vendor in {}",
            r["host"]["platform"]
        );
    }
}

#[test]
fn every_kernel_config_plain_and_gzip() {
    let inputs = files("kconfig", |p| {
        let n = p.file_name().unwrap().to_string_lossy();
        n.contains("config") && !n.starts_with("COPYING")
    });
    assert_eq!(inputs.len(), 3);
    let dir = tempfile::tempdir().unwrap();
    for f in inputs {
        scan(&["--kconfig".as_ref(), f.as_os_str()]);
        let gz = dir.path().join("config.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, &std::fs::read(&f).unwrap()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        scan(&["--kconfig".as_ref(), gz.as_os_str()]);
    }
}

#[test]
fn all_390_libvirt_argv_files_in_one_scan() {
    let dir = fixture("libvirt-args/v11.3.0/qemuxmlconfdata");
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    let mut n = 0;
    for f in files("libvirt-args/v11.3.0/qemuxmlconfdata", |_| true) {
        args.push("--qemu-argv".into());
        args.push(f.into_os_string());
        n += 1;
    }
    assert_eq!(n, 390, "{dir:?}");
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let r = scan(&refs);
    let vms = r["vms"].as_array().unwrap();
    assert_eq!(vms.len(), 390);
    let named = vms.iter().filter(|v| v["name"] == "QEMUGuest1").count();
    assert!(named > 200, "only {named} VMs carry the libvirt test name");
}

/// Copy a libvirt sysfs sample (`cpu/`, `node/` or `system/`) under `root/sys/devices/system`.
fn sysfs_root(sample: &str) -> tempfile::TempDir {
    let src = fixture(&format!("host-logs/sysfs/{sample}"));
    let t = tempfile::tempdir().unwrap();
    let dst = t.path().join("sys/devices/system");
    let src = if src.join("system").is_dir() {
        src.join("system")
    } else {
        src
    };
    copy_tree(&src, &dst);
    t
}

fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        let ft = e.file_type().unwrap();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).unwrap(), to).unwrap();
        } else if ft.is_dir() {
            copy_tree(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

#[test]
fn libvirt_sysfs_samples_as_roots() {
    // test8: 64 CPUs on 8 NUMA nodes (node cpulists are given by per-node cpu links).
    let t = sysfs_root("virhostcpudata-linux-test8");
    let r = scan(&["--root".as_ref(), t.path().as_os_str()]);
    assert_eq!(r["host"]["cpu"]["threads"], 64);
    assert_eq!(r["host"]["numa_nodes"], 8);
    let multi = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "bios.numa");
    let _ = multi;
    for s in [
        "virhostcpudata-linux-test4",
        "vircaps2xmldata-linux-hmat",
        "vircaps2xmldata-linux-resctrl-skx",
    ] {
        let t = sysfs_root(s);
        scan(&["--root".as_ref(), t.path().as_os_str()]);
    }
}

#[test]
fn cpuinfo_samples_as_roots() {
    for f in files("cpuinfo", |p| p.extension().is_some_and(|e| e == "cpuinfo")) {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("proc")).unwrap();
        std::fs::copy(&f, t.path().join("proc/cpuinfo")).unwrap();
        let r = scan(&["--root".as_ref(), t.path().as_os_str()]);
        assert!(r["host"]["cpu"]["vendor"].is_string(), "{f:?}");
    }
}

#[test]
fn broken_hyperv_table_reports_valid_structures_and_truncation() {
    let f = fixture("smbios/sysfs-table-only/HyperV.dmi");
    let r = scan(&["--dmi".as_ref(), f.as_os_str()]);
    assert_eq!(r["host"]["platform"]["vendor"], "Microsoft Corporation");
    assert_eq!(
        r["host"]["platform"]["bios_vendor"],
        "American Megatrends Inc."
    );
    let notes = r["notes"].to_string();
    assert!(notes.contains("table truncated at offset 478"), "{notes}");
}
