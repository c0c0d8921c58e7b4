//! Kernel .config: plain or gzip decoding (`--kconfig`, /proc/config.gz), then the
//! three-state symbol table and its lookups.
#![no_main]
use kvmaudit::collect::decode_kconfig;
use kvmaudit::parse::kconfig::KernelConfig;
use libfuzzer_sys::fuzz_target;

fn exercise(text: &str) {
    let k = KernelConfig::parse(text);
    for name in [
        "HZ",
        "CONFIG_HZ",
        "KVM",
        "CONFIG_KVM_INTEL",
        "NO_HZ_FULL",
        "",
        "CONFIG_",
    ] {
        let _ = k.get(name);
        let _ = k.enabled(name);
    }
    let _ = k.hz();
    let _ = k.len();
}

fuzz_target!(|data: &[u8]| {
    kvmaudit_fuzz::install_panic_hook();
    if let Ok(text) = decode_kconfig(data) {
        exercise(&text);
    }
    // Plain text gzip-compressed must decode to the same result as the text itself.
    if data.len() < 64 * 1024 && !data.starts_with(&[0x1f, 0x8b]) {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        if gz.write_all(data).is_ok() {
            if let Ok(z) = gz.finish() {
                assert_eq!(decode_kconfig(&z).ok(), decode_kconfig(data).ok());
            }
        }
    }
    exercise(&String::from_utf8_lossy(data));
});
