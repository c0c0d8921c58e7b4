use crate::report::Profile::{Latency, Throughput};
use crate::rules::testkit::{findings, status, SnapBuilder};

const KVM: &str = "/sys/module/kvm/parameters";
const KVMI: &str = "/sys/module/kvm_intel/parameters";

fn host(cmdline: &str) -> SnapBuilder {
    SnapBuilder::new()
        .cpuinfo("GenuineIntel", 6, 106, "fpu vme msr pae ht est vmx")
        .topology(2, 4, 2)
        .file("/proc/cmdline", cmdline)
        .file("/proc/sys/kernel/osrelease", "6.1.0-50-amd64")
        .dir("/sys/module", &["kvm", "kvm_intel"])
        .file(&format!("{KVMI}/ple_gap"), "128")
        .file(&format!("{KVMI}/ple_window"), "4096")
        .file(&format!("{KVMI}/enable_apicv"), "Y")
        .file(&format!("{KVM}/halt_poll_ns"), "200000")
        .file(&format!("{KVM}/pi_inject_timer"), "1")
        .file("/sys/devices/system/cpu/nohz_full", "1-3,5-7,9-11,13-15")
}

/// A dedicated VM: vCPUs alone on 5 and 6, its emulator on housekeeping CPU 4.
fn dedicated(b: SnapBuilder, extra: &str) -> SnapBuilder {
    b.vm(
        &format!("qemu-system-x86_64 -name guest=db01,debug-threads=on -smp 2 -m 4G {extra}"),
        &[
            ("qemu-system-x86", "4", "1"),
            ("CPU 0/KVM", "5", "1"),
            ("CPU 1/KVM", "6", "1"),
        ],
    )
}

/// Two VMs floating over every CPU: overcommitted, nothing dedicated.
fn shared(b: SnapBuilder) -> SnapBuilder {
    let t = [("CPU 0/KVM", "0-15", "0-1"), ("CPU 1/KVM", "0-15", "0-1")];
    b.vm(
        "qemu-system-x86_64 -name guest=a,debug-threads=on -smp 2",
        &t,
    )
    .vm(
        "qemu-system-x86_64 -name guest=b,debug-threads=on -smp 2",
        &t,
    )
}

#[test]
fn idle_poll() {
    let plain = host("ro quiet").build();
    assert_eq!(status(&plain, Throughput, "host.idle.poll", "host"), "info");
    let f = &findings(&plain, Latency, "host.idle.poll")[0];
    assert_eq!(f.status.as_str(), "warn");
    assert!(
        f.message.contains("turbo"),
        "side effects are named: {}",
        f.message
    );

    let poll = host("ro idle=poll")
        .file("/sys/devices/system/cpu/cpuidle/current_driver", "none")
        .build();
    assert_eq!(status(&poll, Latency, "host.idle.poll", "host"), "pass");
    let f = &findings(&poll, Throughput, "host.idle.poll")[0];
    assert_eq!(f.status.as_str(), "info");
    assert!(f.message.contains("Hyper-Threading"), "{}", f.message);

    // Latency, no idle=poll, but every VM has cpu-pm=on: a softer equivalent.
    let cpupm = dedicated(host("ro"), "-overcommit cpu-pm=on").build();
    assert_eq!(status(&cpupm, Latency, "host.idle.poll", "host"), "info");

    // Configured in GRUB, not yet booted.
    let pending = host("ro")
        .file("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"idle=poll\"")
        .build();
    let f = &findings(&pending, Latency, "host.idle.poll")[0];
    assert_eq!(f.status.as_str(), "warn");
    assert!(f.pending_reboot);

    let guest = SnapBuilder::new()
        .icx("vmx hypervisor")
        .file("/proc/cmdline", "idle=poll")
        .build();
    assert_eq!(
        status(&guest, Throughput, "host.idle.poll", "host"),
        "not_applicable"
    );
    let blind = SnapBuilder::new()
        .icx("vmx")
        .denied("/proc/cmdline")
        .build();
    assert_eq!(
        status(&blind, Throughput, "host.idle.poll", "host"),
        "unknown"
    );
}

/// Before QEMU 9.1 a later `-overcommit` that does not name cpu-pm resets it to off; with
/// a machine type that allows such a QEMU, PLE and the posted timer must not count on it
/// (issue 12 item 6).
#[test]
fn cpu_pm_reset_by_an_older_qemu_is_not_counted() {
    let reset = "-machine pc-q35-8.2 -overcommit cpu-pm=on -overcommit mem-lock=on";
    let s = dedicated(host("ro"), reset).build();
    let f = &findings(&s, Throughput, "host.kvm.ple")[0];
    assert_eq!(f.status.as_str(), "info");
    assert!(
        f.message
            .contains("the cpu-pm=on of db01 counts only on QEMU >= 9.1"),
        "{}",
        f.message
    );
    assert_eq!(
        status(&s, Throughput, "host.kvm.exitless-timer", "vm:db01"),
        "warn"
    );
    // The same order on a 9.1+ machine type: QEMU merges the options.
    let merged = "-machine pc-q35-9.1 -overcommit cpu-pm=on -overcommit mem-lock=on";
    let s = dedicated(host("ro"), merged).build();
    assert_eq!(status(&s, Throughput, "host.kvm.ple", "host"), "pass");
    assert_eq!(
        status(&s, Throughput, "host.kvm.exitless-timer", "vm:db01"),
        "pass"
    );
    // libvirt's pair (mem-lock first, the passthrough cpu-pm=on last): on either way.
    let libvirt = "-machine pc-q35-8.2 -overcommit mem-lock=on -overcommit cpu-pm=on";
    let s = dedicated(host("ro"), libvirt).build();
    assert_eq!(status(&s, Throughput, "host.kvm.ple", "host"), "pass");
    // The running binary's version (issue 15) settles the reset order: merged on 9.2 ...
    let version = |v: &str| {
        let v = v.to_string();
        move |p: &mut crate::snapshot::QemuProcess| {
            p.version = Some(crate::snapshot::Sourced::value("/proc/1/exe", v.clone()))
        }
    };
    let s = dedicated(host("ro"), reset)
        .with_last_vm(version("9.2.0"))
        .build();
    assert_eq!(status(&s, Throughput, "host.kvm.ple", "host"), "pass");
    assert_eq!(
        status(&s, Throughput, "host.kvm.exitless-timer", "vm:db01"),
        "pass"
    );
    // ... and reset to off on 8.2: no counting on cpu-pm, and no "counts only on" hedge.
    let s = dedicated(host("ro"), reset)
        .with_last_vm(version("8.2.2"))
        .build();
    let f = &findings(&s, Throughput, "host.kvm.ple")[0];
    assert_ne!(f.status.as_str(), "pass");
    assert!(!f.message.contains("counts only on QEMU"), "{}", f.message);
}

#[test]
fn ple() {
    let cpupm = dedicated(host("ro"), "-overcommit cpu-pm=on").build();
    assert_eq!(status(&cpupm, Throughput, "host.kvm.ple", "host"), "pass");
    let gap0 = dedicated(host("ro"), "")
        .file(&format!("{KVMI}/ple_gap"), "0")
        .build();
    assert_eq!(status(&gap0, Throughput, "host.kvm.ple", "host"), "pass");

    // Dedicated VM still exiting on PAUSE: optional under throughput, warn under latency,
    // pending when modprobe.d already has the fix.
    let exiting = dedicated(host("ro"), "")
        .file("/etc/modprobe.d/kvm.conf", "options kvm_intel ple_gap=0")
        .build();
    assert_eq!(status(&exiting, Throughput, "host.kvm.ple", "host"), "info");
    let f = &findings(&exiting, Latency, "host.kvm.ple")[0];
    assert_eq!(f.status.as_str(), "warn");
    assert!(f.pending_reboot);
    assert!(f
        .evidence
        .iter()
        .any(|e| e.source == "/etc/modprobe.d/kvm.conf"));

    // PLE off on an overcommitted host.
    let harmful = shared(host("ro"))
        .file(&format!("{KVMI}/ple_gap"), "0")
        .build();
    assert_eq!(status(&harmful, Throughput, "host.kvm.ple", "host"), "warn");
    // Shared VMs and default PLE: nothing to do.
    let fine = shared(host("ro")).build();
    assert_eq!(
        status(&fine, Throughput, "host.kvm.ple", "host"),
        "not_applicable"
    );
    assert_eq!(
        status(&fine, Latency, "host.kvm.ple", "host"),
        "not_applicable"
    );

    let amd = SnapBuilder::new()
        .cpuinfo("AuthenticAMD", 23, 49, "svm")
        .file("/sys/module/kvm_amd/parameters/pause_filter_count", "3000")
        .build();
    let f = &findings(&amd, Throughput, "host.kvm.ple")[0];
    assert_eq!(f.status.as_str(), "not_applicable");
    assert!(
        f.message.contains("pause_filter_count=3000"),
        "{}",
        f.message
    );

    let blind = dedicated(host("ro"), "")
        .denied(&format!("{KVMI}/ple_gap"))
        .build();
    assert_eq!(
        status(&blind, Throughput, "host.kvm.ple", "host"),
        "unknown"
    );
}

#[test]
fn halt_poll() {
    let s = shared(host("ro"))
        .file(&format!("{KVM}/halt_poll_ns"), "400000")
        .build();
    let f = &findings(&s, Throughput, "host.kvm.halt-poll")[0];
    assert_eq!(f.status.as_str(), "info");
    assert!(f.message.contains("burns CPU"), "{}", f.message);
    let cpupm = dedicated(host("ro"), "-overcommit cpu-pm=on").build();
    let f = &findings(&cpupm, Throughput, "host.kvm.halt-poll")[0];
    assert!(f.message.contains("never exit on HLT"), "{}", f.message);
    let nokvm = host("ro").dir("/sys/module", &[]).build();
    assert_eq!(
        status(&nokvm, Throughput, "host.kvm.halt-poll", "host"),
        "not_applicable"
    );
    let blind = host("ro").denied(&format!("{KVM}/halt_poll_ns")).build();
    assert_eq!(
        status(&blind, Throughput, "host.kvm.halt-poll", "host"),
        "unknown"
    );
}

#[test]
fn nohz() {
    let nohz = "ro nohz_full=1-3,5-7,9-11,13-15";
    let good = dedicated(host(nohz), "").build();
    let f = &findings(&good, Throughput, "host.nohz-full.housekeeping")[0];
    assert_eq!(f.status.as_str(), "pass", "{}", f.message);

    // Node 1 (4-7,12-15) entirely isolated.
    let starved = dedicated(host("ro nohz_full=1-15"), "")
        .file("/sys/devices/system/cpu/nohz_full", "1-15")
        .build();
    let f = &findings(&starved, Throughput, "host.nohz-full.housekeeping")[0];
    assert_eq!(f.status.as_str(), "fail");
    assert!(f.message.contains("node 1"), "{}", f.message);

    // Half a core per node, and the boot CPU listed.
    let half = dedicated(host("ro nohz_full=0-3,5-7,9-11,13-15"), "")
        .file("/sys/devices/system/cpu/nohz_full", "1-3,5-7,9-11,13-15")
        .build();
    assert_eq!(
        status(&half, Throughput, "host.nohz-full.housekeeping", "host"),
        "warn"
    );
    let thread_only = dedicated(host(nohz), "")
        .file("/sys/devices/system/cpu/nohz_full", "1-3,5-11,13-15")
        .build();
    assert_eq!(
        status(
            &thread_only,
            Throughput,
            "host.nohz-full.housekeeping",
            "host"
        ),
        "warn"
    );

    // Asked for on the cmdline, but the kernel shows none.
    let null = dedicated(host(nohz), "")
        .file("/sys/devices/system/cpu/nohz_full", "(null)")
        .build();
    assert_eq!(
        status(&null, Throughput, "host.nohz-full.housekeeping", "host"),
        "warn"
    );

    let unused = dedicated(host("ro"), "")
        .file("/sys/devices/system/cpu/nohz_full", "(null)")
        .build();
    assert_eq!(
        status(&unused, Throughput, "host.nohz-full.housekeeping", "host"),
        "info"
    );
    assert_eq!(
        status(&unused, Latency, "host.nohz-full.housekeeping", "host"),
        "warn"
    );

    let none = shared(host(nohz)).build();
    assert_eq!(
        status(&none, Throughput, "host.nohz-full.housekeeping", "host"),
        "not_applicable"
    );
}

#[test]
fn exitless_timer() {
    let nohz = "ro nohz_full=1-3,5-7,9-11,13-15";
    let good = dedicated(host(nohz), "-overcommit cpu-pm=on").build();
    assert_eq!(
        status(&good, Throughput, "host.kvm.exitless-timer", "host"),
        "pass"
    );
    assert_eq!(
        status(&good, Throughput, "host.kvm.exitless-timer", "vm:db01"),
        "pass"
    );

    // 6.1 kernel without cpu-pm=on: the timer keeps exiting.
    let no_pm = dedicated(host(nohz), "").build();
    let f = findings(&no_pm, Throughput, "host.kvm.exitless-timer");
    let vm = f.iter().find(|f| f.target == "vm:db01").unwrap();
    assert_eq!(vm.status.as_str(), "warn");
    assert!(vm.message.contains("5.17"), "{}", vm.message);
    // Ubuntu's 5.15 and RHEL 9's 5.14 carry the 5.17 change under their old version: the
    // version string alone cannot clear a VM without cpu-pm=on.
    for release in ["5.15.0-91-generic", "5.14.0-362.24.1.el9_3.x86_64"] {
        let old = dedicated(host(nohz), "")
            .file("/proc/sys/kernel/osrelease", release)
            .build();
        let f = findings(&old, Throughput, "host.kvm.exitless-timer");
        let vm = f.iter().find(|f| f.target == "vm:db01").unwrap();
        assert_eq!(vm.status.as_str(), "unknown", "{release}: {}", vm.message);
        assert!(vm.message.contains("backport"), "{}", vm.message);
        // With cpu-pm=on the question does not arise.
        let pm = dedicated(host(nohz), "-overcommit cpu-pm=on")
            .file("/proc/sys/kernel/osrelease", release)
            .build();
        assert_eq!(
            status(&pm, Throughput, "host.kvm.exitless-timer", "vm:db01"),
            "pass"
        );
    }

    let apicv_off = dedicated(host(nohz), "-overcommit cpu-pm=on")
        .file(&format!("{KVMI}/enable_apicv"), "N")
        .build();
    assert_eq!(
        status(&apicv_off, Throughput, "host.kvm.exitless-timer", "host"),
        "fail"
    );
    assert_eq!(
        status(&apicv_off, Throughput, "host.kvm.exitless-timer", "vm:db01"),
        "fail"
    );

    let none = shared(host(nohz)).build();
    assert_eq!(
        status(&none, Throughput, "host.kvm.exitless-timer", "host"),
        "not_applicable"
    );
    assert_eq!(
        status(&none, Throughput, "host.kvm.exitless-timer", "vm:a"),
        "not_applicable"
    );

    let blind = dedicated(host(nohz), "-overcommit cpu-pm=on")
        .denied(&format!("{KVMI}/enable_apicv"))
        .build();
    assert_eq!(
        status(&blind, Throughput, "host.kvm.exitless-timer", "host"),
        "unknown"
    );
}

#[test]
fn versions() {
    assert_eq!(
        crate::rules::facts::kernel::kernel_version("6.1.0-50-amd64"),
        Some((6, 1))
    );
    assert_eq!(
        crate::rules::facts::kernel::kernel_version("5.14.0-362.el9.x86_64"),
        Some((5, 14))
    );
    assert_eq!(crate::rules::facts::kernel::kernel_version("garbage"), None);
}
