//! The fixture host trees under fixtures/hosts: `collect --root` records their real facts,
//! `scan --root` sees the topology they were built with, their SMBIOS tables decode, their
//! EXPECTED.toml files are complete, and an unprivileged scan of icx-restricted gets
//! `permission_denied` instead of values.

mod common;

use assert_cmd::Command;
use common::hosts::{self, tree, TREES};
use serde_json::Value;
use std::path::Path;

fn collect(name: &str) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("snap.json");
    Command::cargo_bin("kvmaudit")
        .unwrap()
        .args(["collect", "--root"])
        .arg(tree(name))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap()
}

fn file<'a>(s: &'a Value, path: &str) -> &'a str {
    s["files"][path]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{path}: no value in snapshot: {}", s["files"][path]))
}

fn dir(s: &Value, path: &str) -> Vec<String> {
    s["dirs"][path]["value"]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: no listing in snapshot: {}", s["dirs"][path]))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn link<'a>(s: &'a Value, path: &str) -> &'a str {
    s["links"][path]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{path}: no link in snapshot: {}", s["links"][path]))
}

fn qemu(s: &Value) -> &Vec<Value> {
    s["qemu"]["value"].as_array().expect("qemu list")
}

fn vm(s: &Value, pid: u64) -> &Value {
    qemu(s)
        .iter()
        .find(|p| p["pid"] == pid)
        .unwrap_or_else(|| panic!("no QEMU process {pid}"))
}

fn argv(p: &Value) -> Vec<String> {
    p["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().expect("UTF-8 argv").to_string())
        .collect()
}

fn threads(p: &Value) -> &Vec<Value> {
    p["threads"]["value"].as_array().expect("threads")
}

fn fds(p: &Value) -> Vec<String> {
    p["fds"]["value"]
        .as_array()
        .expect("fds")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn icx_tuned_collects_its_facts() {
    let s = collect("icx-tuned");
    assert_eq!(s["source"]["kind"], "root");
    assert_eq!(s["hostname"]["value"], "hv-icx01");
    for p in 0..16 {
        assert_eq!(
            file(
                &s,
                &format!("/sys/devices/system/cpu/cpufreq/policy{p}/scaling_governor")
            ),
            "performance\n"
        );
        for (state, name) in [(2, "C1E"), (3, "C6")] {
            let base = format!("/sys/devices/system/cpu/cpu{p}/cpuidle/state{state}");
            assert_eq!(file(&s, &format!("{base}/name")), format!("{name}\n"));
            assert_eq!(file(&s, &format!("{base}/disable")), "1\n");
        }
        assert_eq!(
            file(
                &s,
                &format!("/sys/devices/system/cpu/cpu{p}/power/energy_perf_bias")
            ),
            "0\n"
        );
    }
    let cmdline = file(&s, "/proc/cmdline");
    assert!(cmdline
        .contains("intel_iommu=on iommu=pt default_hugepagesz=1G hugepagesz=1G hugepages=16"));
    assert!(file(&s, "/etc/default/grub").contains("intel_iommu=on"));
    assert!(file(&s, "/proc/cpuinfo").contains("vmx flags\t: vnmi preemption_timer posted_intr"));
    assert!(file(&s, "/proc/cpuinfo").contains(" hwp hwp_act_window hwp_epp "));
    assert_eq!(
        file(&s, "/sys/kernel/mm/transparent_hugepage/enabled"),
        "always [madvise] never\n"
    );
    assert_eq!(file(&s, "/sys/kernel/mm/ksm/run"), "0\n");
    assert_eq!(file(&s, "/proc/sys/kernel/numa_balancing"), "1\n");
    assert_eq!(
        file(&s, "/sys/module/kvm/parameters/halt_poll_ns"),
        "200000\n"
    );
    assert_eq!(
        file(&s, "/sys/module/vhost_net/parameters/experimental_zcopytx"),
        "0\n"
    );
    assert_eq!(
        file(&s, "/sys/devices/system/cpu/nohz_full"),
        "1-3,5-7,9-11,13-15\n"
    );
    for node in 0..2 {
        let hp = format!(
            "/sys/devices/system/node/node{node}/hugepages/hugepages-1048576kB/nr_hugepages"
        );
        assert_eq!(file(&s, &hp), "8\n");
    }
    assert!(file(&s, "/proc/meminfo").contains("HugePages_Total:      16\n"));
    assert!(file(&s, "/proc/mounts")
        .contains("hugetlbfs /dev/hugepages1G hugetlbfs rw,relatime,pagesize=1024M 0 0"));
    let iommu = dir(&s, "/sys/class/iommu");
    assert_eq!(
        iommu,
        ["dmar0", "dmar1", "dmar2", "dmar3", "dmar4", "dmar5"]
    );
    assert!(dir(&s, "/sys/firmware/acpi/tables").contains(&"DMAR".to_string()));
    // QAT: PF with 4 VFs, all bound to vfio-pci at full link.
    assert_eq!(
        file(&s, "/sys/bus/pci/devices/0000:65:00.0/sriov_numvfs"),
        "4\n"
    );
    assert_eq!(
        file(&s, "/sys/bus/pci/devices/0000:65:00.0/current_link_width"),
        "16\n"
    );
    assert_eq!(
        file(&s, "/sys/bus/pci/devices/0000:65:00.0/max_link_speed"),
        "8.0 GT/s PCIe\n"
    );
    for f in 0..4 {
        let bdf = format!("0000:65:01.{f}");
        assert!(link(&s, &format!("/sys/bus/pci/devices/{bdf}/driver")).ends_with("/vfio-pci"));
        assert_eq!(
            link(&s, &format!("/sys/bus/pci/devices/{bdf}/iommu_group")),
            format!("../../../../kernel/iommu_groups/{}", 12 + f)
        );
        assert_eq!(
            file(&s, &format!("/sys/bus/pci/devices/{bdf}/numa_node")),
            "0\n"
        );
    }
    assert!(link(&s, "/sys/bus/pci/devices/0000:65:00.0/driver").ends_with("/c6xx"));
    assert_eq!(
        file(&s, "/sys/bus/pci/devices/0000:ca:00.0/numa_node"),
        "1\n"
    );
    assert_eq!(file(&s, "/proc/irq/42/effective_affinity_list"), "8\n"); // TxRx-0 on housekeeping CPU 8
    assert!(s["kconfig"]["path"]
        .as_str()
        .unwrap()
        .ends_with("/boot/config-6.1.0-50-amd64"));
    // Two QEMU processes (pid 1 systemd and libvirtd are not QEMU).
    let pids: Vec<u64> = qemu(&s)
        .iter()
        .map(|p| p["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids, [2817, 3409]);
    let web = vm(&s, 2817);
    assert_eq!(web["exe"]["value"], "/usr/bin/qemu-system-x86_64");
    assert_eq!(threads(web).len(), 8);
    assert_eq!(web["status"]["value"]["threads"], 8);
    assert_eq!(web["status"]["value"]["mems_allowed_list"], "0");
    let vcpus: Vec<(String, String)> = threads(web)
        .iter()
        .filter(|t| t["comm"].as_str().unwrap().ends_with("/KVM"))
        .map(|t| {
            (
                t["comm"].as_str().unwrap().to_string(),
                t["cpus_allowed_list"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        vcpus,
        [
            ("CPU 0/KVM", "1"),
            ("CPU 1/KVM", "9"),
            ("CPU 2/KVM", "2"),
            ("CPU 3/KVM", "10")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let a = argv(web);
    assert!(a.contains(&"-accel".to_string()) && a.contains(&"kvm".to_string()));
    assert!(a
        .iter()
        .any(|x| x.contains(r#""mem-path":"/dev/hugepages1G/libvirt/qemu/1-web01""#)));
    assert!(a.iter().any(|x| x.contains(r#""host":"0000:65:01.0""#)));
    assert!(a.iter().any(|x| x == "cpu-pm=on"));
    let f = fds(web);
    for want in [
        "anon_inode:kvm-vm",
        "anon_inode:kvm-vcpu:3",
        "/dev/vhost-net",
        "/dev/net/tun",
        "/dev/vfio/12",
    ] {
        assert!(
            f.contains(&want.to_string()),
            "web01 fds lack {want}: {f:?}"
        );
    }
    assert!(web["numa_maps"]["value"]
        .as_str()
        .unwrap()
        .contains("bind:0 file=/dev/hugepages1G/libvirt/qemu/1-web01/"));
    assert!(web["mountinfo"]["value"].as_str().unwrap().contains(
        "/dev/hugepages1G rw,relatime master:31 - hugetlbfs hugetlbfs rw,pagesize=1024M"
    ));
    let db = vm(&s, 3409);
    assert_eq!(threads(db).len(), 9);
    assert!(fds(db).contains(&"anon_inode:[io_uring]".to_string()));
    assert!(threads(db)
        .iter()
        .any(|t| t["comm"] == "IO iothread1" && t["cpus_allowed_list"] == "7,15"));
}

#[test]
fn icx_untuned_collects_its_facts() {
    let s = collect("icx-untuned");
    assert_eq!(
        file(&s, "/sys/devices/system/cpu/cpufreq/policy3/scaling_driver"),
        "intel_cpufreq\n"
    );
    assert_eq!(
        file(
            &s,
            "/sys/devices/system/cpu/cpufreq/policy3/scaling_governor"
        ),
        "schedutil\n"
    );
    assert_eq!(
        file(&s, "/sys/devices/system/cpu/intel_pstate/status"),
        "passive\n"
    );
    assert!(!file(&s, "/proc/cpuinfo").contains(" hwp "));
    assert_eq!(
        file(&s, "/sys/devices/system/cpu/cpu5/power/energy_perf_bias"),
        "6\n"
    );
    assert_eq!(
        file(&s, "/sys/devices/system/cpu/cpu7/cpuidle/state3/disable"),
        "0\n"
    );
    assert_eq!(
        file(&s, "/sys/kernel/mm/transparent_hugepage/enabled"),
        "always madvise [never]\n"
    );
    assert_eq!(file(&s, "/sys/kernel/mm/ksm/run"), "1\n");
    assert_eq!(file(&s, "/proc/sys/kernel/numa_balancing"), "0\n");
    assert!(!file(&s, "/proc/mounts").contains("hugetlbfs"));
    // Pending reboot / module reload: persistent config ahead of the running state.
    assert!(!file(&s, "/proc/cmdline").contains("intel_iommu"));
    assert!(file(&s, "/etc/default/grub").contains("intel_iommu=on"));
    assert!(file(&s, "/etc/modprobe.d/kvm.conf").contains("options kvm_intel ple_gap=0"));
    assert_eq!(
        file(&s, "/sys/module/kvm_intel/parameters/ple_gap"),
        "128\n"
    );
    assert!(dir(&s, "/sys/firmware/acpi/tables").contains(&"DMAR".to_string()));
    assert!(dir(&s, "/sys/class/iommu").is_empty());
    assert!(dir(&s, "/sys/kernel/iommu_groups").is_empty());
    assert_eq!(
        file(&s, "/sys/bus/pci/devices/0000:65:00.0/current_link_width"),
        "8\n"
    );
    assert_eq!(
        file(&s, "/sys/bus/pci/devices/0000:65:00.0/sriov_numvfs"),
        "0\n"
    );
    let pids: Vec<u64> = qemu(&s)
        .iter()
        .map(|p| p["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids, [3101, 3240, 3377]);
    let app = vm(&s, 3101);
    assert_eq!(app["exe_deleted"], true);
    assert!(argv(app).contains(&"-hda".to_string()));
    assert!(threads(app).iter().all(|t| t["comm"] == "qemu-system-x86"));
    let build = vm(&s, 3240);
    assert!(!fds(build).iter().any(|f| f.starts_with("anon_inode:kvm")));
    assert!(threads(build).iter().any(|t| t["comm"] == "CPU 1/TCG"));
    let scratch = vm(&s, 3377);
    assert!(argv(scratch)
        .iter()
        .any(|a| a.contains("cache=unsafe") && a.contains("scratch01.raw")));
    for p in qemu(&s) {
        assert_eq!(p["status"]["value"]["cpus_allowed_list"], "0-15");
        assert_eq!(p["status"]["value"]["mems_allowed_list"], "0-1");
    }
}

#[test]
fn amd_epyc_collects_its_facts() {
    let s = collect("amd-epyc");
    let info = file(&s, "/proc/cpuinfo");
    assert!(info.contains("vendor_id\t: AuthenticAMD\ncpu family\t: 23\nmodel\t\t: 49\n"));
    assert!(info.contains(" svm ") && !info.contains(" vmx "));
    assert_eq!(
        file(&s, "/sys/devices/system/cpu/cpufreq/policy0/scaling_driver"),
        "acpi-cpufreq\n"
    );
    assert_eq!(file(&s, "/sys/devices/system/cpu/cpufreq/boost"), "1\n");
    assert!(s["dirs"]["/sys/devices/system/cpu/intel_pstate"]["error"]["kind"] == "absent");
    assert!(s["files"]["/sys/module/kvm_amd/parameters/pause_filter_count"]["value"] == "3000\n");
    let tables = dir(&s, "/sys/firmware/acpi/tables");
    assert!(tables.contains(&"IVRS".to_string()) && !tables.contains(&"DMAR".to_string()));
    assert_eq!(
        dir(&s, "/sys/class/iommu"),
        ["ivhd0", "ivhd1", "ivhd2", "ivhd3"]
    );
    assert!(s["kconfig"]["path"]
        .as_str()
        .unwrap()
        .ends_with("/boot/config-5.14.0-362.24.1.el9_3.x86_64"));
    let vms = qemu(&s);
    assert_eq!(vms.len(), 1);
    let p = &vms[0];
    assert_eq!(p["pid"], 5120);
    assert_eq!(p["exe"]["value"], "/usr/libexec/qemu-kvm");
    assert_eq!(threads(p).len(), 7);
    assert!(threads(p)
        .iter()
        .all(|t| t["cpus_allowed_list"] == "4-7,12-15" && t["mems_allowed_list"] == "1"));
    assert!(argv(p).iter().any(|a| a.contains(r#""packed":true"#)));
    assert_eq!(
        file(
            &s,
            "/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages"
        ),
        "4096\n"
    );
}

#[test]
fn kvm_guest_collects_its_facts() {
    let s = collect("kvm-guest");
    assert!(qemu(&s).is_empty(), "a guest runs no QEMU: {:?}", qemu(&s));
    assert!(file(&s, "/proc/cpuinfo").contains(" hypervisor "));
    assert_eq!(
        file(&s, "/sys/devices/system/cpu/cpuidle/current_driver"),
        "haltpoll\n"
    );
    assert_eq!(
        file(&s, "/sys/devices/system/cpu/cpuidle/current_governor_ro"),
        "haltpoll\n"
    );
    assert_eq!(
        file(&s, "/sys/module/haltpoll/parameters/guest_halt_poll_ns"),
        "200000\n"
    );
    assert_eq!(
        file(&s, "/sys/module/cpuidle_haltpoll/parameters/force"),
        "N\n"
    );
    for disk in ["vda", "vdb"] {
        assert_eq!(
            dir(&s, &format!("/sys/block/{disk}/mq")),
            ["0", "1", "2", "3"]
        );
        assert_eq!(
            file(&s, &format!("/sys/block/{disk}/queue/rq_affinity")),
            "2\n"
        );
    }
    assert!(!dir(&s, "/sys/firmware/acpi/tables").contains(&"DMAR".to_string()));
    assert!(s["dirs"]["/sys/devices/system/cpu/cpufreq"]["error"]["kind"] == "absent");
    assert_eq!(file(&s, "/sys/devices/system/node/online"), "0\n");
    assert!(!file(&s, "/proc/cmdline").contains("idle="));
}

#[test]
fn scan_sees_the_designed_topology() {
    // (tree, numa nodes, sockets, cores, threads, VM pids)
    type Case = (&'static str, u64, u64, u64, u64, &'static [u64]);
    let cases: &[Case] = &[
        ("icx-tuned", 2, 2, 8, 16, &[2817, 3409]),
        ("icx-untuned", 2, 2, 8, 16, &[3101, 3240, 3377]),
        ("icx-restricted", 2, 2, 8, 16, &[2817, 3409]),
        ("amd-epyc", 2, 2, 8, 16, &[5120]),
        ("kvm-guest", 1, 1, 4, 4, &[]),
    ];
    for (name, nodes, sockets, cores, threads, pids) in cases {
        let out = Command::cargo_bin("kvmaudit")
            .unwrap()
            .args(["scan", "--root"])
            .arg(tree(name))
            .args(["--json", "-"])
            .assert()
            // 2 = the scan ran and found failures (design.md); both mean a report was written.
            .code(predicates::ord::lt(3))
            .get_output()
            .stdout
            .clone();
        let r: Value = serde_json::from_slice(&out).unwrap();
        let h = &r["host"];
        assert_eq!(h["numa_nodes"], *nodes, "{name}");
        assert_eq!(h["cpu"]["sockets"], *sockets, "{name}");
        assert_eq!(h["cpu"]["cores"], *cores, "{name}");
        assert_eq!(h["cpu"]["threads"], *threads, "{name}");
        let got: Vec<u64> = r["vms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["pid"].as_u64().unwrap())
            .collect();
        assert_eq!(got, *pids, "{name}");
    }
}

#[test]
fn smbios_tables_decode_with_the_counts_the_trees_claim() {
    use smbioslib::{
        load_smbios_data_from_file, CoreCount, CoresEnabled, SMBiosMemoryDevice,
        SMBiosProcessorInformation, ThreadCount,
    };
    // (tree, sockets, cores per socket in the part, enabled cores, threads, populated DIMM locator)
    let cases = [
        ("icx-tuned", 2, 32, 4, 8, "CPU1_DIMM_A1"),
        ("icx-untuned", 2, 32, 4, 8, "CPU2_DIMM_H1"),
        ("amd-epyc", 2, 16, 4, 8, "P1-DIMMA1"),
        ("kvm-guest", 1, 4, 4, 4, "DIMM 0"),
    ];
    for (name, sockets, cores, enabled, threads, dimm) in cases {
        let path = tree(name).join("sys/firmware/dmi/tables/DMI");
        let data = load_smbios_data_from_file(&path).unwrap();
        let cpus = data.collect::<SMBiosProcessorInformation>();
        assert_eq!(cpus.len(), sockets, "{name}");
        for c in &cpus {
            assert!(
                matches!(c.core_count(), Some(CoreCount::Count(n)) if n == cores),
                "{name}"
            );
            assert!(
                matches!(c.cores_enabled(), Some(CoresEnabled::Count(n)) if n == enabled),
                "{name}"
            );
            assert!(
                matches!(c.thread_count(), Some(ThreadCount::Count(n)) if n == threads),
                "{name}"
            );
        }
        let dimms = data.collect::<SMBiosMemoryDevice>();
        assert!(
            dimms.iter().any(|d| d.device_locator().to_string() == dimm),
            "{name}: no DIMM {dimm}"
        );
        // The table ends with the type 127 end-of-table structure (4 bytes + double NUL).
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(raw[raw.len() - 6], 127, "{name}: no end-of-table structure");
        // The entry point is SMBIOS 3.x ("_SM3_") and announces the table's exact length.
        let ep =
            std::fs::read(tree(name).join("sys/firmware/dmi/tables/smbios_entry_point")).unwrap();
        assert_eq!(&ep[..5], b"_SM3_", "{name}");
        assert_eq!(
            ep.iter().fold(0u8, |a, b| a.wrapping_add(*b)),
            0,
            "{name}: checksum"
        );
        let max = u32::from_le_bytes(ep[12..16].try_into().unwrap()) as u64;
        assert_eq!(max, std::fs::metadata(&path).unwrap().len(), "{name}");
    }
}

const STATUSES: &[&str] = &["pass", "fail", "warn", "info", "not_applicable", "unknown"];

#[test]
fn expected_verdicts_cover_all_62_rules() {
    for name in TREES {
        let text = std::fs::read_to_string(tree(name).join("EXPECTED.toml")).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let through = doc["throughput"].as_table().expect("[throughput]");
        let mut rules = std::collections::BTreeSet::new();
        for (key, status) in through {
            let status = status.as_str().unwrap();
            assert!(STATUSES.contains(&status), "{name}: {key} = {status}");
            rules.insert(key.split('@').next().unwrap().to_string());
        }
        assert_eq!(rules.len(), 62, "{name}: rules with a verdict: {rules:?}");
        let latency = doc["latency"].as_table().expect("[latency]");
        for (key, status) in latency {
            assert!(
                STATUSES.contains(&status.as_str().unwrap()),
                "{name}: {key}"
            );
            assert!(through.contains_key(key), "{name}: latency-only key {key}");
            assert_ne!(
                &through[key], status,
                "{name}: {key} repeats the throughput verdict"
            );
        }
    }
    // Spot checks of the verdicts the trees were built to demonstrate.
    let get = |name: &str, key: &str| -> String {
        let text = std::fs::read_to_string(tree(name).join("EXPECTED.toml")).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        doc["throughput"][key].as_str().unwrap().to_string()
    };
    assert_eq!(
        get(
            "icx-untuned",
            "qemu.blk.cache@vm:scratch01/drive:virtio-disk0"
        ),
        "fail"
    );
    assert_eq!(get("icx-untuned", "qemu.accel.kvm@vm:build01"), "fail");
    assert_eq!(get("kvm-guest", "bios.vtx"), "not_applicable");
    assert_eq!(get("kvm-guest", "guest.haltpoll.driver"), "pass");
    // dev/cpu/N/msr in the tree: MSR_POWER_CTL bit 19 set on every CPU.
    assert_eq!(get("icx-tuned", "bios.eet"), "pass");
    assert_eq!(get("icx-restricted", "bios.eet"), "unknown");
    assert_eq!(
        get("icx-restricted", "qemu.numa.memory-locality@vm:web01"),
        "unknown"
    );
}

/// The committed trees are exactly what the generator writes (it is deterministic).
#[test]
fn committed_trees_match_the_generator() {
    if !common::require_tool("python3") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("python3")
        .arg(common::fixture("hosts/generate.py"))
        .env("KVMAUDIT_HOSTS_OUT", tmp.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    for name in TREES {
        compare_trees(&tree(name), &tmp.path().join(name));
    }
}

fn compare_trees(committed: &Path, fresh: &Path) {
    let names = |d: &Path| -> Vec<std::ffi::OsString> {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(committed),
        names(fresh),
        "{}: entries differ; run fixtures/hosts/generate.py",
        committed.display()
    );
    for n in names(committed) {
        let (a, b) = (committed.join(&n), fresh.join(&n));
        let (ma, mb) = (
            std::fs::symlink_metadata(&a).unwrap(),
            std::fs::symlink_metadata(&b).unwrap(),
        );
        assert_eq!(ma.file_type(), mb.file_type(), "{}", a.display());
        if ma.file_type().is_symlink() {
            assert_eq!(
                std::fs::read_link(&a).unwrap(),
                std::fs::read_link(&b).unwrap()
            );
        } else if ma.is_dir() {
            compare_trees(&a, &b);
        } else {
            assert!(
                std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
                "{} differs from the generator's output; run fixtures/hosts/generate.py",
                a.display()
            );
        }
    }
}

/// icx-restricted scanned as uid 65534: root-only facts are `permission_denied`, never values,
/// and everything world-readable is still collected.
#[test]
fn icx_restricted_as_nobody_gets_permission_denied() {
    let Some((tmp, root)) = hosts::restricted_copy_for_nobody("icx-restricted") else {
        return;
    };
    let bin = assert_cmd::cargo::cargo_bin("kvmaudit");
    let out = hosts::run_unprivileged(
        tmp.path(),
        &bin,
        &["collect", "--root", root.to_str().unwrap(), "-o", "-"],
    );
    assert!(
        out.status.success(),
        "collect as nobody failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let denied = |v: &Value, what: &str| {
        assert_eq!(
            v["error"]["kind"], "permission_denied",
            "{what} should be permission_denied, got {v}"
        );
        assert!(v.get("value").is_none(), "{what} leaked a value");
    };
    denied(&s["smbios"], "SMBIOS table");
    denied(
        &s["files"]["/etc/libvirt/qemu.conf"],
        "/etc/libvirt/qemu.conf",
    );
    let pids: Vec<u64> = qemu(&s)
        .iter()
        .map(|p| p["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids, [2817, 3409]);
    for p in qemu(&s) {
        let pid = p["pid"].as_u64().unwrap();
        denied(&p["numa_maps"], &format!("/proc/{pid}/numa_maps"));
        denied(&p["fds"], &format!("/proc/{pid}/fd"));
        // World-readable on a real host, so still there.
        assert!(p["status"]["value"].is_object(), "{pid} status");
        assert!(
            threads(p).iter().any(|t| t["comm"] == "CPU 0/KVM"),
            "{pid} threads"
        );
        assert!(!argv(p).is_empty(), "{pid} argv");
    }
    // Presence of ACPI tables stays visible (the directory is world-readable).
    assert!(dir(&s, "/sys/firmware/acpi/tables").contains(&"DMAR".to_string()));
    assert_eq!(
        file(
            &s,
            "/sys/devices/system/cpu/cpufreq/policy0/scaling_governor"
        ),
        "performance\n"
    );
    // And as root the same copy is fully readable: the modes, not the content, made the gaps.
    let s_root = {
        let o = std::process::Command::new(&bin)
            .args(["collect", "--root", root.to_str().unwrap(), "-o", "-"])
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    assert!(vm(&s_root, 2817)["numa_maps"]["value"].is_string());
    assert!(s_root["files"]["/etc/libvirt/qemu.conf"]["value"].is_string());
}
