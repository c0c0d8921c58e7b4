//! `CpuModel::from_cpuinfo` on real /proc/cpuinfo samples (fixtures/cpuinfo/SOURCE.md).

mod common;

use kvmaudit::model::cpu::CpuModel;

fn model(name: &str) -> CpuModel {
    let path = common::fixture(&format!("cpuinfo/{name}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    CpuModel::from_cpuinfo(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn opteron_6172_first_block() {
    let m = model("linux-x86_64-test3.cpuinfo");
    assert_eq!(m.source, "cpuinfo");
    assert!(m.is_amd());
    assert_eq!(
        (m.family, m.model, m.stepping),
        (Some(16), Some(9), Some(1))
    );
    assert_eq!(m.brand.as_deref(), Some("AMD Opteron(tm) Processor 6172"));
    assert_eq!(m.codename, None);
    assert_eq!(
        (m.vmx, m.svm, m.hypervisor),
        (Some(false), Some(true), Some(false))
    );
    assert_eq!(
        (m.turbo, m.pdpe1gb, m.est),
        (Some(false), Some(true), Some(false))
    );
    assert_eq!(m.vmx_flags, None);
}

#[test]
fn xeon_e7_8837_first_block() {
    let m = model("linux-x86_64-test4.cpuinfo");
    assert!(m.is_intel());
    assert_eq!(
        (m.family, m.model, m.stepping),
        (Some(6), Some(47), Some(2))
    );
    assert_eq!(
        m.brand.as_deref(),
        Some("Intel(R) Xeon(R) CPU E7- 8837  @ 2.67GHz")
    );
    assert_eq!(
        (m.vmx, m.svm, m.hypervisor),
        (Some(true), Some(false), Some(false))
    );
    assert_eq!(
        (m.est, m.turbo, m.epb),
        (Some(true), Some(true), Some(true))
    );
    assert_eq!(
        (m.hwp, m.hwp_epp, m.pdpe1gb),
        (Some(false), Some(false), Some(true))
    );
    assert_eq!(
        m.vmx_flags, None,
        "old kernel: ept/vpid in flags, no vmx flags line"
    );
    assert_eq!((m.threads_per_core, m.kvm_hint_realtime), (None, None));
}

#[test]
fn opteron_6282_first_block() {
    let m = model("linux-x86_64-test8.cpuinfo");
    assert!(m.is_amd());
    assert_eq!(
        (m.family, m.model, m.stepping),
        (Some(21), Some(1), Some(2))
    );
    assert_eq!(
        m.brand.as_deref(),
        Some("AMD Opteron(tm) Processor 6282 SE")
    );
    assert_eq!(
        (m.svm, m.turbo, m.pdpe1gb),
        (Some(true), Some(true), Some(true))
    );
}

#[test]
fn cpuinfo_fills_what_cpuid_cannot_know() {
    let xml = std::fs::read(common::fixture("cpuid/x86_64-cpuid-Ice-Lake-Server.xml")).unwrap();
    let mut m = CpuModel::from_cpuid(&kvmaudit::parse::cpuid::parse(&xml).unwrap());
    let kernel = CpuModel::from_cpuinfo(
        "vendor_id : GenuineIntel\ncpu family : 6\nmodel : 106\nstepping : 0\n\
         model name : Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz\nflags : fpu est\n\
         vmx flags : ept vpid ple posted_intr apicv\n",
    )
    .unwrap();
    m.merge_missing(&kernel);
    assert_eq!(m.source, "cpuid");
    assert_eq!(
        m.vmx,
        Some(true),
        "CPUID's capability wins over the kernel's usable flags"
    );
    assert_eq!(
        m.brand.as_deref(),
        Some("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz")
    );
    let flags = m.vmx_flags.expect("from cpuinfo");
    assert!(flags.contains(&"ple".to_string()));
}
