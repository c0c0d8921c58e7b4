//! Focused cases for the VM model: hand-written command lines in the forms the tuning guide and
//! operators use, which libvirt never generates.

use kvmaudit::model::vm::{
    Aio, BackendKind, CacheMode, DiskBus, DiskOrigin, HugepageUse, KvmUse, MemLock,
    MemoryDeviceKind, NicOrigin, RamSource, VmModel,
};
use kvmaudit::parse::qemu::parse_argv_file;
use kvmaudit::snapshot::RawBytes;

fn vm(args: &[&str]) -> VmModel {
    let mut argv = vec![RawBytes::from("/usr/bin/qemu-system-x86_64")];
    argv.extend(args.iter().map(|a| RawBytes::from(*a)));
    VmModel::from_argv(&argv)
}

fn vm_bin(binary: &str, args: &[&str]) -> VmModel {
    let mut argv = vec![RawBytes::from(binary)];
    argv.extend(args.iter().map(|a| RawBytes::from(*a)));
    VmModel::from_argv(&argv)
}

#[test]
fn name_with_escaped_comma_and_debug_threads() {
    let m = vm(&["-name", "guest=a,,b,debug-threads=on"]);
    assert_eq!(m.name.as_deref(), Some("a,b"));
    assert_eq!(m.debug_threads, Some(true));
    let m = vm(&["-name", "plain,,name"]);
    assert_eq!(m.name.as_deref(), Some("plain,name"));
}

#[test]
fn hostile_name_is_kept_verbatim() {
    let f = parse_argv_file(
        b"qemu-system-x86_64 \\\n-name 'guest=<img src=x onerror=alert(1)>' \\\n-m 1G\n",
    )
    .expect("parses");
    let m = VmModel::from_argv(&f.argv);
    assert_eq!(m.name.as_deref(), Some("<img src=x onerror=alert(1)>"));
    // Escaping is the renderer's job; the model and its JSON carry the exact text.
    let json = serde_json::to_string(&m).expect("json");
    assert!(json.contains("<img src=x onerror=alert(1)>"));
    assert_eq!(m.memory.size_bytes, Some(1 << 30));
}

#[test]
fn legacy_drive_virtio_cache_none_aio_native() {
    let m = vm(&["-drive", "file=a.img,if=virtio,cache=none,aio=native"]);
    let d = m.disks.first().expect("one disk");
    assert_eq!(m.disks.len(), 1);
    assert_eq!(d.origin, DiskOrigin::Drive);
    assert_eq!(d.bus, DiskBus::VirtioBlk);
    assert_eq!(d.device_driver.as_deref(), Some("virtio-blk-pci"));
    assert_eq!(d.cache_mode, Some(CacheMode::None));
    assert_eq!(d.cache_direct, Some(true));
    assert_eq!(d.aio, Some(Aio::Native));
    assert_eq!(d.protocol.as_deref(), Some("file"));
    assert_eq!(d.path.as_deref(), Some("a.img"));
    assert_eq!(d.num_queues, None);
}

#[test]
fn cache_modes_from_drive() {
    let mode = |c: &str| {
        vm(&["-drive", &format!("file=/dev/sdb,if=virtio,{c}")])
            .disks
            .first()
            .and_then(|d| d.cache_mode)
    };
    assert_eq!(mode("cache=unsafe"), Some(CacheMode::Unsafe));
    assert_eq!(mode("cache=writethrough"), Some(CacheMode::Writethrough));
    assert_eq!(mode("cache=directsync"), Some(CacheMode::Directsync));
    assert_eq!(mode("format=raw"), Some(CacheMode::Writeback));
    // dotted keys override the mode
    assert_eq!(
        mode("cache=none,cache.no-flush=on"),
        Some(CacheMode::Unsafe)
    );
    assert_eq!(
        mode("cache.direct=on,cache.no-flush=off"),
        Some(CacheMode::None)
    );
    let m = vm(&["-drive", "file=/dev/sdb,if=virtio"]);
    assert_eq!(
        m.disks.first().and_then(|d| d.protocol.as_deref()),
        Some("host_device")
    );
    // file= together with file.* options keeps the path.
    let m = vm(&[
        "-drive",
        "file=/img/a.raw,file.locking=off,file.aio=io_uring,if=virtio",
    ]);
    let d = m.disks.first().expect("disk");
    assert_eq!(d.path.as_deref(), Some("/img/a.raw"));
    assert_eq!(d.aio, Some(Aio::IoUring));
    // A network protocol named by file.driver.
    let m = vm(&["-drive", "file.driver=nbd,file.server.type=inet,file.server.host=h,file.server.port=10809,file.export=e,if=virtio"]);
    let d = m.disks.first().expect("disk");
    assert_eq!(d.protocol.as_deref(), Some("nbd"));
    assert_eq!(d.path.as_deref(), Some("nbd://h:10809/e"));
    assert_eq!(d.aio, None, "aio is a file-posix option");
}

#[test]
fn drive_if_none_with_device_and_write_cache() {
    let m = vm(&[
        "-drive",
        "if=none,id=d0,file=/img/a.raw,format=raw,cache=none",
        "-device",
        "virtio-blk-pci,drive=d0,id=vd0,write-cache=off",
    ]);
    assert_eq!(m.disks.len(), 1, "the drive is not counted twice");
    let d = m.disks.first().expect("disk");
    assert_eq!(d.id.as_deref(), Some("vd0"));
    assert_eq!(d.origin, DiskOrigin::Device);
    assert_eq!(d.format.as_deref(), Some("raw"));
    assert_eq!(d.cache_mode, Some(CacheMode::Directsync));
}

#[test]
fn hda_and_positional_images() {
    let m = vm(&["-hda", "disk.img", "extra.qcow2"]);
    assert_eq!(m.disks.len(), 2);
    let hda = m.disks.first().expect("hda");
    assert_eq!(hda.origin, DiskOrigin::Shorthand);
    assert_eq!(hda.bus, DiskBus::Ide);
    assert_eq!(hda.device_driver.as_deref(), Some("ide-hd"));
    assert_eq!(hda.path.as_deref(), Some("disk.img"));
    assert_eq!(hda.cache_mode, Some(CacheMode::Writeback));
    let pos = m.disks.get(1).expect("positional");
    assert_eq!(pos.origin, DiskOrigin::Positional);
    assert_eq!(pos.path.as_deref(), Some("extra.qcow2"));
    // On q35 the IDE shorthand lands on the ICH9 AHCI controller.
    let m = vm(&["-M", "q35", "-hda", "d.img", "-cdrom", "x.iso"]);
    assert_eq!(m.disks.first().map(|d| d.bus), Some(DiskBus::Sata));
    let cd = m.disks.get(1).expect("cdrom");
    assert!(cd.cdrom && cd.read_only);
    assert_eq!(cd.device_driver.as_deref(), Some("ide-cd"));
}

#[test]
fn legacy_short_booleans() {
    let m = vm(&[
        "-machine",
        "q35,nvdimm,nomem-merge",
        "-drive",
        "file=x.img,if=virtio,readonly",
        "-overcommit",
        "cpu-pm",
    ]);
    assert_eq!(m.machine.nvdimm, Some(true));
    assert_eq!(m.machine.mem_merge, Some(false));
    assert!(m.disks.first().is_some_and(|d| d.read_only));
    assert_eq!(m.overcommit.cpu_pm, Some(true));
}

#[test]
fn overcommit_occurrences_merge() {
    let m = vm(&["-overcommit", "mem-lock=off", "--overcommit", "cpu-pm=on"]);
    assert_eq!(m.overcommit.occurrences.len(), 2);
    assert_eq!(m.overcommit.mem_lock, Some(MemLock::Off));
    assert_eq!(m.overcommit.cpu_pm, Some(true));
    assert!(m.notes.is_empty(), "{:?}", m.notes);
    // Reversed: the effective value is the same on QEMU ≥ 9.1, and the note warns about older.
    let m = vm(&[
        "-overcommit",
        "cpu-pm=on",
        "-overcommit",
        "mem-lock=on-fault",
    ]);
    assert_eq!(m.overcommit.cpu_pm, Some(true));
    assert_eq!(m.overcommit.mem_lock, Some(MemLock::OnFault));
    assert_eq!(m.notes.len(), 1);
    let m = vm(&["-realtime", "mlock=on"]);
    assert_eq!(m.overcommit.mem_lock, Some(MemLock::On));
    let m = vm(&[]);
    assert_eq!(m.overcommit.mem_lock, None);
}

/// QEMU < 9.1 applied each `-overcommit` on its own, unnamed keys off (issue 12 item 6).
#[test]
fn overcommit_before_9_1_resets_unnamed_keys() {
    // libvirt's pair: mem-lock=on, then the passthrough cpu-pm=on.
    let m = vm(&["-overcommit", "mem-lock=on", "-overcommit", "cpu-pm=on"]);
    assert_eq!(m.overcommit.merged(), (MemLock::On, true));
    assert_eq!(m.overcommit.before_9_1(), (MemLock::Off, true));
    let m = vm(&["-overcommit", "cpu-pm=on,mem-lock=on"]);
    assert_eq!(m.overcommit.before_9_1(), (MemLock::On, true));
    let m = vm(&["-overcommit", "cpu-pm=on", "-realtime", "mlock=on"]);
    assert_eq!(m.overcommit.before_9_1(), (MemLock::On, true));
    let m = vm(&[]);
    assert_eq!(m.overcommit.before_9_1(), (MemLock::Off, false));
}

/// A device behind a pxb/pxb-pcie expander with `numa_node` is on that guest NUMA node, through
/// root ports, switches and controller buses (`scsi0.0`).
#[test]
fn guest_numa_node_behind_an_expander_bus() {
    let m = vm(&[
        "-device",
        r#"{"driver":"pxb-pcie","bus_nr":254,"id":"pci.1","numa_node":1,"bus":"pcie.0","addr":"0x4"}"#,
        "-device",
        r#"{"driver":"pcie-root-port","port":0,"chassis":2,"id":"pci.2","bus":"pci.1","addr":"0x0"}"#,
        "-device",
        r#"{"driver":"virtio-net-pci","id":"net0","bus":"pci.2","addr":"0x0"}"#,
        "-device",
        r#"{"driver":"virtio-scsi-pci","id":"scsi0","bus":"pci.2","addr":"0x1"}"#,
        "-device",
        r#"{"driver":"scsi-hd","id":"scsi0-0-0-0","bus":"scsi0.0","drive":"d"}"#,
        "-device",
        r#"{"driver":"pxb","bus_nr":252,"id":"pci.3","bus":"pcie.0","addr":"0x5"}"#,
        "-device",
        r#"{"driver":"e1000","id":"net1","bus":"pci.3","addr":"0x1"}"#,
        "-device",
        r#"{"driver":"e1000","id":"net2","bus":"pcie.0","addr":"0x6"}"#,
    ]);
    assert_eq!(m.guest_numa_node_of("net0"), Some(1));
    assert_eq!(m.guest_numa_node_of("scsi0-0-0-0"), Some(1));
    assert_eq!(m.guest_numa_node_of("net1"), None, "pxb without numa_node");
    assert_eq!(m.guest_numa_node_of("net2"), None);
    assert_eq!(m.guest_numa_node_of("nope"), None);
}

#[test]
fn global_defaults_apply_to_devices() {
    let m = vm(&[
        "-global",
        "virtio-blk-pci.num-queues=4",
        "-global",
        "virtio-net-pci.packed=on",
        "-drive",
        "if=none,id=d0,file=a.img",
        "-device",
        "virtio-blk-pci,drive=d0",
        "-drive",
        "if=none,id=d1,file=b.img",
        "-device",
        "virtio-blk-pci,drive=d1,num-queues=2",
        "-netdev",
        "tap,id=n0",
        "-device",
        "virtio-net-pci,netdev=n0",
    ]);
    let q: Vec<_> = m.disks.iter().map(|d| d.num_queues).collect();
    assert_eq!(q, vec![Some(4), Some(2)], "device value beats the global");
    assert_eq!(m.nics.first().and_then(|n| n.packed), Some(true));
    assert_eq!(m.globals.len(), 2);
    // The inner virtio device type reaches the proxy too.
    let m = vm(&[
        "-global",
        "virtio-blk-device.num-queues=8",
        "-drive",
        "if=none,id=d0,file=a.img",
        "-device",
        "virtio-blk-pci,drive=d0",
    ]);
    assert_eq!(m.disks.first().and_then(|d| d.num_queues), Some(8));
}

#[test]
fn nic_inline_tap_vhost() {
    let m = vm(&[
        "-nic",
        "tap,model=virtio-net-pci,vhost=on,queues=4,poll-us=50",
    ]);
    let n = m.nics.first().expect("nic");
    assert_eq!(n.origin, NicOrigin::Nic);
    assert_eq!(n.model.as_deref(), Some("virtio-net-pci"));
    let b = n.backend.as_ref().expect("backend");
    assert_eq!(b.backend_type, "tap");
    assert_eq!(n.vhost(), Some(true));
    assert_eq!(n.queues(), Some(4));
    assert_eq!(b.poll_us, Some(50));
    let m = vm(&["-nic", "none"]);
    assert!(m.nics.is_empty());
}

#[test]
fn legacy_net_hub() {
    let m = vm(&["-net", "nic,model=e1000", "-net", "user"]);
    assert_eq!(m.nics.len(), 1);
    let n = m.nics.first().expect("nic");
    assert_eq!(n.origin, NicOrigin::Net);
    assert_eq!(n.model.as_deref(), Some("e1000"));
    assert_eq!(
        n.backend.as_ref().map(|b| b.backend_type.as_str()),
        Some("user")
    );
    assert_eq!(n.vhost(), None);
    assert!(m.unattached_netdevs.is_empty());
    let m = vm(&["-net", "nic,model=virtio", "-net", "tap,ifname=tap0"]);
    let n = m.nics.first().expect("nic");
    assert_eq!(n.model.as_deref(), Some("virtio-net-pci"));
    assert_eq!(
        n.vhost(),
        Some(false),
        "tap without vhost is the userspace datapath"
    );
    assert_eq!(
        n.backend.as_ref().and_then(|b| b.ifname.as_deref()),
        Some("tap0")
    );
}

#[test]
fn libvirt_fd_style_multiqueue_tap() {
    let m = vm(&[
        "-netdev",
        "tap,fds=3:4:5,vhostfds=6:7:8,id=hostnet0",
        "-device",
        "virtio-net-pci,netdev=hostnet0,mq=on,vectors=8,id=net0",
    ]);
    let n = m.nics.first().expect("nic");
    assert_eq!(n.vhost(), Some(true), "vhost fds imply vhost");
    assert_eq!(n.queues(), Some(3));
    assert_eq!(n.mq, Some(true));
    assert_eq!(n.vectors, Some(8));
    let m = vm(&[
        "-netdev",
        "tap,id=n0,vhost=off",
        "-device",
        "e1000,netdev=n0",
    ]);
    assert_eq!(m.nics.first().and_then(|n| n.vhost()), Some(false));
}

#[test]
fn memory_sizes() {
    assert_eq!(vm(&["-m", "4096"]).memory.size_bytes, Some(4 << 30));
    assert_eq!(vm(&["-m", "size=4096"]).memory.size_bytes, Some(4 << 30));
    assert_eq!(
        vm(&["-m", "size=219136k"]).memory.size_bytes,
        Some(219136 * 1024)
    );
    let m = vm(&["-m", "32G,slots=32,maxmem=1T"]);
    assert_eq!(m.memory.size_bytes, Some(32 << 30));
    assert_eq!(m.memory.slots, Some(32));
    assert_eq!(m.memory.maxmem_bytes, Some(1 << 40));
    let m = vm(&["-m", "lots"]);
    assert_eq!(m.memory.size_bytes, None);
    assert_eq!(m.notes.len(), 1);
}

#[test]
fn memfd_hugetlb_backend_via_numa() {
    let m = vm(&[
        "-m",
        "4G",
        "-object",
        "memory-backend-memfd,id=mem0,size=4G,hugetlb=on,hugetlbsize=2M,host-nodes=0-1,policy=bind",
        "-numa",
        "node,nodeid=0,cpus=0-1,cpus=4,memdev=mem0",
    ]);
    let b = m.main_ram_backend().expect("backend");
    assert_eq!(b.kind, BackendKind::Memfd);
    assert_eq!(b.hugetlb, Some(true));
    assert_eq!(b.hugetlbsize_bytes, Some(2 << 20));
    assert_eq!(b.size_bytes, Some(4 << 30));
    assert_eq!(b.host_nodes, vec![0, 1]);
    assert_eq!(b.policy.as_deref(), Some("bind"));
    assert_eq!(
        m.numa_nodes.first().map(|n| n.cpus.clone()),
        Some(vec![0, 1, 4])
    );
    assert_eq!(m.uses_hugepages(), HugepageUse::All);
}

#[test]
fn hugepage_detection_for_mem_path_and_partial() {
    let m = vm(&["-m", "4G", "-mem-path", "/dev/hugepages1G", "-mem-prealloc"]);
    assert!(m.memory.mem_prealloc);
    assert_eq!(m.uses_hugepages(), HugepageUse::All);
    assert_eq!(
        m.guest_ram().first().map(|p| p.source.clone()),
        Some(RamSource::File {
            path: "/dev/hugepages1G".into()
        })
    );
    let m = vm(&["-m", "4G"]);
    assert_eq!(m.uses_hugepages(), HugepageUse::None);
    let m = vm(&[
        "-machine",
        "pc,memory-backend=ram",
        "-object",
        "memory-backend-ram,id=ram,size=1G",
        "-object",
        "memory-backend-file,id=dimm,size=1G,mem-path=/dev/hugepages",
        "-device",
        "pc-dimm,memdev=dimm,id=d0",
    ]);
    assert_eq!(m.uses_hugepages(), HugepageUse::Partial);
    assert_eq!(m.main_ram_backend().map(|b| b.id.as_str()), Some("ram"));
}

#[test]
fn accelerators_and_kvm_tristate() {
    let m = vm(&["-machine", "q35,accel=kvm:tcg"]);
    let names: Vec<_> = m.accel.list.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, vec!["kvm", "tcg"]);
    assert_eq!(m.is_kvm(), KvmUse::Maybe);
    assert_eq!(vm(&["--enable-kvm"]).is_kvm(), KvmUse::Yes);
    assert_eq!(
        vm(&["-accel", "kvm,kernel-irqchip=split"]).is_kvm(),
        KvmUse::Yes
    );
    assert_eq!(vm(&["-accel", "tcg"]).is_kvm(), KvmUse::No);
    let none = vm(&[]);
    assert!(!none.accel.specified);
    assert_eq!(none.is_kvm(), KvmUse::No, "upstream defaults to TCG");
    assert_eq!(vm_bin("/usr/libexec/qemu-kvm", &[]).is_kvm(), KvmUse::Yes);
    assert_eq!(vm_bin("/opt/emu", &[]).is_kvm(), KvmUse::Unknown);
    assert_eq!(
        vm(&["-accel", "xen", "-accel", "kvm"]).is_kvm(),
        KvmUse::Maybe
    );
    // -machine options merge: the later accel= replaces the earlier one.
    let m = vm(&["-machine", "pc,accel=tcg", "-machine", "accel=kvm"]);
    assert_eq!(m.is_kvm(), KvmUse::Yes);
    assert_eq!(m.machine.machine_type.as_deref(), Some("pc"));
}

#[test]
fn vfio_bdf_normalization() {
    let m = vm(&[
        "-device",
        "vfio-pci,host=3d:01.1,id=qat0",
        "-device",
        "vfio-pci,sysfsdev=/sys/bus/pci/devices/0000:3D:02.0",
        "-device",
        "vfio-pci,sysfsdev=/sys/bus/mdev/devices/c2177883-f1bb-47f0-914d-32a22e3a8804",
    ]);
    let bdfs: Vec<_> = m.vfio_devices.iter().map(|v| v.host_bdf.clone()).collect();
    assert_eq!(
        bdfs,
        vec![
            Some("0000:3d:01.1".into()),
            Some("0000:3d:02.0".into()),
            None
        ]
    );
    assert!(m.nics.is_empty(), "vfio devices are not emulated NICs");
}

#[test]
fn nvdimm_wiring() {
    let m = vm(&[
        "-machine",
        "pc,accel=kvm,nvdimm=on",
        "-m",
        "32G,slots=32,maxmem=1T",
        "-object",
        "memory-backend-file,id=mem1,share=on,mem-path=/dev/dax0.0,size=100G,align=128M",
        "-device",
        "nvdimm,memdev=mem1,id=nv1,label-size=128k",
    ]);
    let d = m.nvdimms().next().expect("nvdimm");
    assert_eq!(d.kind, MemoryDeviceKind::Nvdimm);
    assert_eq!(d.label_size_bytes, Some(128 << 10));
    let b = d.backend.as_ref().expect("backend");
    assert_eq!(b.share, Some(true));
    assert_eq!(b.align_bytes, Some(128 << 20));
    assert_eq!(b.mem_path.as_deref(), Some("/dev/dax0.0"));
    // NVDIMM is not RAM.
    assert_eq!(m.guest_ram().len(), 1);
}

#[test]
fn blockdev_chain_with_inline_file_and_inheritance() {
    let m = vm(&[
        "-object",
        "iothread,id=io1",
        "-blockdev",
        r#"{"driver":"qcow2","node-name":"fmt","cache":{"direct":true},"file":{"driver":"file","filename":"/i.qcow2","aio":"io_uring"}}"#,
        "-device",
        r#"{"driver":"virtio-blk-pci","drive":"fmt","id":"vd0","iothread":"io1","num-queues":4,"packed":true}"#,
    ]);
    let d = m.disks.first().expect("disk");
    assert_eq!(d.chain.len(), 2);
    assert_eq!(d.format.as_deref(), Some("qcow2"));
    assert_eq!(d.protocol.as_deref(), Some("file"));
    assert_eq!(d.path.as_deref(), Some("/i.qcow2"));
    assert_eq!(d.aio, Some(Aio::IoUring));
    assert_eq!(
        d.cache_direct,
        Some(true),
        "inline child inherits cache.direct"
    );
    assert_eq!(d.cache_mode, Some(CacheMode::None));
    assert_eq!(d.iothreads, vec!["io1".to_string()]);
    assert_eq!(d.num_queues, Some(4));
    assert_eq!(d.packed, Some(true));
    // A referenced protocol node was opened on its own: no inheritance.
    let m = vm(&[
        "-blockdev",
        "driver=file,node-name=proto,filename=/i.raw",
        "-blockdev",
        "driver=raw,node-name=fmt,file=proto,cache.direct=on",
        "-device",
        "virtio-blk-pci,drive=fmt",
    ]);
    assert_eq!(m.disks.first().and_then(|d| d.cache_direct), Some(false));
    assert_eq!(
        m.disks.first().and_then(|d| d.aio.clone()),
        Some(Aio::Threads)
    );
}

#[test]
fn blockdev_loops_and_dangling_refs_become_notes() {
    let m = vm(&[
        "-blockdev",
        "driver=raw,node-name=a,file=b",
        "-blockdev",
        "driver=raw,node-name=b,file=a",
        "-device",
        "virtio-blk-pci,drive=a",
        "-device",
        "virtio-blk-pci,drive=missing",
    ]);
    assert_eq!(m.disks.len(), 2);
    assert_eq!(m.notes.len(), 2, "{:?}", m.notes);
}

#[test]
fn scsi_disk_takes_controller_iothreads_and_queues() {
    let m = vm(&[
        "-object",
        "iothread,id=io0",
        "-device",
        "virtio-scsi-pci,id=scsi0,iothread=io0,num_queues=4",
        "-drive",
        "if=none,id=d0,file=/dev/sdc,cache=none,aio=native",
        "-device",
        "scsi-hd,bus=scsi0.0,drive=d0,id=sd0",
    ]);
    let d = m.disks.first().expect("disk");
    assert_eq!(d.bus, DiskBus::VirtioScsi);
    assert_eq!(d.controller.as_deref(), Some("scsi0"));
    assert_eq!(d.iothreads, vec!["io0".to_string()]);
    assert_eq!(d.num_queues, Some(4));
    assert_eq!(d.aio, Some(Aio::Native));
    assert_eq!(d.cache_mode, Some(CacheMode::None));
}

#[test]
fn set_edits_an_earlier_option() {
    let m = vm(&[
        "-drive",
        "if=none,id=d0,file=a.img",
        "-device",
        "virtio-blk-pci,drive=d0,id=vd0",
        "-set",
        "device.vd0.num-queues=2",
        "-set",
        "drive.d0.cache=none",
    ]);
    let d = m.disks.first().expect("disk");
    assert_eq!(d.num_queues, Some(2));
    assert_eq!(d.cache_mode, Some(CacheMode::None));
}

#[test]
fn smp_and_cpu() {
    let m = vm(&[
        "-smp",
        "sockets=2,cores=4,threads=2",
        "-cpu",
        "host,kvm-hint-dedicated=on,+vmx,-svm,pmu",
    ]);
    assert_eq!(m.vcpus(), Some(16));
    let cpu = m.cpu.as_ref().expect("cpu");
    assert_eq!(cpu.model, "host");
    assert_eq!(cpu.kvm_hint_dedicated(), Some(true));
    assert_eq!(cpu.feature("vmx"), Some(true));
    assert_eq!(cpu.feature("svm"), Some(false));
    assert_eq!(cpu.feature("pmu"), Some(true));
    assert_eq!(vm(&["-smp", "8"]).vcpus(), Some(8));
    assert_eq!(vm(&[]).vcpus(), Some(1));
}

#[test]
fn vhost_user_blk_is_a_disk_without_chain() {
    let m = vm(&[
        "-chardev",
        "socket,id=c0,path=/run/vhost.sock",
        "-device",
        "vhost-user-blk-pci,chardev=c0,num-queues=4,id=vub0",
    ]);
    let d = m.disks.first().expect("disk");
    assert_eq!(d.bus, DiskBus::VhostUserBlk);
    assert_eq!(d.num_queues, Some(4));
    assert_eq!(d.cache_mode, None);
}

#[test]
fn malformed_pieces_become_notes_not_failures() {
    let m = vm(&[
        "-object",
        "{not json",
        "-device",
        "virtio-blk-pci,num-queues=many,drive=x",
        "-smp",
        "cpus=-1",
        "-m",
    ]);
    assert!(m.notes.len() >= 4, "{:?}", m.notes);
    let empty = VmModel::from_argv(&[]);
    assert!(!empty.notes.is_empty());
}

#[test]
fn nul_cmdline_round_trips_exactly() {
    let raw: &[u8] =
        b"/usr/bin/qemu-system-x86_64\0-name\0guest=caf\xe9\0-append\0\0-drive\0file=/img/\xff\xfe.raw,if=virtio\0";
    let f = parse_argv_file(raw).expect("parses");
    assert_eq!(
        f.argv.get(4),
        Some(&RawBytes(Vec::new())),
        "empty -append argument kept"
    );
    let mut rebuilt = Vec::new();
    for a in &f.argv {
        rebuilt.extend_from_slice(a.as_bytes());
        rebuilt.push(0);
    }
    assert_eq!(rebuilt, raw);
    // Through JSON (the snapshot form): non-UTF-8 arguments go as hex and come back intact.
    let json = serde_json::to_string(&f.argv).expect("json");
    let back: Vec<RawBytes> = serde_json::from_str(&json).expect("back");
    assert_eq!(back, f.argv);
    // The model still reads the options around the odd bytes.
    let m = VmModel::from_argv(&f.argv);
    assert_eq!(m.disks.first().map(|d| d.bus), Some(DiskBus::VirtioBlk));
    assert!(m.notes.iter().any(|n| n.contains("UTF-8")));
}
