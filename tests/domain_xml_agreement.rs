//! Every domain XML of libvirt's own test suite (fixtures/libvirt-xml) is converted to argv by
//! the real `virsh domxml-to-native qemu-argv` (embedded driver, no daemon), and kvmaudit
//! judges both forms on the same host tree: every VM rule decided by argv or configuration
//! must give the same verdict on the same target for the XML as for the argv libvirt made of it.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Rules whose verdict the two forms cannot share, with why. Keep this tiny.
const FORM_LIMITS: &[(&str, &str)] = &[
    // domxml-to-native writes every <interface> as `-netdev tap,fd=N` (SOURCE.md caveat 4): the
    // backend type (user, vhost-user), the vhost-net fd and the queue count are only decided
    // when libvirt starts the domain, so its argv shows none of them while the XML does.
    (
        "qemu.net.vhost",
        "NIC backend rewritten to tap,fd= by domxml-to-native",
    ),
    (
        "qemu.net.multiqueue",
        "NIC backend rewritten to tap,fd= by domxml-to-native",
    ),
    (
        "qemu.net.poll-us",
        "NIC backend rewritten to tap,fd= by domxml-to-native",
    ),
    (
        "qemu.net.virtio-model",
        "a user-mode NIC becomes a tap NIC in domxml-to-native",
    ),
    // `machine='pc'`/`'q35'` is an alias the XML keeps; the versioned type (pc-i440fx-7.2) is
    // chosen by libvirt from the installed QEMU at start, so the XML form cannot date QEMU.
    (
        "base.qemu.version",
        "machine alias expanded only when the domain starts",
    ),
];

/// The rules compared: VM-scope rules whose metadata names argv as evidence.
fn argv_decided_rules() -> BTreeSet<String> {
    kvmaudit::rules::meta::catalogue()
        .iter()
        .filter(|r| r.scope == kvmaudit::rules::meta::Scope::Vm)
        .filter(|r| r.evidence.iter().any(|e| e.contains("argv")))
        .map(|r| r.id.clone())
        .filter(|id| !FORM_LIMITS.iter().any(|(r, _)| r == id))
        .collect()
}

struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

fn scan(host: &Path, args: &[&str]) -> Value {
    let out = Command::cargo_bin("kvmaudit")
        .unwrap()
        .arg("scan")
        .arg("--root")
        .arg(host)
        .args(args)
        .args(["--json", "-"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0) | Some(2)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn verdicts(r: &Value, rules: &BTreeSet<String>) -> BTreeSet<(String, String, String)> {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["vm_index"].is_number())
        .filter(|f| rules.contains(f["rule"].as_str().unwrap()))
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["target"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn domain_xml_verdicts_agree_with_the_argv_libvirt_generates() {
    if !common::require_tool("virsh") {
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(!common::in_ci(), "CI runs as root");
        eprintln!(
            "\n*** SKIPPING: hugepage domains need a hugetlbfs mount, which needs root ***\n"
        );
        return;
    }
    let work = tempfile::tempdir().unwrap();
    // Named like libvirt's usual mount so that the argv's mem-path reads as hugetlbfs, as
    // /dev/hugepages does on a real host.
    let huge = work.path().join("hugepages");
    std::fs::create_dir_all(&huge).unwrap();
    let st = std::process::Command::new("mount")
        .args(["-t", "hugetlbfs", "-o", "pagesize=2M", "none"])
        .arg(&huge)
        .status()
        .unwrap();
    assert!(st.success(), "mount hugetlbfs");
    let _mount = Mount(huge.clone());
    let root = work.path().join("embed");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/qemu.conf"),
        format!(
            "user = \"root\"\ngroup = \"root\"\nnamespaces = []\nhugetlbfs_mount = [\"{}\"]\n",
            huge.display()
        ),
    )
    .unwrap();
    // The same bare host tree for both forms: only the VM's description differs.
    let host = work.path().join("host");
    std::fs::create_dir_all(host.join("proc")).unwrap();

    let mut xmls: Vec<PathBuf> = std::fs::read_dir(common::fixture("libvirt-xml"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    xmls.sort();
    assert_eq!(xmls.len(), 65, "the corpus of SOURCE.md");

    let started = Instant::now();
    let mut converted = Vec::new();
    for x in &xmls {
        let out = std::process::Command::new("virsh")
            .arg("-c")
            .arg(format!("qemu:///embed?root={}", root.display()))
            .args(["domxml-to-native", "qemu-argv"])
            .arg(x)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            x.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let args = work
            .path()
            .join(x.file_name().unwrap())
            .with_extension("args");
        std::fs::write(&args, &out.stdout).unwrap();
        converted.push((x.clone(), args));
    }
    eprintln!(
        "domxml-to-native: {} files in {:.1} s",
        converted.len(),
        started.elapsed().as_secs_f64()
    );

    let rules = argv_decided_rules();
    assert!(rules.contains("qemu.blk.cache") && rules.contains("qemu.mem.hugepages"));
    let mut disagreements = Vec::new();
    let mut compared = 0usize;
    for (xml, args) in &converted {
        let a = verdicts(
            &scan(&host, &["--qemu-argv", args.to_str().unwrap()]),
            &rules,
        );
        let x = verdicts(
            &scan(&host, &["--domain-xml", xml.to_str().unwrap()]),
            &rules,
        );
        assert!(!a.is_empty(), "{}: no VM verdicts", args.display());
        compared += a.len();
        for d in a.symmetric_difference(&x) {
            let side = if a.contains(d) { "argv" } else { "xml" };
            disagreements.push(format!(
                "{}: {} {} is {} only in the {side} form",
                xml.file_name().unwrap().to_string_lossy(),
                d.0,
                d.1,
                d.2
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s) over {compared} verdicts:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    eprintln!("{compared} verdicts agree over {} domains", converted.len());
}
