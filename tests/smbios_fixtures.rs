//! SMBIOS fixtures through `load_path` + `Platform::from_smbios`: expected values per file,
//! go-smbios's decode as an oracle for the raw sysfs tables, broken-table handling, errors.

mod common;
mod smbios_support;

use kvmaudit::error::Error;
use kvmaudit::model::platform::{names, Platform};
use kvmaudit::parse::smbios::{load_path, parse};
use serde_json::Value;
use std::collections::BTreeMap;

fn platform(rel: &str) -> (String, Platform) {
    let raw = load_path(&common::fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    (raw.format.clone(), Platform::from_smbios(&raw))
}

/// What a fixture must decode to.
struct Expect {
    rel: &'static str,
    format: &'static str,
    version: Option<&'static str>,
    bios: (&'static str, &'static str),
    system: (&'static str, &'static str),
    /// (total, populated)
    sockets: (u32, u32),
    cpu: Option<&'static str>,
    devices: usize,
    /// Sizes of the installed devices, MiB, in table order.
    installed: &'static [u64],
    channels: &'static [(&'static str, u32)],
}

const EXPECTED: &[Expect] = &[
    Expect {
        rel: "smbios/dump-bin/SuperMicro-X9DBL.bin",
        format: "dump-bin",
        version: Some("2.7"),
        bios: ("American Megatrends Inc.", "3.00"),
        system: ("Thomas-Krenn.AG", "X9DBL-3F/X9DBL-iF"),
        sockets: (2, 2),
        cpu: Some("Intel(R) Xeon(R) CPU E5-2403 v2 @ 1.80GHz"),
        devices: 6,
        installed: &[4096, 4096, 16384, 4096, 4096, 16384],
        channels: &[("P1", 3), ("P2", 3)],
    },
    Expect {
        rel: "smbios/dump-bin/Synology-RS3614xsp.bin",
        format: "dump-bin",
        version: Some("2.7"),
        bios: ("American Megatrends Inc.", "0.1.4"),
        system: ("Synology", "RS3614xs+"),
        sockets: (1, 1),
        cpu: Some("Intel(R) Xeon(R) CPU E3-1230 V2 @ 3.30GHz"),
        devices: 4,
        installed: &[8192, 8192, 8192, 8192],
        channels: &[("SOCKET 0", 2)],
    },
    Expect {
        rel: "smbios/dump-bin/VMWare.bin",
        format: "dump-bin",
        version: Some("2.7"),
        bios: ("Phoenix Technologies LTD", "6.00"),
        system: ("VMware, Inc.", "VMware Virtual Platform"),
        sockets: (128, 128),
        cpu: Some("Intel(R) Core(TM) i7-5500U CPU @ 2.40GHz"),
        devices: 128,
        installed: &[1024],
        channels: &[],
    },
    Expect {
        rel: "smbios/sysfs-pair/tables",
        format: "sysfs-pair",
        version: Some("2.7"),
        bios: ("LENOVO", "GJET75WW (2.25 )"),
        system: ("LENOVO", "20ARS19C0C"),
        sockets: (1, 1),
        cpu: Some("Intel(R) Core(TM) i7-4600U CPU @ 2.10GHz"),
        devices: 2,
        installed: &[4096, 8192],
        channels: &[("CPU Socket - U3E1", 2)],
    },
    Expect {
        rel: "smbios/sysfs-pair/tables64",
        format: "sysfs-pair",
        version: Some("3.0.0"),
        bios: ("Dell Inc.", "99.01.21"),
        system: ("Dell Inc.", "XPS 13 9365"),
        sockets: (1, 1),
        cpu: Some("Intel(R) Core(TM) i7-7Y75 CPU @ 1.30GHz"),
        devices: 2,
        installed: &[8192, 8192],
        channels: &[],
    },
    Expect {
        rel: "smbios/sysfs-table-only/Dell-PowerEdge-R630-Dual-Xeon.dmi",
        format: "sysfs-table",
        version: None,
        bios: ("Dell Inc.", "2.3.4"),
        system: ("Dell Inc.", "PowerEdge R630"),
        sockets: (2, 1),
        cpu: Some("Intel(R) Xeon(R) CPU E5-2630 v3 @ 2.40GHz"),
        devices: 24,
        installed: &[16384, 16384],
        // A3 and A4 on a Haswell-EP (4 channels): channels 2 and 3 of CPU1; CPU2 is empty.
        channels: &[("CPU1", 2), ("CPU2", 0)],
    },
    Expect {
        rel: "smbios/sysfs-table-only/SuperMicro-Dual-Xeon.dmi",
        format: "sysfs-table",
        version: None,
        bios: ("American Megatrends Inc.", "3.0c"),
        system: ("Supermicro", "SYS-1027R-WRF"),
        sockets: (2, 2),
        cpu: Some("Intel(R) Xeon(R) CPU E5-2650 v2 @ 2.60GHz"),
        devices: 16,
        installed: &[4096; 16],
        channels: &[("P1", 4), ("P2", 4)],
    },
    Expect {
        rel: "smbios/windows-rsmb/jeffgerlap_3_2_0.dat",
        format: "rsmb",
        version: Some("3.2.0"),
        bios: ("Microsoft Corporation", "1.2238.140"),
        system: ("Microsoft Corporation", "Surface Laptop 3"),
        sockets: (1, 1),
        cpu: Some("AMD Ryzen 7 Microsoft Surface (R) Edition"),
        devices: 2,
        installed: &[8192, 8192],
        channels: &[("P0", 2)],
    },
    Expect {
        rel: "smbios/dmidecode-text/Intel_M50CYP2SBSTD_D50FC48A745B.txt",
        format: "dmidecode-text",
        version: Some("3.3.0"),
        bios: ("Intel Corporation", "SE5C620.86B.01.01.0007.2210270543"),
        system: ("Intel Corporation", "M50CYP2SBSTD"),
        sockets: (2, 2),
        cpu: Some("Intel(R) Xeon(R) Gold 6326 CPU @ 2.90GHz"),
        devices: 32,
        installed: &[32768; 8],
        channels: &[("CPU0", 4), ("CPU1", 4)],
    },
    Expect {
        rel: "smbios/dmidecode-text/Dell_PowerEdge-R750_369267D116AD.txt",
        format: "dmidecode-text",
        version: Some("3.3.0"),
        bios: ("Dell Inc.", "1.7.4"),
        system: ("Dell Inc.", "PowerEdge R750"),
        sockets: (2, 2),
        cpu: Some("Intel(R) Xeon(R) Gold 6342 CPU @ 2.80GHz"),
        devices: 32,
        installed: &[16384; 16],
        // A1–A8 / B1–B8 on Ice Lake-SP: all eight channels of each socket.
        channels: &[("CPU1", 8), ("CPU2", 8)],
    },
    Expect {
        rel: "smbios/dmidecode-text/Intel_M70KLP2SB-M90598-001_3735307E5C03.txt",
        format: "dmidecode-text",
        version: Some("3.3.0"),
        bios: (
            "American Megatrends International, LLC.",
            "SE5C620.86B.01.04.0022.042220210952",
        ),
        system: ("Intel Corporation", "M70KLP2SB M90598-001"),
        sockets: (4, 4),
        cpu: Some("Intel(R) Xeon(R) Gold 6330H CPU @ 2.00GHz"),
        devices: 48,
        installed: &[65536; 48],
        channels: &[("CPU0", 6), ("CPU1", 6), ("CPU2", 6), ("CPU3", 6)],
    },
];

#[test]
fn fixtures_decode_to_expected_values() {
    for e in EXPECTED {
        let (format, p) = platform(e.rel);
        let r = e.rel;
        assert_eq!(format, e.format, "{r}");
        assert_eq!(p.smbios_version.as_deref(), e.version, "{r}");
        let bios = (p.bios_vendor.as_deref(), p.bios_version.as_deref());
        assert_eq!(bios, (Some(e.bios.0), Some(e.bios.1)), "{r}");
        let sys = (p.system_vendor.as_deref(), p.system_product.as_deref());
        assert_eq!(sys, (Some(e.system.0), Some(e.system.1)), "{r}");
        assert_eq!((p.sockets_total, p.sockets_populated), e.sockets, "{r}");
        let first = p.processors.first().and_then(|c| c.version.as_deref());
        assert_eq!(first, e.cpu, "{r}");
        assert_eq!(p.memory_devices.len(), e.devices, "{r}");
        let installed: Vec<u64> = p.memory_devices.iter().filter_map(|m| m.size_mib).collect();
        assert_eq!(installed, e.installed, "{r}");
        let channels: BTreeMap<String, u32> = e
            .channels
            .iter()
            .map(|(s, n)| (s.to_string(), *n))
            .collect();
        assert_eq!(p.channels_populated_per_socket, channels, "{r}");
        assert!(!p.optane_present, "{r}");
    }
}

#[test]
fn ice_lake_and_cooper_lake_text_dumps_name_every_socket() {
    let cases = [
        (
            "Intel_M50CYP2SBSTD_D50FC48A745B.txt",
            2,
            "Intel(R) Xeon(R) Gold 6326",
            0x606A6,
        ),
        (
            "Dell_PowerEdge-R750_369267D116AD.txt",
            2,
            "Intel(R) Xeon(R) Gold 6342",
            0x606A6,
        ),
        (
            "Intel_M70KLP2SB-M90598-001_3735307E5C03.txt",
            4,
            "Intel(R) Xeon(R) Gold 6330H",
            0x5065B,
        ),
    ];
    for (file, sockets, brand, eax) in cases {
        let (_, p) = platform(&format!("smbios/dmidecode-text/{file}"));
        assert_eq!(p.processors.len(), sockets, "{file}");
        for c in &p.processors {
            assert!(c.populated, "{file}");
            let v = c.version.as_deref().unwrap_or_default();
            assert!(v.starts_with(brand), "{file}: {v}");
            assert_eq!(c.cpuid_signature, Some(eax), "{file}");
            assert_eq!(c.family.as_deref(), Some("Xeon"), "{file}");
        }
        // These complete dumps end with the end-of-table record: no notes.
        assert!(p.notes.is_empty(), "{file}: {:?}", p.notes);
    }
}

#[test]
fn dell_r630_second_socket_is_empty() {
    let (_, p) = platform("smbios/sysfs-table-only/Dell-PowerEdge-R630-Dual-Xeon.dmi");
    let cpu2 = &p.processors[1];
    assert_eq!(cpu2.socket, "CPU2");
    assert!(!cpu2.populated);
    assert_eq!(cpu2.version, None);
    assert_eq!(cpu2.cpuid_signature, None);
    let a3 = p.memory_devices.iter().find(|m| m.locator == "A3").unwrap();
    assert_eq!(
        (a3.socket.as_deref(), a3.channel.as_deref()),
        (Some("CPU1"), Some("2"))
    );
}

#[test]
fn hyperv_broken_table_keeps_valid_structures_and_says_truncated() {
    let (format, p) = platform("smbios/sysfs-table-only/HyperV.dmi");
    assert_eq!(format, "sysfs-table");
    assert_eq!(p.bios_vendor.as_deref(), Some("American Megatrends Inc."));
    assert_eq!(p.bios_version.as_deref(), Some("090008"), "trimmed");
    assert_eq!(p.system_product.as_deref(), Some("Virtual Machine"));
    assert_eq!(p.board_vendor.as_deref(), Some("Microsoft Corporation"));
    let truncated: Vec<_> = p
        .notes
        .iter()
        .filter(|n| n.contains("table truncated"))
        .collect();
    assert_eq!(truncated.len(), 1, "{:?}", p.notes);
    assert!(
        truncated[0].starts_with("table truncated at offset 478: "),
        "{}",
        truncated[0]
    );
    assert!(
        p.notes.iter().any(|n| n.contains("no end-of-table")),
        "{:?}",
        p.notes
    );
}

#[test]
fn intact_binary_tables_carry_no_table_notes() {
    for rel in [
        "smbios/dump-bin/SuperMicro-X9DBL.bin",
        "smbios/sysfs-pair/tables",
        "smbios/sysfs-pair/tables64",
        "smbios/windows-rsmb/jeffgerlap_3_2_0.dat",
    ] {
        let (_, p) = platform(rel);
        let table_notes: Vec<_> = p
            .notes
            .iter()
            .filter(|n| {
                n.contains("table") || n.contains("entry point") || n.contains("structures")
            })
            .collect();
        assert!(table_notes.is_empty(), "{rel}: {table_notes:?}");
    }
}

/// go-smbios's string fields, trimmed like ours; "" → None.
fn oracle_str(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// go-smbios keeps the raw Size word and Extended Size; decode them the way the spec says.
fn oracle_size(m: &Value) -> Option<u64> {
    let size = m["Size"].as_u64()?;
    match size {
        0 | 0xFFFF => None,
        0x7FFF => m["ExtendedSize"].as_u64().map(|e| e & 0x7FFF_FFFF),
        s if s & 0x8000 != 0 => Some((s & 0x7FFF) / 1024),
        s => Some(s),
    }
}

#[test]
fn sysfs_tables_agree_with_go_smbios_oracle() {
    for name in [
        "Dell-PowerEdge-R630-Dual-Xeon",
        "SuperMicro-Dual-Xeon",
        "HyperV",
    ] {
        let json = std::fs::read_to_string(common::fixture(&format!(
            "smbios/sysfs-table-only/{name}.json"
        )))
        .unwrap();
        let o: Value = serde_json::from_str(&json).unwrap();
        let (_, p) = platform(&format!("smbios/sysfs-table-only/{name}.dmi"));
        let bios = &o["BIOSInformation"];
        assert_eq!(p.bios_vendor, oracle_str(&bios["Vendor"]), "{name}");
        assert_eq!(p.bios_version, oracle_str(&bios["Version"]), "{name}");
        assert_eq!(p.bios_date, oracle_str(&bios["ReleaseDate"]), "{name}");
        let sys = &o["SystemInformation"];
        assert_eq!(p.system_vendor, oracle_str(&sys["Manufacturer"]), "{name}");
        assert_eq!(p.system_product, oracle_str(&sys["ProductName"]), "{name}");
        // The host identity the report and the fleet use (go-smbios prints it lowercase).
        assert_eq!(p.system_uuid, oracle_str(&sys["UUID"]), "{name}");
        assert!(p.system_uuid.is_some(), "{name}");
        let board = &o["BaseboardInformation"];
        assert_eq!(p.board_vendor, oracle_str(&board["Manufacturer"]), "{name}");
        assert_eq!(p.board_product, oracle_str(&board["Product"]), "{name}");

        let cpus = o["ProcessorInformation"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(p.processors.len(), cpus.len(), "{name}");
        for (ours, theirs) in p.processors.iter().zip(&cpus) {
            let status = theirs["Status"].as_u64().unwrap_or(0);
            assert_eq!(
                Some(ours.socket.clone()),
                oracle_str(&theirs["SocketDesignation"])
            );
            assert_eq!(
                ours.version,
                oracle_str(&theirs["ProcessorVersion"]),
                "{name}"
            );
            assert_eq!(ours.populated, status & 0x40 != 0, "{name}");
            let n = |k: &str| theirs[k].as_u64().filter(|v| *v > 0).map(|v| v as u32);
            assert_eq!(ours.core_count, n("CoreCount"), "{name}");
            assert_eq!(ours.thread_count, n("ThreadCount"), "{name}");
            assert_eq!(ours.max_speed_mhz, n("MaxSpeed"), "{name}");
            assert_eq!(ours.current_speed_mhz, n("CurrentSpeed"), "{name}");
        }

        let dimms = o["MemoryDevices"].as_array().cloned().unwrap_or_default();
        assert_eq!(p.memory_devices.len(), dimms.len(), "{name}");
        for (ours, theirs) in p.memory_devices.iter().zip(&dimms) {
            assert_eq!(
                Some(ours.locator.clone()),
                oracle_str(&theirs["DeviceLocator"])
            );
            assert_eq!(
                ours.bank_locator,
                oracle_str(&theirs["BankLocator"]),
                "{name}"
            );
            assert_eq!(
                ours.size_mib,
                oracle_size(theirs),
                "{name} {}",
                ours.locator
            );
            if ours.size_mib.is_some() {
                let n = |k: &str| theirs[k].as_u64().filter(|v| *v > 0).map(|v| v as u32);
                assert_eq!(ours.speed_mts, n("Speed"), "{name}");
                assert_eq!(
                    ours.configured_speed_mts,
                    n("ConfiguredMemorySpeed"),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn synthetic_table_covers_extended_size_optane_and_core_count_2() {
    let raw = parse(&smbios_support::dump_bin(), None).unwrap();
    assert_eq!(raw.format, "dump-bin");
    let p = Platform::from_smbios(&raw);
    assert_eq!(p.smbios_version.as_deref(), Some("3.3.0"));
    assert_eq!(
        p.bios_vendor.as_deref(),
        Some("Contoso BIOS"),
        "trailing blank trimmed"
    );
    assert_eq!(
        p.bios_version.as_deref(),
        Some("1.2.3"),
        "leading blank trimmed"
    );
    assert_eq!((p.sockets_total, p.sockets_populated), (2, 1));
    let cpu = &p.processors[0];
    assert_eq!(
        (cpu.core_count, cpu.core_enabled, cpu.thread_count),
        (Some(300), Some(300), Some(600))
    );
    assert_eq!(cpu.cpuid_signature, Some(0x000606A6));
    let sizes: Vec<_> = p.memory_devices.iter().map(|m| m.size_mib).collect();
    assert_eq!(sizes, vec![Some(65536), Some(131072), None]);
    let dram = &p.memory_devices[0];
    assert_eq!(dram.technology.as_deref(), Some("DRAM"));
    assert_eq!(dram.volatile_size, Some(64 << 30));
    let pmem = &p.memory_devices[1];
    assert_eq!(pmem.technology.as_deref(), Some(names::OPTANE));
    assert_eq!(
        (pmem.volatile_size, pmem.non_volatile_size),
        (Some(0), Some(128 << 30))
    );
    assert!(p.optane_present);
    // The Optane module shares channel A with the DRAM DIMM and is not counted on its own.
    let want: BTreeMap<String, u32> = [("CPU0".into(), 1), ("CPU1".into(), 0)].into();
    assert_eq!(p.channels_populated_per_socket, want);
    assert!(p.notes.is_empty(), "{:?}", p.notes);
}

#[test]
fn optane_in_dmidecode_text_sets_optane_present() {
    let text = "# dmidecode 3.3\nSMBIOS 3.3.0 present.\n\nHandle 0x0030, DMI type 17, 92 bytes\n\
Memory Device\n\tSize: 128 GB\n\tLocator: CPU1_DIMM_A2\n\tBank Locator: NODE 1\n\tType: Logical \
non-volatile device\n\tMemory Technology: Intel Optane DC persistent memory\n\tNon-Volatile Size: \
126 GB\n\tVolatile Size: None\n\nHandle 0xFEFF, DMI type 127, 4 bytes\nEnd Of Table\n";
    let p = Platform::from_smbios(&parse(text.as_bytes(), None).unwrap());
    assert!(p.optane_present);
    let m = &p.memory_devices[0];
    assert_eq!(m.technology.as_deref(), Some(names::OPTANE));
    assert_eq!(m.non_volatile_size, Some(126 << 30));
    assert_eq!(
        m.memory_type.as_deref(),
        Some("Logical non-volatile device")
    );
}

#[test]
fn sysfs_pair_loads_from_the_directory_and_from_the_dmi_file() {
    let dir = common::fixture("smbios/sysfs-pair/tables64");
    let by_dir = load_path(&dir).unwrap();
    let by_file = load_path(&dir.join("DMI")).unwrap();
    assert_eq!(by_dir, by_file);
    assert_eq!(by_dir.format, "sysfs-pair");
    assert_eq!(by_dir.entry_point.as_ref().map(|e| e.0.len()), Some(24));
    // Without its sibling the same table is a bare sysfs table.
    let tmp = tempfile::tempdir().unwrap();
    let alone = tmp.path().join("DMI");
    std::fs::copy(dir.join("DMI"), &alone).unwrap();
    let raw = load_path(&alone).unwrap();
    assert_eq!(raw.format, "sysfs-table");
    assert_eq!(raw.table, by_dir.table);
}

#[test]
fn errors_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.bin");
    match load_path(&missing) {
        Err(e @ Error::Read { .. }) => assert!(e.to_string().contains("nope.bin"), "{e}"),
        other => panic!("{other:?}"),
    }
    let junk = tmp.path().join("junk.bin");
    std::fs::write(&junk, [0u8, 1, 2, 3, 4, 5, 6, 7]).unwrap();
    let e = load_path(&junk).unwrap_err();
    assert!(matches!(e, Error::Parse { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("junk.bin") && msg.contains("not SMBIOS"),
        "{msg}"
    );
    // The entry point file alone is explained, not mistaken for a table.
    let ep = common::fixture("smbios/sysfs-pair/tables/smbios_entry_point");
    let msg = load_path(&ep).unwrap_err().to_string();
    assert!(
        msg.contains("smbios_entry_point") && msg.contains("alone"),
        "{msg}"
    );
    // A bad entry point next to a good table is blamed on the entry point.
    let pair = tmp.path().join("pair");
    std::fs::create_dir(&pair).unwrap();
    std::fs::copy(
        common::fixture("smbios/sysfs-pair/tables/DMI"),
        pair.join("DMI"),
    )
    .unwrap();
    std::fs::write(pair.join("smbios_entry_point"), b"garbage").unwrap();
    let msg = load_path(&pair).unwrap_err().to_string();
    assert!(
        msg.contains("pair/smbios_entry_point") && msg.contains("anchor"),
        "{msg}"
    );
}

#[test]
fn system_uuid_from_dmidecode_text_is_lowercased_and_placeholders_are_unknown() {
    let rel = "smbios/dmidecode-text/Dell_PowerEdge-R750_369267D116AD.txt";
    let text = std::fs::read_to_string(common::fixture(rel)).unwrap();
    // The fixture's UUID is redacted ("--"): unknown, not an identity.
    assert_eq!(platform(rel).1.system_uuid, None);
    let with = |uuid: &str| {
        let t = text.replacen("\tUUID: --", &format!("\tUUID: {uuid}"), 1);
        assert_ne!(t, text);
        Platform::from_smbios(&parse(t.as_bytes(), None).unwrap()).system_uuid
    };
    assert_eq!(
        with("4C4C4544-0037-3010-8052-B4C04F4E4D32").as_deref(),
        Some("4c4c4544-0037-3010-8052-b4c04f4e4d32")
    );
    for placeholder in [
        "Not Settable",
        "Not Present",
        "00000000-0000-0000-0000-000000000000",
        "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
    ] {
        assert_eq!(with(placeholder), None, "{placeholder}");
    }
}

#[test]
fn binary_tables_give_the_system_uuid_in_the_kernels_spelling() {
    // SMBIOS 2.7: the first three fields little-endian, as /sys/class/dmi/id/product_uuid
    // and dmidecode print them.
    let (_, p) = platform("smbios/dump-bin/VMWare.bin");
    assert_eq!(
        p.system_uuid.as_deref(),
        Some("c3e24d56-c0c3-e2e1-4622-554dc5eb6ba1")
    );
}
