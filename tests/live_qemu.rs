//! End to end against real QEMU processes (TCG, `-S`, small memory), started as children of the
//! test: live discovery finds each VM by name and gives the expected per-VM verdicts.
//! Needs qemu-system-x86_64 (skips loudly outside CI when missing; fails under CI).

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const QEMU: &str = "qemu-system-x86_64";

/// A QEMU child process that is killed and reaped when dropped.
struct Vm {
    child: Child,
    name: String,
}

impl Vm {
    fn start(name: &str, args: &[&str]) -> Vm {
        let mut cmd = std::process::Command::new(QEMU);
        cmd.args(["-name", &format!("guest={name},debug-threads=on"), "-S"])
            .args(["-display", "none", "-nodefaults", "-no-user-config"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let child = cmd.spawn().expect("spawn qemu");
        let mut vm = Vm {
            child,
            name: name.to_string(),
        };
        vm.wait_ready();
        vm
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// QEMU is ready for a scan once its vCPU threads exist.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let task = format!("/proc/{}/task", self.pid());
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                panic!("qemu {} exited early ({status}): {err}", self.name);
            }
            let ready = std::fs::read_dir(&task)
                .map(|d| {
                    d.filter_map(|e| e.ok()).any(|e| {
                        std::fs::read_to_string(e.path().join("comm"))
                            .map(|c| c.starts_with("CPU 0/"))
                            .unwrap_or(false)
                    })
                })
                .unwrap_or(false);
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "qemu {} never got ready",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn have_qemu() -> bool {
    common::require_tool(QEMU)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn live_scan() -> Value {
    let out = Command::cargo_bin("kvmaudit")
        .unwrap()
        .args(["scan", "--json", "-"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0) | Some(2)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn vm_entry<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["vms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("VM {name} not found in {}", r["vms"]))
}

/// Status of `rule` on the finding whose target starts with `target`.
fn status(r: &Value, rule: &str, target: &str) -> Vec<String> {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule && f["target"].as_str().unwrap_or("").starts_with(target))
        .map(|f| f["status"].as_str().unwrap().to_string())
        .collect()
}

/// The message of `rule` on the first target starting with `target` (for failure output).
fn message(r: &Value, rule: &str, target: &str) -> String {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule && f["target"].as_str().unwrap_or("").starts_with(target))
        .map(|f| f["message"].to_string())
        .unwrap_or_default()
}

fn disk_image(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(16 * 1024 * 1024).unwrap();
    p
}

/// The tuned VM's network: a two-queue tap when root can create one (CI), else user mode.
fn tuned_net() -> [String; 4] {
    if is_root() && Path::new("/dev/net/tun").exists() {
        let ifname = format!("kvma{}", std::process::id() % 100_000);
        [
            "-netdev".into(),
            format!("tap,id=n0,ifname={ifname},script=no,downscript=no,queues=2"),
            "-device".into(),
            "virtio-net-pci,netdev=n0,id=net0,mq=on,vectors=6,packed=on".into(),
        ]
    } else {
        [
            "-netdev".into(),
            "user,id=n0".into(),
            "-device".into(),
            "virtio-net-pci,netdev=n0,id=net0,mq=on,packed=on".into(),
        ]
    }
}

fn tuned_args(img: &Path, aio: &str) -> Vec<String> {
    let blockdev = format!(
        r#"{{"driver":"file","filename":"{}","node-name":"f0","cache":{{"direct":true,"no-flush":false}},"aio":"{aio}"}}"#,
        img.display()
    );
    [
        "-accel",
        "tcg,tb-size=32",
        "-m",
        "64",
        "-smp",
        "2",
        "-overcommit",
        "mem-lock=on",
        "-object",
        "iothread,id=iothread0",
        "-blockdev",
        &blockdev,
        "-blockdev",
        r#"{"driver":"raw","file":"f0","node-name":"d0"}"#,
        "-device",
        "virtio-blk-pci,drive=d0,id=vd0,iothread=iothread0,num-queues=2,packed=on",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(tuned_net())
    .collect()
}

#[test]
fn tuned_and_untuned_vms_are_found_and_judged() {
    if !have_qemu() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img_t = disk_image(dir.path(), "tuned.img");
    let img_u = disk_image(dir.path(), "untuned.img");
    let tuned_a = tuned_args(&img_t, "io_uring");
    let tuned: Vec<&str> = tuned_a.iter().map(|s| s.as_str()).collect();
    let t = Vm::start("live-tuned", &tuned);
    let hda = img_u.display().to_string();
    let u = Vm::start(
        "live-untuned",
        &[
            "-accel",
            "tcg",
            "-m",
            "64",
            "-smp",
            "2",
            "-hda",
            &hda,
            "-netdev",
            "user,id=u0",
            "-device",
            "e1000,netdev=u0,id=net0",
        ],
    );
    let r = live_scan();
    let te = vm_entry(&r, "live-tuned");
    let ue = vm_entry(&r, "live-untuned");
    assert_eq!(te["pid"], t.pid());
    assert_eq!(ue["pid"], u.pid());
    assert_eq!(te["vcpus"], 2);
    assert_eq!(te["memory_bytes"], 64 * 1024 * 1024);
    // Per-VM verdicts.
    assert_eq!(status(&r, "qemu.blk.cache", "vm:live-tuned/"), ["pass"]);
    assert_eq!(status(&r, "qemu.blk.cache", "vm:live-untuned/"), ["warn"]);
    assert_eq!(
        status(&r, "qemu.blk.virtio-bus", "vm:live-tuned/"),
        ["pass"]
    );
    assert_eq!(
        status(&r, "qemu.blk.virtio-bus", "vm:live-untuned/"),
        ["fail"]
    );
    assert_eq!(status(&r, "qemu.blk.aio", "vm:live-tuned/"), ["pass"]);
    assert_eq!(status(&r, "qemu.blk.aio", "vm:live-untuned/"), ["warn"]);
    // IOThreads serve virtio disks only: the IDE disk is not applicable (virtio-bus fails).
    assert_eq!(
        status(&r, "qemu.blk.iothread", "vm:live-untuned/"),
        ["not_applicable"]
    );
    assert_ne!(status(&r, "qemu.blk.iothread", "vm:live-tuned/"), ["fail"]);
    assert_eq!(
        status(&r, "qemu.net.virtio-model", "vm:live-tuned/"),
        ["pass"]
    );
    if is_root() {
        // A real two-queue tap on a 2-vCPU VM with mq=on.
        assert_eq!(
            status(&r, "qemu.net.multiqueue", "vm:live-tuned/"),
            ["pass"],
            "{}",
            message(&r, "qemu.net.multiqueue", "vm:live-tuned/")
        );
        // No /dev/vhost-net fd: the userspace datapath is a failure, proven at runtime.
        let vhost = status(&r, "qemu.net.vhost", "vm:live-tuned/");
        assert!(vhost == ["fail"] || vhost == ["pass"], "{vhost:?}");
    }
    // e1000 on user networking: never a pass (the rule reports slirp NICs as management
    // NICs, info, and fails emulated models on data NICs).
    assert_ne!(
        status(&r, "qemu.net.virtio-model", "vm:live-untuned/"),
        ["pass"]
    );
    // TCG on both: the accelerator rule fails from runtime proof ("CPU n/TCG" threads).
    assert_eq!(status(&r, "qemu.accel.kvm", "vm:live-tuned"), ["fail"]);
    let ts = te["score"]["value"].as_f64().unwrap();
    let us = ue["score"]["value"].as_f64().unwrap();
    assert!(ts > us + 15.0, "tuned {ts} vs untuned {us}");
}

/// Huge pages reserved for one test and released after it, with a hugetlbfs mount.
struct HugePool {
    mount: tempfile::TempDir,
    before: String,
}

impl HugePool {
    fn reserve(pages: u32) -> HugePool {
        let before = std::fs::read_to_string("/proc/sys/vm/nr_hugepages").unwrap();
        let want = before.trim().parse::<u32>().unwrap() + pages;
        std::fs::write("/proc/sys/vm/nr_hugepages", want.to_string()).unwrap();
        let mount = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "hugetlbfs", "-o", "pagesize=2M", "none"])
            .arg(mount.path())
            .status()
            .unwrap();
        assert!(ok.success(), "mount hugetlbfs");
        HugePool { mount, before }
    }
}

impl Drop for HugePool {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.mount.path())
            .status();
        let _ = std::fs::write("/proc/sys/vm/nr_hugepages", self.before.trim());
    }
}

#[test]
fn hugetlbfs_and_memfd_hugetlb_backed_vms() {
    if !have_qemu() {
        return;
    }
    if !is_root() {
        assert!(!common::in_ci(), "CI runs as root");
        eprintln!("\n*** SKIPPING: reserving huge pages needs root ***\n");
        return;
    }
    let pool = HugePool::reserve(64);
    let file_backend = format!(
        "memory-backend-file,id=ram0,mem-path={},size=32M,prealloc=on,share=on",
        pool.mount.path().display()
    );
    let a = Vm::start(
        "live-hugetlbfs",
        &[
            "-accel",
            "tcg,tb-size=32",
            "-m",
            "32",
            "-object",
            &file_backend,
            "-machine",
            "q35,memory-backend=ram0",
        ],
    );
    let b = Vm::start(
        "live-memfd",
        &[
            "-accel",
            "tcg,tb-size=32",
            "-m",
            "32",
            "-object",
            "memory-backend-memfd,id=ram0,hugetlb=on,hugetlbsize=2M,size=32M,prealloc=on",
            "-machine",
            "q35,memory-backend=ram0",
        ],
    );
    let plain = Vm::start("live-4k", &["-accel", "tcg,tb-size=32", "-m", "32"]);
    let r = live_scan();
    for (vm, name) in [
        (&a, "live-hugetlbfs"),
        (&b, "live-memfd"),
        (&plain, "live-4k"),
    ] {
        assert_eq!(vm_entry(&r, name)["pid"], vm.pid());
    }
    assert_eq!(
        status(&r, "qemu.mem.hugepages", "vm:live-hugetlbfs"),
        ["pass"]
    );
    assert_eq!(status(&r, "qemu.mem.hugepages", "vm:live-memfd"), ["pass"]);
    // Without hugetlb the guest RAM is THP-backed when THP is usable (warn), 4 KiB otherwise.
    let thp =
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    let want = if thp.contains("[never]") {
        "fail"
    } else {
        "warn"
    };
    assert_eq!(status(&r, "qemu.mem.hugepages", "vm:live-4k"), [want]);
    // The VMs first (killed and reaped): while live-hugetlbfs holds its file the pool's
    // hugetlbfs cannot be unmounted, and the mount was left behind.
    drop((a, b, plain));
    drop(pool);
}

/// Compile a tiny C program into `dir/name` (a stand-in for QEMU: an ELF whose
/// `/proc/PID/exe` basename is what discovery keys on).
fn compile(dir: &Path, name: &str, src: &str) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let out = dir.join(name);
    let st = std::process::Command::new("cc")
        .arg("-O0")
        .arg("-o")
        .arg(&out)
        .arg(&c)
        .status()
        .unwrap();
    assert!(st.success(), "cc failed");
    out
}

/// Sleeps forever whatever its arguments; with `--wipe` first it blanks its argv in memory,
/// which leaves /proc/PID/cmdline empty.
const STAND_IN: &str = r#"
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--wipe") == 0) {
        char *end = argv[argc - 1] + strlen(argv[argc - 1]);
        memset(argv[0], 0, end - argv[0]);
    }
    for (;;) pause();
}
"#;

struct Proc(Child);

impl Proc {
    fn spawn(bin: &Path, args: &[&std::ffi::OsStr]) -> Proc {
        let child = std::process::Command::new(bin)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150));
        Proc(child)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn vm_pids(r: &Value) -> Vec<u64> {
    r["vms"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["pid"].as_u64())
        .collect()
}

#[test]
fn stand_ins_carry_options_this_machine_cannot_start() {
    if !have_qemu() || !common::require_tool("cc") {
        return;
    }
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = compile(dir.path(), QEMU, STAND_IN);
    let args: Vec<&OsStr> = vec![
        OsStr::new("-name"),
        OsStr::new("guest=standin,debug-threads=on"),
        OsStr::new("-accel"),
        OsStr::new("kvm"),
        OsStr::new("-cpu"),
        OsStr::new("host,kvm-hint-dedicated=on"),
        OsStr::new("-smp"),
        OsStr::new("4"),
        OsStr::new("-m"),
        OsStr::new("1G"),
        OsStr::new("-netdev"),
        OsStr::new("tap,id=h0,vhost=on,queues=4,script=no,downscript=no"),
        OsStr::new("-device"),
        OsStr::new("virtio-net-pci,netdev=h0,id=net0,mq=on,vectors=10"),
        OsStr::new("-device"),
        OsStr::new("vfio-pci,host=3d:01.1,id=hostdev0"),
        OsStr::new("-append"),
        OsStr::from_bytes(b"console=ttyS0 \xff\xfe"),
    ];
    let p = Proc::spawn(&bin, &args);
    let r = live_scan();
    let e = vm_entry(&r, "standin");
    assert_eq!(e["pid"], p.0.id());
    assert_eq!(e["vcpus"], 4);
    assert_eq!(e["memory_bytes"], 1u64 << 30);
    assert_eq!(status(&r, "qemu.net.virtio-model", "vm:standin/"), ["pass"]);
    // vhost requested in argv; the stand-in holds no /dev/vhost-net fd, so runtime proof is
    // missing: never a plain pass.
    assert_ne!(status(&r, "qemu.net.vhost", "vm:standin/"), ["pass"]);
    assert_eq!(status(&r, "qemu.net.multiqueue", "vm:standin/"), ["pass"]);
    let vfio = status(&r, "qemu.qat.passthrough", "vm:standin");
    assert!(!vfio.is_empty(), "the vfio device must reach the QAT rule");
}

#[test]
fn races_zombies_empty_cmdlines_and_impostors_do_not_confuse_discovery() {
    if !have_qemu() || !common::require_tool("cc") {
        return;
    }
    use std::ffi::OsStr;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = compile(dir.path(), QEMU, STAND_IN);
    let exits = tempfile::tempdir().unwrap();
    let quick = compile(exits.path(), QEMU, "int main(void) { return 0; }\n");

    // An impostor: `sleep` started with argv[0] = qemu-system-x86_64. Its exe is sleep.
    let impostor = std::process::Command::new("/bin/sleep")
        .arg0(QEMU)
        .arg("1000")
        .spawn()
        .unwrap();
    let impostor = Proc(impostor);
    // A QEMU whose argv memory was blanked: empty /proc/PID/cmdline.
    let wiped = Proc::spawn(
        &bin,
        &[
            OsStr::new("--wipe"),
            OsStr::new("-name"),
            OsStr::new("guest=wiped"),
        ],
    );
    // A zombie: a child that exited and was not reaped yet.
    let mut zombie = std::process::Command::new(&quick).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(200));

    // VMs that come and go while scans run.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let stop = stop.clone();
        let bin = bin.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let name = format!("guest=churn{n},debug-threads=on");
                let mut c = std::process::Command::new(&bin)
                    .args(["-name", &name, "-smp", "1"])
                    .spawn()
                    .unwrap();
                std::thread::sleep(Duration::from_millis(7 + (n % 5) * 3));
                let _ = c.kill();
                let _ = c.wait();
                n += 1;
            }
        })
    };
    for _ in 0..15 {
        let r = live_scan();
        let pids = vm_pids(&r);
        assert!(
            !pids.contains(&u64::from(impostor.0.id())),
            "impostor taken for QEMU"
        );
        assert!(
            !pids.contains(&u64::from(wiped.0.id())),
            "empty cmdline taken for a VM"
        );
        assert!(
            !pids.contains(&u64::from(zombie.id())),
            "zombie taken for a VM"
        );
        for v in r["vms"].as_array().unwrap() {
            let name = v["name"].as_str().unwrap();
            // A churn VM, if caught, must carry its own facts.
            if name.starts_with("churn") {
                assert_eq!(v["vcpus"], 1, "{v}");
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    churn.join().unwrap();
    let _ = zombie.wait();
}

#[test]
fn fifty_vms_at_once() {
    if !have_qemu() {
        return;
    }
    let mut children = Vec::new();
    for i in 0..50 {
        let name = format!("guest=fifty{i:02},debug-threads=on");
        let c = std::process::Command::new(QEMU)
            .args([
                "-name",
                &name,
                "-S",
                "-display",
                "none",
                "-nodefaults",
                "-no-user-config",
            ])
            .args(["-accel", "tcg,tb-size=4", "-m", "16", "-smp", "1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        children.push(Vm {
            child: c,
            name: format!("fifty{i:02}"),
        });
    }
    for vm in &mut children {
        vm.wait_ready();
    }
    let r = live_scan();
    for vm in &children {
        let e = vm_entry(&r, &vm.name);
        assert_eq!(e["pid"], vm.pid());
        assert_eq!(e["vcpus"], 1);
    }
}
