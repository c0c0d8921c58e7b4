//! Binary SMBIOS (entry point + table) into a [`Platform`], with smbios-lib doing field decoding.
//!
//! The table is walked by [`crate::parse::smbios::table::scan`] first; smbios-lib only ever sees
//! the well-formed prefix, and every call into it runs under `catch_unwind` so that a decoding
//! bug on hostile data costs the decode, not the process.

use super::{clean_string, names, MemoryDevice, Platform, Processor};
use crate::parse::smbios::entry::{self, EntryPoint};
use crate::parse::smbios::{table, FORMAT_RSMB};
use crate::snapshot::SmbiosRaw;
use smbioslib::{
    CoreCount, CoreCount2, CoresEnabled, CoresEnabled2, CpuStatus, MemoryIndicatedSize, MemorySize,
    MemorySizeExtended, MemorySpeed, MemorySpeedExtended, ProcessorSpeed,
    SMBiosBaseboardInformation, SMBiosData, SMBiosInformation, SMBiosMemoryDevice,
    SMBiosProcessorInformation, SMBiosString, SMBiosStruct, SMBiosSystemInformation,
    SystemUuidData, ThreadCount, ThreadCount2,
};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Type 4 Processor Type: 1 Other, 2 Unknown, 3 Central Processor; 4–6 are math/DSP/video.
const NON_CENTRAL_PROCESSOR_TYPES: [u8; 3] = [4, 5, 6];
/// Type 4 Processor Family value meaning "see Processor Family 2".
const FAMILY_SEE_FAMILY_2: u8 = 0xFE;

pub(super) fn fill(p: &mut Platform, raw: &SmbiosRaw, table_bytes: &[u8]) {
    let ep = entry_point(p, raw);
    p.smbios_version = ep.as_ref().map(EntryPoint::version_string);
    let scan = table::scan(table_bytes);
    check_table(p, &scan, ep.as_ref(), table_bytes.len());
    let valid = table_bytes.get(..scan.valid_len()).unwrap_or_default();
    let data = SMBiosData::from_vec_and_version(valid.to_vec(), None);
    // SMBIOS 2.6 made the UUID's first fields little-endian; without a version, assume a
    // current table (as the kernel does for /sys/class/dmi/id/product_uuid).
    let uuid_le = ep.as_ref().map_or(true, |e| (e.major, e.minor) >= (2, 6));
    if catch_unwind(AssertUnwindSafe(|| decode(p, &data, uuid_le))).is_err() {
        p.notes.push(
            "SMBIOS decoding stopped on a malformed structure; fields after it are missing"
                .to_string(),
        );
    }
}

/// The entry point (or RSMB header) of `raw`, with its problems noted.
fn entry_point(p: &mut Platform, raw: &SmbiosRaw) -> Option<EntryPoint> {
    let Some(bytes) = raw.entry_point.as_ref().map(|h| h.0.as_slice()) else {
        p.notes
            .push("SMBIOS version unknown: the table came without its entry point".to_string());
        return None;
    };
    let decoded = if raw.format == FORMAT_RSMB {
        entry::decode_rsmb(bytes)
    } else {
        entry::decode(bytes)
    };
    match decoded {
        Ok(ep) => {
            p.notes.extend(ep.problems.iter().cloned());
            Some(ep)
        }
        Err(e) => {
            p.notes.push(format!("entry point ignored: {e}"));
            None
        }
    }
}

/// Compare what the walk found with what the entry point announced.
fn check_table(p: &mut Platform, scan: &table::Scan, ep: Option<&EntryPoint>, len: usize) {
    let found = scan.structures.len();
    if let Some(b) = &scan.broken {
        p.notes.push(format!(
            "table truncated at offset {}: {}; the {found} structures before it were kept",
            b.offset, b.reason
        ));
    }
    if scan.end_of_table.is_none() {
        p.notes.push(format!(
            "no end-of-table (type 127) structure after the {found} structures read"
        ));
    }
    let Some(ep) = ep else { return };
    if let Some(n) = ep.structure_count.map(usize::from) {
        if n != found {
            p.notes.push(format!(
                "entry point announces {n} structures, the table holds {found}"
            ));
        }
    }
    let used = scan.valid_len();
    if let Some(announced) = ep.table_length.map(|l| l as usize) {
        if announced > len {
            p.notes.push(format!(
                "entry point announces a {announced}-byte table, only {len} bytes are present"
            ));
        } else if scan.broken.is_none() && used != announced {
            p.notes.push(format!(
                "structures occupy {used} bytes, the entry point announces {announced}"
            ));
        }
    }
    if let Some(max) = ep.table_max_length.map(|l| l as usize) {
        if used > max {
            p.notes.push(format!(
                "structures occupy {used} bytes, more than the {max} the entry point allows"
            ));
        }
    }
}

fn decode(p: &mut Platform, data: &SMBiosData, uuid_le: bool) {
    if let Some(b) = data.first::<SMBiosInformation<'_>>() {
        p.bios_vendor = text(b.vendor());
        p.bios_version = text(b.version());
        p.bios_date = text(b.release_date());
    }
    if let Some(s) = data.first::<SMBiosSystemInformation<'_>>() {
        p.system_vendor = text(s.manufacturer());
        p.system_product = text(s.product_name());
        // dmidecode shows the UUID only from a 0x19-byte structure (SMBIOS 2.1) on.
        if s.parts().header.length() >= 0x19 {
            if let Some(SystemUuidData::Uuid(u)) = s.uuid() {
                p.system_uuid = crate::model::identity::uuid_from_bytes(&u.raw, uuid_le);
            }
        }
    }
    if let Some(b) = data.first::<SMBiosBaseboardInformation<'_>>() {
        p.board_vendor = text(b.manufacturer());
        p.board_product = text(b.product());
    }
    let mut disabled = 0;
    for cpu in data.collect::<SMBiosProcessorInformation<'_>>() {
        let kind = cpu.processor_type().map(|t| t.raw);
        if kind.is_some_and(|k| NON_CENTRAL_PROCESSOR_TYPES.contains(&k)) {
            continue;
        }
        let status = cpu.status();
        if status.as_ref().is_some_and(|s| {
            matches!(
                s.cpu_status(),
                CpuStatus::UserDisabled | CpuStatus::BiosDisabled
            )
        }) {
            disabled += 1;
        }
        p.processors.push(processor(&cpu));
    }
    if disabled > 0 {
        p.notes.push(format!(
            "{disabled} processor socket(s) are populated but disabled (by the user or the BIOS)"
        ));
    }
    p.memory_devices = data
        .collect::<SMBiosMemoryDevice<'_>>()
        .iter()
        .map(memory_device)
        .collect();
}

fn processor(cpu: &SMBiosProcessorInformation<'_>) -> Processor {
    let version = text(cpu.processor_version());
    Processor {
        socket: text(cpu.socket_designation()).unwrap_or_default(),
        // Without a Status field (very old tables) a named part is taken as present.
        populated: cpu
            .status()
            .map_or(version.is_some(), |s| s.socket_populated()),
        manufacturer: text(cpu.processor_manufacturer()),
        family: family(cpu),
        cpuid_signature: cpu
            .processor_id()
            .and_then(|id| id.first_chunk::<4>().copied())
            .map(u32::from_le_bytes)
            .filter(|eax| *eax != 0),
        core_count: core_count(cpu),
        core_enabled: core_enabled(cpu),
        thread_count: thread_count(cpu),
        max_speed_mhz: cpu.max_speed().and_then(mhz),
        current_speed_mhz: cpu.current_speed().and_then(mhz),
        version,
    }
}

fn family(cpu: &SMBiosProcessorInformation<'_>) -> Option<String> {
    let code = cpu.processor_family()?.raw;
    let code = if code == FAMILY_SEE_FAMILY_2 {
        cpu.processor_family_2().map_or(u16::from(code), |f| f.raw)
    } else {
        u16::from(code)
    };
    // 0 is not a family; dmidecode prints it as out of spec.
    (code != 0).then(|| names::processor_family(code))
}

fn core_count(cpu: &SMBiosProcessorInformation<'_>) -> Option<u32> {
    match cpu.core_count()? {
        CoreCount::Count(n) => Some(n.into()),
        CoreCount::SeeCoreCount2 => match cpu.core_count_2()? {
            CoreCount2::Count(n) => Some(n.into()),
            _ => None,
        },
        CoreCount::Unknown => None,
    }
}

fn core_enabled(cpu: &SMBiosProcessorInformation<'_>) -> Option<u32> {
    match cpu.cores_enabled()? {
        CoresEnabled::Count(n) => Some(n.into()),
        CoresEnabled::SeeCoresEnabled2 => match cpu.cores_enabled_2()? {
            CoresEnabled2::Count(n) => Some(n.into()),
            _ => None,
        },
        CoresEnabled::Unknown => None,
    }
}

fn thread_count(cpu: &SMBiosProcessorInformation<'_>) -> Option<u32> {
    match cpu.thread_count()? {
        ThreadCount::Count(n) => Some(n.into()),
        ThreadCount::SeeThreadCount2 => match cpu.thread_count_2()? {
            ThreadCount2::Count(n) => Some(n.into()),
            _ => None,
        },
        ThreadCount::Unknown => None,
    }
}

fn mhz(speed: ProcessorSpeed) -> Option<u32> {
    match speed {
        ProcessorSpeed::MHz(n) => Some(n.into()),
        ProcessorSpeed::Unknown => None,
    }
}

fn memory_device(m: &SMBiosMemoryDevice<'_>) -> MemoryDevice {
    let mut dev = MemoryDevice {
        locator: text(m.device_locator()).unwrap_or_default(),
        bank_locator: text(m.bank_locator()),
        size_mib: size_mib(m),
        speed_mts: speed(m.speed(), || m.extended_speed()),
        configured_speed_mts: speed(m.configured_memory_speed(), || {
            m.extended_configured_memory_speed()
        }),
        memory_type: m
            .memory_type()
            .and_then(|t| names::memory_type(t.raw))
            .map(str::to_string),
        technology: m
            .memory_technology()
            .and_then(|t| names::memory_technology(t.raw))
            .map(str::to_string),
        volatile_size: m.volatile_size().and_then(indicated),
        non_volatile_size: m.non_volatile_size().and_then(indicated),
        socket: None,
        channel: None,
    };
    if matches!(m.size(), Some(MemorySize::NotInstalled)) {
        dev.clear_empty_slot();
    }
    dev
}

/// Size in MiB; sizes of 32 GiB and more live in Extended Size.
fn size_mib(m: &SMBiosMemoryDevice<'_>) -> Option<u64> {
    match m.size()? {
        MemorySize::Megabytes(n) => Some(n.into()),
        MemorySize::Kilobytes(k) => Some(u64::from(k) / 1024),
        MemorySize::SeeExtendedSize => match m.extended_size()? {
            MemorySizeExtended::Megabytes(n) => Some(n.into()),
            MemorySizeExtended::SeeSize => None,
        },
        MemorySize::NotInstalled | MemorySize::Unknown => None,
    }
}

/// Speed in MT/s; 65,535 MT/s and more live in the extended field.
fn speed(
    base: Option<MemorySpeed>,
    extended: impl FnOnce() -> Option<MemorySpeedExtended>,
) -> Option<u32> {
    match base? {
        MemorySpeed::MTs(n) => Some(n.into()),
        MemorySpeed::SeeExtendedSpeed => match extended()? {
            MemorySpeedExtended::MTs(n) => Some(n),
            MemorySpeedExtended::SeeSpeed => None,
        },
        MemorySpeed::Unknown => None,
    }
}

fn indicated(size: MemoryIndicatedSize) -> Option<u64> {
    match size {
        MemoryIndicatedSize::Bytes(n) => Some(n),
        MemoryIndicatedSize::Unknown => None,
    }
}

/// An SMBIOS string, trimmed; invalid UTF-8 is kept lossily, a bad string number is `None`.
fn text(s: SMBiosString) -> Option<String> {
    s.to_utf8_lossy().as_deref().and_then(clean_string)
}
