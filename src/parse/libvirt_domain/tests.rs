//! The lowering checked against the model the argv libvirt generated builds (the full corpus
//! comparison with the real `virsh domxml-to-native` is tests/domain_xml_agreement.rs).

use super::*;
use crate::model::vm::{CacheMode, DiskBus, MemLock};

const TUNED: &str = "<domain type='kvm'>
  <name>db1</name><uuid>6c5b9c3e-0d3b-4c41-9b61-7d2a1c0e5f01</uuid>
  <memory unit='GiB'>4</memory>
  <memoryBacking><hugepages><page size='1' unit='GiB'/></hugepages><locked/><nosharepages/></memoryBacking>
  <vcpu placement='static' cpuset='0-7,^3'>4</vcpu>
  <iothreads>2</iothreads>
  <cputune><vcpupin vcpu='0' cpuset='2'/><vcpupin vcpu='1' cpuset='3'/>
    <emulatorpin cpuset='0-1'/><iothreadpin iothread='1' cpuset='4'/></cputune>
  <numatune><memory mode='strict' nodeset='1'/></numatune>
  <os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os>
  <features><pmu state='off'/><kvm><hint-dedicated state='on'/></kvm></features>
  <cpu mode='host-passthrough'><topology sockets='1' cores='2' threads='2'/></cpu>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='unsafe' io='native' iothread='1' queues='4' packed='on'/>
      <source file='/var/lib/libvirt/images/db1.qcow2'/><target dev='vdb' bus='virtio'/>
    </disk>
    <controller type='scsi' index='0' model='virtio-scsi'><driver iothread='2' queues='8'/></controller>
    <disk type='block' device='disk'><driver name='qemu' type='raw' cache='none'/>
      <source dev='/dev/sdz'/><target dev='sda' bus='scsi'/></disk>
    <interface type='bridge'><mac address='52:54:00:aa:bb:cc'/><source bridge='br0'/>
      <model type='virtio'/><driver name='vhost' queues='4' packed='on'/></interface>
    <interface type='network'><source network='default'/><model type='e1000e'/></interface>
    <hostdev mode='subsystem' type='pci' managed='yes'><source>
      <address domain='0x0000' bus='0x3d' slot='0x01' function='0x1'/></source></hostdev>
    <memory model='nvdimm'><source><path>/dev/dax0.0</path><pmem/></source>
      <target><size unit='GiB'>1</size><node>0</node><label><size unit='KiB'>128</size></label></target></memory>
  </devices>
</domain>";

#[test]
fn a_tuned_domain_becomes_the_vm_model() {
    let d = parse(TUNED.as_bytes()).unwrap();
    assert_eq!(d.name.as_deref(), Some("db1"));
    let m = d.model();
    assert_eq!(m.name.as_deref(), Some("db1"));
    assert_eq!(
        m.uuid.as_deref(),
        Some("6c5b9c3e-0d3b-4c41-9b61-7d2a1c0e5f01")
    );
    assert_eq!(m.machine.machine_type.as_deref(), Some("pc-q35-8.2"));
    assert_eq!(m.machine.mem_merge, Some(false));
    assert_eq!(m.machine.nvdimm, Some(true));
    assert_eq!(m.is_kvm(), crate::model::vm::KvmUse::Yes);
    let cpu = m.cpu.as_ref().unwrap();
    assert_eq!(cpu.model, "host");
    assert_eq!(cpu.feature("pmu"), Some(false));
    assert_eq!(cpu.kvm_hint_dedicated(), Some(true));
    assert_eq!(m.vcpus(), Some(4));
    assert_eq!((m.smp.cores, m.smp.threads), (Some(2), Some(2)));
    assert_eq!(m.memory.size_bytes, Some(4 << 30));
    assert_eq!(m.overcommit.merged().0, MemLock::On);
    let ram = m.main_ram_backend().unwrap();
    assert_eq!(
        ram.mem_path.as_deref(),
        Some("/dev/hugepages1G/libvirt/qemu/db1")
    );
    assert_eq!(
        (ram.host_nodes.as_slice(), ram.policy.as_deref()),
        (&[1][..], Some("bind"))
    );
    assert_eq!(ram.prealloc, Some(true));
    assert_eq!(m.uses_hugepages(), crate::model::vm::HugepageUse::All);
    assert_eq!(m.iothreads.len(), 2);

    let vd = &m.disks[0];
    assert_eq!(vd.id.as_deref(), Some("virtio-disk1"));
    assert_eq!(vd.bus, DiskBus::VirtioBlk);
    assert_eq!(vd.cache_mode, Some(CacheMode::Unsafe));
    assert_eq!(vd.aio, Some(crate::model::vm::Aio::Native));
    assert_eq!(vd.iothreads, ["iothread1"]);
    assert_eq!((vd.num_queues, vd.packed), (Some(4), Some(true)));
    assert_eq!(vd.format.as_deref(), Some("qcow2"));
    let sd = &m.disks[1];
    assert_eq!(sd.bus, DiskBus::VirtioScsi);
    assert_eq!(sd.cache_mode, Some(CacheMode::None));
    assert_eq!(sd.iothreads, ["iothread2"]);
    assert_eq!(sd.num_queues, Some(8));
    assert_eq!(sd.protocol.as_deref(), Some("host_device"));

    let n = &m.nics[0];
    assert_eq!(n.model.as_deref(), Some("virtio-net-pci"));
    assert_eq!(
        (n.vhost(), n.queues(), n.packed),
        (Some(true), Some(4), Some(true))
    );
    assert_eq!(m.nics[1].model.as_deref(), Some("e1000e"));
    assert_eq!(m.nics[1].vhost(), Some(false));
    assert_eq!(m.vfio_devices[0].host_bdf.as_deref(), Some("0000:3d:01.1"));
    let nv = m.nvdimms().next().unwrap();
    assert_eq!(nv.label_size_bytes, Some(128 * 1024));
    assert_eq!(nv.backend.as_ref().unwrap().pmem, Some(true));

    let t = &d.cputune;
    assert_eq!(t.vcpupin[&1], [3].into());
    assert_eq!(t.emulatorpin, Some([0, 1].into()));
    assert_eq!(t.iothreadpin[&1], [4].into());
    assert_eq!(t.vcpu_default, Some([0, 1, 2, 4, 5, 6, 7].into()));
}

#[test]
fn status_xml_gives_the_pid_and_numa_cells_their_backends() {
    let xml = "<domstatus state='running' reason='booted' pid='4242'>
      <domain type='qemu' id='1'><name>n</name><memory>2097152</memory><vcpu>2</vcpu>
      <memoryBacking><hugepages><page size='2048' unit='KiB' nodeset='1'/></hugepages></memoryBacking>
      <os><type arch='x86_64' machine='pc'>hvm</type></os>
      <cpu><numa><cell id='0' cpus='0' memory='1048576'/><cell id='1' cpus='1' memory='1048576'/></numa></cpu>
      <numatune><memnode cellid='1' mode='strict' nodeset='1'/></numatune>
      </domain></domstatus>";
    let d = parse(xml.as_bytes()).unwrap();
    assert_eq!(d.status_pid, Some(4242));
    let m = d.model();
    assert_eq!(m.numa_nodes.len(), 2);
    assert_eq!(m.memory.ram_backend_ids, ["ram-node0", "ram-node1"]);
    assert_eq!(
        m.backend("ram-node0").unwrap().qom_type,
        "memory-backend-ram"
    );
    let n1 = m.backend("ram-node1").unwrap();
    assert_eq!(n1.qom_type, "memory-backend-file");
    assert_eq!(n1.policy.as_deref(), Some("bind"));
    assert_eq!(m.uses_hugepages(), crate::model::vm::HugepageUse::Partial);
    assert!(m.notes.iter().any(|n| n.contains("alias")), "{:?}", m.notes);
}

#[test]
fn not_a_domain_is_an_error_with_the_reason() {
    for (bad, why) in [
        (
            &b"<network><name>x</name></network>"[..],
            "not a libvirt domain",
        ),
        (b"\xff\xfe<domain/>", "not UTF-8"),
        (b"<domstatus pid='1'/>", "holds no <domain>"),
        (b"<!DOCTYPE domain SYSTEM 'x'><domain/>", "DOCTYPE"),
        (b"<domain><name>a</name>", "end of document"),
    ] {
        let e = parse(bad).unwrap_err().0;
        assert!(e.contains(why), "{e}");
    }
    let big = vec![b' '; MAX_DOMAIN_XML as usize + 1];
    assert!(parse(&big).unwrap_err().0.contains("larger"));
}

#[test]
fn cpusets_expand_and_refuse_nonsense() {
    use super::cputune::cpuset;
    assert_eq!(cpuset("0-3,^1,8"), Some([0, 2, 3, 8].into()));
    assert_eq!(cpuset("3-1"), None);
    assert_eq!(cpuset("0-4294967295"), None);
    assert_eq!(cpuset("x"), None);
    assert_eq!(cpuset("^1"), None);
}

mod hostile {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Random bytes, and random edits of a real domain, never panic the parser or the
        /// model builder.
        #[test]
        fn no_panic_on_any_bytes(b in proptest::collection::vec(any::<u8>(), 0..2048)) {
            if let Ok(d) = super::parse(&b) { let _ = d.model(); }
        }

        #[test]
        fn no_panic_on_mangled_domains(cut in 0usize..4000, at in 0usize..4000, junk in "[<>&;'\"=/a-z0-9 ^,-]{0,12}") {
            let mut s = super::TUNED.to_string();
            let at = at.min(s.len());
            let at = (0..=at).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
            s.insert_str(at, &junk);
            let cut = cut.min(s.len());
            let cut = (0..=cut).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
            for text in [&s[..cut], s.as_str()] {
                if let Ok(d) = super::parse(text.as_bytes()) { let _ = d.model(); }
            }
        }
    }
}
