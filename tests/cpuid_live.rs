//! The live CPUID reader on this machine agrees with the kernel's view in /proc/cpuinfo.
#![cfg(target_arch = "x86_64")]

use kvmaudit::collect::cpuid_live::{read_live, FORMAT_LIVE};
use kvmaudit::model::cpu::CpuModel;
use std::time::{Duration, Instant};

fn proc_cpuinfo() -> Option<CpuModel> {
    let text = match std::fs::read_to_string("/proc/cpuinfo") {
        Ok(t) => t,
        Err(e) => {
            eprintln!("\n*** SKIPPING: /proc/cpuinfo unreadable ({e}) ***\n");
            return None;
        }
    };
    Some(CpuModel::from_cpuinfo(&text).expect("/proc/cpuinfo parses"))
}

#[test]
fn live_model_matches_proc_cpuinfo() {
    let Some(kernel) = proc_cpuinfo() else {
        return;
    };
    let fact = read_live();
    let dump = fact.value().expect("CPUID is always readable on x86_64");
    assert_eq!(dump.format, FORMAT_LIVE);
    let m = CpuModel::from_cpuid(dump);
    assert_eq!(m.vendor, kernel.vendor, "vendor");
    assert_eq!(
        (m.family, m.model, m.stepping),
        (kernel.family, kernel.model, kernel.stepping),
        "family/model/stepping"
    );
    assert_eq!(m.codename, kernel.codename);
    assert_eq!(m.hypervisor, kernel.hypervisor, "hypervisor bit");
    assert!(m.vmx.is_some() && kernel.vmx.is_some());
    if m.vmx == Some(true) && kernel.vmx == Some(false) {
        // Linux drops "vmx" when firmware locked VT-x off; CPUID still shows the capability.
        eprintln!("note: CPUID offers VMX but the kernel does not list it (disabled in firmware?)");
    } else {
        assert_eq!(m.vmx, kernel.vmx, "vmx");
    }
    if kernel.vmx == Some(true) {
        assert_eq!(
            m.vmx,
            Some(true),
            "the kernel cannot use VMX the CPU does not offer"
        );
    }
}

#[test]
fn live_read_is_fast_and_bounded() {
    let start = Instant::now();
    let fact = read_live();
    let elapsed = start.elapsed();
    let dump = fact.value().expect("live CPUID");
    assert!(
        elapsed < Duration::from_millis(500),
        "read_live took {elapsed:?}"
    );
    assert!(dump.leaves.len() < 1000, "{} leaves", dump.leaves.len());
    assert!(dump.get(0, 0).is_some() && dump.get(1, 0).is_some());
}
