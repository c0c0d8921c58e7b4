use crate::report::Profile::Throughput;
use crate::report::Severity;
use crate::rules::testkit::{findings, status, SnapBuilder};
use crate::snapshot::{FdInfo, ReadError, ReadErrorKind, Sourced};

/// Two sockets of 4 cores × 2 threads: node 0 = 0-3,8-11, node 1 = 4-7,12-15.
fn host() -> SnapBuilder {
    SnapBuilder::new()
        .icx("vmx")
        .topology(2, 4, 2)
        .file("/proc/sys/kernel/numa_balancing", "1")
}

const HUGE_VM: &str = "qemu-system-x86_64 -name guest=db01,debug-threads=on -machine q35,memory-backend=ram0 -m 8G -smp 2 -object memory-backend-file,id=ram0,mem-path=/dev/hugepages1G/db01,size=8G,host-nodes=1,policy=bind,prealloc=on";
const PLAIN_VM: &str =
    "qemu-system-x86_64 -name guest=app01,debug-threads=on -machine q35 -m 4G -smp 2";

fn on_node1() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("qemu-system-x86", "4-7,12-15", "1"),
        ("CPU 0/KVM", "5", "1"),
        ("CPU 1/KVM", "6", "1"),
    ]
}

/// vCPUs pinned on node 1, no cpuset memory restriction.
fn on_node1_all_mems() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("qemu-system-x86", "4-7,12-15", "0-1"),
        ("CPU 0/KVM", "5", "0-1"),
        ("CPU 1/KVM", "6", "0-1"),
    ]
}

fn unplaced() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("qemu-system-x86", "0-15", "0-1"),
        ("CPU 0/KVM", "0-15", "0-1"),
        ("CPU 1/KVM", "0-15", "0-1"),
    ]
}

fn numa_maps(text: &str) -> impl FnOnce(&mut crate::snapshot::QemuProcess) + '_ {
    move |p| p.numa_maps = Some(Sourced::value("/proc/1000/numa_maps", text.to_string()))
}

#[test]
fn balancing() {
    let placed = host().vm(HUGE_VM, &on_node1()).build();
    assert_eq!(
        status(&placed, Throughput, "host.numa.balancing", "host"),
        "pass"
    );

    let stray = host().vm(HUGE_VM, &unplaced()).build();
    let f = &findings(&stray, Throughput, "host.numa.balancing")[0];
    assert_eq!(f.status.as_str(), "warn");
    assert!(f.message.contains("db01"), "{}", f.message);

    // Off, an unplaced VM, and sysctl.d already turning it on: warn, pending.
    let off = host()
        .file("/proc/sys/kernel/numa_balancing", "0")
        .file("/etc/sysctl.d/90-numa.conf", "kernel.numa_balancing = 1")
        .vm(PLAIN_VM, &unplaced())
        .build();
    let f = &findings(&off, Throughput, "host.numa.balancing")[0];
    assert_eq!(f.status.as_str(), "warn");
    assert!(f.pending_reboot);

    let one_node = SnapBuilder::new().topology(1, 4, 1).build();
    assert_eq!(
        status(&one_node, Throughput, "host.numa.balancing", "host"),
        "not_applicable"
    );
    let hidden = host().denied("/proc/sys/kernel/numa_balancing").build();
    assert_eq!(
        status(&hidden, Throughput, "host.numa.balancing", "host"),
        "unknown"
    );
}

#[test]
fn vm_placement() {
    let s = host().vm(HUGE_VM, &on_node1()).build();
    let f = &findings(&s, Throughput, "qemu.numa.vm-placement")[0];
    assert_eq!(f.status.as_str(), "pass", "{}", f.message);
    assert_eq!(f.severity, Severity::High, "hugetlb VM escalates");

    // CPU pinning without memory binding.
    let cpu_only = host()
        .vm(
            PLAIN_VM,
            &[
                ("qemu-system-x86", "4-7", "0-1"),
                ("CPU 0/KVM", "5", "0-1"),
                ("CPU 1/KVM", "6", "0-1"),
            ],
        )
        .build();
    let f = &findings(&cpu_only, Throughput, "qemu.numa.vm-placement")[0];
    assert_eq!(f.status.as_str(), "warn");
    assert_eq!(f.severity, Severity::Medium);

    // Memory interleaved over both nodes while the vCPUs sit on node 1.
    let wide = host()
        .vm(
            "qemu-system-x86_64 -name guest=w,debug-threads=on -machine q35,memory-backend=m0 -m 4G -smp 2 \
             -object memory-backend-ram,id=m0,size=4G,host-nodes=0-1,policy=interleave",
            &on_node1_all_mems(),
        )
        .build();
    let f = &findings(&wide, Throughput, "qemu.numa.vm-placement")[0];
    assert_eq!(f.status.as_str(), "warn");
    assert!(f.message.contains("nodes 0-1"), "{}", f.message);
    // Memory bound to node 0 while the vCPUs sit on node 1.
    let away = host()
        .vm(
            &HUGE_VM.replace("host-nodes=1", "host-nodes=0"),
            &on_node1_all_mems(),
        )
        .build();
    assert_eq!(
        status(&away, Throughput, "qemu.numa.vm-placement", "vm:db01"),
        "fail"
    );

    // A VFIO VM spanning both nodes without guest NUMA fails, escalated.
    let vfio = host()
        .vm(
            &format!("{PLAIN_VM} -device vfio-pci,host=0000:65:01.0,id=hostdev0"),
            &unplaced(),
        )
        .build();
    let f = &findings(&vfio, Throughput, "qemu.numa.vm-placement")[0];
    assert_eq!(f.status.as_str(), "fail");
    assert_eq!(f.severity, Severity::High);

    // Two guest nodes, each on its own host node with bound memory.
    let gnuma = host()
        .vm(
            "qemu-system-x86_64 -name guest=big,debug-threads=on -m 8G -smp 2 \
             -object memory-backend-ram,id=m0,size=4G,host-nodes=0,policy=bind \
             -object memory-backend-ram,id=m1,size=4G,host-nodes=1,policy=bind \
             -numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1",
            &[
                ("qemu-system-x86", "0-15", "0-1"),
                ("CPU 0/KVM", "1", "0-1"),
                ("CPU 1/KVM", "5", "0-1"),
            ],
        )
        .build();
    assert_eq!(
        status(&gnuma, Throughput, "qemu.numa.vm-placement", "vm:big"),
        "pass"
    );

    // No thread affinity at all: unknown, never a verdict.
    let blind = host().vm(PLAIN_VM, &[]).build();
    assert_eq!(
        status(&blind, Throughput, "qemu.numa.vm-placement", "vm:app01"),
        "unknown"
    );
}

#[test]
fn memory_locality() {
    let local = host()
        .vm(HUGE_VM, &on_node1())
        .with_last_vm(numa_maps(
            "55d0c3a00000 default file=/usr/bin/qemu-system-x86_64 mapped=1372 N1=1372 kernelpagesize_kB=4\n\
             55d0c6c1b000 default heap anon=48215 dirty=48215 N0=48215 kernelpagesize_kB=4\n\
             7f5e80000000 bind:1 file=/dev/hugepages1G/db01/qemu_back_mem.pc.ram\\040(deleted) huge dirty=8 N1=8 kernelpagesize_kB=1048576\n\
             7f1e4b600000 default anon=4097 dirty=4097 N0=4097 kernelpagesize_kB=4",
        ))
        .build();
    let f = &findings(&local, Throughput, "qemu.numa.memory-locality")[0];
    assert_eq!(f.status.as_str(), "pass", "{}", f.message);
    assert!(
        f.evidence[0].observed.contains("N1=8 GiB"),
        "{:?}",
        f.evidence
    );
    // The vCPUs' node is typed data for the fix (numatune), not prose to parse back.
    assert_eq!(f.data, vec![crate::vocab::Datum::NumaNode { node: 1 }]);

    let split = |n0: u64, n1: u64| {
        host()
            .vm(PLAIN_VM, &unplaced())
            .with_last_vm(move |p| {
                p.numa_maps = Some(Sourced::value(
                    "/proc/1000/numa_maps",
                    format!(
                        "7f0000000000 default anon={} N0={n0} N1={n1} kernelpagesize_kB=4\n",
                        n0 + n1
                    ),
                ))
            })
            .build()
    };
    assert_eq!(
        status(
            &split(520_000, 480_000),
            Throughput,
            "qemu.numa.memory-locality",
            "vm:app01"
        ),
        "fail"
    );
    // Unplaced vCPUs name no node to bind the memory to.
    let f = &findings(
        &split(520_000, 480_000),
        Throughput,
        "qemu.numa.memory-locality",
    )[0];
    assert!(f.data.is_empty(), "{:?}", f.data);
    assert_eq!(
        status(
            &split(820_000, 180_000),
            Throughput,
            "qemu.numa.memory-locality",
            "vm:app01"
        ),
        "warn"
    );
    assert_eq!(
        status(
            &split(950_000, 50_000),
            Throughput,
            "qemu.numa.memory-locality",
            "vm:app01"
        ),
        "pass"
    );

    let root_only = host()
        .vm(PLAIN_VM, &unplaced())
        .with_last_vm(|p| {
            p.numa_maps = Some(Sourced::error(
                "/proc/1000/numa_maps",
                ReadError::new(
                    ReadErrorKind::PermissionDenied,
                    "Permission denied (os error 13)",
                ),
            ))
        })
        .build();
    let f = &findings(&root_only, Throughput, "qemu.numa.memory-locality")[0];
    assert_eq!(f.status.as_str(), "unknown");
    assert!(f.message.contains("permission denied"), "{}", f.message);
}

/// A host with a NIC on node 1 behind bridge br1, a VF on node 0 and an NVMe disk on node 1.
fn devices() -> SnapBuilder {
    host()
        .dir("/sys/class/net", &["br1", "enp202s0f0", "tap0"])
        .link("/sys/class/net/tap0", "../../devices/virtual/net/tap0")
        .link("/sys/class/net/tap0/master", "../br1")
        .link("/sys/class/net/br1", "../../devices/virtual/net/br1")
        .dir("/sys/class/net/br1/brif", &["enp202s0f0", "tap0"])
        .link(
            "/sys/class/net/enp202s0f0",
            "../../devices/pci0000:c9/0000:c9:02.0/0000:ca:00.0/net/enp202s0f0",
        )
        .link("/sys/class/net/enp202s0f0/device", "../../../0000:ca:00.0")
        .file("/sys/class/net/enp202s0f0/device/numa_node", "1")
        .file("/sys/bus/pci/devices/0000:ca:00.0/numa_node", "1")
        .file("/sys/bus/pci/devices/0000:65:01.0/numa_node", "0")
        .file("/sys/bus/pci/devices/0000:b1:00.0/numa_node", "1")
        .dir("/sys/block", &["nvme1n1"])
        .link(
            "/sys/block/nvme1n1",
            "../devices/pci0000:b0/0000:b0:02.0/0000:b1:00.0/nvme/nvme1/nvme1n1",
        )
}

const DEV_VM: &str = "qemu-system-x86_64 -name guest=db01,debug-threads=on -m 4G -smp 2 \
    -netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=on \
    -device virtio-net-pci,netdev=n0,id=net0 \
    -blockdev node-name=d0,driver=host_device,filename=/dev/nvme1n1p2,cache.direct=on \
    -device virtio-blk-pci,drive=d0,id=virtio-disk0 \
    -device vfio-pci,host=0000:65:01.0,id=hostdev0 \
    -netdev user,id=u0 -device e1000,netdev=u0,id=net1";

#[test]
fn device_locality() {
    let s = devices().vm(DEV_VM, &on_node1()).build();
    let st = |t: &str| status(&s, Throughput, "qemu.numa.device-locality", t);
    assert_eq!(st("vm:db01/net:net0"), "pass");
    assert_eq!(st("vm:db01/drive:virtio-disk0"), "pass");
    assert_eq!(st("vm:db01/hostdev:hostdev0"), "warn");
    assert_eq!(st("vm:db01/net:net1"), "not_applicable");
    let f = findings(&s, Throughput, "qemu.numa.device-locality");
    let nic = f.iter().find(|f| f.target == "vm:db01/net:net0").unwrap();
    assert!(
        nic.evidence[0].source.contains("bridge br1"),
        "{:?}",
        nic.evidence
    );

    // libvirt hands the tap over as an fd: its name comes from fdinfo.
    const FD_VM: &str = "qemu-system-x86_64 -name guest=db01,debug-threads=on -netdev {\"type\":\"tap\",\"fds\":\"33:34\",\"vhost\":true,\"vhostfds\":\"40:41\",\"id\":\"hostnet0\"} -device virtio-net-pci,netdev=hostnet0,id=net0";
    let fd = devices()
        .vm(FD_VM, &on_node1())
        .with_last_vm(|p| {
            let tun = |fd: u32, iff: &str| FdInfo {
                fd,
                target: "/dev/net/tun".into(),
                flags: "04002".into(),
                iff: Some(iff.into()),
            };
            p.fdinfo = Some(Sourced::value(
                "/proc/1000/fdinfo",
                vec![tun(33, "tap0"), tun(34, "tap0"), tun(50, "other")],
            ))
        })
        .build();
    let f = &findings(&fd, Throughput, "qemu.numa.device-locality")[0];
    assert_eq!(f.status.as_str(), "pass", "{}", f.message);
    assert!(
        f.evidence[0].source.starts_with("tun fd → tap0"),
        "{:?}",
        f.evidence
    );
    // Without fdinfo (not root): unknown, with the reason.
    let blind = devices()
        .vm(FD_VM, &on_node1())
        .with_last_vm(|p| {
            p.fdinfo = Some(Sourced::error(
                "/proc/1000/fdinfo",
                ReadError::new(ReadErrorKind::PermissionDenied, ""),
            ))
        })
        .build();
    let f = &findings(&blind, Throughput, "qemu.numa.device-locality")[0];
    assert_eq!(f.status.as_str(), "unknown");
    assert!(f.message.contains("fdinfo"), "{}", f.message);

    // numa_node -1: no affinity reported.
    let flat = devices()
        .file("/sys/bus/pci/devices/0000:65:01.0/numa_node", "-1")
        .vm(DEV_VM, &on_node1())
        .build();
    assert_eq!(
        status(
            &flat,
            Throughput,
            "qemu.numa.device-locality",
            "vm:db01/hostdev:hostdev0"
        ),
        "not_applicable"
    );
}

#[test]
fn irq_affinity() {
    let base = || {
        devices()
            .dir("/sys/bus/pci/devices/0000:ca:00.0/msi_irqs", &["40", "41"])
            .file("/proc/irq/40/effective_affinity_list", "4")
            .dir("/sys/bus/pci/devices/0000:65:01.0/msi_irqs", &["56"])
            .file("/proc/irq/56/effective_affinity_list", "0")
    };
    let good = base()
        .file("/proc/irq/41/effective_affinity_list", "13")
        .vm(DEV_VM, &on_node1())
        .build();
    let st = |s, t: &str| status(s, Throughput, "host.irq.affinity", t);
    assert_eq!(st(&good, "host/dev:0000:ca:00.0"), "pass");
    // The VF is on node 0 but its VM on node 1: its IRQ on CPU 0 is off the VM's node.
    assert_eq!(st(&good, "host/dev:0000:65:01.0"), "warn");

    let spread = base()
        .file("/proc/irq/41/effective_affinity_list", "2")
        .vm(DEV_VM, &on_node1())
        .build();
    let f = findings(&spread, Throughput, "host.irq.affinity");
    let nic = f
        .iter()
        .find(|f| f.target == "host/dev:0000:ca:00.0")
        .unwrap();
    assert_eq!(nic.status.as_str(), "warn");
    assert!(nic
        .evidence
        .iter()
        .any(|e| e.source == "/proc/irq/41/effective_affinity_list"));
    // The requested affinity to set, with the CPUs of the VM's node as the target.
    let smp = nic
        .evidence
        .iter()
        .find(|e| e.source == "/proc/irq/41/smp_affinity_list")
        .expect("smp_affinity_list evidence");
    assert_eq!(smp.observed, "?");
    assert!(
        smp.expected
            .as_deref()
            .is_some_and(|x| crate::parse::cpulist::parse(x).is_ok_and(|s| s.contains(&13))),
        "{smp:?}"
    );

    let one_node = SnapBuilder::new().topology(1, 4, 1).build();
    assert_eq!(st(&one_node, "host"), "not_applicable");
}

#[test]
fn numa_maps_and_disks() {
    let v = crate::parse::numa_maps::parse_numa_maps(
        "7f00 bind:0-1 file=/a\\040b huge dirty=3 N0=1 N1=2 kernelpagesize_kB=2048\nbad\n",
    );
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].file.as_deref(), Some("/a b"));
    assert_eq!(v[0].bytes(), 3 * 2048 * 1024);
    assert_eq!(v[0].policy_nodes("bind").map(|s| s.len()), Some(2));
    assert_eq!(
        crate::rules::facts::device_nodes::parent_disk("nvme0n1p3"),
        "nvme0n1"
    );
    assert_eq!(
        crate::rules::facts::device_nodes::parent_disk("nvme0n1"),
        "nvme0n1"
    );
    assert_eq!(
        crate::rules::facts::device_nodes::parent_disk("sda2"),
        "sda"
    );
    assert_eq!(
        crate::rules::facts::device_nodes::parent_disk("mmcblk0p1"),
        "mmcblk0"
    );
}
