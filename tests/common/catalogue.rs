//! The rule ids of the catalogue, written out once for the tests (rules_meta checks that the
//! code implements exactly these).
#![allow(dead_code)]

/// The master index of rules-catalogue.md §4 (public ids: never rename one once released).
pub const CATALOGUE_IDS: &[&str] = &[
    "base.platform.cpu",
    "base.capacity.commit",
    "base.kernel.version",
    "base.qemu.version",
    "qemu.accel.kvm",
    "bios.vtx",
    "bios.vtd",
    "host.iommu.enabled",
    "bios.ht",
    "bios.numa",
    "bios.power-policy",
    "bios.eist",
    "bios.turbo",
    "bios.eet",
    "bios.hwp-native",
    "bios.c1e",
    "bios.c6",
    "hw.qat.pcie-link",
    "host.numa.balancing",
    "qemu.numa.vm-placement",
    "qemu.numa.memory-locality",
    "qemu.numa.device-locality",
    "host.irq.affinity",
    "host.cpufreq.governor",
    "host.hugepages.pool",
    "host.hugepages.mount",
    "qemu.mem.hugepages",
    "host.thp",
    "host.idle.poll",
    "host.kvm.ple",
    "host.ksm.state",
    "host.ksm.tuning",
    "qemu.mem.merge",
    "host.kvm.halt-poll",
    "host.nohz-full.housekeeping",
    "host.kvm.exitless-timer",
    "qemu.overcommit.cpu-pm",
    "qemu.overcommit.mem-lock",
    "qemu.net.virtio-model",
    "qemu.net.vhost",
    "qemu.net.multiqueue",
    "qemu.net.packed",
    "host.vhost-net.zcopytx",
    "qemu.net.poll-us",
    "qemu.blk.virtio-bus",
    "qemu.blk.cache",
    "qemu.blk.aio",
    "qemu.blk.num-queues",
    "qemu.blk.packed",
    "qemu.blk.iothread",
    "guest.haltpoll.driver",
    "guest.haltpoll.poll-ns",
    "guest.cmdline.no-idle",
    "guest.blk.rq-affinity",
    "host.pmem.kconfig",
    "host.pmem.appdirect",
    "host.pmem.devdax",
    "qemu.pmem.nvdimm",
    "guest.pmem.visible",
    "host.qat.sriov",
    "host.qat.vfio-bind",
    "qemu.qat.passthrough",
];

/// The catalogue ids starting with `prefix` (e.g. "qemu.blk."), in catalogue order.
pub fn with_prefix(prefix: &str) -> Vec<&'static str> {
    CATALOGUE_IDS
        .iter()
        .copied()
        .filter(|id| id.starts_with(prefix))
        .collect()
}

/// The ids from `first` to `last` inclusive, in catalogue order (a guide section's rules).
pub fn run(first: &str, last: &str) -> &'static [&'static str] {
    let pos = |id: &str| {
        CATALOGUE_IDS
            .iter()
            .position(|c| *c == id)
            .unwrap_or_else(|| panic!("{id} is not a catalogue id"))
    };
    &CATALOGUE_IDS[pos(first)..=pos(last)]
}
