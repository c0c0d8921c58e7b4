use crate::report::Profile::Throughput;
use crate::rules::testkit::{findings, status, SnapBuilder};

const GIB: u64 = 1 << 30;

/// A 2-node host with PMem in App Direct: region0 (node 0) with a devdax namespace dax0.0.
fn pmem_host() -> SnapBuilder {
    SnapBuilder::new()
        .icx("vmx")
        .topology(2, 4, 2)
        .file("/proc/sys/kernel/osrelease", "6.1.0-50-amd64")
        .dir("/sys/firmware/acpi/tables", &["DMAR", "NFIT", "SRAT"])
        .dir(
            "/sys/bus/nd/devices",
            &["ndbus0", "nmem0", "region0", "namespace0.0", "namespace0.1"],
        )
        .file("/sys/bus/nd/devices/region0/devtype", "nd_pmem")
        .file("/sys/bus/nd/devices/region0/size", &(256 * GIB).to_string())
        .file("/sys/bus/nd/devices/region0/numa_node", "0")
        .file("/sys/bus/nd/devices/namespace0.0/mode", "dax")
        .file(
            "/sys/bus/nd/devices/namespace0.0/size",
            &(252 * GIB).to_string(),
        )
        .file("/sys/bus/nd/devices/namespace0.1/size", "0")
        .dir("/sys/bus/dax/devices", &["dax0.0"])
        .link(
            "/sys/bus/dax/devices/dax0.0/driver",
            "../../../../bus/dax/drivers/device_dax",
        )
        .file("/sys/bus/dax/devices/dax0.0/align", "2097152")
        .file("/sys/bus/dax/devices/dax0.0/size", &(252 * GIB).to_string())
        .dir("/dev", &["kvm", "dax0.0", "null"])
}

fn kconfig(full: bool, drop: &[&str], release_extra: &str) -> String {
    let mut t = String::from("#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 6.1.0 Kernel Configuration\n#\n");
    for (sym, v) in [
        ("ACPI_NFIT", "m"),
        ("LIBNVDIMM", "m"),
        ("BLK_DEV_PMEM", "m"),
        ("ND_BTT", "m"),
        ("BTT", "y"),
        ("ND_PFN", "m"),
        ("NVDIMM_PFN", "y"),
        ("NVDIMM_DAX", "y"),
        ("DAX", "y"),
        ("DEV_DAX", "m"),
        ("DEV_DAX_PMEM", "m"),
        ("FS_DAX", "y"),
        ("ZONE_DEVICE", "y"),
        ("TRANSPARENT_HUGEPAGE", "y"),
        ("ND_CLAIM", "y"),
    ] {
        if !drop.contains(&sym) {
            t.push_str(&format!("CONFIG_{sym}={v}\n"));
        }
    }
    t.push_str(release_extra);
    if full {
        t.push_str("CONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14) 12.2.0\"\n");
        for i in 0..1000 {
            t.push_str(&format!("CONFIG_FILLER_{i}=y\n"));
        }
    }
    t
}

#[test]
fn kconfig_rule() {
    let good = pmem_host().kconfig(&kconfig(true, &[], "")).build();
    let f = &findings(&good, Throughput, "host.pmem.kconfig")[0];
    assert_eq!(f.status.as_str(), "pass", "{}", f.message);
    assert!(
        f.message.contains("ND_BLK no longer exists"),
        "{}",
        f.message
    );

    let no_nfit = pmem_host()
        .kconfig(&kconfig(true, &["ACPI_NFIT"], ""))
        .build();
    let f = &findings(&no_nfit, Throughput, "host.pmem.kconfig")[0];
    assert_eq!(f.status.as_str(), "fail");
    assert!(f.message.contains("ACPI_NFIT"), "{}", f.message);

    // A bool set to m is not enough.
    let fs_dax_m = pmem_host()
        .kconfig(&kconfig(true, &["FS_DAX"], "CONFIG_FS_DAX=m\n"))
        .build();
    assert_eq!(
        status(&fs_dax_m, Throughput, "host.pmem.kconfig", "host"),
        "fail"
    );

    // A 5.12 kernel still needs ND_BLK and DAX_DRIVER.
    let old = pmem_host()
        .file("/proc/sys/kernel/osrelease", "5.12.0")
        .kconfig(&kconfig(
            true,
            &[],
            "CONFIG_DAX_DRIVER=y\n# CONFIG_ND_BLK is not set\n",
        ))
        .build();
    let f = &findings(&old, Throughput, "host.pmem.kconfig")[0];
    assert_eq!(f.status.as_str(), "fail");
    assert!(f.message.contains("ND_BLK"), "{}", f.message);

    // A short fragment that does not mention a symbol proves nothing.
    let fragment = pmem_host()
        .kconfig(&kconfig(false, &["ZONE_DEVICE"], ""))
        .build();
    assert_eq!(
        status(&fragment, Throughput, "host.pmem.kconfig", "host"),
        "unknown"
    );

    // A whole .config without DAX: off (its dependencies are off).
    let no_dax = pmem_host().kconfig(&kconfig(true, &["DAX"], "")).build();
    assert_eq!(
        status(&no_dax, Throughput, "host.pmem.kconfig", "host"),
        "fail"
    );

    let no_pmem = SnapBuilder::new()
        .icx("vmx")
        .dir("/sys/firmware/acpi/tables", &["DMAR"])
        .kconfig(&kconfig(true, &[], ""))
        .build();
    assert_eq!(
        status(&no_pmem, Throughput, "host.pmem.kconfig", "host"),
        "not_applicable"
    );
    let no_config = pmem_host().build();
    assert_eq!(
        status(&no_config, Throughput, "host.pmem.kconfig", "host"),
        "unknown"
    );
}

/// RHEL's packaging config (what `kernel-x86_64-rhel.config` holds) omits what kconfig
/// selects or defaults: no CONFIG_DAX line next to CONFIG_DEV_DAX=m, no DAX_DRIVER. That is
/// not a kernel without DAX.
#[test]
fn kconfig_packaging_input_is_not_a_full_config() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/kconfig/el9_3-kernel-5.14.0-362.24.1-x86_64-rhel.config"
    ))
    .unwrap();
    let s = pmem_host()
        .file("/proc/sys/kernel/osrelease", "5.14.0-362.24.1.el9_3.x86_64")
        .kconfig(&text)
        .build();
    let f = &findings(&s, Throughput, "host.pmem.kconfig")[0];
    assert_eq!(f.status.as_str(), "pass", "{}", f.message);
    let seen = &f.evidence[0].observed;
    assert!(seen.contains("DAX implied by DEV_DAX=m"), "{seen}");
    // Without the symbols that prove it, an absent one stays unknown, never off.
    let cut: String = text
        .lines()
        .filter(|l| !l.contains("CONFIG_ZONE_DEVICE"))
        .map(|l| format!("{l}\n"))
        .collect();
    let s = pmem_host()
        .file("/proc/sys/kernel/osrelease", "5.14.0-362.24.1.el9_3.x86_64")
        .kconfig(&cut)
        .build();
    let f = &findings(&s, Throughput, "host.pmem.kconfig")[0];
    assert_eq!(f.status.as_str(), "unknown", "{}", f.message);
    assert!(f.message.contains("ZONE_DEVICE"), "{}", f.message);
}

#[test]
fn appdirect() {
    let s = pmem_host().build();
    assert_eq!(
        status(&s, Throughput, "host.pmem.appdirect", "host"),
        "pass"
    );
    let memory_mode = pmem_host()
        .dir("/sys/bus/nd/devices", &["ndbus0", "nmem0", "nmem1"])
        .build();
    assert_eq!(
        status(&memory_mode, Throughput, "host.pmem.appdirect", "host"),
        "fail"
    );
    let no_bus = SnapBuilder::new()
        .icx("vmx")
        .dir("/sys/firmware/acpi/tables", &["NFIT"])
        .build();
    assert_eq!(
        status(&no_bus, Throughput, "host.pmem.appdirect", "host"),
        "unknown"
    );
    let none = SnapBuilder::new()
        .icx("vmx")
        .dir("/sys/firmware/acpi/tables", &[])
        .build();
    assert_eq!(
        status(&none, Throughput, "host.pmem.appdirect", "host"),
        "not_applicable"
    );
}

const NV_VM: &str = "qemu-system-x86_64 -name guest=pm,debug-threads=on -machine q35,nvdimm=on -m 8G,slots=4,maxmem=64G -smp 2 \
    -object memory-backend-file,id=mem1,share=on,mem-path=/dev/dax0.0,size=32G,align=2M \
    -device nvdimm,memdev=mem1,id=nv1,label-size=128k";

fn node0() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("qemu-system-x86", "1", "0"),
        ("CPU 0/KVM", "2", "0"),
        ("CPU 1/KVM", "3", "0"),
    ]
}

#[test]
fn devdax() {
    let s = pmem_host().vm(NV_VM, &node0()).build();
    assert_eq!(status(&s, Throughput, "host.pmem.devdax", "host"), "pass");

    let kmem = pmem_host()
        .link(
            "/sys/bus/dax/devices/dax0.0/driver",
            "../../../../bus/dax/drivers/kmem",
        )
        .build();
    assert_eq!(
        status(&kmem, Throughput, "host.pmem.devdax", "host"),
        "warn"
    );

    let missing = pmem_host()
        .vm(&NV_VM.replace("dax0.0", "dax1.0"), &node0())
        .build();
    let f = &findings(&missing, Throughput, "host.pmem.devdax")[0];
    assert_eq!(f.status.as_str(), "fail");
    assert!(f.message.contains("/dev/dax1.0"), "{}", f.message);

    let no_region = pmem_host().dir("/sys/bus/nd/devices", &["ndbus0"]).build();
    assert_eq!(
        status(&no_region, Throughput, "host.pmem.devdax", "host"),
        "not_applicable"
    );
}

#[test]
fn nvdimm() {
    let s = pmem_host().vm(NV_VM, &node0()).build();
    let f = &findings(&s, Throughput, "qemu.pmem.nvdimm")[0];
    assert_eq!(f.status.as_str(), "pass", "{}", f.message);

    let private = pmem_host()
        .vm(&NV_VM.replace("share=on", "share=off"), &node0())
        .build();
    let f = &findings(&private, Throughput, "qemu.pmem.nvdimm")[0];
    assert_eq!(f.status.as_str(), "fail");
    assert!(f.message.contains("share=on"), "{}", f.message);

    let misaligned = pmem_host()
        .vm(&NV_VM.replace("align=2M", "align=4k"), &node0())
        .build();
    assert_eq!(
        status(&misaligned, Throughput, "qemu.pmem.nvdimm", "vm:pm"),
        "fail"
    );

    let small_label = pmem_host()
        .vm(
            &NV_VM.replace("label-size=128k", "label-size=64k"),
            &node0(),
        )
        .build();
    assert_eq!(
        status(&small_label, Throughput, "qemu.pmem.nvdimm", "vm:pm"),
        "fail"
    );

    // The VM runs on node 1, its devdax region is on node 0.
    let remote = pmem_host()
        .vm(
            NV_VM,
            &[
                ("qemu-system-x86", "4", "1"),
                ("CPU 0/KVM", "5", "1"),
                ("CPU 1/KVM", "6", "1"),
            ],
        )
        .build();
    assert_eq!(
        status(&remote, Throughput, "qemu.pmem.nvdimm", "vm:pm"),
        "warn"
    );

    let plain = pmem_host()
        .vm("qemu-system-x86_64 -name guest=app -m 4G", &node0())
        .build();
    assert_eq!(
        status(&plain, Throughput, "qemu.pmem.nvdimm", "vm:app"),
        "not_applicable"
    );
    let no_pmem = SnapBuilder::new()
        .icx("vmx")
        .topology(2, 4, 2)
        .dir("/sys/firmware/acpi/tables", &["DMAR"])
        .vm(NV_VM, &node0())
        .build();
    assert_eq!(
        status(&no_pmem, Throughput, "qemu.pmem.nvdimm", "vm:pm"),
        "not_applicable"
    );
}

#[test]
fn guest_visible() {
    // On the hypervisor: no guest channel.
    let s = pmem_host()
        .vm(NV_VM, &node0())
        .vm("qemu-system-x86_64 -name guest=app -m 4G", &node0())
        .build();
    assert_eq!(
        status(&s, Throughput, "guest.pmem.visible", "vm:pm"),
        "unknown"
    );
    assert_eq!(
        status(&s, Throughput, "guest.pmem.visible", "vm:app"),
        "not_applicable"
    );

    // Inside a guest.
    let guest = |mounts: &str| {
        SnapBuilder::new()
            .icx("vmx hypervisor")
            .dir("/sys/firmware/acpi/tables", &["NFIT"])
            .dir("/dev", &["pmem0", "vda"])
            .file("/proc/mounts", mounts)
            .build()
    };
    let dax = guest("/dev/vda1 / ext4 rw 0 0\n/dev/pmem0 /mnt/pmem xfs rw,relatime,dax=always 0 0");
    assert_eq!(
        status(&dax, Throughput, "guest.pmem.visible", "host"),
        "info"
    );
    let cached = guest("/dev/pmem0 /mnt/pmem ext4 rw,relatime 0 0");
    let f = &findings(&cached, Throughput, "guest.pmem.visible")[0];
    assert_eq!(f.status.as_str(), "warn");
    assert!(f.message.contains("-o dax"), "{}", f.message);
    let no_ns = SnapBuilder::new()
        .icx("vmx hypervisor")
        .dir("/sys/firmware/acpi/tables", &["NFIT"])
        .dir("/dev", &["vda"])
        .build();
    assert_eq!(
        status(&no_ns, Throughput, "guest.pmem.visible", "host"),
        "warn"
    );
    let none = SnapBuilder::new()
        .icx("vmx hypervisor")
        .dir("/sys/firmware/acpi/tables", &[])
        .dir("/dev", &["vda"])
        .build();
    assert_eq!(
        status(&none, Throughput, "guest.pmem.visible", "host"),
        "not_applicable"
    );
}
