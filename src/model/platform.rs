//! The platform as SMBIOS describes it: firmware, board, processor sockets and DIMM slots.
//!
//! Built from any container [`crate::parse::smbios::parse`] accepts. Binary tables decode with
//! smbios-lib (after our own structure walk, see [`crate::parse::smbios::table`]); dmidecode text
//! with our own parser. Both paths produce the same values for the same firmware, in dmidecode's
//! spelling, which is what lets a test compare them.
//!
//! Anything the data cannot tell — a broken table, a missing end marker, slot names that do not
//! reveal channels — goes into `notes` instead of being guessed.

mod binary;
mod locator;
pub mod names;
mod text;

use crate::snapshot::SmbiosRaw;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Platform {
    /// "2.7" (32-bit entry point) or "3.3.0" (64-bit), as dmidecode prints it; `None` for a table
    /// without entry point.
    pub smbios_version: Option<String>,
    pub bios_vendor: Option<String>,
    pub bios_version: Option<String>,
    pub bios_date: Option<String>,
    pub system_vendor: Option<String>,
    pub system_product: Option<String>,
    /// The type 1 system UUID, lowercase; `None` when absent or a placeholder (see
    /// [`crate::model::identity::smbios_uuid`]).
    pub system_uuid: Option<String>,
    pub board_vendor: Option<String>,
    pub board_product: Option<String>,
    /// Type 4 structures of central processors (math/DSP/video processors are left out).
    pub processors: Vec<Processor>,
    pub sockets_total: u32,
    /// Sockets whose status has the "populated" bit.
    pub sockets_populated: u32,
    /// Every type 17 structure, empty slots included.
    pub memory_devices: Vec<MemoryDevice>,
    /// Socket → number of distinct channels holding an installed non-Optane DIMM. Every socket
    /// that has slots is listed (0 when all are empty). Left empty, with a note, when an installed
    /// DIMM's socket or channel cannot be read from its locators.
    pub channels_populated_per_socket: BTreeMap<String, u32>,
    /// A type 17 device reports Memory Technology 07h (Intel Optane persistent memory).
    pub optane_present: bool,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Processor {
    /// Socket Designation ("CPU1"); empty when the firmware gives none.
    pub socket: String,
    pub populated: bool,
    pub version: Option<String>,
    pub manufacturer: Option<String>,
    /// dmidecode's family name ("Xeon"), or "family code 0x.." for codes without one.
    pub family: Option<String>,
    /// Processor ID EAX, i.e. CPUID.1:EAX on x86; `None` when zero.
    pub cpuid_signature: Option<u32>,
    pub core_count: Option<u32>,
    pub core_enabled: Option<u32>,
    pub thread_count: Option<u32>,
    pub max_speed_mhz: Option<u32>,
    pub current_speed_mhz: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MemoryDevice {
    /// Device Locator ("CPU1_DIMM_A1"); empty when the firmware gives none.
    pub locator: String,
    pub bank_locator: Option<String>,
    /// `None` = no module installed or size unknown.
    pub size_mib: Option<u64>,
    pub speed_mts: Option<u32>,
    pub configured_speed_mts: Option<u32>,
    /// dmidecode's name of the Memory Type ("DDR4").
    pub memory_type: Option<String>,
    /// "DRAM", "Intel Optane persistent memory", "NVDIMM-N", ... (SMBIOS ≥ 3.2).
    pub technology: Option<String>,
    /// Volatile Size in bytes (SMBIOS ≥ 3.2); `Some(0)` = none.
    pub volatile_size: Option<u64>,
    /// Non-volatile Size in bytes (SMBIOS ≥ 3.2); `Some(0)` = none.
    pub non_volatile_size: Option<u64>,
    /// Socket read from the locators ("CPU1_DIMM_A1" → "CPU1").
    pub socket: Option<String>,
    /// Channel read from the locators ("CPU1_DIMM_A1" → "A", "CPU0_C3D1" → "3").
    pub channel: Option<String>,
}

impl MemoryDevice {
    /// An empty slot has no speed, technology or sizes, whatever stale values the firmware left
    /// in those fields (dmidecode 3.4 stops printing them too; 3.2 prints "<OUT OF SPEC>").
    pub(crate) fn clear_empty_slot(&mut self) {
        self.speed_mts = None;
        self.configured_speed_mts = None;
        self.technology = None;
        self.volatile_size = None;
        self.non_volatile_size = None;
    }
}

impl Platform {
    /// Decode whatever `raw` holds. Never fails: problems become notes.
    pub fn from_smbios(raw: &SmbiosRaw) -> Platform {
        let mut p = Platform::default();
        match (&raw.text, &raw.table) {
            (Some(t), _) => text::fill(&mut p, t),
            (None, Some(table)) => binary::fill(&mut p, raw, &table.0),
            (None, None) => p
                .notes
                .push("no SMBIOS data: neither a table nor dmidecode text".to_string()),
        }
        p.finish();
        p
    }

    /// Derived fields, the same for both decoding paths.
    fn finish(&mut self) {
        self.sockets_total = count(self.processors.len());
        self.sockets_populated = count(self.processors.iter().filter(|p| p.populated).count());
        self.optane_present = self
            .memory_devices
            .iter()
            .any(|m| m.technology.as_deref() == Some(names::OPTANE));
        self.place_memory();
    }

    fn place_memory(&mut self) {
        let placer = Placer::new(self);
        let mut unplaced = Vec::new();
        for dev in &mut self.memory_devices {
            let place = placer.place(dev, &mut unplaced);
            dev.socket = place.socket;
            dev.channel = place.channel;
        }
        self.notes.extend(unplaced_note(&unplaced));
        if unplaced.is_empty() {
            self.channels_populated_per_socket = channels_per_socket(&self.memory_devices);
        }
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A DIMM counted for channel population: installed and not Optane (PMem shares a channel with
/// a DRAM DIMM but does not make the channel's DRAM bandwidth count).
fn counts_for_channels(dev: &MemoryDevice) -> bool {
    dev.size_mib.is_some_and(|s| s > 0) && dev.technology.as_deref() != Some(names::OPTANE)
}

fn channels_per_socket(devices: &[MemoryDevice]) -> BTreeMap<String, u32> {
    let mut sockets: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for dev in devices {
        let Some(socket) = &dev.socket else { continue };
        let channels = sockets.entry(socket.clone()).or_default();
        if let (true, Some(ch)) = (counts_for_channels(dev), &dev.channel) {
            channels.insert(ch);
        }
    }
    sockets
        .into_iter()
        .map(|(s, ch)| (s, count(ch.len())))
        .collect()
}

fn unplaced_note(unplaced: &[String]) -> Option<String> {
    let example = unplaced.first()?;
    Some(format!(
        "memory channels per socket not derived: {} installed memory device(s) have locators \
         that do not name both socket and channel (e.g. {example})",
        unplaced.len()
    ))
}

/// What placing DIMM slots needs to know about the rest of the platform.
struct Placer {
    /// The only processor socket's name, for slots that name a channel but no socket.
    single_socket: Option<String>,
    /// Dell numbers slots "A1", "B3"; channels then depend on the CPU generation.
    dell: bool,
    dell_channels: Option<u32>,
    dell_cpu: Option<(u32, u32)>,
}

impl Placer {
    fn new(p: &Platform) -> Placer {
        let is_dell = |v: &Option<String>| {
            v.as_deref()
                .is_some_and(|v| v.to_ascii_lowercase().contains("dell"))
        };
        let dell_cpu = p
            .processors
            .iter()
            .filter(|c| c.populated)
            .find_map(|c| c.cpuid_signature)
            .map(names::cpu_family_model);
        let single_socket = match p.processors.as_slice() {
            [only] if !only.socket.is_empty() => Some(only.socket.clone()),
            _ => None,
        };
        Placer {
            single_socket,
            dell: is_dell(&p.system_vendor) || is_dell(&p.board_vendor),
            dell_channels: dell_cpu.and_then(|(f, m)| locator::dell_channels(f, m)),
            dell_cpu,
        }
    }

    fn place(&self, dev: &MemoryDevice, unplaced: &mut Vec<String>) -> locator::Place {
        let mut place = locator::place(&dev.locator, dev.bank_locator.as_deref());
        if let (true, None, None) = (self.dell, &place.socket, &place.channel) {
            if let Some((socket, slot)) = locator::dell_slot(&dev.locator) {
                place = locator::dell_place(socket, slot, self.dell_channels);
            }
        }
        if place.socket.is_none() {
            place.socket = self.single_socket.clone();
        }
        if counts_for_channels(dev) && (place.socket.is_none() || place.channel.is_none()) {
            unplaced.push(self.describe(dev));
        }
        place
    }

    /// How an unplaced slot is shown in the note, with the reason for Dell slot names.
    fn describe(&self, dev: &MemoryDevice) -> String {
        let bank = dev
            .bank_locator
            .as_deref()
            .map(|b| format!(" / bank \"{b}\""))
            .unwrap_or_default();
        let mut out = format!("\"{}\"{bank}", dev.locator);
        if self.dell && locator::dell_slot(&dev.locator).is_some() {
            let cpu = self
                .dell_cpu
                .map(|(f, m)| format!("family {f} model {m}"))
                .unwrap_or_else(|| "an unknown CPU".to_string());
            out.push_str(&format!(
                "; Dell slot numbering maps to channels by CPU generation and {cpu} is not in \
                 kvmaudit's table"
            ));
        }
        out
    }
}

/// Trim an SMBIOS string and drop placeholders; control characters and undecodable bytes become
/// '.', as dmidecode prints them.
pub(crate) fn clean_string(s: &str) -> Option<String> {
    let printable: String = s
        .chars()
        .map(|c| {
            if c.is_control() || c == char::REPLACEMENT_CHARACTER {
                '.'
            } else {
                c
            }
        })
        .collect();
    let t = printable.trim();
    if t.is_empty() || t == "Not Specified" {
        None
    } else {
        Some(t.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dimm(locator: &str, size: Option<u64>) -> MemoryDevice {
        MemoryDevice {
            locator: locator.to_string(),
            size_mib: size,
            ..MemoryDevice::default()
        }
    }

    #[test]
    fn counts_distinct_populated_channels_per_socket() {
        let mut p = Platform {
            memory_devices: vec![
                dimm("CPU0_DIMM_A1", Some(32768)),
                dimm("CPU0_DIMM_A2", Some(32768)),
                dimm("CPU0_DIMM_B1", Some(32768)),
                dimm("CPU1_DIMM_A1", None),
            ],
            ..Platform::default()
        };
        p.finish();
        let want: BTreeMap<_, _> = [("CPU0".to_string(), 2), ("CPU1".to_string(), 0)].into();
        assert_eq!(p.channels_populated_per_socket, want);
        assert!(p.notes.is_empty(), "{:?}", p.notes);
    }

    #[test]
    fn unreadable_locators_give_a_note_not_a_guess() {
        let mut p = Platform {
            memory_devices: vec![
                dimm("RAM slot #0", Some(1024)),
                dimm("CPU0_DIMM_A1", Some(1)),
            ],
            ..Platform::default()
        };
        p.finish();
        assert!(p.channels_populated_per_socket.is_empty());
        assert_eq!(p.notes.len(), 1);
        assert!(p.notes[0].contains("\"RAM slot #0\""), "{:?}", p.notes);
    }

    #[test]
    fn optane_is_excluded_from_channels_but_flagged() {
        let mut pmem = dimm("CPU0_DIMM_A2", Some(131072));
        pmem.technology = Some(names::OPTANE.to_string());
        let mut p = Platform {
            memory_devices: vec![dimm("CPU0_DIMM_A1", Some(32768)), pmem],
            ..Platform::default()
        };
        p.finish();
        assert!(p.optane_present);
        assert_eq!(p.channels_populated_per_socket.get("CPU0"), Some(&1));
    }

    #[test]
    fn strings_are_trimmed_and_placeholders_dropped() {
        assert_eq!(clean_string(" 090008 "), Some("090008".to_string()));
        assert_eq!(clean_string("   "), None);
        assert_eq!(clean_string("Not Specified"), None);
        assert_eq!(clean_string("a\u{1}b\u{fffd}"), Some("a.b.".to_string()));
    }
}
