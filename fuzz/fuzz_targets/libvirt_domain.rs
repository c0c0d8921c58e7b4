//! libvirt domain XML: the bounded tree reader, the lowering to argv and the VM model built
//! from it must never panic, whatever the bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kvmaudit_fuzz::install_panic_hook();
    if let Ok(d) = kvmaudit::parse::libvirt_domain::parse(data) {
        let _ = d.model();
    }
});
