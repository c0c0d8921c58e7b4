//! dmidecode text into a [`Platform`]: the same values the binary path gives for the same table.
//!
//! dmidecode prints absent strings as "Not Specified", unknown numbers as "Unknown", values
//! outside the spec as "<OUT OF SPEC>"; all of these become `None`.

use super::{clean_string, names, MemoryDevice, Platform, Processor};
use crate::parse::smbios::text::{self as dmi, Record};

pub(super) fn fill(p: &mut Platform, text: &str) {
    let dump = dmi::parse(text);
    p.smbios_version = dump.smbios_version.clone();
    if let Some(b) = &dump.broken {
        p.notes
            .push(format!("table truncated: dmidecode reported \"{b}\""));
    }
    for w in &dump.warnings {
        p.notes.push(format!("dmidecode reported \"{w}\""));
    }
    if !dump.records.iter().any(|r| r.dmi_type == Some(127)) {
        p.notes.push(
            "no end-of-table (type 127) structure in the dmidecode output \
             (broken table, or output filtered with -t)"
                .to_string(),
        );
    }
    fill_identity(p, &dump.records);
    let mut disabled = 0;
    for rec in dump.records.iter().filter(|r| r.dmi_type == Some(4)) {
        if !is_central(rec) {
            continue;
        }
        if rec.get("Status").is_some_and(|s| s.contains("Disabled")) {
            disabled += 1;
        }
        p.processors.push(processor(rec));
    }
    if disabled > 0 {
        p.notes.push(format!(
            "{disabled} processor socket(s) are populated but disabled (by the user or the BIOS)"
        ));
    }
    p.memory_devices = dump
        .records
        .iter()
        .filter(|r| r.dmi_type == Some(17))
        .map(memory_device)
        .collect();
}

/// BIOS, system and board names from the first type 0, 1 and 2 records.
fn fill_identity(p: &mut Platform, records: &[Record]) {
    let first = |t: u8| records.iter().find(|r| r.dmi_type == Some(t));
    if let Some(b) = first(0) {
        p.bios_vendor = string(b, "Vendor");
        p.bios_version = string(b, "Version");
        p.bios_date = string(b, "Release Date");
    }
    if let Some(s) = first(1) {
        p.system_vendor = string(s, "Manufacturer");
        p.system_product = string(s, "Product Name");
        p.system_uuid = s.get("UUID").and_then(crate::model::identity::smbios_uuid);
    }
    if let Some(b) = first(2) {
        p.board_vendor = string(b, "Manufacturer");
        p.board_product = string(b, "Product Name");
    }
}

/// Math, DSP and video processors are type 4 records too; only central ones are sockets.
fn is_central(rec: &Record) -> bool {
    !matches!(
        rec.get("Type"),
        Some("Math Processor" | "DSP Processor" | "Video Processor")
    )
}

fn processor(rec: &Record) -> Processor {
    let version = string(rec, "Version");
    Processor {
        socket: string(rec, "Socket Designation").unwrap_or_default(),
        populated: rec
            .get("Status")
            .map_or(version.is_some(), |s| s.starts_with("Populated")),
        manufacturer: string(rec, "Manufacturer"),
        family: string(rec, "Family"),
        // `dmidecode -q` prints no ID line, only the decoded Signature.
        cpuid_signature: rec
            .get("ID")
            .and_then(cpuid_eax)
            .or_else(|| rec.get("Signature").and_then(signature_eax)),
        core_count: number(rec, "Core Count"),
        core_enabled: number(rec, "Core Enabled"),
        thread_count: number(rec, "Thread Count"),
        max_speed_mhz: number(rec, "Max Speed"),
        current_speed_mhz: number(rec, "Current Speed"),
        version,
    }
}

fn memory_device(rec: &Record) -> MemoryDevice {
    let mut dev = MemoryDevice {
        locator: string(rec, "Locator").unwrap_or_default(),
        bank_locator: string(rec, "Bank Locator"),
        size_mib: rec
            .get("Size")
            .and_then(size_bytes)
            .flatten()
            .map(|b| b / (1024 * 1024)),
        speed_mts: number(rec, "Speed"),
        // dmidecode 3.x says "Configured Memory Speed", 2.x "Configured Clock Speed".
        configured_speed_mts: number(rec, "Configured Memory Speed")
            .or_else(|| number(rec, "Configured Clock Speed")),
        memory_type: string(rec, "Type"),
        technology: string(rec, "Memory Technology").map(|t| names::normalize_technology(&t)),
        volatile_size: rec.get("Volatile Size").and_then(size_bytes).flatten(),
        non_volatile_size: rec.get("Non-Volatile Size").and_then(size_bytes).flatten(),
        socket: None,
        channel: None,
    };
    if rec.get("Size") == Some("No Module Installed") {
        dev.clear_empty_slot();
    }
    dev
}

/// A string field; dmidecode's placeholders for missing or invalid strings are `None`.
fn string(rec: &Record, key: &str) -> Option<String> {
    let v = rec.get(key)?;
    if v.starts_with('<') && v.ends_with('>') {
        // "<BAD INDEX>", "<OUT OF SPEC>".
        return None;
    }
    clean_string(v)
}

/// The leading number of "4000 MHz", "3200 MT/s", "24"; "Unknown" and 0 are `None`.
fn number(rec: &Record, key: &str) -> Option<u32> {
    let first = rec.get(key)?.split_whitespace().next()?;
    first.parse().ok().filter(|n| *n > 0)
}

/// "32 GB" → Some(Some(bytes)); "None" → Some(Some(0)); "No Module Installed", "Unknown" and
/// anything unparsable → None (unknown) — the outer Option says "was a size".
fn size_bytes(v: &str) -> Option<Option<u64>> {
    if v == "None" {
        return Some(Some(0));
    }
    let mut words = v.split_whitespace();
    let n: u64 = words.next()?.parse().ok()?;
    let shift = match words.next()? {
        "bytes" => 0,
        "kB" | "KB" => 10,
        "MB" => 20,
        "GB" => 30,
        "TB" => 40,
        "PB" => 50,
        "EB" => 60,
        _ => return None,
    };
    Some(n.checked_mul(1u64 << shift))
}

/// "A6 06 06 00 FF FB EB BF" → 0x000606A6 (the first four bytes, little-endian).
fn cpuid_eax(id: &str) -> Option<u32> {
    let bytes: Vec<u8> = id
        .split_whitespace()
        .take(4)
        .map(|b| u8::from_str_radix(b, 16).ok())
        .collect::<Option<_>>()?;
    let eax = u32::from_le_bytes(bytes.try_into().ok()?);
    (eax != 0).then_some(eax)
}

/// "Type 0, Family 6, Model 106, Stepping 6" → 0x000606A6: CPUID.1:EAX rebuilt from the display
/// values (the reserved bits, zero on real parts, are lost).
fn signature_eax(sig: &str) -> Option<u32> {
    let field = |name: &str| -> Option<u32> {
        sig.split(',')
            .map(str::trim)
            .find_map(|part| part.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
    };
    let (family, model, stepping) = (field("Family")?, field("Model")?, field("Stepping")?);
    let kind = field("Type").unwrap_or(0);
    let (base_family, ext_family) = if family >= 0xF {
        (0xF, family - 0xF)
    } else {
        (family, 0)
    };
    let extended_model = base_family == 0x6 || base_family == 0xF;
    if ext_family > 0xFF
        || stepping > 0xF
        || kind > 0x3
        || (model > 0xF && !extended_model)
        || model > 0xFF
    {
        return None;
    }
    let eax = stepping
        | (model & 0xF) << 4
        | base_family << 8
        | kind << 12
        | (model >> 4) << 16
        | ext_family << 20;
    (eax != 0).then_some(eax)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_every_unit() {
        assert_eq!(size_bytes("32 GB"), Some(Some(32 << 30)));
        assert_eq!(size_bytes("16384 MB"), Some(Some(16384 << 20)));
        assert_eq!(size_bytes("None"), Some(Some(0)));
        assert_eq!(size_bytes("No Module Installed"), None);
        assert_eq!(size_bytes("Unknown"), None);
        assert_eq!(size_bytes("99999999999 EB"), Some(None));
    }

    #[test]
    fn signature_gives_eax() {
        let ice_lake = "Type 0, Family 6, Model 106, Stepping 6";
        assert_eq!(signature_eax(ice_lake), Some(0x000606A6));
        let rome = "Type 0, Family 23, Model 49, Stepping 0";
        assert_eq!(signature_eax(rome), Some(0x00830F10));
        assert_eq!(signature_eax("Family 4, Model 200, Stepping 1"), None);
        assert_eq!(signature_eax("garbage"), None);
    }

    #[test]
    fn processor_id_gives_eax() {
        assert_eq!(cpuid_eax("A6 06 06 00 FF FB EB BF"), Some(0x000606A6));
        assert_eq!(cpuid_eax("00 00 00 00 00 00 00 00"), None);
        assert_eq!(cpuid_eax("A6 06"), None);
    }

    #[test]
    fn placeholders_are_none() {
        let text = "Handle 0x0001, DMI type 17, 92 bytes\nMemory Device\n\tSize: 64 GB\n\t\
Locator: CPU0_C0D0\n\tBank Locator: Not Specified\n\tType: <OUT OF SPEC>\n\tSpeed: Unknown\n\t\
Memory Technology: Intel Optane DC persistent memory\n\tVolatile Size: None\n";
        let mut p = Platform::default();
        fill(&mut p, text);
        let m = &p.memory_devices[0];
        assert_eq!(m.size_mib, Some(65536));
        assert_eq!(m.bank_locator, None);
        assert_eq!(m.memory_type, None);
        assert_eq!(m.speed_mts, None);
        assert_eq!(m.technology.as_deref(), Some(names::OPTANE));
        assert_eq!(m.volatile_size, Some(0));
        assert!(p.notes.iter().any(|n| n.contains("end-of-table")));
    }
}
