//! Every CPUID fixture through `parse` and `CpuModel::from_cpuid`, against facts checked by hand
//! (fixtures/cpuid/SOURCE.md).

mod common;

use kvmaudit::model::cpu::CpuModel;
use kvmaudit::parse::cpuid::{self, FORMAT_AIDA64, FORMAT_CPUID_R, FORMAT_LIBVIRT_XML};
use kvmaudit::snapshot::CpuidDump;

fn load(name: &str) -> CpuidDump {
    let path = common::fixture(&format!("cpuid/{name}"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    cpuid::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn model(name: &str) -> CpuModel {
    CpuModel::from_cpuid(&load(name))
}

#[test]
fn ice_lake_server_xml() {
    let d = load("x86_64-cpuid-Ice-Lake-Server.xml");
    assert_eq!(d.format, FORMAT_LIBVIRT_XML);
    assert_eq!(d.leaves.len(), 61, "every <cpuid>, no <msr>");
    let m = CpuModel::from_cpuid(&d);
    assert_eq!(m.source, "cpuid");
    assert!(m.is_intel());
    assert_eq!(
        (m.family, m.model, m.stepping),
        (Some(6), Some(0x6A), Some(0))
    );
    assert_eq!(m.codename.as_deref(), Some("Ice Lake-SP"));
    assert_eq!(m.brand, None, "all-zero brand string");
    assert!(m.notes.iter().any(|n| n.contains("brand string is empty")));
    assert_eq!(
        (m.vmx, m.svm, m.hypervisor),
        (Some(true), Some(false), Some(false))
    );
    assert_eq!((m.est, m.turbo), (Some(true), Some(true)));
    assert_eq!(
        (m.hwp, m.hwp_epp, m.epb),
        (Some(true), Some(true), Some(true))
    );
    assert_eq!(m.pdpe1gb, Some(true));
    assert_eq!(m.threads_per_core, Some(2));
    assert_eq!(
        (m.hypervisor_vendor, m.kvm_hint_realtime, m.kvm_poll_control),
        (None, None, None)
    );
    assert_eq!(m.vmx_flags, None);
}

#[test]
fn cooper_lake_xml() {
    let m = model("x86_64-cpuid-Cooperlake.xml");
    assert!(m.is_intel());
    assert_eq!(
        (m.family, m.model, m.stepping),
        (Some(6), Some(0x55), Some(11))
    );
    assert_eq!(m.codename.as_deref(), Some("Cooper Lake"));
    assert_eq!(m.brand.as_deref(), Some("Genuine Intel(R) CPU 0000%@"));
    assert_eq!(
        (m.vmx, m.svm, m.hypervisor),
        (Some(true), Some(false), Some(false))
    );
    assert_eq!(
        (m.turbo, m.hwp, m.hwp_epp, m.epb),
        (Some(true), Some(true), Some(true), Some(true))
    );
    assert_eq!((m.pdpe1gb, m.threads_per_core), (Some(true), Some(2)));
}

#[test]
fn xeon_platinum_8268_xml_is_cascade_lake() {
    let m = model("x86_64-cpuid-Xeon-Platinum-8268.xml");
    assert!(m.is_intel());
    assert_eq!(
        (m.family, m.model, m.stepping),
        (Some(6), Some(0x55), Some(6))
    );
    assert_eq!(m.codename.as_deref(), Some("Cascade Lake-SP"));
    assert_eq!(
        m.brand.as_deref(),
        Some("Intel(R) Xeon(R) Platinum 8268 CPU @ 2.90GHz")
    );
    assert_eq!(
        (m.vmx, m.est, m.turbo),
        (Some(true), Some(true), Some(true))
    );
    // Leaf 6 EAX 0x77: no HWP on this capture (HWP off in firmware hides it).
    assert_eq!(
        (m.hwp, m.hwp_epp, m.epb),
        (Some(false), Some(false), Some(true))
    );
    assert_eq!(m.threads_per_core, Some(2));
}

#[test]
fn epyc_7502_xml_is_rome() {
    let m = model("x86_64-cpuid-EPYC-7502-32-Core.xml");
    assert!(m.is_amd() && !m.is_intel());
    assert_eq!(
        (m.family, m.model, m.stepping),
        (Some(0x17), Some(0x31), Some(0))
    );
    assert_eq!(m.codename.as_deref(), Some("Rome (Zen 2)"));
    assert_eq!(m.brand.as_deref(), Some("AMD EPYC 7502 32-Core Processor"));
    assert_eq!(
        (m.vmx, m.svm, m.hypervisor),
        (Some(false), Some(true), Some(false))
    );
    assert_eq!(m.turbo, Some(true), "CPB in 0x80000007 EDX[9]");
    assert_eq!(
        (m.hwp, m.epb, m.pdpe1gb),
        (Some(false), Some(false), Some(true))
    );
    assert_eq!(m.threads_per_core, Some(2));
}

#[test]
fn synthetic_aida64_matches_the_xml_it_was_built_from() {
    let aida = load("icelake-sp-synthetic.aida64.txt");
    let xml = load("x86_64-cpuid-Ice-Lake-Server.xml");
    assert_eq!(aida.format, FORMAT_AIDA64);
    assert_eq!(
        aida.leaves, xml.leaves,
        "CPU 0 only, sub-leaves from [SL nn]"
    );
    let (a, x) = (CpuModel::from_cpuid(&aida), CpuModel::from_cpuid(&xml));
    assert_eq!(a, x);
}

#[test]
fn real_cpuid_r_dump_of_a_kvm_guest() {
    let d = load("kvm-guest-2vcpu.cpuid-r.txt");
    assert_eq!(d.format, FORMAT_CPUID_R);
    assert_eq!(
        d.get(1, 0).map(|l| l.ebx),
        Some(0x0002_0800),
        "CPU 0's APIC id"
    );
    let m = CpuModel::from_cpuid(&d);
    assert!(m.is_intel());
    assert_eq!(
        (m.family, m.model, m.stepping),
        (Some(6), Some(0xA7), Some(1))
    );
    assert_eq!(m.codename, None);
    assert!(m.notes.iter().any(|n| n.contains("no codename known")));
    assert_eq!(m.brand.as_deref(), Some("Intel(R) Xeon(R) Processor"));
    assert_eq!((m.vmx, m.hypervisor), (Some(false), Some(true)));
    assert_eq!(m.hypervisor_vendor.as_deref(), Some("KVMKVMKVM"));
    // 0x40000001 EAX 0x01007efb: poll control (bit 12) offered; EDX 0: no realtime hint.
    assert_eq!(
        (m.kvm_poll_control, m.kvm_hint_realtime),
        (Some(true), Some(false))
    );
    assert_eq!(m.threads_per_core, Some(1), "leaf 0x1F SMT level says 1");
}

#[test]
fn libvirt_xml_renders_to_cpuid_r_and_back() {
    for name in [
        "x86_64-cpuid-Ice-Lake-Server.xml",
        "x86_64-cpuid-Cooperlake.xml",
        "x86_64-cpuid-Xeon-Platinum-8268.xml",
        "x86_64-cpuid-EPYC-7502-32-Core.xml",
    ] {
        let xml = load(name);
        let back = cpuid::parse(cpuid::to_cpuid_r_text(&xml).as_bytes()).unwrap();
        assert_eq!(back.leaves, xml.leaves, "{name}");
    }
}
