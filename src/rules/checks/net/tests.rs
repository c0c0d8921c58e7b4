use crate::report::Profile::Throughput;
use crate::rules::testkit::{findings, status, SnapBuilder};
use crate::snapshot::{ReadError, ReadErrorKind, Snapshot, Sourced};

const Q: &str =
    "qemu-system-x86_64 -name guest=g,debug-threads=on -machine pc-q35-6.0 -accel kvm -smp 4 -m 4G";

fn snap(s: &str) -> Snapshot {
    SnapBuilder::new().vm(s, &[]).build()
}

fn snap_fds(s: &str, fds: Option<&[&str]>) -> Snapshot {
    SnapBuilder::new()
        .vm(s, &[])
        .with_last_vm(|p| {
            p.fds = Some(match fds {
                Some(v) => {
                    Sourced::value("/proc/1000/fd", v.iter().map(|x| x.to_string()).collect())
                }
                None => Sourced::error(
                    "/proc/1000/fd",
                    ReadError::new(ReadErrorKind::PermissionDenied, "Permission denied"),
                ),
            })
        })
        .build()
}

#[test]
fn model() {
    let r = "qemu.net.virtio-model";
    let s = snap(&format!(
        "{Q} -netdev tap,id=n0,vhost=on -device virtio-net-pci,netdev=n0,id=net0 \
         -netdev tap,id=n1 -device e1000,netdev=n1,id=net1 \
         -netdev user,id=n2 -device rtl8139,netdev=n2,id=net2 \
         -netdev vhost-vdpa,id=n3,vhostdev=/dev/vhost-vdpa-0 -device virtio-net-pci,netdev=n3,id=net3"
    ));
    assert_eq!(status(&s, Throughput, r, "vm:g/net:net0"), "pass");
    assert_eq!(status(&s, Throughput, r, "vm:g/net:net1"), "fail");
    assert_eq!(status(&s, Throughput, r, "vm:g/net:net2"), "info");
    assert_eq!(status(&s, Throughput, r, "vm:g/net:net3"), "not_applicable");
    // -nic without model= on q35 is an emulated e1000e.
    let s = snap(&format!("{Q} -nic tap,id=n0"));
    let f = findings(&s, Throughput, r);
    assert_eq!(f[0].status.as_str(), "fail");
    assert!(f[0].evidence[0]
        .observed
        .contains("e1000e (machine default)"));
    let s = snap(Q);
    assert_eq!(status(&s, Throughput, r, "vm:g"), "not_applicable");
}

#[test]
fn vhost_runtime_beats_argv() {
    let r = "qemu.net.vhost";
    let t = "vm:g/net:net0";
    let on = format!("{Q} -netdev tap,id=n0,vhost=on -device virtio-net-pci,netdev=n0,id=net0");
    let off = format!("{Q} -netdev tap,id=n0 -device virtio-net-pci,netdev=n0,id=net0");
    assert_eq!(status(&snap(&off), Throughput, r, t), "fail");
    assert_eq!(
        status(
            &snap_fds(&on, Some(&["/dev/vhost-net", "anon_inode:kvm-vm"])),
            Throughput,
            r,
            t
        ),
        "pass"
    );
    assert_eq!(
        status(
            &snap_fds(&on, Some(&["anon_inode:kvm-vm"])),
            Throughput,
            r,
            t
        ),
        "fail"
    );
    // fds unreadable or no process: the request is derived evidence (QEMU refuses to
    // start without the vhost it was asked for)
    let f = findings(&snap_fds(&on, None), Throughput, r);
    assert_eq!(f[0].status.as_str(), "pass");
    assert!(f[0].message.contains("derived"), "{}", f[0].message);
    assert_eq!(status(&snap(&on), Throughput, r, t), "pass");
    // A vhost worker task of the process is proof even when fds are unreadable.
    let s = SnapBuilder::new()
        .vm(
            &on,
            &[("qemu-system-x86", "0-3", "0"), ("vhost-1000", "0-3", "0")],
        )
        .build();
    assert_eq!(status(&s, Throughput, r, t), "pass");
    // libvirt hands over vhostfd: that is vhost=on.
    let s = snap_fds(
        &format!("{Q} -netdev tap,fd=3,id=n0,vhostfd=44 -device virtio-net-pci,netdev=n0,id=net0"),
        Some(&["/dev/vhost-net"]),
    );
    assert_eq!(status(&s, Throughput, r, t), "pass");
    // vhost-user → not applicable; user → info; emulated model → not applicable
    let s = snap(&format!(
        "{Q} -chardev socket,id=c0,path=/run/vu.sock -netdev vhost-user,id=n0,chardev=c0 -device virtio-net-pci,netdev=n0,id=net0 \
         -netdev user,id=n1 -device virtio-net-pci,netdev=n1,id=net1 -netdev tap,id=n2 -device e1000,netdev=n2,id=net2"
    ));
    assert_eq!(status(&s, Throughput, r, t), "not_applicable");
    assert_eq!(status(&s, Throughput, r, "vm:g/net:net1"), "info");
    assert_eq!(status(&s, Throughput, r, "vm:g/net:net2"), "not_applicable");
}

#[test]
fn multiqueue() {
    let r = "qemu.net.multiqueue";
    let t = "vm:g/net:net0";
    let mk = |smp: &str, netdev: &str, dev: &str| {
        snap(&format!(
            "qemu-system-x86_64 -name guest=g -machine pc-q35-6.0 -smp {smp} -netdev tap,id=n0,vhost=on{netdev} -device virtio-net-pci,netdev=n0,id=net0{dev}"
        ))
    };
    assert_eq!(
        status(&mk("4", ",queues=4", ",mq=on"), Throughput, r, t),
        "pass"
    );
    // libvirt passes fds, never queues=
    assert_eq!(
        status(
            &mk("4", ",fds=3:4:5:6,vhostfds=7:8:9:10", ",mq=on,vectors=10"),
            Throughput,
            r,
            t
        ),
        "pass"
    );
    assert_eq!(status(&mk("4", ",queues=4", ""), Throughput, r, t), "warn");
    assert_eq!(
        status(&mk("4", ",queues=8", ",mq=on"), Throughput, r, t),
        "warn"
    );
    assert_eq!(
        status(&mk("4", ",queues=4", ",mq=on,vectors=3"), Throughput, r, t),
        "warn"
    );
    let f = findings(&mk("4", "", ""), Throughput, r);
    assert_eq!(f[0].status.as_str(), "warn");
    assert!(f[0].evidence[0].observed.starts_with("1 queue pair "));
    assert_eq!(status(&mk("2", "", ""), Throughput, r, t), "info");
    assert_eq!(status(&mk("1", "", ""), Throughput, r, t), "not_applicable");
    // Old machine type without vectors=: only 3 MSI-X vectors.
    let s = snap("qemu-system-x86_64 -name guest=g -machine pc-q35-5.2 -smp 4 -netdev tap,id=n0,vhost=on,queues=4 -device virtio-net-pci,netdev=n0,id=net0,mq=on");
    assert_eq!(status(&s, Throughput, r, t), "warn");
}

#[test]
fn packed_ring() {
    let r = "qemu.net.packed";
    let t = "vm:g/net:net0";
    let mk = |netdev: &str, dev: &str| {
        snap(&format!(
            "{Q} -netdev {netdev} -device virtio-net-pci,netdev=n0,id=net0{dev}"
        ))
    };
    assert_eq!(
        status(&mk("tap,id=n0,vhost=on", ",packed=on"), Throughput, r, t),
        "warn"
    );
    assert_eq!(
        status(&mk("tap,id=n0", ",packed=on"), Throughput, r, t),
        "unknown"
    );
    assert_eq!(
        status(&mk("tap,id=n0,vhost=on", ""), Throughput, r, t),
        "info"
    );
    let s = snap(&format!(
        "{Q} -netdev tap,id=n0 -device e1000,netdev=n0,id=net0"
    ));
    assert_eq!(status(&s, Throughput, r, t), "not_applicable");
}

#[test]
fn zcopytx() {
    let r = "host.vhost-net.zcopytx";
    let p = "/sys/module/vhost_net/parameters/experimental_zcopytx";
    let s = SnapBuilder::new()
        .dir("/sys/module", &["vhost", "vhost_net"])
        .file(p, "0")
        .build();
    let f = findings(&s, Throughput, r);
    assert_eq!(f[0].status.as_str(), "info");
    assert_eq!(
        f[0].evidence[0].source, p,
        "the real path, not /sys/modules"
    );
    assert!(!f[0].pending_reboot);
    let s = SnapBuilder::new()
        .dir("/sys/module", &["vhost", "vhost_net"])
        .file(p, "0")
        .file(
            "/etc/modprobe.d/vhost-net.conf",
            "options vhost_net experimental_zcopytx=1",
        )
        .build();
    assert!(findings(&s, Throughput, r)[0].pending_reboot);
    let s = SnapBuilder::new().dir("/sys/module", &["kvm"]).build();
    assert_eq!(status(&s, Throughput, r, "host"), "not_applicable");
    let s = SnapBuilder::new()
        .dir("/sys/module", &["vhost_net"])
        .denied(p)
        .build();
    assert_eq!(status(&s, Throughput, r, "host"), "unknown");
}

#[test]
fn poll_us() {
    let r = "qemu.net.poll-us";
    let t = "vm:g/net:net0";
    let mk = |netdev: &str| {
        snap(&format!(
            "{Q} -netdev tap,id=n0{netdev} -device virtio-net-pci,netdev=n0,id=net0"
        ))
    };
    assert_eq!(status(&mk(",vhost=on"), Throughput, r, t), "info");
    assert_eq!(
        status(&mk(",vhost=on,poll-us=50"), Throughput, r, t),
        "info"
    );
    let f = findings(&mk(",vhost=on,poll-us=50000"), Throughput, r);
    assert_eq!(f[0].status.as_str(), "warn");
    assert!(f[0].message.contains("50 µs"));
    assert_eq!(status(&mk(",poll-us=50"), Throughput, r, t), "warn");
    // Overcommitted: two 4-vCPU VMs on a 4-CPU host.
    let a = format!(
        "{Q} -netdev tap,id=n0,vhost=on,poll-us=50 -device virtio-net-pci,netdev=n0,id=net0"
    );
    let s = SnapBuilder::new()
        .topology(1, 4, 1)
        .vm(&a, &[])
        .vm("qemu-system-x86_64 -name guest=h -smp 4", &[])
        .build();
    assert_eq!(status(&s, Throughput, r, t), "warn");
    let s = snap(&format!(
        "{Q} -netdev user,id=n0 -device virtio-net-pci,netdev=n0,id=net0"
    ));
    assert_eq!(status(&s, Throughput, r, t), "not_applicable");
}
