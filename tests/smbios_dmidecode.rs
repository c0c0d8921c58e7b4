//! Cross-check the SMBIOS decoder against dmidecode, an independent implementation.
//!
//! Every binary fixture is turned into a `dmidecode --dump-bin` file (dump-bin files as they are;
//! other containers get an entry point pointing at offset 0x20) and then:
//! 1. `dmidecode --from-dump FILE -s KEYWORD` and `-t 17` must agree with our binary decode on BIOS,
//!    system, processor versions and memory device sizes;
//! 2. dmidecode's full text output, parsed by our text parser, must give the same Platform as the
//!    binary decode of the same bytes (notes aside).

mod common;
mod smbios_support;

use kvmaudit::model::platform::{names, Platform};
use kvmaudit::parse::smbios::{load_path, FORMAT_DUMP_BIN, FORMAT_TEXT};
use kvmaudit::snapshot::SmbiosRaw;
use std::path::{Path, PathBuf};
use std::process::Command;

const BINARY_FIXTURES: &[&str] = &[
    "smbios/dump-bin/SuperMicro-X9DBL.bin",
    "smbios/dump-bin/Synology-RS3614xsp.bin",
    "smbios/dump-bin/VMWare.bin",
    "smbios/sysfs-pair/tables",
    "smbios/sysfs-pair/tables64",
    "smbios/sysfs-table-only/Dell-PowerEdge-R630-Dual-Xeon.dmi",
    "smbios/sysfs-table-only/HyperV.dmi",
    "smbios/sysfs-table-only/SuperMicro-Dual-Xeon.dmi",
    "smbios/windows-rsmb/jeffgerlap_3_2_0.dat",
];

/// Offset at which dmidecode --dump-bin puts the table.
const DUMP_TABLE_OFFSET: usize = 0x20;

fn sum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b))
}

/// Set the byte at `at` so that `range` sums to zero.
fn fix_checksum(buf: &mut [u8], at: usize, range: std::ops::Range<usize>) {
    buf[at] = 0;
    buf[at] = 0u8.wrapping_sub(sum(&buf[range]));
}

/// A 64-bit entry point for a table that came without one (sysfs table only, RSMB).
fn synthetic_sm3(major: u8, minor: u8, docrev: u8, table_len: usize) -> Vec<u8> {
    let mut ep = b"_SM3_\0\x18".to_vec();
    ep.extend_from_slice(&[major, minor, docrev, 1, 0]);
    ep.extend_from_slice(&(table_len as u32).to_le_bytes());
    ep.extend_from_slice(&(DUMP_TABLE_OFFSET as u64).to_le_bytes());
    fix_checksum(&mut ep, 5, 0..0x18);
    ep
}

/// The entry point of `raw`, rewritten the way dmidecode --dump-bin does: table at 0x20.
fn dump_entry_point(raw: &SmbiosRaw, table_len: usize) -> Vec<u8> {
    let ep = raw.entry_point.as_ref().map(|h| h.0.clone());
    match ep {
        Some(mut ep) if ep.starts_with(b"_SM3_") => {
            ep[0x10..0x18].copy_from_slice(&(DUMP_TABLE_OFFSET as u64).to_le_bytes());
            let len = ep.len();
            fix_checksum(&mut ep, 5, 0..len);
            ep
        }
        Some(mut ep) if ep.starts_with(b"_SM_") => {
            ep[0x18..0x1C].copy_from_slice(&(DUMP_TABLE_OFFSET as u32).to_le_bytes());
            fix_checksum(&mut ep, 0x15, 0x10..0x1F);
            let len = ep.len();
            fix_checksum(&mut ep, 4, 0..len);
            ep
        }
        // RSMB header: major, minor, DMI revision at bytes 1..4.
        Some(h) if raw.format == "rsmb" => synthetic_sm3(h[1], h[2], h[3], table_len),
        _ => synthetic_sm3(3, 0, 0, table_len),
    }
}

/// Write `raw` as a dump-bin file and return its path (kept alive by the TempDir).
fn write_dump(raw: &SmbiosRaw, original: &Path, dir: &tempfile::TempDir) -> PathBuf {
    let out = dir.path().join("dump.bin");
    if raw.format == FORMAT_DUMP_BIN {
        std::fs::copy(original, &out).unwrap();
        return out;
    }
    let table = &raw.table.as_ref().expect("binary fixture").0;
    let mut bytes = dump_entry_point(raw, table.len());
    bytes.resize(DUMP_TABLE_OFFSET, 0);
    bytes.extend_from_slice(table);
    std::fs::write(&out, bytes).unwrap();
    out
}

fn dmidecode(dump: &Path, args: &[&str]) -> String {
    let out = Command::new("dmidecode")
        .arg("--from-dump")
        .arg(dump)
        .args(args)
        .output()
        .expect("run dmidecode");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `dmidecode -s KEYWORD` lines, trimmed; dmidecode prints nothing for a missing structure.
fn keyword(dump: &Path, kw: &str) -> Vec<String> {
    dmidecode(dump, &["-s", kw])
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

/// "Size:" values of `dmidecode -t 17` as MiB (None for "No Module Installed" / "Unknown").
fn memory_sizes(dump: &Path) -> Vec<Option<u64>> {
    dmidecode(dump, &["-t", "17"])
        .lines()
        .filter_map(|l| l.strip_prefix("\tSize: "))
        .map(|v| {
            let mut w = v.split_whitespace();
            let n: u64 = w.next()?.parse().ok()?;
            match w.next()? {
                "kB" => Some(n / 1024),
                "MB" => Some(n),
                "GB" => Some(n * 1024),
                "TB" => Some(n * 1024 * 1024),
                _ => None,
            }
        })
        .collect()
}

/// How dmidecode -s prints one of our strings: an absent string is "Not Specified".
fn shown(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "Not Specified".to_string())
}

/// Every binary input: the fixtures plus the hand-built SMBIOS 3.3 table (written into `dir`).
fn inputs(dir: &tempfile::TempDir) -> Vec<(String, PathBuf)> {
    let synthetic = dir.path().join("synthetic.bin");
    std::fs::write(&synthetic, smbios_support::dump_bin()).unwrap();
    BINARY_FIXTURES
        .iter()
        .map(|rel| (rel.to_string(), common::fixture(rel)))
        .chain([("synthetic SMBIOS 3.3".to_string(), synthetic)])
        .collect()
}

/// Load an input and turn it into a dump-bin file dmidecode can read.
fn load(path: &Path, dir: &tempfile::TempDir) -> (SmbiosRaw, Platform, PathBuf) {
    let raw = load_path(path).unwrap_or_else(|e| panic!("{e}"));
    let p = Platform::from_smbios(&raw);
    // For the sysfs pair the file to copy is the table; for everything else the path itself.
    let original = if path.is_dir() {
        path.join("DMI")
    } else {
        path.to_path_buf()
    };
    let dump = write_dump(&raw, &original, dir);
    (raw, p, dump)
}

#[test]
fn dmidecode_keywords_agree_with_binary_decode() {
    if !common::require_tool("dmidecode") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (rel, path) in inputs(&dir) {
        let (_, p, dump) = load(&path, &dir);
        let one = |kw: &str| keyword(&dump, kw).into_iter().next().unwrap_or_default();
        assert_eq!(
            one("bios-vendor"),
            shown(&p.bios_vendor),
            "{rel}: bios-vendor"
        );
        assert_eq!(
            one("bios-version"),
            shown(&p.bios_version),
            "{rel}: bios-version"
        );
        assert_eq!(
            one("system-manufacturer"),
            shown(&p.system_vendor),
            "{rel}: system-manufacturer"
        );
        assert_eq!(
            one("system-product-name"),
            shown(&p.system_product),
            "{rel}: system-product-name"
        );
        let ours: Vec<String> = p.processors.iter().map(|c| shown(&c.version)).collect();
        assert_eq!(
            keyword(&dump, "processor-version"),
            ours,
            "{rel}: processor-version"
        );
        let sizes: Vec<Option<u64>> = p.memory_devices.iter().map(|m| m.size_mib).collect();
        assert_eq!(memory_sizes(&dump), sizes, "{rel}: memory sizes");
    }
}

/// Notes differ by design (dmidecode words its complaints differently), and a dump made for a
/// table without entry point carries a synthetic version; leave both out of the comparison.
fn comparable(mut p: Platform, version_is_real: bool) -> Platform {
    p.notes.clear();
    if !version_is_real {
        p.smbios_version = None;
    }
    p
}

/// Family codes we have no name for are "family code 0x.." on our side and dmidecode's name on
/// the other: compare those processors without the family.
fn drop_unnamed_families(binary: &mut Platform, text: &mut Platform) {
    for (b, t) in binary.processors.iter_mut().zip(text.processors.iter_mut()) {
        if b.family.as_deref().is_some_and(names::is_unnamed_family) {
            b.family = None;
            t.family = None;
        }
    }
}

/// Parse dmidecode's text for every input (`extra` are its options) and compare with the
/// binary decode of the same bytes, device by device first for readable failures.
fn assert_text_matches_binary(extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    for (rel, path) in inputs(&dir) {
        let (raw, binary, dump) = load(&path, &dir);
        let text = dmidecode(&dump, extra);
        let parsed = kvmaudit::parse::smbios::parse(text.as_bytes(), None).unwrap();
        assert_eq!(parsed.format, FORMAT_TEXT, "{rel}");
        // dmidecode -q prints no "SMBIOS x.y present." line.
        let version_is_real = raw.entry_point.is_some() && extra.is_empty();
        let mut binary_cmp = comparable(binary, version_is_real);
        let mut text_cmp = comparable(Platform::from_smbios(&parsed), version_is_real);
        drop_unnamed_families(&mut binary_cmp, &mut text_cmp);
        if !extra.is_empty() {
            drop_undisplayed_ids(&mut binary_cmp, &text_cmp);
        }
        assert_eq!(
            text_cmp.memory_devices.len(),
            binary_cmp.memory_devices.len(),
            "{rel}: memory device count"
        );
        for (t, b) in text_cmp
            .memory_devices
            .iter()
            .zip(&binary_cmp.memory_devices)
        {
            assert_eq!(t, b, "{rel}: memory device");
        }
        for (t, b) in text_cmp.processors.iter().zip(&binary_cmp.processors) {
            assert_eq!(t, b, "{rel}: processor");
        }
        text_cmp.memory_devices.clear();
        binary_cmp.memory_devices.clear();
        assert_eq!(text_cmp, binary_cmp, "{rel}: platform");
    }
}

/// `dmidecode -q` prints no raw ID, only the decoded Signature, and that only when the family
/// says x86: for "Unknown"/"Other" families the quiet text cannot carry the signature.
fn drop_undisplayed_ids(binary: &mut Platform, text: &Platform) {
    for (b, t) in binary.processors.iter_mut().zip(&text.processors) {
        let vague = matches!(b.family.as_deref(), None | Some("Unknown") | Some("Other"));
        if vague && t.cpuid_signature.is_none() {
            b.cpuid_signature = None;
        }
    }
}

#[test]
fn dmidecode_text_of_a_table_parses_to_the_same_platform() {
    if !common::require_tool("dmidecode") {
        return;
    }
    assert_text_matches_binary(&[]);
}

#[test]
fn dmidecode_quiet_text_parses_to_the_same_platform() {
    if !common::require_tool("dmidecode") {
        return;
    }
    // -q drops the Handle lines: records are typed by their titles.
    assert_text_matches_binary(&["-q"]);
}
