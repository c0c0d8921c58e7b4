//! Cross-check against an independent decoder: Todd Allen's `cpuid` tool reads a `cpuid -r` dump
//! with `-f FILE`. Each dump is rendered in that form and the tool's decoding compared with
//! `CpuModel::from_cpuid`.

mod common;

use kvmaudit::model::cpu::CpuModel;
use kvmaudit::parse::cpuid;
use kvmaudit::snapshot::CpuidDump;
use std::collections::HashMap;
use std::io::Write;
use std::process::Command;

/// `cpuid -f` output as label → first value (`stepping id` also appears for other leaves later).
fn decode_with_tool(dump: &CpuidDump) -> HashMap<String, String> {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(cpuid::to_cpuid_r_text(dump).as_bytes())
        .expect("write dump");
    let out = Command::new("cpuid")
        .arg("-f")
        .arg(file.path())
        .output()
        .expect("run cpuid -f");
    assert!(out.status.success(), "cpuid -f failed: {out:?}");
    let mut fields = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some((label, value)) = line.split_once(" = ") {
            fields
                .entry(label.trim().to_string())
                .or_insert_with(|| value.trim().to_string());
        }
    }
    fields
}

/// `0x6a (106)` → 106.
fn number(fields: &HashMap<String, String>, label: &str) -> Option<u32> {
    let v = fields.get(label)?;
    v.rsplit_once('(')?.1.strip_suffix(')')?.parse().ok()
}

fn flag(fields: &HashMap<String, String>, label: &str) -> Option<bool> {
    match fields.get(label)?.as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn brand(fields: &HashMap<String, String>) -> Option<String> {
    let v = fields.get("brand")?.trim_matches('"').trim();
    (!v.is_empty()).then(|| v.to_string())
}

fn assert_agrees(name: &str, dump: &CpuidDump) {
    let t = decode_with_tool(dump);
    let m = CpuModel::from_cpuid(dump);
    assert!(
        number(&t, "(family synth)").is_some(),
        "{name}: tool output not understood: {t:?}"
    );
    assert_eq!(m.family, number(&t, "(family synth)"), "{name}: family");
    assert_eq!(m.model, number(&t, "(model synth)"), "{name}: model");
    assert_eq!(m.stepping, number(&t, "stepping id"), "{name}: stepping");
    assert_eq!(
        m.vmx,
        flag(&t, "VMX: virtual machine extensions"),
        "{name}: vmx"
    );
    assert_eq!(
        m.est,
        flag(&t, "Enhanced Intel SpeedStep Technology"),
        "{name}: est"
    );
    assert_eq!(
        m.hypervisor,
        flag(&t, "hypervisor guest status"),
        "{name}: hypervisor"
    );
    assert_eq!(
        m.pdpe1gb,
        flag(&t, "1-GB large page support"),
        "{name}: pdpe1gb"
    );
    assert_eq!(m.brand, brand(&t), "{name}: brand");
    if m.is_amd() {
        assert_eq!(
            m.svm,
            flag(&t, "SVM: secure virtual machine"),
            "{name}: svm"
        );
        assert_eq!(
            m.turbo,
            flag(&t, "CPB: core performance boost"),
            "{name}: cpb"
        );
    } else {
        assert_eq!(
            m.turbo,
            flag(&t, "Intel Turbo Boost Technology"),
            "{name}: turbo"
        );
        assert_eq!(m.hwp, flag(&t, "HWP base registers"), "{name}: hwp");
        let epp = flag(&t, "HWP energy performance preference");
        assert_eq!(m.hwp_epp, epp, "{name}: hwp_epp");
        let epb = flag(&t, "performance-energy bias capability");
        assert_eq!(m.epb, epb, "{name}: epb");
    }
    if let Some(smt) = number(&t, "number of logical processors at level") {
        assert_eq!(m.threads_per_core, Some(smt), "{name}: threads per core");
    }
}

#[test]
fn corpus_dumps_decode_like_the_cpuid_tool() {
    if !common::require_tool("cpuid") {
        return;
    }
    for name in [
        "x86_64-cpuid-Ice-Lake-Server.xml",
        "x86_64-cpuid-Cooperlake.xml",
        "x86_64-cpuid-Xeon-Platinum-8268.xml",
        "x86_64-cpuid-EPYC-7502-32-Core.xml",
        "icelake-sp-synthetic.aida64.txt",
        "kvm-guest-2vcpu.cpuid-r.txt",
    ] {
        let bytes = std::fs::read(common::fixture(&format!("cpuid/{name}"))).expect(name);
        let dump = cpuid::parse(&bytes).expect(name);
        assert_agrees(name, &dump);
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn live_dump_decodes_like_the_cpuid_tool() {
    if !common::require_tool("cpuid") {
        return;
    }
    let fact = kvmaudit::collect::cpuid_live::read_live();
    let dump = fact.value().expect("live CPUID on x86_64");
    assert_agrees("live", dump);
}
