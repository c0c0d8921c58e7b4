//! Verdicts of the baseline, BIOS/IOMMU, cpufreq and QAT rules on the fixture host trees
//! (fixtures/hosts), compared with each tree's EXPECTED.toml for both profiles; icx-restricted
//! is also scanned as uid 65534, where these rules may lose evidence but never gain a `fail`.

mod common;

use common::expected::{
    self, assert_no_fail_only_as_nobody, finding, rule_of, scan, scan_restricted,
};
use common::hosts::{self, TREES};
use serde_json::Value;

/// Rule ids (or prefixes) this file checks.
const RULES: &[&str] = &[
    "base.",
    "qemu.accel.kvm",
    "bios.",
    "host.iommu.enabled",
    "hw.qat.pcie-link",
    "host.cpufreq.governor",
    "host.qat.",
    "qemu.qat.",
];

fn mine(rule: &str) -> bool {
    RULES.iter().any(|r| rule.starts_with(r))
}

/// EXPECTED.toml of a tree for a profile, restricted to these rules.
fn expected(name: &str, profile: &str) -> Vec<(String, String)> {
    expected::expected(name, profile)
        .into_iter()
        .filter(|(k, _)| mine(rule_of(k)))
        .collect()
}

fn compare(name: &str, profile: &str, report: &Value) -> Vec<String> {
    expected::compare(name, profile, report, expected(name, profile))
}

#[test]
fn verdicts_match_expected_on_every_tree() {
    let mut bad = Vec::new();
    for name in TREES {
        for profile in ["throughput", "latency"] {
            let report = scan(name, profile);
            bad.extend(compare(name, profile, &report));
        }
    }
    assert!(bad.is_empty(), "verdicts differ:\n{}", bad.join("\n"));
}

#[test]
fn untuned_host_details() {
    let r = scan("icx-untuned", "throughput");
    // intel_iommu=on is in /etc/default/grub but not booted yet.
    let f = finding(&r, "host.iommu.enabled", "host");
    assert_eq!(f["status"], "fail");
    assert_eq!(f["pending_reboot"], true, "{f}");
    // The down-trained QAT PF is judged against its own capability.
    let f = finding(&r, "hw.qat.pcie-link", "host/dev:0000:65:00.0");
    assert_eq!(f["status"], "warn");
    assert!(f["message"].as_str().unwrap().contains("x8 of x16"), "{f}");
    // The deleted exe is reported on the VM whose version stays unknown.
    let f = finding(&r, "base.qemu.version", "vm:app01");
    assert!(
        f["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["observed"].as_str().unwrap().contains("(deleted)")),
        "{f}"
    );
    // TCG proven by thread names.
    let f = finding(&r, "qemu.accel.kvm", "vm:build01");
    assert!(f["message"].as_str().unwrap().contains("TCG"), "{f}");
}

#[test]
fn tuned_host_details() {
    let r = scan("icx-tuned", "throughput");
    // A QAT VF passed through escalates the IOMMU rules to high.
    for rule in ["bios.vtd", "host.iommu.enabled"] {
        assert_eq!(finding(&r, rule, "host")["severity"], "high", "{rule}");
    }
    // cpu-pm=on VMs are named next to the C6 verdict.
    let f = finding(&r, "bios.c6", "host");
    assert!(f["message"].as_str().unwrap().contains("web01"), "{f}");
    let f = finding(&r, "qemu.qat.passthrough", "vm:web01");
    assert!(
        f["message"].as_str().unwrap().contains("0000:65:01.0"),
        "{f}"
    );
}

/// Issue 12: what the tuned-profile and stock trees were built to show, by message.
#[test]
fn tuned_profile_and_stock_host_details() {
    // realtime-virtual-host holds C1E/C6 off through /dev/cpu_dma_latency (1 µs).
    let r = scan("icx-rt-virtual-host", "throughput");
    for rule in ["bios.c1e", "bios.c6"] {
        let f = finding(&r, rule, "host");
        let m = f["message"].as_str().unwrap();
        assert!(m.contains("limit of 1 µs"), "{rule}: {m}");
        assert!(m.contains("realtime-virtual-host"), "{rule}: {m}");
    }
    // virtual-host's 170 µs request holds neither off.
    let r = scan("icx-virtual-host", "throughput");
    assert_eq!(finding(&r, "bios.c6", "host")["status"], "fail");
    // Stock distribution hosts without passthrough: the IOMMU is informational.
    for name in ["rhel9-stock", "ubuntu2204-cloud"] {
        let r = scan(name, "throughput");
        let f = finding(&r, "host.iommu.enabled", "host");
        assert_eq!(f["status"], "info", "{name}: {f}");
        assert!(
            f["message"].as_str().unwrap().contains("no VM uses VFIO"),
            "{name}: {f}"
        );
    }
}

/// An unprivileged scan of icx-restricted matches its EXPECTED and has no `fail` in these rules
/// that the root scan of the same copy lacks.
#[test]
fn restricted_as_nobody() {
    let Some((tmp, root)) = hosts::restricted_copy_for_nobody("icx-restricted") else {
        return;
    };
    let (nobody, as_root) = scan_restricted(tmp.path(), &root, &[]);
    let bad = compare("icx-restricted", "throughput", &nobody);
    assert!(bad.is_empty(), "verdicts differ:\n{}", bad.join("\n"));
    assert_no_fail_only_as_nobody(&nobody, &as_root, mine);
    // The runtime KVM proof falls back from fds (root only) to thread names.
    let f = finding(&nobody, "qemu.accel.kvm", "vm:web01");
    assert!(f["message"].as_str().unwrap().contains("CPU n/KVM"), "{f}");
}

/// Odd values everywhere these rules read must give verdicts, never the engine's
/// "internal error" (a panic inside a check).
#[test]
fn garbage_never_panics() {
    use common::catalogue::run;
    use kvmaudit::report::Profile;
    use kvmaudit::rules::testkit::{findings, SnapBuilder};
    let odd = [
        "",
        "-1",
        "x",
        "99999999999999999999",
        "0x",
        "[",
        "\u{1F600}",
        "1 2 3",
    ];
    let paths = [
        "/proc/sys/kernel/osrelease",
        "/proc/cmdline",
        "/proc/interrupts",
        "/sys/devices/system/cpu/online",
        "/sys/devices/system/cpu/smt/active",
        "/sys/devices/system/cpu/smt/control",
        "/sys/devices/system/cpu/intel_pstate/status",
        "/sys/devices/system/cpu/intel_pstate/no_turbo",
        "/sys/devices/system/cpu/intel_pstate/max_perf_pct",
        "/sys/devices/system/cpu/cpufreq/policy0/scaling_governor",
        "/sys/devices/system/cpu/cpufreq/policy0/scaling_driver",
        "/sys/devices/system/cpu/cpufreq/policy0/energy_performance_preference",
        "/sys/devices/system/cpu/cpufreq/policy0/scaling_max_freq",
        "/sys/devices/system/cpu/cpufreq/policy0/cpuinfo_max_freq",
        "/sys/devices/system/cpu/cpu0/power/energy_perf_bias",
        "/sys/devices/system/cpu/cpu0/cpuidle/state2/name",
        "/sys/devices/system/cpu/cpu0/cpuidle/state2/disable",
        "/sys/devices/system/cpu/cpu0/cpuidle/state2/usage",
        "/sys/devices/system/cpu/cpuidle/current_driver",
        "/sys/class/iommu/dmar0/intel-iommu/cap",
        "/sys/class/iommu/dmar0/intel-iommu/ecap",
        "/sys/bus/pci/devices/0000:65:00.0/device",
        "/sys/bus/pci/devices/0000:65:00.0/sriov_numvfs",
        "/sys/bus/pci/devices/0000:65:00.0/current_link_speed",
        "/sys/bus/pci/devices/0000:65:00.0/current_link_width",
        "/sys/bus/pci/devices/0000:65:00.0/max_link_speed",
        "/sys/bus/pci/devices/0000:65:00.0/max_link_width",
        "/sys/bus/pci/devices/0000:65:00.0/numa_node",
        "/etc/default/grub",
        "/etc/sysconfig/cpupower",
        "/etc/default/cpufrequtils",
        "/etc/tmpfiles.d/x.conf",
    ];
    // These rules' ids from the catalogue, in its order (all but bios.vtx).
    let rules = [
        run("base.platform.cpu", "qemu.accel.kvm"),
        run("bios.vtd", "hw.qat.pcie-link"),
        &["host.cpufreq.governor"],
        run("host.qat.sriov", "qemu.qat.passthrough"),
    ]
    .concat();
    for v in odd {
        let mut b = SnapBuilder::new()
            .icx("vmx")
            .topology(2, 2, 2)
            .dir("/sys/firmware/acpi/tables", &["DMAR", "SRAT"])
            .dir("/sys/class/iommu", &["dmar0"])
            .dir("/sys/kernel/iommu_groups", &["0"])
            .dir("/sys/devices/system/cpu/cpufreq", &["policy0"])
            .dir("/sys/bus/pci/devices", &["0000:65:00.0", "0000:65:01.0"])
            .file("/sys/bus/pci/devices/0000:65:00.0/vendor", "0x8086")
            .file("/sys/bus/pci/devices/0000:65:01.0/vendor", "0x8086")
            .file("/sys/bus/pci/devices/0000:65:01.0/device", "0x37c9")
            .link("/sys/bus/pci/devices/0000:65:01.0/physfn", v)
            .link("/sys/bus/pci/devices/0000:65:01.0/iommu_group", v)
            .link("/sys/bus/pci/devices/0000:65:01.0/driver", v)
            .vm_argv(
                &[
                    v,
                    "-name",
                    v,
                    "-machine",
                    v,
                    "-accel",
                    v,
                    "-device",
                    "vfio-pci,host=65:01.0",
                ],
                &[(v, v, v)],
            );
        for p in paths {
            b = b.file(p, v);
        }
        let s = b.build();
        for &rule in &rules {
            for f in findings(&s, Profile::Throughput, rule) {
                assert!(
                    !f.message.contains("internal error"),
                    "{rule} panicked on value {v:?}"
                );
            }
        }
    }
}
