//! dmidecode text: detection, record split, and the platform decode of the text.
#![no_main]
use kvmaudit::model::platform::Platform;
use kvmaudit::parse::smbios;
use kvmaudit::snapshot::SmbiosRaw;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kvmaudit_fuzz::install_panic_hook();
    let text = String::from_utf8_lossy(data);
    let _ = smbios::text::looks_like_dmidecode(&text);
    let dump = smbios::text::parse(&text);
    let _ = format!("{dump:?}");
    let p = Platform::from_smbios(&SmbiosRaw {
        format: smbios::FORMAT_TEXT.into(),
        entry_point: None,
        table: None,
        text: Some(text.into_owned()),
    });
    let _ = serde_json::to_string(&p);
    // And through container detection, as `--dmi FILE` does.
    if let Ok(raw) = smbios::parse(data, None) {
        let _ = Platform::from_smbios(&raw);
    }
});
