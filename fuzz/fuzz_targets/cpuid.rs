//! CPUID dumps in every format, then the CPU model decode of whatever parsed.
//!
//! The first byte directs the format so that mutations stay in the parser they started in:
//! 0 auto-detect the rest as it is; 1 `cpuid -r` (a `CPU 0:` header is prepended); 2 libvirt
//! XML (wrapped in `<cpudata arch='x86'>`); 3 AIDA64 (a `CPUID 00000000:` record is prepended);
//! anything else: UTF-16LE with a BOM, as AIDA64 saves it.
#![no_main]
use kvmaudit::model::cpu::CpuModel;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kvmaudit_fuzz::install_panic_hook();
    let Some((sel, rest)) = kvmaudit_fuzz::selector(data) else {
        return;
    };
    let input: Vec<u8> = match sel % 5 {
        0 => rest.to_vec(),
        1 => [b"CPU 0:\n".as_slice(), rest].concat(),
        2 => [
            b"<cpudata arch='x86'>\n".as_slice(),
            rest,
            b"\n</cpudata>\n",
        ]
        .concat(),
        3 => [
            b"CPUID 00000000: 0000001B-756E6547-6C65746E-49656E69\n".as_slice(),
            rest,
        ]
        .concat(),
        _ => {
            let mut v = vec![0xFF, 0xFE];
            for &b in rest {
                v.extend_from_slice(&(b as u16).to_le_bytes());
            }
            v
        }
    };
    if let Ok(dump) = kvmaudit::parse::cpuid::parse(&input) {
        let model = CpuModel::from_cpuid(&dump);
        let _ = serde_json::to_string(&model);
        let text = kvmaudit::parse::cpuid::to_cpuid_r_text(&dump);
        // A dump printed in `cpuid -r` form reads back to the same leaves.
        let back = kvmaudit::parse::cpuid::parse(text.as_bytes()).expect("round trip parses");
        assert_eq!(back.leaves, dump.leaves, "cpuid -r round trip");
    }
});
