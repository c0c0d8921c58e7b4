//! Names for SMBIOS enumerations, spelled as dmidecode prints them so that a platform decoded from
//! binary and one parsed from dmidecode text compare equal.

/// Canonical name of Memory Technology 07h; dmidecode ≤ 3.4 prints "Intel Optane DC persistent
/// memory", newer versions drop the "DC".
pub const OPTANE: &str = "Intel Optane persistent memory";

/// Type 17 Memory Type (offset 0x12), SMBIOS 3.x table 76.
pub fn memory_type(code: u8) -> Option<&'static str> {
    const NAMES: [&str; 0x24] = [
        "Other",
        "Unknown",
        "DRAM",
        "EDRAM",
        "VRAM",
        "SRAM",
        "RAM",
        "ROM",
        "Flash",
        "EEPROM",
        "FEPROM",
        "EPROM",
        "CDRAM",
        "3DRAM",
        "SDRAM",
        "SGRAM",
        "RDRAM",
        "DDR",
        "DDR2",
        "DDR2 FB-DIMM",
        "Reserved",
        "Reserved",
        "Reserved",
        "DDR3",
        "FBD2",
        "DDR4",
        "LPDDR",
        "LPDDR2",
        "LPDDR3",
        "LPDDR4",
        "Logical non-volatile device",
        "HBM",
        "HBM2",
        "DDR5",
        "LPDDR5",
        "HBM3",
    ];
    NAMES.get(usize::from(code).checked_sub(1)?).copied()
}

/// Type 17 Memory Technology (offset 0x28, SMBIOS ≥ 3.2).
pub fn memory_technology(code: u8) -> Option<&'static str> {
    match code {
        0x01 => Some("Other"),
        0x02 => Some("Unknown"),
        0x03 => Some("DRAM"),
        0x04 => Some("NVDIMM-N"),
        0x05 => Some("NVDIMM-F"),
        0x06 => Some("NVDIMM-P"),
        0x07 => Some(OPTANE),
        0x08 => Some("MRDIMM"),
        _ => None,
    }
}

/// A Memory Technology as dmidecode printed it, in the spelling [`memory_technology`] uses.
pub fn normalize_technology(text: &str) -> String {
    if text.to_ascii_lowercase().contains("optane") {
        OPTANE.to_string()
    } else {
        text.to_string()
    }
}

/// Type 4 Processor Family (offset 0x06, or Processor Family 2 at 0x28 when that is 0xFE).
/// Covers the x86 and Arm families servers and their management VMs report; anything else is
/// named by its code rather than guessed.
pub fn processor_family(code: u16) -> String {
    let name = match code {
        0x01 => "Other",
        0x02 => "Unknown",
        0x0B => "Pentium",
        0x0C => "Pentium Pro",
        0x0D => "Pentium II",
        0x0E => "Pentium MMX",
        0x0F => "Celeron",
        0x10 => "Pentium II Xeon",
        0x11 => "Pentium III",
        0x14 => "Celeron M",
        0x15 => "Pentium 4 HT",
        0x18 => "Duron",
        0x1D => "Athlon",
        0x28 => "Core Duo",
        0x29 => "Core Duo Mobile",
        0x2A => "Core Solo Mobile",
        0x2B => "Atom",
        0x2C => "Core M",
        0x2D => "Core m3",
        0x2E => "Core m5",
        0x2F => "Core m7",
        0x6B => "Zen",
        0x83 => "Athlon 64",
        0x84 => "Opteron",
        0x85 => "Sempron",
        0x86 => "Turion 64",
        0x87 => "Dual-Core Opteron",
        0x88 => "Athlon 64 X2",
        0xB0 => "Pentium III Xeon",
        0xB2 => "Pentium 4",
        0xB3 => "Xeon",
        0xB5 => "Xeon MP",
        0xB9 => "Pentium M",
        0xBA => "Celeron D",
        0xBB => "Pentium D",
        0xBD => "Core Solo",
        0xBF => "Core 2 Duo",
        0xC0 => "Core 2 Solo",
        0xC1 => "Core 2 Extreme",
        0xC2 => "Core 2 Quad",
        0xC6 => "Core i7",
        0xC7 => "Dual-Core Celeron",
        0xCD => "Core i5",
        0xCE => "Core i3",
        0xCF => "Core i9",
        0x118 => "ARMv7",
        0x119 => "ARMv8",
        _ => return format!("family code {code:#04x}"),
    };
    name.to_string()
}

/// True when [`processor_family`] had no name for the code.
pub fn is_unnamed_family(name: &str) -> bool {
    name.starts_with("family code ")
}

/// Display family and model from CPUID.1:EAX (the type 4 Processor ID's first dword).
pub fn cpu_family_model(eax: u32) -> (u32, u32) {
    let base_family = (eax >> 8) & 0xF;
    let mut model = (eax >> 4) & 0xF;
    let mut family = base_family;
    if base_family == 0x6 || base_family == 0xF {
        model |= ((eax >> 16) & 0xF) << 4;
    }
    if base_family == 0xF {
        family += (eax >> 20) & 0xFF;
    }
    (family, model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_one_based_and_bounded() {
        assert_eq!(memory_type(0), None);
        assert_eq!(memory_type(0x1A), Some("DDR4"));
        assert_eq!(memory_type(0x22), Some("DDR5"));
        assert_eq!(memory_type(0xFF), None);
        assert_eq!(memory_technology(7), Some(OPTANE));
        assert_eq!(
            normalize_technology("Intel Optane DC persistent memory"),
            OPTANE
        );
        assert_eq!(processor_family(0xB3), "Xeon");
        assert!(is_unnamed_family(&processor_family(0x99)));
    }

    #[test]
    fn decodes_ice_lake_and_cooper_lake_signatures() {
        assert_eq!(cpu_family_model(0x000606A6), (6, 106));
        assert_eq!(cpu_family_model(0x0005065B), (6, 85));
        assert_eq!(cpu_family_model(0x00A00F11), (0x19, 1));
    }
}
