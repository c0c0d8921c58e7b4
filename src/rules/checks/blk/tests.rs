use crate::report::Profile::{Latency, Throughput};
use crate::rules::facts::vm_args::machine_compat_version;
use crate::rules::testkit::{findings, status, SnapBuilder};

const Q: &str =
    "qemu-system-x86_64 -name guest=g,debug-threads=on -machine pc-q35-6.0 -accel kvm -smp 4 -m 4G";

fn blockdev(file_extra: &str) -> String {
    format!(
        r#"-blockdev {{"driver":"file","filename":"/var/lib/d.img","node-name":"p"{file_extra}}} -blockdev {{"driver":"qcow2","node-name":"f","file":"p"}}"#
    )
}

fn snap_args(args: &[&str]) -> crate::snapshot::Snapshot {
    SnapBuilder::new().vm_argv(args, &[]).build()
}

/// argv from whitespace-separated words, where `{...}` JSON words contain no spaces.
fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn snap(s: &str) -> crate::snapshot::Snapshot {
    let w = words(s);
    let r: Vec<&str> = w.iter().map(String::as_str).collect();
    snap_args(&r)
}

/// The userspace NVMe driver bypasses the host page cache (issue 12 item 11).
#[test]
fn userspace_nvme_is_not_a_page_cache_disk() {
    let d = |extra: &str| {
        snap(&format!(
            r#"{Q} -blockdev {{"driver":"nvme","device":"0000:44:00.0","namespace":1,"node-name":"n"{extra}}} -device virtio-blk-pci,drive=n,id=vd0"#
        ))
    };
    let f = findings(&d(""), Throughput, "qemu.blk.cache");
    assert_eq!(f[0].status.as_str(), "pass", "{}", f[0].message);
    assert!(f[0].message.contains("userspace NVMe"), "{}", f[0].message);
    // Ignored flushes are still unsafe.
    assert_eq!(
        status(
            &d(r#","cache":{"no-flush":true}"#),
            Throughput,
            "qemu.blk.cache",
            "vm:g/drive:vd0"
        ),
        "fail"
    );
}

#[test]
fn qemu_generated_drive_ids() {
    let ids = |args: &str| {
        let w = words(args);
        let a: Vec<crate::snapshot::RawBytes> = w
            .iter()
            .map(|x| crate::snapshot::RawBytes::from(x.as_str()))
            .collect();
        let m = crate::model::vm::VmModel::from_argv(&a);
        crate::rules::facts::vm_args::implicit_drive_ids(&m.machine, &a)
    };
    let s = |v: &[&str]| v.iter().map(|x| Some(x.to_string())).collect::<Vec<_>>();
    assert_eq!(
        ids("qemu -hda a.img -hdb b.img -cdrom c.iso -fda f.img"),
        s(&["ide0-hd0", "ide0-hd1", "ide1-cd0", "floppy0"])
    );
    assert_eq!(
        ids("qemu -drive file=a,if=virtio -drive file=b,if=virtio -drive file=c,if=scsi"),
        s(&["virtio0", "virtio1", "scsi0-hd0"])
    );
    // IDE fills unit 0/1 of bus 0, then bus 1; an explicit id keeps its unit.
    assert_eq!(
        ids("qemu -drive file=a,id=x -drive file=b -drive file=c,media=cdrom"),
        vec![None, Some("ide0-hd1".into()), Some("ide1-cd0".into())]
    );
    assert_eq!(ids("qemu -M virt disk.img"), s(&["virtio0"]));
    assert_eq!(
        ids("qemu -drive file=a,if=none,id=d0"),
        Vec::<Option<String>>::new()
    );
}

#[test]
fn machine_versions() {
    assert_eq!(machine_compat_version("pc-q35-6.0"), Some((6, 0)));
    assert_eq!(machine_compat_version("pc-i440fx-2.12"), Some((2, 12)));
    assert_eq!(machine_compat_version("s390-ccw-virtio-8.2"), Some((8, 2)));
    assert_eq!(machine_compat_version("q35"), None);
    assert_eq!(machine_compat_version("pc-q35-rhel8.6.0"), Some((5, 2)));
    assert_eq!(machine_compat_version("pc-q35-rhel7.6.0"), Some((5, 1)));
}

#[test]
fn bus() {
    let s = snap(&format!(
        "{Q} -drive file=/a.img,if=none,id=d0 -device virtio-blk-pci,drive=d0,id=vd0 \
         -drive file=/b.img,if=none,id=d1 -device ide-hd,drive=d1,id=ide0 \
         -drive file=/c.iso,if=none,id=d2,media=cdrom -device ide-cd,drive=d2,id=cd0 \
         -device virtio-scsi-pci,id=scsi0 -drive file=/e.img,if=none,id=d3 -device scsi-hd,drive=d3,bus=scsi0.0,id=sd0"
    ));
    let r = "qemu.blk.virtio-bus";
    assert_eq!(status(&s, Throughput, r, "vm:g/drive:vd0"), "pass");
    assert_eq!(status(&s, Throughput, r, "vm:g/drive:ide0"), "fail");
    assert_eq!(
        status(&s, Throughput, r, "vm:g/drive:cd0"),
        "not_applicable"
    );
    assert_eq!(status(&s, Throughput, r, "vm:g/drive:sd0"), "info");
    // -hda is emulated IDE too (the guide's own examples), named as QEMU names it.
    let s = snap(&format!("{Q} -hda /vm.img"));
    let f = findings(&s, Throughput, r);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].status.as_str(), "fail");
    assert_eq!(f[0].target, "vm:g/drive:ide0-hd0");
    // No disks at all: one not-applicable line for the VM.
    let s = snap(Q);
    assert_eq!(status(&s, Throughput, r, "vm:g"), "not_applicable");
}

#[test]
fn cache_modes() {
    let r = "qemu.blk.cache";
    let drive = |c: &str| {
        snap(&format!(
            "{Q} -drive file=/a.img,if=none,id=d0,{c} -device virtio-blk-pci,drive=d0,id=vd0"
        ))
    };
    assert_eq!(
        status(&drive("cache=none"), Throughput, r, "vm:g/drive:vd0"),
        "pass"
    );
    assert_eq!(
        status(&drive("cache=directsync"), Throughput, r, "vm:g/drive:vd0"),
        "pass"
    );
    assert_eq!(
        status(&drive("cache=writeback"), Throughput, r, "vm:g/drive:vd0"),
        "warn"
    );
    assert_eq!(
        status(&drive("cache=writethrough"), Latency, r, "vm:g/drive:vd0"),
        "warn"
    );
    let unsafe_ = findings(&drive("cache=unsafe"), Throughput, r);
    assert_eq!(unsafe_[0].status.as_str(), "fail");
    assert!(
        unsafe_[0].blocker,
        "cache=unsafe is a data-integrity blocker"
    );
    assert!(unsafe_[0].evidence[0]
        .observed
        .contains("cache.no-flush=on"));
    // Runtime beats argv: cache=none but the image fd lacks O_DIRECT.
    let fdinfo = |flags: &str| {
        let w = words(&format!(
            "{Q} -drive file=/a.img,if=none,id=d0,cache=none -device virtio-blk-pci,drive=d0,id=vd0"
        ));
        let a: Vec<&str> = w.iter().map(String::as_str).collect();
        let flags = flags.to_string();
        SnapBuilder::new()
            .vm_argv(&a, &[])
            .with_last_vm(move |p| {
                p.fdinfo = Some(crate::snapshot::Sourced::value(
                    "/proc/1000/fdinfo",
                    vec![crate::snapshot::FdInfo {
                        fd: 21,
                        target: "/a.img".into(),
                        flags,
                        iff: None,
                    }],
                ))
            })
            .build()
    };
    let f = findings(&fdinfo("02140002"), Throughput, r);
    assert_eq!(f[0].status.as_str(), "pass");
    assert_eq!(f[0].evidence[1].observed, "/a.img open with O_DIRECT");
    assert_eq!(
        status(&fdinfo("02100002"), Throughput, r, "vm:g/drive:vd0"),
        "warn"
    );
    // -blockdev without a cache key: direct off → writeback.
    let s = snap(&format!(
        "{Q} {} -device {{\"driver\":\"virtio-blk-pci\",\"drive\":\"f\",\"id\":\"vd0\"}}",
        blockdev("")
    ));
    assert_eq!(status(&s, Throughput, r, "vm:g/drive:vd0"), "warn");
    // rbd has its own caching.
    let s = snap(&format!(
        "{Q} -drive file=rbd:pool/img,format=raw,if=none,id=d0,cache=writeback -device virtio-blk-pci,drive=d0,id=vd0"
    ));
    assert_eq!(
        status(&s, Throughput, r, "vm:g/drive:vd0"),
        "not_applicable"
    );
}

#[test]
fn aio_engines() {
    let r = "qemu.blk.aio";
    let base = |aio: &str| {
        format!("{Q} -drive file=/dev/sdb,format=raw,if=none,id=d0,cache=none,{aio} -device virtio-blk-pci,drive=d0,id=vd0")
    };
    let t = "vm:g/drive:vd0";
    // threads (explicit or default) → warn threads
    let s = snap(&base("aio=threads"));
    let f = findings(&s, Throughput, r);
    assert_eq!(f[0].status.as_str(), "warn");
    assert_eq!(f[0].evidence[0].observed, "aio=threads");
    // io_uring with the ring fd → pass; without → warn; fds unreadable → unknown
    let w = words(&base("aio=io_uring"));
    let args: Vec<&str> = w.iter().map(String::as_str).collect();
    let with_fds = |fds: Option<Vec<&str>>| {
        SnapBuilder::new()
            .vm_argv(&args, &[])
            .with_last_vm(|p| {
                p.fds = Some(match fds {
                    Some(v) => crate::snapshot::Sourced::value(
                        "/proc/1000/fd",
                        v.into_iter().map(str::to_string).collect(),
                    ),
                    None => crate::snapshot::Sourced::error(
                        "/proc/1000/fd",
                        crate::snapshot::ReadError::new(
                            crate::snapshot::ReadErrorKind::PermissionDenied,
                            "Permission denied",
                        ),
                    ),
                })
            })
            .build()
    };
    let ring = with_fds(Some(vec!["anon_inode:[io_uring]", "anon_inode:kvm-vm"]));
    assert_eq!(status(&ring, Throughput, r, t), "pass");
    let none = with_fds(Some(vec!["anon_inode:kvm-vm"]));
    assert_eq!(status(&none, Throughput, r, t), "warn");
    let denied = with_fds(None);
    assert_eq!(status(&denied, Throughput, r, t), "unknown");
    // argv only (a --qemu-argv file: no process): requested but not proven
    let argv_only = |s: &str| {
        let w = words(s);
        let a: Vec<&str> = w.iter().map(String::as_str).collect();
        SnapBuilder::new()
            .vm_argv(&a, &[])
            .with_last_vm(|p| p.pid = None)
            .build()
    };
    let f = findings(&argv_only(&base("aio=io_uring")), Throughput, r);
    assert_eq!(f[0].status.as_str(), "warn");
    assert!(f[0].message.contains("not proven"));
    // io_uring disabled system-wide beats everything
    let off = SnapBuilder::new()
        .file("/proc/sys/kernel/io_uring_disabled", "2")
        .vm_argv(&args, &[])
        .build();
    assert_eq!(status(&off, Throughput, r, t), "warn");
    // native: aio-nr decides
    let w = words(&base("aio=native"));
    let args: Vec<&str> = w.iter().map(String::as_str).collect();
    let nr = |v: &str| {
        SnapBuilder::new()
            .file("/proc/sys/fs/aio-nr", v)
            .vm_argv(&args, &[])
            .build()
    };
    assert_eq!(status(&nr("4096"), Throughput, r, t), "unknown");
    assert_eq!(status(&nr("0"), Throughput, r, t), "warn");
    // the process's own AIO rings beat the host-wide count
    let rings = |n: Option<u32>| {
        SnapBuilder::new()
            .file("/proc/sys/fs/aio-nr", "4096")
            .vm_argv(&args, &[])
            .with_last_vm(|p| {
                p.aio_rings = Some(match n {
                    Some(n) => crate::snapshot::Sourced::value("/proc/1000/maps", n),
                    None => crate::snapshot::Sourced::error(
                        "/proc/1000/maps",
                        crate::snapshot::ReadError::new(
                            crate::snapshot::ReadErrorKind::PermissionDenied,
                            "Permission denied",
                        ),
                    ),
                })
            })
            .build()
    };
    let f = findings(&rings(Some(2)), Throughput, r);
    assert_eq!(f[0].status.as_str(), "pass");
    assert_eq!(f[0].evidence[1].observed, "2 /[aio] mapping(s)");
    assert_eq!(status(&rings(Some(0)), Throughput, r, t), "warn");
    // Unreadable rings: a non-zero host-wide fs.aio-nr may be anyone's, so not a pass
    // (as root the same disk may be a fallback warn: issue 12 item 4).
    let f = findings(&rings(None), Throughput, r);
    assert_eq!(f[0].status.as_str(), "unknown");
    assert!(
        f[0].message.contains("/proc/1000/maps: permission denied")
            && f[0].message.contains("fs.aio-nr = 4096"),
        "{}",
        f[0].message
    );
    // live process, nothing readable: unknown
    let none = SnapBuilder::new().vm_argv(&args, &[]).build();
    assert_eq!(status(&none, Throughput, r, t), "unknown");
    let w2 = words(&base("aio=native"));
    let a2: Vec<&str> = w2.iter().map(String::as_str).collect();
    let argv_nr = SnapBuilder::new()
        .file("/proc/sys/fs/aio-nr", "4096")
        .vm_argv(&a2, &[])
        .with_last_vm(|p| p.pid = None)
        .build();
    let f = findings(&argv_nr, Throughput, r);
    assert_eq!(f[0].status.as_str(), "warn");
    assert!(f[0].message.contains("not proven"));
    // a CD-ROM is not judged
    let s = snap(&format!(
        "{Q} -drive file=/x.iso,if=none,id=d0,media=cdrom -device ide-cd,drive=d0,id=cd0"
    ));
    assert_eq!(
        status(&s, Throughput, r, "vm:g/drive:cd0"),
        "not_applicable"
    );
}

#[test]
fn num_queues_defaults() {
    let r = "qemu.blk.num-queues";
    let t = "vm:g/drive:vd0";
    let mk = |machine: &str, smp: &str, nq: &str| {
        snap(&format!(
            "qemu-system-x86_64 -name guest=g -machine {machine} -accel kvm -smp {smp} -drive file=/a.img,if=none,id=d0 -device virtio-blk-pci,drive=d0,id=vd0{nq}"
        ))
    };
    assert_eq!(status(&mk("pc-q35-6.0", "4", ""), Throughput, r, t), "pass");
    assert_eq!(status(&mk("pc-q35-5.1", "4", ""), Throughput, r, t), "warn");
    assert_eq!(status(&mk("q35", "4", ""), Throughput, r, t), "pass");
    let f = findings(&mk("q35", "4", ""), Throughput, r);
    assert!(f[0].message.contains("assumed"), "{}", f[0].message);
    assert_eq!(
        status(&mk("pc-q35-6.0", "4", ",num-queues=1"), Throughput, r, t),
        "warn"
    );
    assert_eq!(
        status(&mk("pc-q35-5.1", "4", ",num-queues=4"), Throughput, r, t),
        "pass"
    );
    assert_eq!(
        status(&mk("pc-q35-6.0", "1", ""), Throughput, r, t),
        "not_applicable"
    );
    // -global applies to every virtio-blk device.
    let s = snap("qemu-system-x86_64 -name guest=g -machine pc-q35-5.1 -smp 4 -global virtio-blk-device.num-queues=4 -drive file=/a.img,if=none,id=d0 -device virtio-blk-pci,drive=d0,id=vd0");
    assert_eq!(status(&s, Throughput, r, t), "pass");
}

#[test]
fn packed_ring() {
    let r = "qemu.blk.packed";
    let t = "vm:g/drive:vd0";
    let mk = |p: &str| {
        snap(&format!(
            "{Q} -drive file=/a.img,if=none,id=d0 -device virtio-blk-pci,drive=d0,id=vd0{p}"
        ))
    };
    assert_eq!(status(&mk(""), Throughput, r, t), "info");
    assert_eq!(status(&mk(",packed=on"), Throughput, r, t), "unknown");
    let s = snap(&format!(
        "{Q} -drive file=/b.img,if=none,id=d1 -device ide-hd,drive=d1,id=ide0"
    ));
    assert_eq!(
        status(&s, Throughput, r, "vm:g/drive:ide0"),
        "not_applicable"
    );
}

#[test]
fn iothreads() {
    let r = "qemu.blk.iothread";
    let t = "vm:g/drive:vd0";
    let argv = |io: &str| {
        words(&format!(
            "{Q} -object iothread,id=iothread1 -drive file=/a.img,if=none,id=d0,cache=none -device virtio-blk-pci,drive=d0,id=vd0{io}"
        ))
    };
    // 2 sockets × 4 cores × 2 threads: node 0 = 0-3,8-11; node 1 = 4-7,12-15.
    let run = |io: &str, threads: &[(&str, &str, &str)]| {
        let w = argv(io);
        let a: Vec<&str> = w.iter().map(String::as_str).collect();
        SnapBuilder::new()
            .topology(2, 4, 2)
            .vm_argv(&a, threads)
            .build()
    };
    let vcpus = [
        ("qemu-system-x86", "0", "0"),
        ("CPU 0/KVM", "1", "0"),
        ("CPU 1/KVM", "2", "0"),
        ("CPU 2/KVM", "3", "0"),
        ("CPU 3/KVM", "8", "0"),
    ];
    let with_io = |cpus: &'static str| {
        let mut v = vcpus.to_vec();
        v.push(("IO iothread1", cpus, "0"));
        v
    };
    assert_eq!(status(&run("", &vcpus), Throughput, r, t), "fail");
    let ok = run(",iothread=iothread1", &with_io("9"));
    assert_eq!(status(&ok, Throughput, r, t), "pass");
    let f = findings(&ok, Throughput, r);
    assert!(f[0]
        .evidence
        .iter()
        .any(|e| e.observed == "IO iothread1: 9"));
    // unpinned, remote, on the VM's own vCPU CPUs
    assert_eq!(
        status(
            &run(",iothread=iothread1", &with_io("0-15")),
            Throughput,
            r,
            t
        ),
        "warn"
    );
    assert_eq!(
        status(&run(",iothread=iothread1", &with_io("4")), Throughput, r, t),
        "warn"
    );
    assert_eq!(
        status(&run(",iothread=iothread1", &with_io("1")), Throughput, r, t),
        "warn"
    );
    // ...unless the vCPU CPUs are shared with the emulator anyway (not dedicated).
    let mut shared = with_io("1");
    shared[0] = ("qemu-system-x86", "0-3", "0");
    assert_eq!(
        status(&run(",iothread=iothread1", &shared), Throughput, r, t),
        "pass"
    );
    // thread missing → unknown; argv only → unknown
    assert_eq!(
        status(&run(",iothread=iothread1", &vcpus), Throughput, r, t),
        "unknown"
    );
    let s = snap(&format!(
        "{Q} -object iothread,id=iothread1 -drive file=/a.img,if=none,id=d0 -device virtio-blk-pci,drive=d0,id=vd0,iothread=iothread1"
    ));
    assert_eq!(status(&s, Throughput, r, t), "unknown");
    // emulated bus → not applicable
    let s = snap(&format!(
        "{Q} -drive file=/b.img,if=none,id=d1 -device ide-hd,drive=d1,id=ide0"
    ));
    assert_eq!(
        status(&s, Throughput, r, "vm:g/drive:ide0"),
        "not_applicable"
    );
}
