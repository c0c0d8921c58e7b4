//! A VM started through real libvirt without a daemon (`virt-qemu-run` with an embedded root):
//! kvmaudit reads its vCPU pinning from thread affinity and its settings from argv, and the argv
//! libvirt generates for the same XML (`virsh domxml-to-native`) gives the same argv verdicts.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        // SIGINT makes virt-qemu-run stop the guest and clean up its embedded root.
        // SAFETY: plain kill(2) on our own child.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Hugetlb {
    dir: tempfile::TempDir,
    before: String,
}

impl Drop for Hugetlb {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
        let _ = std::fs::write("/proc/sys/vm/nr_hugepages", self.before.trim());
    }
}

fn reserve_hugepages(pages: u32) -> Hugetlb {
    let before = std::fs::read_to_string("/proc/sys/vm/nr_hugepages").unwrap();
    let want = before.trim().parse::<u32>().unwrap() + pages;
    std::fs::write("/proc/sys/vm/nr_hugepages", want.to_string()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let st = std::process::Command::new("mount")
        .args(["-t", "hugetlbfs", "-o", "pagesize=2M", "none"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    Hugetlb { dir, before }
}

fn qemu_pid_named(name: &str, deadline: Duration) -> Option<u32> {
    let end = Instant::now() + deadline;
    let needle = format!("guest={name},");
    while Instant::now() < end {
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                continue;
            };
            if String::from_utf8_lossy(&cmd).contains(&needle) {
                // Ready once libvirt has applied <cputune>: vCPU 1 and IOThread 1 pinned to
                // CPU 1 (pinning happens after QEMU starts, before the guest runs).
                let ready = pinned(pid, "CPU 1/") && pinned(pid, "IO iothread1");
                if ready {
                    return Some(pid);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// A thread whose name starts with `prefix` exists and may only run on CPU 1.
fn pinned(pid: u32, prefix: &str) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.flatten().any(|t| {
                let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
                let name = status
                    .lines()
                    .find_map(|l| l.strip_prefix("Name:"))
                    .unwrap_or("");
                let cpus = status
                    .lines()
                    .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                    .unwrap_or("");
                name.trim().starts_with(prefix) && cpus.trim() == "1"
            })
        })
        .unwrap_or(false)
}

fn scan(extra: &[&str]) -> Value {
    let out = Command::cargo_bin("kvmaudit")
        .unwrap()
        .arg("scan")
        .args(extra)
        .args(["--json", "-"])
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0) | Some(2)));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (rule, target, status) of one VM's findings.
fn verdicts(r: &Value, vm: &str) -> Vec<(String, String, String)> {
    let prefix = format!("vm:{vm}");
    let mut v: Vec<_> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["target"].as_str().unwrap_or("").starts_with(&prefix))
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["target"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn embedded_libvirt_domain_is_audited_live_and_from_its_argv() {
    for tool in ["virt-qemu-run", "virsh", "qemu-system-x86_64"] {
        if !common::require_tool(tool) {
            return;
        }
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(!common::in_ci(), "CI runs as root");
        eprintln!("\n*** SKIPPING: virt-qemu-run with hugepages needs root ***\n");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let hp = reserve_hugepages(64);
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    // user/group root avoids a minute of capability probing; file stdio avoids virtlogd;
    // no private /dev namespace, which fails inside containers and test sandboxes.
    std::fs::write(
        root.join("etc/qemu.conf"),
        format!(
            "user = \"root\"\ngroup = \"root\"\nstdio_handler = \"file\"\nnamespaces = []\nhugetlbfs_mount = \"{}\"\n",
            hp.dir.path().display()
        ),
    )
    .unwrap();
    let disk = work.path().join("disk.img");
    std::fs::File::create(&disk)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    let xml = std::fs::read_to_string(common::fixture("libvirt-domains/lv-tuned.xml"))
        .unwrap()
        .replace("@DISK@", &disk.display().to_string());
    let xml_path = work.path().join("lv-tuned.xml");
    std::fs::write(&xml_path, &xml).unwrap();

    let log = work.path().join("virt-qemu-run.log");
    let child = std::process::Command::new("virt-qemu-run")
        .arg("-v")
        .arg("-r")
        .arg(&root)
        .arg(&xml_path)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(work.path().join("virt-qemu-run.err")).unwrap())
        .spawn()
        .unwrap();
    let run = Run(child);
    let Some(pid) = qemu_pid_named("lv-tuned", Duration::from_secs(90)) else {
        let out = std::fs::read_to_string(&log).unwrap_or_default();
        let err =
            std::fs::read_to_string(work.path().join("virt-qemu-run.err")).unwrap_or_default();
        panic!("libvirt never started the guest (pinned):\n{out}\n{err}");
    };

    let live = scan(&[]);
    let vm = live["vms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "lv-tuned")
        .expect("lv-tuned found by live discovery")
        .clone();
    assert_eq!(vm["pid"], pid);
    assert_eq!(vm["vcpus"], 2);
    assert_eq!(vm["memory_bytes"], 64 << 20);
    // Pinning comes from thread affinity (libvirt applies it outside argv): dedicated vCPUs
    // 0 and 1 are visible to the placement-dependent rules.
    let status_of = |r: &Value, rule: &str| -> Vec<String> {
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                f["rule"] == rule
                    && f["target"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("vm:lv-tuned")
            })
            .map(|f| f["status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(status_of(&live, "qemu.mem.hugepages"), ["pass"]);
    assert_eq!(status_of(&live, "qemu.blk.cache"), ["pass"]);
    assert_eq!(
        status_of(&live, "qemu.blk.iothread"),
        ["pass"],
        "iothread pinned by <iothreadpin>"
    );

    // The argv libvirt generates for the same XML, audited as a file. A second embedded root:
    // the running virt-qemu-run holds the first one's driver lock.
    let root2 = work.path().join("root2");
    std::fs::create_dir_all(root2.join("etc")).unwrap();
    std::fs::copy(root.join("etc/qemu.conf"), root2.join("etc/qemu.conf")).unwrap();
    let out = std::process::Command::new("virsh")
        .arg("-c")
        .arg(format!("qemu:///embed?root={}", root2.display()))
        .args(["domxml-to-native", "qemu-argv"])
        .arg(&xml_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let argv_file = work.path().join("lv-tuned.args");
    std::fs::write(&argv_file, &out.stdout).unwrap();
    drop(run);
    let offline = scan(&["--qemu-argv", argv_file.to_str().unwrap()]);
    // Rules decided by argv alone must agree. Runtime-evidence rules (thread affinity, fds,
    // numa_maps) cannot be judged from a file, and domxml-to-native rewrites network backends
    // into tap fds, so NIC-backend rules are compared on the device model only.
    let argv_rules = [
        "qemu.blk.virtio-bus",
        "qemu.blk.cache",
        "qemu.blk.num-queues",
        "qemu.blk.packed",
        "qemu.net.virtio-model",
        "qemu.overcommit.mem-lock",
        "qemu.pmem.nvdimm",
    ];
    let keep = |v: Vec<(String, String, String)>| -> Vec<(String, String, String)> {
        v.into_iter()
            .filter(|(r, _, _)| argv_rules.contains(&r.as_str()))
            .collect()
    };
    let a = keep(verdicts(&live, "lv-tuned"));
    let b = keep(verdicts(&offline, "lv-tuned"));
    assert!(!a.is_empty());
    assert_eq!(a, b);
    drop(hp);
}
