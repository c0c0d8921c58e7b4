//! Damaged SMBIOS input never panics: truncations, byte flips and random bytes of every fixture
//! container (and dmidecode text) go through `parse` and `Platform::from_smbios`.

mod common;
mod smbios_support;

use kvmaudit::model::platform::Platform;
use kvmaudit::parse::smbios::parse;
use kvmaudit::snapshot::{HexBytes, SmbiosRaw};
use proptest::prelude::*;
use proptest::sample::Index;
use std::sync::OnceLock;

/// (name, data, separate entry point) for every container we accept.
type Input = (&'static str, Vec<u8>, Option<Vec<u8>>);

fn inputs() -> &'static [Input] {
    static INPUTS: OnceLock<Vec<Input>> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let read = |rel: &str| std::fs::read(common::fixture(rel)).unwrap();
        let pair = |dir: &str| {
            (
                read(&format!("smbios/sysfs-pair/{dir}/DMI")),
                Some(read(&format!("smbios/sysfs-pair/{dir}/smbios_entry_point"))),
            )
        };
        let (t32, e32) = pair("tables");
        let (t64, e64) = pair("tables64");
        vec![
            (
                "dump-bin",
                read("smbios/dump-bin/SuperMicro-X9DBL.bin"),
                None,
            ),
            ("dump-bin vmware", read("smbios/dump-bin/VMWare.bin"), None),
            ("dump-bin 3.3", smbios_support::dump_bin(), None),
            ("sysfs-pair 32", t32, e32),
            ("sysfs-pair 64", t64, e64),
            (
                "sysfs-table",
                read("smbios/sysfs-table-only/Dell-PowerEdge-R630-Dual-Xeon.dmi"),
                None,
            ),
            (
                "sysfs-table broken",
                read("smbios/sysfs-table-only/HyperV.dmi"),
                None,
            ),
            (
                "rsmb",
                read("smbios/windows-rsmb/jeffgerlap_3_2_0.dat"),
                None,
            ),
            (
                "text",
                read("smbios/dmidecode-text/Intel_M50CYP2SBSTD_D50FC48A745B.txt"),
                None,
            ),
            (
                "text dell",
                read("smbios/dmidecode-text/Dell_PowerEdge-R750_369267D116AD.txt"),
                None,
            ),
        ]
    })
}

/// Everything downstream of reading a file; a panic anywhere fails the property.
fn exercise(data: &[u8], ep: Option<&[u8]>) {
    if let Ok(raw) = parse(data, ep) {
        let p = Platform::from_smbios(&raw);
        // The result must survive the snapshot round trip too.
        let json = serde_json::to_string(&p).unwrap();
        let back: Platform = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }
}

/// The decoder on its own, with tables `parse` would have refused.
fn decode_unvalidated(format: &str, table: &[u8], ep: Option<&[u8]>) {
    let raw = SmbiosRaw {
        format: format.to_string(),
        entry_point: ep.map(|e| HexBytes(e.to_vec())),
        table: Some(HexBytes(table.to_vec())),
        text: None,
    };
    let _ = Platform::from_smbios(&raw);
}

fn flip(mut data: Vec<u8>, flips: &[(Index, u8)]) -> Vec<u8> {
    if data.is_empty() {
        return data;
    }
    for (at, value) in flips {
        let i = at.index(data.len());
        data[i] = *value;
    }
    data
}

/// Lines that drive every branch of the dmidecode text parser, including nonsense values.
fn text_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Handle 0x0004, DMI type 4, 48 bytes".to_string()),
        Just("Handle 0x0011, DMI type 17, 92 bytes".to_string()),
        Just("Handle 0xFEFF, DMI type 127, 4 bytes".to_string()),
        Just("Handle 0xZZ, DMI type x".to_string()),
        Just("Processor Information".to_string()),
        Just("Memory Device".to_string()),
        Just("SMBIOS 3.3.0 present.".to_string()),
        Just("Invalid entry length (0). DMI table is broken! Stop.".to_string()),
        Just(String::new()),
        "\t(Size|Locator|Bank Locator|ID|Status|Core Count|Speed|Volatile Size|Version|Type|\
Memory Technology|Socket Designation): [ -~]{0,30}",
        "\t\t[ -~]{0,20}",
        "[ -~]{0,40}",
        "\t(Size|Volatile Size|Non-Volatile Size): [0-9]{1,25} (bytes|kB|MB|GB|TB|PB|EB|ZB)",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn truncated_inputs_never_panic(which in any::<Index>(), cut in any::<Index>(), cut_ep in any::<Index>()) {
        let (_, data, ep) = which.get(inputs());
        let data = &data[..cut.index(data.len() + 1)];
        let ep = ep.as_deref().map(|e| &e[..cut_ep.index(e.len() + 1)]);
        exercise(data, ep);
        decode_unvalidated("sysfs-pair", data, ep);
    }

    #[test]
    fn flipped_bytes_never_panic(
        which in any::<Index>(),
        flips in prop::collection::vec((any::<Index>(), any::<u8>()), 1..24),
        ep_flips in prop::collection::vec((any::<Index>(), any::<u8>()), 0..4),
    ) {
        let (_, data, ep) = which.get(inputs());
        let data = flip(data.clone(), &flips);
        let ep = ep.clone().map(|e| flip(e, &ep_flips));
        exercise(&data, ep.as_deref());
        decode_unvalidated("rsmb", &data, ep.as_deref());
        decode_unvalidated("sysfs-table", &data, None);
    }

    #[test]
    fn random_bytes_never_panic(
        data in prop::collection::vec(any::<u8>(), 0..2048),
        ep in prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
    ) {
        exercise(&data, ep.as_deref());
        decode_unvalidated("dump-bin", &data, ep.as_deref());
    }

    #[test]
    fn random_structures_never_panic(
        structs in prop::collection::vec((0u8..=130, 4u8..=0x60, prop::collection::vec(any::<u8>(), 0..0x60)), 1..12),
    ) {
        // Plausible headers with random bodies reach smbios-lib's field decoders.
        let mut table = Vec::new();
        for (kind, len, body) in structs {
            table.extend_from_slice(&[kind, len, 0, 0]);
            table.extend_from_slice(&body);
            table.extend_from_slice(&[0, 0]);
        }
        exercise(&table, None);
        decode_unvalidated("sysfs-table", &table, None);
    }

    #[test]
    fn random_dmidecode_text_never_panics(lines in prop::collection::vec(text_line(), 0..60)) {
        let text = format!("# dmidecode 3.4\n{}", lines.join("\n"));
        exercise(text.as_bytes(), None);
    }
}
