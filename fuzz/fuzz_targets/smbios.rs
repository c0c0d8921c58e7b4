//! SMBIOS containers, then `Platform::from_smbios` on whatever was recognised.
//!
//! First byte: 0 auto-detect the rest (dump-bin, RSMB, sysfs table, dmidecode text);
//! 1 a sysfs pair: the next byte is the entry point's length, then the entry point, then the
//! table; 2 the rest is a bare table handed straight to the decoder (no container check);
//! 3 the same with an entry point split off as in 1, handed straight to the decoder.
#![no_main]
use kvmaudit::model::platform::Platform;
use kvmaudit::parse::smbios;
use kvmaudit::snapshot::{HexBytes, SmbiosRaw};
use libfuzzer_sys::fuzz_target;

fn split_ep(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&n, rest) = rest.split_first()?;
    let n = (n as usize).min(rest.len());
    Some(rest.split_at(n))
}

fn decode(raw: &SmbiosRaw) {
    let p = Platform::from_smbios(raw);
    let _ = serde_json::to_string(&p);
}

fuzz_target!(|data: &[u8]| {
    kvmaudit_fuzz::install_panic_hook();
    let Some((sel, rest)) = kvmaudit_fuzz::selector(data) else {
        return;
    };
    match sel % 4 {
        0 => {
            if let Ok(raw) = smbios::parse(rest, None) {
                decode(&raw);
            }
        }
        1 => {
            let Some((ep, table)) = split_ep(rest) else {
                return;
            };
            if let Ok(raw) = smbios::parse(table, Some(ep)) {
                decode(&raw);
            }
        }
        2 => decode(&SmbiosRaw {
            format: smbios::FORMAT_SYSFS_TABLE.into(),
            entry_point: None,
            table: Some(HexBytes(rest.to_vec())),
            text: None,
        }),
        _ => {
            let Some((ep, table)) = split_ep(rest) else {
                return;
            };
            for format in [
                smbios::FORMAT_SYSFS_PAIR,
                smbios::FORMAT_DUMP_BIN,
                smbios::FORMAT_RSMB,
            ] {
                decode(&SmbiosRaw {
                    format: format.into(),
                    entry_point: Some(HexBytes(ep.to_vec())),
                    table: Some(HexBytes(table.to_vec())),
                    text: None,
                });
            }
        }
    }
});
