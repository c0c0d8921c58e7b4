//! Bounded resources on hostile or oversized input: a 100 MB argv file, a 1 MB (and a 9 MB)
//! `/proc/PID/cmdline`, 10,000 QEMU processes, deep and looping symlinks, FIFOs — each run
//! ends within a time limit, within a memory cap, and with a clear outcome (a report, or a
//! one-line error naming the file).

mod common;

use common::bounded::{collect_root, scan_argv_file, scan_root, Bounded, LIMIT};
use serde_json::Value;
use std::os::unix::fs::symlink;
use std::path::Path;

/// Memory caps, in KiB (the unit of `Bounded::max_rss_kb`).
const GIB: u64 = 1024 * 1024;

fn json(r: &Bounded) -> Value {
    serde_json::from_slice(&r.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a JSON report ({e}); exit {:?}, stderr: {}",
            r.code, r.stderr
        )
    })
}

fn vm_names(report: &Value) -> Vec<String> {
    report["vms"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|e| e["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// One QEMU process under `root/proc/<pid>` with the files discovery reads.
fn qemu_process(root: &Path, pid: u32, cmdline: &[u8]) {
    let d = root.join(format!("proc/{pid}"));
    std::fs::create_dir_all(d.join(format!("task/{pid}"))).unwrap();
    std::fs::write(d.join("cmdline"), cmdline).unwrap();
    let status = "Name:\tqemu-system-x86\nState:\tS (sleeping)\nThreads:\t1\n\
         Cpus_allowed_list:\t0-15\nMems_allowed_list:\t0-1\nVmLck:\t0 kB\n";
    std::fs::write(d.join("status"), status).unwrap();
    std::fs::write(d.join(format!("task/{pid}/status")), status).unwrap();
    symlink("/usr/bin/qemu-system-x86_64", d.join("exe")).unwrap();
}

fn nul_argv(args: &[String]) -> Vec<u8> {
    let mut v = Vec::new();
    for a in args {
        v.extend_from_slice(a.as_bytes());
        v.push(0);
    }
    v
}

fn base_args(name: &str) -> Vec<String> {
    [
        "/usr/bin/qemu-system-x86_64",
        "-name",
        &format!("guest={name},debug-threads=on"),
        "-machine",
        "pc-q35-8.2,accel=kvm",
        "-m",
        "2048",
        "-smp",
        "2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A 100 MB libvirt argv file holding one command line (1.4 million arguments). Linux starts no
/// process with an argv that long, so kvmaudit refuses it with one line naming the file, after
/// tokenizing no further than its 8 MiB command-line bound.
///
/// Memory cap 1.5 GB: the file is read whole (100 MB) and up to 8 MiB of it is tokenized; the
/// cap is generous for a debug build and still far below the 2.4 GB that modelling the whole
/// command line took before the bound existed.
#[test]
fn argv_file_of_100_mb_is_refused_with_one_line_naming_it() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("huge.args");
    let mut text = String::from("LC_ALL=C /usr/bin/qemu-system-x86_64 -name guest=huge \\\n");
    let mut i = 0;
    while text.len() < 100 * 1024 * 1024 {
        text.push_str(&format!(
            "-device virtio-blk-pci,drive=drive{i},id=disk{i} -drive file=/img/d{i}.qcow2,if=none,id=drive{i} \\\n"
        ));
        i += 1;
    }
    text.push_str("-S\n");
    std::fs::write(&path, &text).unwrap();
    drop(text);
    let r = scan_argv_file(&path, LIMIT);
    r.assert_exit("100 MB argv file", &[1]);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {}", r.stderr);
    assert!(
        lines[0].contains("huge.args") && lines[0].contains("longer than"),
        "{}",
        lines[0]
    );
    r.assert_peak_below("100 MB argv file", 3 * GIB / 2);
    eprintln!("100 MB argv file: refused in {}", r.cost());
}

/// A 100 MB libvirt log whose last line starts the VM: read linearly, the VM is reported.
#[test]
fn log_of_100_mb_with_the_command_line_at_the_end_is_audited() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("vm.log");
    let line = "2026-01-01 00:00:00.000+0000: starting up libvirt version: 9.0.0, qemu version: 8.2.0 'unbalanced quote \\\n";
    let mut text = line.repeat(100 * 1024 * 1024 / line.len() + 1);
    text.push_str("LC_ALL=C /usr/bin/qemu-system-x86_64 -name guest=logged -m 1024 -S\n");
    std::fs::write(&path, &text).unwrap();
    drop(text);
    let r = scan_argv_file(&path, LIMIT);
    r.assert_exit("100 MB log", &[0, 2]);
    assert_eq!(vm_names(&json(&r)), ["logged"]);
    r.assert_peak_below("100 MB log", 3 * GIB / 2);
    eprintln!("100 MB log: {}", r.cost());
}

/// A 1 MB `/proc/PID/cmdline` (7,000 devices) is audited; a 9 MB one is skipped with a note.
#[test]
fn cmdline_of_1_mb_is_audited_and_one_beyond_the_bound_is_skipped_with_a_note() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let mut big = base_args("onemeg");
    let mut i = 0;
    while big.iter().map(|a| a.len() + 1).sum::<usize>() < 1024 * 1024 {
        big.push("-device".into());
        big.push(format!(
            "virtio-net-pci,netdev=net{i},id=nic{i},mac=52:54:00:00:{:02x}:{:02x}",
            i / 256 % 256,
            i % 256
        ));
        big.push("-netdev".into());
        big.push(format!("tap,id=net{i},vhost=on,ifname=tap{i}"));
        i += 1;
    }
    qemu_process(root, 4242, &nul_argv(&big));
    let mut huge = base_args("ninemeg");
    huge.push("-append".into());
    huge.push("x".repeat(9 * 1024 * 1024));
    qemu_process(root, 4343, &nul_argv(&huge));
    qemu_process(root, 4444, &nul_argv(&base_args("small")));

    let r = scan_root(root, LIMIT);
    r.assert_exit("1 MB cmdline", &[0, 2]);
    let report = json(&r);
    let mut names = vm_names(&report);
    names.sort();
    assert_eq!(names, ["onemeg", "small"]);
    let text = r.stdout_text();
    assert!(
        text.contains("/proc/4343/cmdline") && text.contains("too large"),
        "the skipped process is noted in the report"
    );
    r.assert_peak_below("1 MB cmdline", GIB / 2);
    eprintln!("1 MB cmdline: {}", r.cost());
}

/// 10,000 QEMU processes in a `--root` tree: all found, in bounded time and memory.
///
/// `collect` (discovery alone) must stay small: 512 MiB and 60 s. `scan` also evaluates ~60
/// rules per VM, ~600,000 findings of ~1 KB each (every finding carries its rule's title and
/// remediation text): 560 MiB and 17 s in a debug build today, so its caps are 1.5 GB and
/// 120 s, room for the rule catalogue to grow while still catching a leak or a quadratic rule.
#[test]
fn ten_thousand_qemu_processes() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    for i in 0..10_000u32 {
        let mut args = base_args(&format!("vm{i:05}"));
        args.extend(
            [
                "-drive",
                &format!(
                    "file=/var/lib/libvirt/images/vm{i}.qcow2,if=virtio,cache=none,aio=native"
                ),
            ]
            .map(String::from),
        );
        qemu_process(&root, 100_000 + i, &nul_argv(&args));
    }
    let snap = t.path().join("snap.json");
    let c = collect_root(&root, &snap, LIMIT);
    c.assert_exit("collect", &[0]);
    let s: Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    assert_eq!(s["qemu"]["value"].as_array().map(Vec::len), Some(10_000));
    c.assert_peak_below("collect", GIB / 2);

    let r = scan_root(&root, 2 * LIMIT);
    r.assert_exit("scan", &[0, 2]);
    assert_eq!(vm_names(&json(&r)).len(), 10_000);
    r.assert_peak_below("scan", 3 * GIB / 2);
    eprintln!("10,000 processes: collect {}; scan {}", c.cost(), r.cost());
}

/// Looping, long and deep symlink chains, and FIFOs where files are expected: the scan ends,
/// records each as an error fact, and never blocks on a FIFO.
#[test]
fn looping_and_deep_symlinks_and_fifos_do_not_hang() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let mk = |p: &str| std::fs::create_dir_all(root.join(p)).unwrap();
    mk("etc");
    mk("proc/sys/kernel");
    mk("sys/devices/system");
    mk("sys/kernel/mm/transparent_hugepage");
    mk("sys/bus/pci/devices");
    // A two-link loop, a self loop, and a loop through an absolute target.
    symlink("hostname.b", root.join("etc/hostname")).unwrap();
    symlink("hostname", root.join("etc/hostname.b")).unwrap();
    symlink("osrelease", root.join("proc/sys/kernel/osrelease")).unwrap();
    symlink(
        "/sys/devices/system/cpu/cpu0/..",
        root.join("sys/devices/system/cpu"),
    )
    .unwrap();
    // A chain of 200 links (past Linux's 40) ending at a real file.
    std::fs::write(root.join("etc/real"), "x\n").unwrap();
    symlink("real", root.join("etc/l199")).unwrap();
    for i in (0..199).rev() {
        symlink(format!("l{}", i + 1), root.join(format!("etc/l{i}"))).unwrap();
    }
    symlink("l0", root.join("etc/os-release")).unwrap();
    // A link whose target is 2,000 components deep of `d/` through a self-referencing `d`.
    symlink(".", root.join("sys/kernel/mm/d")).unwrap();
    symlink(
        format!("{}enabled", "d/".repeat(2000)),
        root.join("sys/kernel/mm/transparent_hugepage/defrag"),
    )
    .unwrap();
    // A directory that contains itself (pattern expansion lists it, never recurses).
    symlink(".", root.join("sys/bus/pci/devices/0000:00:00.0")).unwrap();
    // /proc itself loops, and so does a process's task directory.
    mk("proc/77/task");
    symlink("/proc", root.join("proc/77/task/77")).unwrap();
    std::fs::write(
        root.join("proc/77/cmdline"),
        b"qemu-system-x86_64\0-m\x0064\0",
    )
    .unwrap();
    symlink("exe", root.join("proc/77/exe")).unwrap();
    // FIFOs where regular files are read: nobody will ever write to them.
    for f in [
        "proc/cmdline",
        "proc/meminfo",
        "proc/77/status",
        "etc/fstab",
    ] {
        let c = std::ffi::CString::new(root.join(f).to_str().unwrap()).unwrap();
        // SAFETY: c is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {f}");
    }

    let out = root.join("snap.json");
    let r = collect_root(root, &out, LIMIT);
    r.assert_exit("collect", &[0]);
    r.assert_peak_below("collect", GIB / 2);
    let snap: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let kind = |p: &str| {
        snap["files"][p]["error"]["kind"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(kind("/etc/hostname"), "io", "loop");
    assert_eq!(kind("/proc/sys/kernel/osrelease"), "io", "self loop");
    assert_eq!(kind("/etc/os-release"), "io", "200-link chain");
    assert_eq!(kind("/proc/cmdline"), "io", "FIFO");
    assert_eq!(kind("/etc/fstab"), "io", "FIFO");
    assert!(
        snap["files"]["/sys/devices/system/cpu/online"]["error"].is_object(),
        "looping directory link"
    );

    let r = scan_root(root, LIMIT);
    r.assert_exit("symlink loops", &[0, 2]);
    r.assert_peak_below("symlink loops", GIB / 2);
}
