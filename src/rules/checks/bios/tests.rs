//! Test helpers the rule files' tests share, and tests that span several bios rules.

use crate::report::Profile::Throughput;
use crate::rules::testkit::{findings, status, SnapBuilder};

pub(super) const TABLES: &str = "/sys/firmware/acpi/tables";
pub(super) const CF: &str = "/sys/devices/system/cpu/cpufreq";

pub(super) fn st(s: &crate::snapshot::Snapshot, rule: &str) -> String {
    status(s, Throughput, rule, "host")
}

pub(super) fn msg(s: &crate::snapshot::Snapshot, rule: &str) -> String {
    findings(s, Throughput, rule)
        .first()
        .map(|f| f.message.clone())
        .unwrap_or_default()
}

pub(super) fn amd() -> SnapBuilder {
    SnapBuilder::new().cpuinfo("AuthenticAMD", 23, 49, "svm est")
}

/// `n` cpufreq policies with driver/governor/EPP, plus EPB per CPU.
pub(super) fn pstates(
    driver: &str,
    gov: &str,
    epp: Option<&str>,
    epb: Option<&str>,
    n: u32,
) -> SnapBuilder {
    let names: Vec<String> = (0..n).map(|i| format!("policy{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut b = SnapBuilder::new().icx("vmx").dir(CF, &refs);
    for i in 0..n {
        b = b
            .file(&format!("{CF}/policy{i}/scaling_driver"), driver)
            .file(&format!("{CF}/policy{i}/scaling_governor"), gov)
            .file(&format!("{CF}/policy{i}/scaling_max_freq"), "3200000")
            .file(&format!("{CF}/policy{i}/cpuinfo_max_freq"), "3200000");
        if let Some(e) = epp {
            b = b.file(&format!("{CF}/policy{i}/energy_performance_preference"), e);
        }
        if let Some(e) = epb {
            b = b.file(
                &format!("/sys/devices/system/cpu/cpu{i}/power/energy_perf_bias"),
                e,
            );
        }
    }
    b
}

/// Issue 12 item 5: a --root tree or sosreport that lacks a directory says nothing about
/// the host; only a present parent without the entry does.
#[test]
fn absent_from_the_tree_is_not_absent_on_the_host() {
    // /dev and /sys/module not in the tree: not "load kvm_intel".
    let tree = SnapBuilder::new()
        .icx("vmx")
        .absent_dir("/dev")
        .absent_dir("/sys/module")
        .build();
    assert_eq!(st(&tree, "bios.vtx"), "unknown");
    let live = SnapBuilder::new()
        .icx("vmx")
        .dir("/dev", &["null"])
        .dir("/sys/module", &["kvm"])
        .build();
    assert_eq!(st(&live, "bios.vtx"), "warn");
    // Turbo: ida alone with no switch recorded is not a pass ...
    let tree = SnapBuilder::new()
        .icx("vmx")
        .absent("/sys/devices/system/cpu/intel_pstate/no_turbo")
        .absent("/sys/devices/system/cpu/cpufreq/boost")
        .build();
    assert_eq!(st(&tree, "bios.turbo"), "unknown");
    // ... unless the CPU directory is there and holds neither switch.
    let no_switch = SnapBuilder::new()
        .icx("vmx")
        .dir("/sys/devices/system/cpu", &["cpu0", "online"])
        .absent("/sys/devices/system/cpu/intel_pstate/no_turbo")
        .absent("/sys/devices/system/cpu/cpufreq/boost")
        .build();
    assert_eq!(st(&no_switch, "bios.turbo"), "pass");
    // EPB files missing on a 6.1 kernel: not "Linux < 5.2".
    let s = pstates("intel_pstate", "performance", Some("performance"), None, 1)
        .file("/proc/sys/kernel/osrelease", "6.1.0-50-amd64")
        .build();
    let f = &findings(&s, Throughput, "bios.power-policy")[0];
    assert!(!f.message.contains("5.2"), "{}", f.message);
    assert!(f.message.contains("6.1.0-50-amd64"), "{}", f.message);
    // No ACPI table list and no PCI device list: PMem and QAT are unknown, not absent.
    let tree = SnapBuilder::new()
        .icx("vmx")
        .absent_dir(TABLES)
        .absent_dir("/sys/bus/pci/devices")
        .build();
    for rule in [
        "host.pmem.kconfig",
        "host.pmem.appdirect",
        "host.pmem.devdax",
    ] {
        assert_eq!(st(&tree, rule), "unknown", "{rule}");
    }
    assert_eq!(st(&tree, "hw.qat.pcie-link"), "unknown");
    let listed = SnapBuilder::new()
        .icx("vmx")
        .dir(TABLES, &["APIC", "DMAR"])
        .dir("/sys/bus/pci/devices", &[])
        .build();
    assert_eq!(st(&listed, "host.pmem.kconfig"), "not_applicable");
    assert_eq!(st(&listed, "hw.qat.pcie-link"), "not_applicable");
}
