use crate::report::Profile::Throughput;
use crate::rules::testkit::{findings, status, SnapBuilder};

const PCI: &str = "/sys/bus/pci/devices";

/// A C62x PF at 65:00.0 with `vfs` VFs (65:01.x), each in its own group 12+i, bound to
/// `vf_driver`.
fn qat_host(vfs: u32, vf_driver: &str) -> SnapBuilder {
    let pf = "0000:65:00.0";
    let mut names = vec![pf.to_string()];
    let mut b = SnapBuilder::new()
        .icx("vmx")
        .topology(2, 4, 1)
        .file(&format!("{PCI}/{pf}/vendor"), "0x8086")
        .file(&format!("{PCI}/{pf}/device"), "0x37c8")
        .file(&format!("{PCI}/{pf}/numa_node"), "0")
        .file(&format!("{PCI}/{pf}/sriov_totalvfs"), "16")
        .file(&format!("{PCI}/{pf}/sriov_numvfs"), &vfs.to_string())
        .link(
            &format!("{PCI}/{pf}/driver"),
            "../../../bus/pci/drivers/c6xx",
        );
    for i in 0..vfs {
        let vf = format!("0000:65:01.{i}");
        b = b
            .file(&format!("{PCI}/{vf}/vendor"), "0x8086")
            .file(&format!("{PCI}/{vf}/device"), "0x37c9")
            .file(&format!("{PCI}/{vf}/numa_node"), "-1")
            .link(&format!("{PCI}/{vf}/physfn"), &format!("../{pf}"))
            .link(
                &format!("{PCI}/{vf}/iommu_group"),
                &format!("../../../kernel/iommu_groups/{}", 12 + i),
            );
        if !vf_driver.is_empty() {
            b = b.link(
                &format!("{PCI}/{vf}/driver"),
                &format!("../../../bus/pci/drivers/{vf_driver}"),
            );
        }
        names.push(vf);
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    b.dir(PCI, &refs).dir("/dev/vfio", &["12", "13", "vfio"])
}

/// A VM pinned to node `node`'s CPUs (topology 2x4x1: node0 = 0-3, node1 = 4-7).
fn vm_on(b: SnapBuilder, host: &str, node: u32) -> SnapBuilder {
    let cpu = if node == 0 { "1" } else { "5" };
    b.vm(
        &format!("qemu-system-x86_64 -name guest=web -accel kvm -device vfio-pci,host={host},id=hostdev0"),
        &[("CPU 0/KVM", cpu, "0")],
    )
}

#[test]
fn healthy_passthrough() {
    let s = vm_on(qat_host(2, "vfio-pci"), "65:01.0", 0).build();
    assert_eq!(
        status(&s, Throughput, "host.qat.sriov", "host/dev:0000:65:00.0"),
        "pass"
    );
    assert_eq!(
        status(
            &s,
            Throughput,
            "host.qat.vfio-bind",
            "host/dev:0000:65:01.0"
        ),
        "pass"
    );
    let f = findings(&s, Throughput, "qemu.qat.passthrough");
    assert_eq!(f[0].status.as_str(), "pass", "{}", f[0].message);
    // The VF's numa_node -1 fell back to its PF's node.
    assert!(f[0]
        .evidence
        .iter()
        .any(|e| e.observed.contains("from its PF")));
    // VFIO with QAT escalates the IOMMU rules.
    let f = findings(&s, Throughput, "bios.vtd");
    assert_eq!(f[0].severity, crate::report::Severity::High);
}

#[test]
fn remote_vf_warns() {
    let s = vm_on(qat_host(2, "vfio-pci"), "0000:65:01.1", 1).build();
    let f = findings(&s, Throughput, "qemu.qat.passthrough");
    assert_eq!(f[0].status.as_str(), "warn");
    assert!(
        f[0].message.contains("on node 0, the VM on node 1"),
        "{}",
        f[0].message
    );
    // vCPUs on both nodes.
    let s = qat_host(2, "vfio-pci")
        .vm(
            "qemu-system-x86_64 -name guest=web -device vfio-pci,host=65:01.0",
            &[("CPU 0/KVM", "0-7", "0-1")],
        )
        .build();
    assert_eq!(
        status(&s, Throughput, "qemu.qat.passthrough", "vm:web"),
        "warn"
    );
    // No identifiable vCPU thread: placement unknown.
    let s = qat_host(2, "vfio-pci")
        .vm(
            "qemu-system-x86_64 -name guest=web -device vfio-pci,host=65:01.0",
            &[("qemu-system-x86", "0-7", "0-1")],
        )
        .build();
    assert_eq!(
        status(&s, Throughput, "qemu.qat.passthrough", "vm:web"),
        "unknown"
    );
}

#[test]
fn host_driver_or_bad_group_fails() {
    let s = vm_on(qat_host(2, "c6xxvf"), "65:01.0", 0).build();
    let f = findings(&s, Throughput, "host.qat.vfio-bind");
    assert_eq!(f[0].status.as_str(), "fail");
    assert!(f[0].message.contains("c6xxvf"), "{}", f[0].message);
    // Another function in the VF's group bound to a host driver: not viable.
    let s = vm_on(qat_host(2, "vfio-pci"), "65:01.0", 0)
        .link(
            &format!("{PCI}/0000:65:01.1/iommu_group"),
            "../../../kernel/iommu_groups/12",
        )
        .link(
            &format!("{PCI}/0000:65:01.1/driver"),
            "../../../bus/pci/drivers/c6xxvf",
        )
        .build();
    let f = findings(&s, Throughput, "host.qat.vfio-bind");
    let mine = f
        .iter()
        .find(|f| f.target == "host/dev:0000:65:01.0")
        .unwrap();
    assert_eq!(mine.status.as_str(), "fail");
    assert!(mine.message.contains("not viable"), "{}", mine.message);
    let s = vm_on(qat_host(2, ""), "65:01.0", 0).build();
    assert_eq!(
        status(
            &s,
            Throughput,
            "host.qat.vfio-bind",
            "host/dev:0000:65:01.0"
        ),
        "warn"
    );
}

#[test]
fn group_member_list() {
    // The group's member list is read when collected: a bridge on pcieport is fine, a NIC
    // on its host driver is not.
    let t = "host/dev:0000:65:01.0";
    let s = vm_on(qat_host(2, "vfio-pci"), "65:01.0", 0)
        .dir(
            "/sys/kernel/iommu_groups/12/devices",
            &["0000:64:02.0", "0000:65:01.0"],
        )
        .link(
            &format!("{PCI}/0000:64:02.0/driver"),
            "../../../bus/pci/drivers/pcieport",
        )
        .build();
    assert_eq!(status(&s, Throughput, "host.qat.vfio-bind", t), "pass");
    let s = vm_on(qat_host(2, "vfio-pci"), "65:01.0", 0)
        .dir(
            "/sys/kernel/iommu_groups/12/devices",
            &["0000:64:00.0", "0000:65:01.0"],
        )
        .link(
            &format!("{PCI}/0000:64:00.0/driver"),
            "../../../bus/pci/drivers/ice",
        )
        .build();
    let f = findings(&s, Throughput, "host.qat.vfio-bind");
    assert_eq!(f[0].status.as_str(), "fail");
    assert!(
        f[0].message.contains("0000:64:00.0 bound to ice"),
        "{}",
        f[0].message
    );
}

#[test]
fn missing_vfs_fail_sriov() {
    // The VM expects 65:01.0 but no VFs were created.
    let s = vm_on(qat_host(0, ""), "65:01.0", 0).build();
    assert_eq!(
        status(&s, Throughput, "host.qat.sriov", "host/dev:0000:65:00.0"),
        "fail"
    );
    assert_eq!(
        status(
            &s,
            Throughput,
            "host.qat.vfio-bind",
            "host/dev:0000:65:01.0"
        ),
        "fail"
    );
    assert_eq!(
        status(&s, Throughput, "qemu.qat.passthrough", "vm:web"),
        "unknown"
    );
}

#[test]
fn not_applicable_without_use_or_device() {
    let s = qat_host(2, "c6xxvf")
        .vm("qemu-system-x86_64 -name guest=plain -accel kvm", &[])
        .build();
    assert_eq!(
        status(&s, Throughput, "host.qat.sriov", "host"),
        "not_applicable"
    );
    assert_eq!(
        status(&s, Throughput, "host.qat.vfio-bind", "host"),
        "not_applicable"
    );
    assert_eq!(
        status(&s, Throughput, "qemu.qat.passthrough", "vm:plain"),
        "not_applicable"
    );
    let none = SnapBuilder::new().dir(PCI, &[]).build();
    assert_eq!(
        status(&none, Throughput, "host.qat.sriov", "host"),
        "not_applicable"
    );
    let denied = SnapBuilder::new().dir_denied(PCI).build();
    assert_eq!(
        status(&denied, Throughput, "host.qat.sriov", "host"),
        "unknown"
    );
}
