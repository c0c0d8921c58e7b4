//! The CPU model decode on arbitrary recorded leaves (raw-cpuid under kvmaudit's guards).
//! Input: 24-byte records `leaf, subleaf, eax, ebx, ecx, edx` (little-endian u32).
#![no_main]
use kvmaudit::model::cpu::CpuModel;
use kvmaudit::snapshot::{CpuidDump, CpuidLeaf};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kvmaudit_fuzz::install_panic_hook();
    let u = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let leaves = data
        .chunks_exact(24)
        .map(|c| CpuidLeaf {
            leaf: u(c, 0),
            subleaf: u(c, 4),
            eax: u(c, 8),
            ebx: u(c, 12),
            ecx: u(c, 16),
            edx: u(c, 20),
        })
        .collect();
    let dump = CpuidDump {
        format: "fuzz".into(),
        leaves,
    };
    let model = CpuModel::from_cpuid(&dump);
    let _ = serde_json::to_string(&model);
});
