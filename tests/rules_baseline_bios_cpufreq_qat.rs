//! Verdicts of the baseline, BIOS/IOMMU, cpufreq and QAT rules on the fixture host trees
//! (fixtures/hosts), compared with each tree's EXPECTED.toml for both profiles; icx-restricted
//! is also scanned as uid 65534, where these rules may lose evidence but never gain a `fail`.

mod common;

use assert_cmd::Command;
use common::hosts::{self, tree, TREES};
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

fn scan_json(args: &[&str]) -> Value {
    let out = Command::cargo_bin("kvmaudit")
        .unwrap()
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(2),
        "scan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn scan(name: &str, profile: &str) -> Value {
    let root = tree(name);
    scan_json(&[
        "scan",
        "--root",
        root.to_str().unwrap(),
        "--profile",
        profile,
    ])
}

fn results(report: &Value) -> &Vec<Value> {
    report["results"].as_array().expect("results")
}

/// EXPECTED.toml of a tree for a profile: throughput, overlaid with [latency].
fn expected(name: &str, profile: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(tree(name).join("EXPECTED.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let mut want: std::collections::BTreeMap<String, String> = doc["throughput"]
        .as_table()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    if profile == "latency" {
        for (k, v) in doc["latency"].as_table().unwrap() {
            want.insert(k.clone(), v.as_str().unwrap().to_string());
        }
    }
    want.into_iter()
        .filter(|(k, _)| mine(k.split('@').next().unwrap()))
        .collect()
}

/// Statuses of the findings an EXPECTED key names: `rule` = every host-level finding
/// (`host`, `host/dev:...`), `rule@TARGET` = that target.
fn statuses(report: &Value, key: &str) -> Vec<String> {
    let (rule, target) = match key.split_once('@') {
        Some((r, t)) => (r, Some(t)),
        None => (key, None),
    };
    let mut v: Vec<String> = results(report)
        .iter()
        .filter(|f| f["rule"] == rule)
        .filter(|f| {
            let t = f["target"].as_str().unwrap();
            match target {
                Some(want) => t == want,
                None => t == "host" || t.starts_with("host/"),
            }
        })
        .map(|f| f["status"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

fn compare(name: &str, profile: &str, report: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for (key, want) in expected(name, profile) {
        let got = statuses(report, &key);
        if got != [want.clone()] {
            bad.push(format!(
                "{name} [{profile}] {key}: expected {want}, got {got:?}"
            ));
        }
    }
    bad
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

fn finding<'a>(report: &'a Value, rule: &str, target: &str) -> &'a Value {
    results(report)
        .iter()
        .find(|f| f["rule"] == rule && f["target"] == target)
        .unwrap_or_else(|| panic!("no {rule} finding on {target}"))
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

/// An unprivileged scan of icx-restricted matches its EXPECTED and has no `fail` in these rules
/// that the root scan of the same copy lacks.
#[test]
fn restricted_as_nobody() {
    if !hosts::can_run_unprivileged() {
        return;
    }
    let (tmp, root) = hosts::restricted_copy("icx-restricted");
    let bin = assert_cmd::cargo::cargo_bin("kvmaudit");
    let out = hosts::run_unprivileged(
        tmp.path(),
        &bin,
        &["scan", "--root", root.to_str().unwrap(), "--format", "json"],
    );
    let nobody: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "scan as nobody: {e}: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let bad = compare("icx-restricted", "throughput", &nobody);
    assert!(bad.is_empty(), "verdicts differ:\n{}", bad.join("\n"));
    let as_root = scan_json(&["scan", "--root", root.to_str().unwrap()]);
    for f in results(&nobody) {
        let rule = f["rule"].as_str().unwrap();
        if !mine(rule) || f["status"] != "fail" {
            continue;
        }
        let target = f["target"].as_str().unwrap();
        assert_eq!(
            finding(&as_root, rule, target)["status"],
            "fail",
            "{rule} on {target} fails only without privileges"
        );
    }
    // The runtime KVM proof falls back from fds (root only) to thread names.
    let f = finding(&nobody, "qemu.accel.kvm", "vm:web01");
    assert!(f["message"].as_str().unwrap().contains("CPU n/KVM"), "{f}");
}

/// Odd values everywhere these rules read must give verdicts, never the engine's
/// "internal error" (a panic inside a check).
#[test]
fn garbage_never_panics() {
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
        for rule in [
            "base.platform.cpu",
            "base.capacity.commit",
            "base.kernel.version",
            "base.qemu.version",
            "qemu.accel.kvm",
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
            "host.cpufreq.governor",
            "host.qat.sriov",
            "host.qat.vfio-bind",
            "qemu.qat.passthrough",
        ] {
            for f in findings(&s, Profile::Throughput, rule) {
                assert!(
                    !f.message.contains("internal error"),
                    "{rule} panicked on value {v:?}"
                );
            }
        }
    }
}
