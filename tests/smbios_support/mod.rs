//! A hand-built SMBIOS 3.3 table for what the real fixtures lack: DIMMs of 32 GiB and more
//! (Extended Size), Intel Optane PMem (Memory Technology 07h), Core Count 2 (≥ 256 cores).
#![allow(dead_code)]

/// One structure: formatted area (header included) + strings.
fn structure(kind: u8, handle: u16, fields: &[u8], strings: &[&str]) -> Vec<u8> {
    let len = u8::try_from(4 + fields.len()).expect("formatted area fits a byte");
    let mut s = vec![kind, len];
    s.extend_from_slice(&handle.to_le_bytes());
    s.extend_from_slice(fields);
    for st in strings {
        s.extend_from_slice(st.as_bytes());
        s.push(0);
    }
    if strings.is_empty() {
        s.push(0);
    }
    s.push(0);
    s
}

fn bios() -> Vec<u8> {
    // vendor=1, version=2, segment, date=3, ROM size, characteristics (8 bytes).
    let mut f = vec![1, 2, 0x00, 0xE8, 3, 0xFF];
    f.extend_from_slice(&[0; 8]);
    structure(0, 0, &f, &["Contoso BIOS ", " 1.2.3", "01/02/2023"])
}

fn system() -> Vec<u8> {
    // manufacturer=1, product=2, version=0, serial=0, UUID, wake-up, SKU=0, family=0.
    let mut f = vec![1, 2, 0, 0];
    f.extend_from_slice(&[0x11; 16]);
    f.extend_from_slice(&[6, 0, 0]);
    structure(1, 1, &f, &["Contoso", "Hypervisor Host 9000"])
}

fn board() -> Vec<u8> {
    structure(2, 2, &[1, 2, 0, 0], &["Contoso", "HB-1"])
}

/// A processor in socket `socket` (string 1); `version` None = empty socket (status 0).
fn processor(handle: u16, socket: &str, version: Option<&str>) -> Vec<u8> {
    let populated = version.is_some();
    let mut f = vec![1, 3, 0xB3, if populated { 2 } else { 0 }];
    let id: [u8; 8] = if populated {
        [0xA6, 0x06, 0x06, 0x00, 0xFF, 0xFB, 0xEB, 0xBF]
    } else {
        [0; 8]
    };
    f.extend_from_slice(&id);
    f.push(if populated { 3 } else { 0 }); // version string
    f.push(0); // voltage
    f.extend_from_slice(&100u16.to_le_bytes()); // external clock
    f.extend_from_slice(&4000u16.to_le_bytes()); // max speed
    f.extend_from_slice(&(if populated { 2800u16 } else { 0 }).to_le_bytes());
    f.push(if populated { 0x41 } else { 0 }); // status: populated, enabled
    f.push(0x01); // upgrade
    f.extend_from_slice(&[0xFF; 6]); // cache handles
    f.extend_from_slice(&[0, 0, 0]); // serial, asset tag, part number
                                     // Core Count / Enabled / Thread Count 0xFF: see the 16-bit fields at 0x2A–0x2F.
    let (cores, threads) = if populated { (300u16, 600u16) } else { (0, 0) };
    let marker = if populated { 0xFF } else { 0 };
    f.extend_from_slice(&[marker, marker, marker]);
    f.extend_from_slice(&0x00FCu16.to_le_bytes()); // characteristics
    f.extend_from_slice(&0x00B3u16.to_le_bytes()); // family 2
    f.extend_from_slice(&cores.to_le_bytes());
    f.extend_from_slice(&cores.to_le_bytes());
    f.extend_from_slice(&threads.to_le_bytes());
    let mut strings = vec![socket, "Intel(R) Corporation"];
    if let Some(v) = version {
        strings.push(v);
    }
    structure(4, handle, &f, &strings)
}

/// A type 17 device of SMBIOS 3.3 length (0x5C). `size_mib` 0 = empty slot.
fn memory(handle: u16, locator: &str, size_mib: u32, technology: u8, persistent: bool) -> Vec<u8> {
    let installed = size_mib > 0;
    let mut f = Vec::new();
    f.extend_from_slice(&0x1000u16.to_le_bytes()); // array handle
    f.extend_from_slice(&0xFFFEu16.to_le_bytes()); // error handle
    f.extend_from_slice(&72u16.to_le_bytes());
    f.extend_from_slice(&64u16.to_le_bytes());
    // Sizes of 32 GiB and more: 0x7FFF here and the size in Extended Size.
    let size_field: u16 = if size_mib >= 32 * 1024 {
        0x7FFF
    } else {
        size_mib as u16
    };
    f.extend_from_slice(&size_field.to_le_bytes());
    f.extend_from_slice(&[0x09, 0, 1, 2]); // DIMM, set, locator=1, bank=2
    f.push(if installed { 0x1A } else { 0x02 }); // DDR4 / Unknown
    f.extend_from_slice(&0x2080u16.to_le_bytes()); // type detail
    f.extend_from_slice(&(if installed { 3200u16 } else { 0 }).to_le_bytes());
    f.extend_from_slice(&[0, 0, 0, 0, if installed { 2 } else { 0 }]);
    let ext = if size_field == 0x7FFF { size_mib } else { 0 };
    f.extend_from_slice(&ext.to_le_bytes());
    f.extend_from_slice(&(if installed { 2933u16 } else { 0 }).to_le_bytes());
    f.extend_from_slice(&[0; 6]); // voltages
    f.push(if installed { technology } else { 0 });
    f.extend_from_slice(&[0; 3]); // operating mode capability, firmware version string
    f.extend_from_slice(&[0; 8]); // module / controller ids
    let bytes = u64::from(size_mib) << 20;
    let (nv, v) = if persistent { (bytes, 0) } else { (0, bytes) };
    f.extend_from_slice(&nv.to_le_bytes());
    f.extend_from_slice(&v.to_le_bytes());
    f.extend_from_slice(&[0; 16]); // cache size, logical size
    f.extend_from_slice(&[0; 8]); // extended speeds
    assert_eq!(f.len() + 4, 0x5C);
    let strings = [locator, "NODE 0"];
    structure(17, handle, &f, &strings)
}

/// The table: two sockets (second empty), a 64 GiB DIMM and a 128 GiB Optane module on CPU0
/// channel A, an empty CPU1 slot, end of table.
pub fn table() -> Vec<u8> {
    let mut t = Vec::new();
    t.extend(bios());
    t.extend(system());
    t.extend(board());
    t.extend(processor(
        0x40,
        "CPU0",
        Some("Intel(R) Xeon(R) Platinum 9999 CPU @ 2.00GHz"),
    ));
    t.extend(processor(0x41, "CPU1", None));
    t.extend(memory(0x1100, "CPU0_DIMM_A1", 64 * 1024, 0x03, false));
    t.extend(memory(0x1101, "CPU0_DIMM_A2", 128 * 1024, 0x07, true));
    t.extend(memory(0x1102, "CPU1_DIMM_A1", 0, 0, false));
    t.extend(structure(127, 0xFEFF, &[], &[]));
    t
}

/// `table()` in a `dmidecode --dump-bin` container: SMBIOS 3.3.0 entry point, table at 0x20.
pub fn dump_bin() -> Vec<u8> {
    let table = table();
    let mut ep = b"_SM3_\0\x18\x03\x03\x00\x01\x00".to_vec();
    ep.extend_from_slice(&(table.len() as u32).to_le_bytes());
    ep.extend_from_slice(&0x20u64.to_le_bytes());
    let sum = ep.iter().fold(0u8, |a, b| a.wrapping_add(*b));
    ep[5] = 0u8.wrapping_sub(sum);
    ep.resize(0x20, 0);
    ep.extend_from_slice(&table);
    ep
}
