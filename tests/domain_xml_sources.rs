//! Domain XML as a source: definitions under a `--root` tree (as a sosreport or a copied host
//! carries them) become VMs "defined, not running" outside the running score; a running
//! domain is listed once, from its process, with the pinning of its status XML; `collect`
//! keeps them for `scan --snapshot`; a malformed `--domain-xml` is refused by name.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

const UUID_RUNNING: &str = "11111111-2222-3333-4444-555555555555";

fn write(root: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

fn domain(name: &str, uuid: &str, cache: &str, cputune: &str) -> String {
    format!(
        "<domain type='kvm'><name>{name}</name><uuid>{uuid}</uuid>
  <memory unit='MiB'>512</memory><vcpu placement='static'>2</vcpu><iothreads>1</iothreads>
  <cputune>{cputune}</cputune>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='raw' cache='{cache}' iothread='1'/>
      <source file='/var/lib/libvirt/images/{name}.img'/><target dev='vda' bus='virtio'/></disk>
  </devices></domain>"
    )
}

/// A host with two NUMA nodes, one QEMU process (pid 4242, domain `running1`, no readable
/// threads), running1's definition and a second, stopped domain.
fn tree(root: &Path, with_status: bool, with_stopped: bool) {
    write(root, "sys/devices/system/cpu/online", "0-3\n");
    write(root, "sys/devices/system/node/online", "0-1\n");
    write(root, "sys/devices/system/node/node0/cpulist", "0-1\n");
    write(root, "sys/devices/system/node/node1/cpulist", "2-3\n");
    let argv = [
        "/usr/bin/qemu-system-x86_64",
        "-name",
        "guest=running1,debug-threads=on",
        "-uuid",
        UUID_RUNNING,
        "-machine",
        "pc-q35-7.2",
        "-accel",
        "kvm",
        "-m",
        "512",
        "-smp",
        "2",
        "-object",
        "iothread,id=iothread1",
        "-blockdev",
        r#"{"driver":"file","filename":"/var/lib/libvirt/images/running1.img","node-name":"s","cache":{"direct":true,"no-flush":false}}"#,
        "-blockdev",
        r#"{"node-name":"f","driver":"raw","file":"s","cache":{"direct":true,"no-flush":false}}"#,
        "-device",
        r#"{"driver":"virtio-blk-pci","drive":"f","id":"virtio-disk0","iothread":"iothread1","write-cache":"on"}"#,
    ];
    write(root, "proc/4242/cmdline", argv.join("\0") + "\0");
    let pins = "<vcpupin vcpu='0' cpuset='2'/><vcpupin vcpu='1' cpuset='3'/>\
        <emulatorpin cpuset='2-3'/><iothreadpin iothread='1' cpuset='3'/>";
    write(
        root,
        "etc/libvirt/qemu/running1.xml",
        domain("running1", UUID_RUNNING, "none", pins),
    );
    if with_stopped {
        write(
            root,
            "etc/libvirt/qemu/stopped.xml",
            domain(
                "stopped",
                "99999999-2222-3333-4444-555555555555",
                "unsafe",
                "",
            ),
        );
    }
    if with_status {
        write(
            root,
            "run/libvirt/qemu/running1.xml",
            format!(
                "<domstatus state='running' reason='booted' pid='4242'>{}</domstatus>",
                domain("running1", UUID_RUNNING, "none", pins)
            ),
        );
    }
}

fn scan(args: &[&str]) -> Value {
    let out = Command::cargo_bin("kvmaudit")
        .unwrap()
        .arg("scan")
        .args(args)
        .args(["--json", "-"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0) | Some(2)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn status(r: &Value, rule: &str, target: &str) -> String {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule && f["target"] == target)
        .unwrap_or_else(|| panic!("no {rule} on {target}"))["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn defined_domains_are_audited_apart_and_running_ones_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("host");
    tree(&root, true, true);
    let r = scan(&["--root", root.to_str().unwrap()]);
    let vms = r["vms"].as_array().unwrap();
    let names: Vec<(&str, Option<&str>)> = vms
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v["state"].as_str()))
        .collect();
    // running1's definition is its running process, listed once; stopped is defined only.
    assert_eq!(
        names,
        [
            ("running1", None),
            ("stopped", Some("defined, not running"))
        ]
    );
    assert_eq!(vms[0]["pid"], 4242);
    assert!(vms[1].get("pid").is_none());
    assert!(vms[1]["score"]["value"].is_number(), "a score of its own");
    // The stopped domain's unsafe cache is a blocker before it ever starts.
    assert_eq!(
        status(&r, "qemu.blk.cache", "vm:stopped/drive:virtio-disk0"),
        "fail"
    );
    assert!(r["score"]["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b == "qemu.blk.cache vm:stopped/drive:virtio-disk0"));

    // The running score and coverage are those of the host without the definition.
    let alone = dir.path().join("alone");
    tree(&alone, true, false);
    let a = scan(&["--root", alone.to_str().unwrap()]);
    assert_eq!(a["vms"].as_array().unwrap().len(), 1);
    for k in ["value", "host", "coverage"] {
        assert_eq!(r["score"][k], a["score"][k], "score.{k}");
    }
    assert_eq!(r["vms"][0]["score"], a["vms"][0]["score"]);
}

#[test]
fn status_xml_pins_a_running_vm_whose_threads_are_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let with = dir.path().join("with");
    let without = dir.path().join("without");
    tree(&with, true, false);
    tree(&without, false, false);
    let w = scan(&["--root", with.to_str().unwrap()]);
    let wo = scan(&["--root", without.to_str().unwrap()]);
    // Without threads or status XML, placement is unknown; libvirt's status XML says both
    // vCPUs are pinned to node 1's CPUs.
    assert_eq!(
        status(&wo, "qemu.numa.vm-placement", "vm:running1"),
        "unknown"
    );
    let placed = status(&w, "qemu.numa.vm-placement", "vm:running1");
    assert_ne!(placed, "unknown");
    assert_eq!(
        status(&wo, "qemu.blk.iothread", "vm:running1/drive:virtio-disk0"),
        "unknown"
    );
    assert_ne!(
        status(&w, "qemu.blk.iothread", "vm:running1/drive:virtio-disk0"),
        "unknown"
    );
}

#[test]
fn collect_keeps_domains_and_bad_domain_xml_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("host");
    tree(&root, true, true);
    let snap = dir.path().join("snap.json");
    Command::cargo_bin("kvmaudit")
        .unwrap()
        .args(["collect", "--root", root.to_str().unwrap(), "-o"])
        .arg(&snap)
        .assert()
        .success();
    let direct = scan(&["--root", root.to_str().unwrap()]);
    let replay = scan(&["--snapshot", snap.to_str().unwrap()]);
    assert_eq!(direct["vms"], replay["vms"]);

    // --qemu-argv replaces the host's VMs: its libvirt definitions go with its processes.
    let argv = dir.path().join("one.args");
    std::fs::copy(root.join("proc/4242/cmdline"), &argv).unwrap();
    let r = scan(&[
        "--root",
        root.to_str().unwrap(),
        "--qemu-argv",
        argv.to_str().unwrap(),
    ]);
    let names: Vec<&str> = r["vms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["running1"]);

    // --domain-xml adds a definition to any scan; a file that is not one ends the run.
    let file = dir.path().join("tmpl.xml");
    std::fs::write(
        &file,
        domain(
            "tmpl",
            "77777777-2222-3333-4444-555555555555",
            "writeback",
            "",
        ),
    )
    .unwrap();
    let r = scan(&[
        "--root",
        root.to_str().unwrap(),
        "--domain-xml",
        file.to_str().unwrap(),
    ]);
    assert!(r["vms"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["name"] == "tmpl" && v["state"] == "defined, not running"));
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, "<!DOCTYPE x [<!ENTITY a 'b'>]><domain>&a;</domain>").unwrap();
    let out = Command::cargo_bin("kvmaudit")
        .unwrap()
        .args(["scan", "--root", root.to_str().unwrap(), "--domain-xml"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.xml") && err.contains("DOCTYPE"), "{err}");
}
