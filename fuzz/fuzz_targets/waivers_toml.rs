//! Waiver files (`scan --waivers FILE`): TOML parse, validation, glob matching and expiry.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kvmaudit_fuzz::install_panic_hook();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ws) = kvmaudit::rules::waivers::parse(text) {
        for w in &ws {
            let _ = w.matches("qemu.blk.cache", "vm:db-1/drive:d0");
            let _ = w.matches(&w.rule, &w.target);
            let _ = w.expired("2026-06-01");
            // A waiver's own patterns as subjects: globs against globs, the costly case.
            let _ = kvmaudit::rules::waivers::glob(&w.rule, &w.target);
        }
    }
});
