use crate::report::Profile::{Latency, Throughput};
use crate::rules::testkit::{findings, status, SnapBuilder};
use crate::snapshot::{CpuidDump, CpuidLeaf, Snapshot, Sourced};

const ARGS: &str = "qemu-system-x86_64 -name guest=a,debug-threads=on -machine pc-q35-6.0 -accel kvm -smp 2 -m 4G -drive file=/a.img,if=none,id=d0 -device virtio-blk-pci,drive=d0,id=vd0";

fn host_vm(cpu: &str, emu: &'static str) -> Snapshot {
    SnapBuilder::new()
        .topology(2, 4, 2)
        .vm(
            &format!("{ARGS} {cpu}"),
            &[
                ("qemu-system-x86", emu, "0"),
                ("CPU 0/KVM", "1", "0"),
                ("CPU 1/KVM", "2", "0"),
            ],
        )
        .build()
}

/// A KVM guest's CPUID with the REALTIME hint set or clear.
fn kvm_cpuid(hint: bool) -> Sourced<CpuidDump> {
    let leaf = |leaf, eax, ebx, ecx, edx| CpuidLeaf {
        leaf,
        subleaf: 0,
        eax,
        ebx,
        ecx,
        edx,
    };
    Sourced::value(
        "cpuid",
        CpuidDump {
            format: "live".into(),
            leaves: vec![
                leaf(0, 0x1b, 0x756e6547, 0x6c65746e, 0x49656e69),
                leaf(1, 0x606a6, 0, 1 << 31, 0),
                leaf(0x4000_0000, 0x4000_0001, 0x4b4d564b, 0x564b4d56, 0x4d),
                leaf(0x4000_0001, 0, 0, 0, u32::from(hint)),
            ],
        },
    )
}

fn guest(hint: bool, b: SnapBuilder) -> Snapshot {
    let mut s = b.icx("hypervisor").build();
    s.cpuid = kvm_cpuid(hint);
    s
}

const DRV: &str = "/sys/devices/system/cpu/cpuidle/current_driver";
const GOV: &str = "/sys/devices/system/cpu/cpuidle/current_governor_ro";

#[test]
fn driver_on_the_hypervisor() {
    let r = "guest.haltpoll.driver";
    // Dedicated without the hint: the host-side part fails.
    let f = findings(&host_vm("-cpu host", "0"), Throughput, r);
    assert_eq!(f[0].status.as_str(), "fail");
    assert!(f[0].message.contains("kvm-hint-dedicated=on"));
    assert_eq!(
        status(
            &host_vm("-cpu host,kvm-hint-dedicated=on", "0"),
            Throughput,
            r,
            "vm:a"
        ),
        "unknown"
    );
    // Shared vCPUs: not applicable.
    assert_eq!(
        status(&host_vm("-cpu host", "0-3"), Throughput, r, "vm:a"),
        "not_applicable"
    );
    // argv only: unknown.
    let s = SnapBuilder::new().vm(ARGS, &[]).build();
    assert_eq!(status(&s, Throughput, r, "vm:a"), "unknown");
    // The other guest rules follow the same applicability.
    for rule in ["guest.haltpoll.poll-ns", "guest.cmdline.no-idle"] {
        assert_eq!(
            status(&host_vm("-cpu host", "0-3"), Throughput, rule, "vm:a"),
            "not_applicable",
            "{rule}"
        );
        assert_eq!(
            status(
                &host_vm("-cpu host,kvm-hint-dedicated=on", "0"),
                Throughput,
                rule,
                "vm:a"
            ),
            "unknown",
            "{rule}"
        );
    }
}

#[test]
fn driver_inside_the_guest() {
    let r = "guest.haltpoll.driver";
    let on = guest(
        true,
        SnapBuilder::new()
            .file(DRV, "haltpoll")
            .file(GOV, "haltpoll"),
    );
    assert_eq!(status(&on, Throughput, r, "host"), "pass");
    let off = guest(
        true,
        SnapBuilder::new().file(DRV, "acpi_idle").file(GOV, "menu"),
    );
    assert_eq!(status(&off, Throughput, r, "host"), "fail");
    let nokconfig = guest(
        true,
        SnapBuilder::new()
            .file(DRV, "acpi_idle")
            .file(GOV, "menu")
            .kconfig("# CONFIG_HALTPOLL_CPUIDLE is not set\n"),
    );
    let f = findings(&nokconfig, Throughput, r);
    assert!(
        f[0].message.contains("CONFIG_HALTPOLL_CPUIDLE"),
        "{}",
        f[0].message
    );
    let idle = guest(
        true,
        SnapBuilder::new()
            .file(DRV, "none")
            .file(GOV, "menu")
            .file("/proc/cmdline", "root=/dev/vda1 idle=poll"),
    );
    let f = findings(&idle, Throughput, r);
    assert_eq!(f[0].status.as_str(), "fail");
    assert!(f[0].message.contains("idle=poll"));
    // No hint: not applicable under throughput, a failure under latency.
    let nohint = guest(
        false,
        SnapBuilder::new().file(DRV, "acpi_idle").file(GOV, "menu"),
    );
    assert_eq!(status(&nohint, Throughput, r, "host"), "not_applicable");
    assert_eq!(status(&nohint, Latency, r, "host"), "fail");
    // force=1 makes it applicable without the hint.
    let forced = guest(
        false,
        SnapBuilder::new()
            .file(DRV, "acpi_idle")
            .file(GOV, "menu")
            .file("/proc/cmdline", "cpuidle_haltpoll.force=1"),
    );
    assert_eq!(status(&forced, Throughput, r, "host"), "fail");
    // Unreadable driver → unknown.
    let denied = guest(true, SnapBuilder::new().denied(DRV));
    assert_eq!(status(&denied, Throughput, r, "host"), "unknown");
}

#[test]
fn poll_ns_inside_the_guest() {
    let r = "guest.haltpoll.poll-ns";
    let p = "/sys/module/haltpoll/parameters";
    let on = guest(
        true,
        SnapBuilder::new()
            .file(DRV, "haltpoll")
            .file(GOV, "haltpoll")
            .file(&format!("{p}/guest_halt_poll_ns"), "50000")
            .file(&format!("{p}/guest_halt_poll_grow"), "2"),
    );
    let f = findings(&on, Throughput, r);
    assert_eq!(f[0].status.as_str(), "info");
    assert!(f[0].message.contains("guest_halt_poll_ns=50000"));
    let off = guest(
        true,
        SnapBuilder::new().file(DRV, "acpi_idle").file(GOV, "menu"),
    );
    assert_eq!(status(&off, Throughput, r, "host"), "not_applicable");
}

#[test]
fn no_idle_inside_the_guest() {
    let r = "guest.cmdline.no-idle";
    let mk = |cmd: &str| {
        guest(
            true,
            SnapBuilder::new()
                .file(DRV, "none")
                .file(GOV, "menu")
                .file("/proc/cmdline", cmd),
        )
    };
    assert_eq!(
        status(&mk("root=/dev/vda1 quiet"), Throughput, r, "host"),
        "pass"
    );
    assert_eq!(
        status(&mk("root=/dev/vda1 idle=halt"), Throughput, r, "host"),
        "fail"
    );
    // Fixed in GRUB, reboot pending.
    let mut s = guest(
        true,
        SnapBuilder::new()
            .file(DRV, "none")
            .file(GOV, "menu")
            .file("/proc/cmdline", "root=/dev/vda1 idle=poll")
            .file("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"root=/dev/vda1\""),
    );
    let f = findings(&s, Throughput, r);
    assert_eq!(f[0].status.as_str(), "fail");
    assert!(f[0].pending_reboot);
    // cmdline unreadable → unknown
    s.files.remove("/proc/cmdline");
    assert_eq!(status(&s, Throughput, r, "host"), "unknown");
    // not dedicated (hint clear), throughput → not applicable
    let nohint = guest(false, SnapBuilder::new().file("/proc/cmdline", "idle=poll"));
    assert_eq!(status(&nohint, Throughput, r, "host"), "not_applicable");
}

#[test]
fn rq_affinity() {
    let r = "guest.blk.rq-affinity";
    let mk = |rq: &str, queues: &[&str]| {
        guest(
            true,
            SnapBuilder::new()
                .file("/sys/devices/system/cpu/online", "0-3")
                .dir("/sys/block", &["vda", "sr0"])
                .file("/sys/block/vda/queue/rq_affinity", rq)
                .dir("/sys/block/vda/mq", queues),
        )
    };
    assert_eq!(status(&mk("2", &["0"]), Throughput, r, "host"), "pass");
    assert_eq!(status(&mk("1", &["0"]), Throughput, r, "host"), "warn");
    assert_eq!(
        status(&mk("1", &["0", "1", "2", "3"]), Throughput, r, "host"),
        "info"
    );
    let none = guest(
        true,
        SnapBuilder::new()
            .file("/sys/devices/system/cpu/online", "0-3")
            .dir("/sys/block", &["sda"]),
    );
    assert_eq!(status(&none, Throughput, r, "host"), "not_applicable");
    // On the hypervisor: unknown per VM with virtio disks and > 1 vCPU.
    assert_eq!(
        status(&host_vm("-cpu host", "0"), Throughput, r, "vm:a"),
        "unknown"
    );
    let s = SnapBuilder::new()
        .vm(
            "qemu-system-x86_64 -name b -smp 1 -drive file=/a.img,if=virtio",
            &[],
        )
        .build();
    assert_eq!(status(&s, Throughput, r, "vm:b"), "not_applicable");
}
