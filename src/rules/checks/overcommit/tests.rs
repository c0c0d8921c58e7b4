use crate::report::Profile::{Latency, Throughput};
use crate::rules::testkit::{findings, status, SnapBuilder};

const ARGS: &str =
    "qemu-system-x86_64 -name guest=a,debug-threads=on -machine pc-q35-6.0 -accel kvm -smp 2 -m 4G";

/// Host of 2 nodes × 4 cores × 2 threads; VM a with two vCPUs on CPUs 1 and 2 and its
/// emulator thread on `emu`.
fn host(extra: &str, emu: &'static str) -> crate::snapshot::Snapshot {
    SnapBuilder::new()
        .topology(2, 4, 2)
        .vm(
            &format!("{ARGS} {extra}"),
            &[
                ("qemu-system-x86", emu, "0"),
                ("CPU 0/KVM", "1", "0"),
                ("CPU 1/KVM", "2", "0"),
            ],
        )
        .build()
}

#[test]
fn cpu_pm() {
    let r = "qemu.overcommit.cpu-pm";
    // Dedicated: pass with cpu-pm=on, warn (fail under latency) without.
    assert_eq!(
        status(&host("-overcommit cpu-pm=on", "0"), Throughput, r, "vm:a"),
        "pass"
    );
    assert_eq!(status(&host("", "0"), Throughput, r, "vm:a"), "warn");
    assert_eq!(status(&host("", "0"), Latency, r, "vm:a"), "fail");
    // Shared (the emulator thread may run on vCPU CPUs): cpu-pm=on fails, off is NA.
    assert_eq!(
        status(&host("-overcommit cpu-pm=on", "0-3"), Throughput, r, "vm:a"),
        "fail"
    );
    assert_eq!(
        status(&host("", "0-3"), Throughput, r, "vm:a"),
        "not_applicable"
    );
    assert_eq!(status(&host("", "0-3"), Latency, r, "vm:a"), "fail");
    // All occurrences count: libvirt's mem-lock=off plus a passthrough cpu-pm=on.
    let s = host("-overcommit mem-lock=off -overcommit cpu-pm=on", "0");
    let f = findings(&s, Throughput, r);
    assert_eq!(f[0].status.as_str(), "pass");
    assert!(f[0].evidence[0]
        .observed
        .contains("-overcommit mem-lock=off; -overcommit cpu-pm=on"));
    // Earlier occurrence only: on for QEMU >= 9.1, reset to off by older QEMU, and
    // pc-q35-6.0 does not tell which: not a pass, and the reset is named.
    let s = host("-overcommit cpu-pm=on -overcommit mem-lock=off", "0");
    let f = findings(&s, Throughput, r);
    assert_eq!(f[0].status.as_str(), "unknown");
    assert!(
        f[0].message
            .contains("QEMU < 9.1 resets it to off at the last option (-overcommit mem-lock=off)"),
        "{}",
        f[0].message
    );
    // A 9.1+ machine type proves the merging QEMU.
    let s = host(
        "-overcommit cpu-pm=on -overcommit mem-lock=off -machine pc-q35-9.2",
        "0",
    );
    let f = findings(&s, Throughput, r);
    assert_eq!(f[0].status.as_str(), "pass");
    assert!(!f[0].message.contains("9.1"), "{}", f[0].message);
    // argv only: dedication unknown.
    let s = SnapBuilder::new()
        .vm_argv(&["qemu-system-x86_64", "-accel", "kvm", "-name", "a"], &[])
        .build();
    assert_eq!(status(&s, Throughput, r, "vm:a"), "unknown");
    // TCG: not applicable.
    let s = SnapBuilder::new()
        .vm(
            "qemu-system-x86_64 -name a -accel tcg -overcommit cpu-pm=on",
            &[],
        )
        .build();
    assert_eq!(status(&s, Throughput, r, "vm:a"), "not_applicable");
}

#[test]
fn mem_lock() {
    let r = "qemu.overcommit.mem-lock";
    // The test host has 2 × 252 GiB: a 4 GiB VM does not overcommit it.
    let f = findings(&host("-overcommit mem-lock=on", "0"), Throughput, r);
    assert_eq!(f[0].status.as_str(), "pass");
    assert!(f[0].evidence[0].observed.starts_with("mem-lock=on"));
    assert_eq!(
        status(
            &host("-overcommit mem-lock=off", "0"),
            Throughput,
            r,
            "vm:a"
        ),
        "warn"
    );
    assert_eq!(status(&host("", "0"), Latency, r, "vm:a"), "fail");
    // Later occurrences win per key; -realtime mlock=on is the legacy spelling.
    assert_eq!(
        status(
            &host("-overcommit mem-lock=off -overcommit mem-lock=on", "0"),
            Throughput,
            r,
            "vm:a"
        ),
        "pass"
    );
    // libvirt's mem-lock=on followed by the passthrough cpu-pm=on: QEMU < 9.1 resets
    // mem-lock to off, and pc-q35-6.0 allows such a QEMU (issue 12 item 6).
    let f = findings(
        &host("-overcommit mem-lock=on -overcommit cpu-pm=on", "0"),
        Throughput,
        r,
    );
    assert_eq!(f[0].status.as_str(), "unknown");
    assert!(
        f[0].message.starts_with("mem-lock=on on QEMU >= 9.1, but QEMU < 9.1 resets it to off at the last option (-overcommit cpu-pm=on)"),
        "{}",
        f[0].message
    );
    // With a 9.1+ machine type the merge is right.
    assert_eq!(
        status(
            &host(
                "-overcommit mem-lock=on -overcommit cpu-pm=on -machine pc-q35-9.1",
                "0"
            ),
            Throughput,
            r,
            "vm:a"
        ),
        "pass"
    );
    let f = findings(&host("-realtime mlock=on", "0"), Throughput, r);
    assert_eq!(f[0].status.as_str(), "pass");
    assert!(f[0].message.contains("-realtime"));
    // A 600 GiB VM overcommits the 504 GiB host: mem-lock=on fails, off is NA.
    let big = |oc: &str| {
        SnapBuilder::new()
            .topology(2, 4, 2)
            .vm(
                &format!("qemu-system-x86_64 -name a -accel kvm -m 600G {oc}"),
                &[],
            )
            .build()
    };
    assert_eq!(
        status(&big("-overcommit mem-lock=on"), Throughput, r, "vm:a"),
        "fail"
    );
    assert_eq!(
        status(&big("-overcommit mem-lock=off"), Throughput, r, "vm:a"),
        "not_applicable"
    );
    // No /proc/meminfo: unknown, never pass or fail.
    let s = SnapBuilder::new()
        .vm(
            "qemu-system-x86_64 -name a -m 4G -overcommit mem-lock=on",
            &[],
        )
        .build();
    assert_eq!(status(&s, Throughput, r, "vm:a"), "unknown");
}
