//! A real sosreport of this machine, taken by Debian's `sosreport` while real QEMU VMs run (one
//! managed by a system libvirtd, one a plain process): `scan --sos` on the archive, on its
//! extracted directory and `--root` on that directory find the VMs by name, with the verdicts
//! of a live scan taken at the same time for every rule argv or configuration decides.
//!
//! One sos run serves every assertion (it takes ~6 s; the first `virsh define` on a machine
//! probes QEMU's capabilities, up to a minute).

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The plugins the scan needs, and no more: each plugin costs sos run time.
/// kvm/libvirt: module parameters, domain XML, logs; processor: cpuid -r, CPU sysfs; hardware:
/// dmidecode; kernel: uname, sysctl, cmdline, modules; process: ps; host: hostname;
/// memory/numa: meminfo, THP, hugepages, NUMA nodes; dpkg: `dpkg -l`, the installed QEMU's
/// version for VMs without a libvirt log. Measured alone on the 2-vCPU test VM (sos 4.0): each
/// run costs ~2 s of start-up; kernel ~7.7 s, processor/hardware/process ~3.4 s, the others
/// ~2.5 s; together ~6–11 s; sos's default plugin set ~59 s.
const PLUGINS: &str = "kvm,libvirt,processor,hardware,kernel,process,host,memory,numa,dpkg";

const URI: &str = "qemu:///system";
const LV_NAME: &str = "kvmaudit-sos-lv";
const PLAIN_NAME: &str = "kvmaudit-sos-plain";

/// A daemon this test started (by its pid file), stopped by pid when the test ends.
struct Daemon(Option<i32>);

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: kill(2) on the pid of a daemon this test started.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
            wait_gone(pid);
        }
    }
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(pid, 0) == 0 };
    exists
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

fn wait_gone(pid: i32) {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end && alive(pid) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn pid_file(path: &str) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Start `prog -d` unless the pid file names a running one (then it is left alone).
fn daemon(prog: &str, pidfile: &str) -> Daemon {
    if pid_file(pidfile).is_some_and(alive) {
        return Daemon(None);
    }
    let st = Command::new(prog).arg("-d").status().unwrap();
    assert!(st.success(), "{prog} -d failed");
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if let Some(pid) = pid_file(pidfile).filter(|p| alive(*p)) {
            return Daemon(Some(pid));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{prog} -d wrote no pid file {pidfile}");
}

/// The libvirt domain: destroyed and undefined when the test ends.
struct Domain;

impl Drop for Domain {
    fn drop(&mut self) {
        let _ = virsh(&["destroy", LV_NAME]);
        let _ = virsh(&["undefine", LV_NAME]);
    }
}

fn virsh(args: &[&str]) -> std::process::Output {
    Command::new("virsh")
        .args(["-c", URI])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A plain QEMU process, killed by pid when the test ends.
struct Plain(Child);

impl Drop for Plain {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pid_of_vm(name: &str) -> Option<u32> {
    let end = Instant::now() + Duration::from_secs(60);
    let needles = [format!("guest={name},"), format!("-name\0{name}\0")];
    while Instant::now() < end {
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd);
            if needles.iter().any(|n| cmd.contains(n.as_str())) {
                return Some(pid);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Findings of one target prefix: (rule, target) -> (status, message).
fn findings(r: &Value, prefix: &str) -> BTreeMap<(String, String), (String, String)> {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let t = f["target"].as_str().unwrap_or("");
            t == prefix || t.starts_with(&format!("{prefix}/"))
        })
        .map(|f| {
            (
                (
                    f["rule"].as_str().unwrap().to_string(),
                    f["target"].as_str().unwrap().to_string(),
                ),
                (
                    f["status"].as_str().unwrap().to_string(),
                    f["message"].as_str().unwrap_or("").to_string(),
                ),
            )
        })
        .collect()
}

fn vm<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["vms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("VM {name} not found: {}", r["vms"]))
}

/// `vm:LABEL`, the prefix of a VM's findings' targets.
fn target_of(r: &Value, name: &str) -> String {
    let v = vm(r, name);
    format!("vm:{}", v["label"].as_str().unwrap_or(name))
}

/// The sosreport scan agrees with the live one: VM by VM, every rule argv or configuration
/// decides has the same verdict; the rules that need what sos does not collect (AIO rings,
/// thread affinity, NUMA maps, VmLck) are unknown and say so. Host-wide, the sosreport only
/// ever knows less: a verdict is the live one or unknown.
fn assert_agrees(sos: &Value, live: &Value, what: &str, foreign_vms: bool) {
    for name in [LV_NAME, PLAIN_NAME] {
        let s = findings(sos, &target_of(sos, name));
        let l = findings(live, &target_of(live, name));
        assert!(!s.is_empty(), "{what}: no findings for {name}");
        assert_eq!(
            s.keys().collect::<Vec<_>>(),
            l.keys().collect::<Vec<_>>(),
            "{what}: {name} has other targets (disks, NICs) than live"
        );
        let mut argv_decided = 0;
        for (k, (ss, sm)) in &s {
            let (ls, lm) = &l[k];
            if ss == ls {
                argv_decided += 1;
                continue;
            }
            let runtime_unknown = ss == "unknown" && sm.contains("not collected by sos");
            // Host-wide memory accounting sums every VM: VMs of other test runs on this
            // machine can come and go between the two scans.
            let overcommit = foreign_vms && k.0 == "qemu.overcommit.mem-lock";
            assert!(
                runtime_unknown || overcommit,
                "{what}: {k:?} is {ss} ({sm}) from the sosreport, {ls} ({lm}) live"
            );
        }
        assert!(
            argv_decided >= 10,
            "{what}: only {argv_decided} verdicts agree for {name}"
        );
    }
    for (k, (ss, sm)) in findings(sos, "host") {
        let l = findings(live, "host");
        let Some((ls, _)) = l.get(&k) else { continue };
        assert!(
            ss == *ls || ss == "unknown",
            "{what}: host rule {k:?} is {ss} ({sm}) from the sosreport but {ls} live"
        );
    }
}

#[test]
fn real_sosreport_finds_the_vms_of_a_live_scan() {
    for tool in [
        "sos",
        "virsh",
        "libvirtd",
        "virtlogd",
        "qemu-system-x86_64",
        "tar",
    ] {
        if !common::require_tool(tool) {
            return;
        }
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(!common::in_ci(), "CI runs as root");
        eprintln!("\n*** SKIPPING: sos report and the system libvirtd need root ***\n");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let _virtlogd = daemon("virtlogd", "/run/virtlogd.pid");
    let _libvirtd = daemon("libvirtd", "/run/libvirtd.pid");

    // The libvirt domain: TCG, started paused (-S), a disk with cache='writeback' (a failing
    // verdict to agree on).
    let disk = work.path().join("lv.img");
    std::fs::File::create(&disk)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    let xml = format!(
        "<domain type='qemu'><name>{LV_NAME}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64' machine='q35'>hvm</type></os><devices>\
         <emulator>/usr/bin/qemu-system-x86_64</emulator>\
         <disk type='file' device='disk'><driver name='qemu' type='raw' cache='writeback' io='threads'/>\
         <source file='{}'/><target dev='vda' bus='virtio'/></disk>\
         <memballoon model='none'/></devices></domain>",
        disk.display()
    );
    let xml_path = work.path().join("lv.xml");
    std::fs::write(&xml_path, xml).unwrap();
    let _ = virsh(&["destroy", LV_NAME]);
    let _ = virsh(&["undefine", LV_NAME]);
    let t = Instant::now();
    let out = virsh(&["define", xml_path.to_str().unwrap()]);
    eprintln!("virsh define: {:.1} s", t.elapsed().as_secs_f64());
    assert!(
        out.status.success(),
        "virsh define: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _domain = Domain;
    let out = virsh(&["start", "--paused", LV_NAME]);
    assert!(
        out.status.success(),
        "virsh start: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The plain QEMU: cache=none,aio=native on its own image.
    let img = work.path().join("plain.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    let plain = Command::new("qemu-system-x86_64")
        .args(["-name", PLAIN_NAME, "-machine", "q35,accel=tcg", "-m", "64"])
        .args(["-nodefaults", "-display", "none", "-S", "-drive"])
        .arg(format!(
            "file={},format=raw,if=virtio,cache=none,aio=native",
            img.display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let plain = Plain(plain);
    let lv_pid = pid_of_vm(LV_NAME).expect("libvirt started no QEMU");
    let plain_pid = pid_of_vm(PLAIN_NAME).expect("plain QEMU did not start");
    assert_eq!(plain_pid, plain.0.id());

    // The sosreport and the live scan, at the same time.
    let tmp = work.path().join("sos");
    std::fs::create_dir(&tmp).unwrap();
    let sos_run = {
        let tmp = tmp.clone();
        std::thread::spawn(move || {
            let t = Instant::now();
            let out = Command::new("sos")
                .args(["report", "--batch", "--tmp-dir"])
                .arg(&tmp)
                .args(["-o", PLUGINS])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            (out, t.elapsed())
        })
    };
    let live = common::scan_report(&[] as &[&str]);
    let (out, took) = sos_run.join().unwrap();
    assert!(
        out.status.success(),
        "sos report: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("sos report -o {PLUGINS}: {:.1} s", took.as_secs_f64());
    let archive: PathBuf = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".tar.xz"))
        .expect("sos wrote no .tar.xz");

    let live_names: Vec<String> = live["vms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap_or("").to_string())
        .collect();
    let foreign = live_names.iter().any(|n| n != LV_NAME && n != PLAIN_NAME);

    // The archive, read in place.
    let from_archive = common::scan_report(&[Path::new("--sos"), archive.as_path()]);
    for (name, pid) in [(LV_NAME, lv_pid), (PLAIN_NAME, plain_pid)] {
        assert_eq!(vm(&from_archive, name)["pid"], pid, "{name}");
    }
    // libvirt's VM has the exact argv of its log; the plain one that of ps.
    assert_eq!(
        vm(&from_archive, LV_NAME)["source"],
        format!("/var/log/libvirt/qemu/{LV_NAME}.log")
    );
    assert_eq!(
        vm(&from_archive, PLAIN_NAME)["source"],
        "sos_commands/process/ps_auxwwwm"
    );
    let sos = &from_archive["host"]["sos"];
    assert_eq!(sos["archive"], true);
    assert_eq!(sos["hostname"], live["host"]["hostname"]);
    assert_eq!(from_archive["host"]["hostname"], live["host"]["hostname"]);
    // Debian's package version is the upstream one with a Debian revision (4.0-2).
    let version = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", "sosreport"])
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&version.stdout);
    let upstream = version.split('-').next().unwrap_or("");
    assert_eq!(sos["version"], upstream, "dpkg says sosreport {version}");
    assert_eq!(sos["layout"], "sos 4.x");
    for f in [
        "sos_commands/processor/cpuid_-r",
        "sos_commands/hardware/dmidecode",
        "sos_commands/kernel/uname_-a",
        "sos_commands/kernel/sysctl_-a",
    ] {
        assert!(
            sos["found"].as_array().unwrap().iter().any(|x| x == f),
            "{f} not used: {sos}"
        );
    }
    // What the tree lacks came from the command outputs: kernel release and CPU.
    assert_eq!(from_archive["host"]["kernel"], live["host"]["kernel"]);
    assert_eq!(from_archive["host"]["cpu"], live["host"]["cpu"]);
    assert_agrees(&from_archive, &live, "--sos archive", foreign);

    // The same sosreport extracted: --sos DIR and --root DIR read it the same way.
    let st = Command::new("tar")
        .arg("-xJf")
        .arg(&archive)
        .arg("-C")
        .arg(work.path())
        .status()
        .unwrap();
    assert!(st.success());
    let dir = std::fs::read_dir(work.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.is_dir()
                && p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("sosreport-")
        })
        .expect("extracted sosreport directory");
    for flag in ["--sos", "--root"] {
        let r = common::scan_report(&[Path::new(flag), dir.as_path()]);
        assert_eq!(r["host"]["sos"]["archive"], false);
        assert_eq!(r["host"]["sos"]["found"], sos["found"], "{flag}");
        assert_eq!(
            r["results"], from_archive["results"],
            "{flag} DIR vs archive"
        );
        assert_agrees(&r, &live, flag, foreign);
    }
}
