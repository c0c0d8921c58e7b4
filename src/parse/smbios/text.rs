//! dmidecode's text output, split into records of `Key: Value` fields.
//!
//! The layout (stable from dmidecode 2.x to 3.x):
//!
//! ```text
//! # dmidecode 3.4   (indentation below is one/two TAB characters)
//! SMBIOS 3.3.0 present.
//!
//! Handle 0x0008, DMI type 0, 26 bytes
//! BIOS Information
//!     Vendor: Intel Corporation
//!     Characteristics:
//!         PCI is supported
//! ```
//!
//! `dmidecode -q` drops the `Handle` lines; such records are typed by their title instead.

/// One record: a `Handle ...` line (optional), a title line and its fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub handle: Option<u16>,
    pub dmi_type: Option<u8>,
    pub title: String,
    pub fields: Vec<Field>,
}

/// A `Key: Value` line, with the more-indented lines under it (e.g. "Characteristics:").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Field {
    pub key: String,
    pub value: String,
    pub items: Vec<String>,
}

impl Record {
    /// The value of the first field named `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.key == key)
            .map(|f| f.value.as_str())
    }
}

/// A whole dmidecode output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dump {
    /// "3.3.0" from "SMBIOS 3.3.0 present." ("2.0" for "Legacy DMI 2.0 present.").
    pub smbios_version: Option<String>,
    pub records: Vec<Record>,
    /// dmidecode's own complaints ("Wrong DMI structures count: ...").
    pub warnings: Vec<String>,
    /// dmidecode's message when it stopped on a broken table.
    pub broken: Option<String>,
}

/// True when `text` looks like dmidecode output: its banner, a `Handle 0x..., DMI type` line, or
/// (for `dmidecode -q`) a known record title followed by an indented field.
pub fn looks_like_dmidecode(text: &str) -> bool {
    let first = text.trim_start_matches('\u{feff}').trim_start();
    if first.starts_with("# dmidecode") {
        return true;
    }
    let mut previous_title = false;
    for line in text.lines().take(20_000) {
        if parse_handle_line(line).is_some() {
            return true;
        }
        if previous_title && indent(line).0 == 1 && line.contains(':') {
            return true;
        }
        previous_title = type_from_title(line.trim()).is_some() && indent(line).0 == 0;
    }
    false
}

/// Split dmidecode output into records. Never fails: lines it does not understand are skipped.
pub fn parse(text: &str) -> Dump {
    let mut dump = Dump::default();
    let mut current: Option<Record> = None;
    for line in text.lines() {
        let line = line.trim_end_matches(['\r', '\n']);
        let (level, body) = indent(line);
        if body.trim().is_empty() {
            flush(&mut dump, &mut current);
            continue;
        }
        match level {
            0 => top_level_line(&mut dump, &mut current, body.trim_end()),
            1 => add_field(current.as_mut(), body.trim_end()),
            _ => add_item(current.as_mut(), body.trim()),
        }
    }
    flush(&mut dump, &mut current);
    dump
}

/// A non-indented line: a handle line, a record title, or a banner/warning line.
fn top_level_line(dump: &mut Dump, current: &mut Option<Record>, line: &str) {
    if let Some((handle, dmi_type)) = parse_handle_line(line) {
        flush(dump, current);
        *current = Some(Record {
            handle: Some(handle),
            dmi_type: Some(dmi_type),
            ..Record::default()
        });
        return;
    }
    if let Some(rec) = current.as_mut() {
        if rec.title.is_empty() && rec.fields.is_empty() {
            rec.title = line.trim().to_string();
            return;
        }
    }
    if banner_line(dump, line) {
        return;
    }
    // Without a handle line (`dmidecode -q`) a title starts a record of its own.
    flush(dump, current);
    *current = Some(Record {
        dmi_type: type_from_title(line.trim()),
        title: line.trim().to_string(),
        ..Record::default()
    });
}

/// Lines outside records that carry information; true when `line` was one of them.
fn banner_line(dump: &mut Dump, line: &str) -> bool {
    let line = line.trim();
    if line.starts_with('#') {
        return true;
    }
    if let Some(v) = line
        .strip_prefix("SMBIOS ")
        .and_then(|r| r.strip_suffix(" present."))
    {
        dump.smbios_version = Some(v.trim().to_string());
        return true;
    }
    if let Some(v) = line
        .strip_prefix("Legacy DMI ")
        .and_then(|r| r.strip_suffix(" present."))
    {
        dump.smbios_version = Some(v.trim().to_string());
        return true;
    }
    if line.contains("DMI table is broken") || line.starts_with("Invalid entry length") {
        dump.broken = Some(line.to_string());
        return true;
    }
    if line.starts_with("Wrong DMI structures") {
        dump.warnings.push(line.to_string());
        return true;
    }
    // Other banners: "Getting SMBIOS data from sysfs.", "Table at 0x...", "N structures occupying".
    line.ends_with('.')
}

fn add_field(current: Option<&mut Record>, body: &str) {
    let Some(rec) = current else { return };
    let (key, value) = match body.split_once(':') {
        Some((k, v)) => (k.trim(), v.trim()),
        None => (body.trim(), ""),
    };
    rec.fields.push(Field {
        key: key.to_string(),
        value: value.to_string(),
        items: Vec::new(),
    });
}

fn add_item(current: Option<&mut Record>, body: &str) {
    if let Some(field) = current.and_then(|r| r.fields.last_mut()) {
        field.items.push(body.to_string());
    }
}

/// Keep a record only when it can be typed or has content; banners become nothing.
fn flush(dump: &mut Dump, current: &mut Option<Record>) {
    if let Some(rec) = current.take() {
        if rec.dmi_type.is_some() || !rec.fields.is_empty() {
            dump.records.push(rec);
        }
    }
}

/// "Handle 0x0008, DMI type 0, 26 bytes" → (0x0008, 0).
fn parse_handle_line(line: &str) -> Option<(u16, u8)> {
    let rest = line.trim().strip_prefix("Handle 0x")?;
    let (hex, rest) = rest.split_once(',')?;
    let handle = u16::from_str_radix(hex.trim(), 16).ok()?;
    let rest = rest.trim().strip_prefix("DMI type ")?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some((handle, digits.parse().ok()?))
}

/// Record titles of the types the platform model reads, for `dmidecode -q` output.
fn type_from_title(title: &str) -> Option<u8> {
    match title {
        "BIOS Information" => Some(0),
        "System Information" => Some(1),
        "Base Board Information" => Some(2),
        "Processor Information" => Some(4),
        "Memory Device" => Some(17),
        "End Of Table" => Some(127),
        _ => None,
    }
}

/// Indentation level and the rest of the line. dmidecode indents with tabs; text that went
/// through an editor may use spaces instead (up to 5 count as one level, more as two).
fn indent(line: &str) -> (usize, &str) {
    let body = line.trim_start_matches([' ', '\t']);
    let lead = line.get(..line.len() - body.len()).unwrap_or("");
    let tabs = lead.chars().filter(|c| *c == '\t').count();
    let level = if tabs > 0 {
        tabs
    } else {
        match lead.len() {
            0 => 0,
            1..=5 => 1,
            _ => 2,
        }
    };
    (level, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# dmidecode 3.4\nGetting SMBIOS data from sysfs.\nSMBIOS 3.3.0 present.\n\
Table at 0x66E38000.\n\nHandle 0x0008, DMI type 0, 26 bytes\nBIOS Information\n\tVendor: Intel \
Corporation \n\tCharacteristics:\n\t\tPCI is supported\n\t\tPNP is supported\n\tBIOS Revision: 5.22\n\n\
Handle 0x0009, DMI type 127, 4 bytes\nEnd Of Table\n\n";

    #[test]
    fn splits_records_fields_and_items() {
        let d = parse(SAMPLE);
        assert_eq!(d.smbios_version.as_deref(), Some("3.3.0"));
        assert_eq!(d.records.len(), 2);
        let bios = &d.records[0];
        assert_eq!((bios.handle, bios.dmi_type), (Some(8), Some(0)));
        assert_eq!(bios.title, "BIOS Information");
        assert_eq!(bios.get("Vendor"), Some("Intel Corporation"));
        assert_eq!(
            bios.fields[1].items,
            vec!["PCI is supported", "PNP is supported"]
        );
        assert_eq!(bios.get("BIOS Revision"), Some("5.22"));
        assert_eq!(d.records[1].dmi_type, Some(127));
        assert!(looks_like_dmidecode(SAMPLE));
    }

    #[test]
    fn quiet_output_is_typed_by_title() {
        let q = "BIOS Information\n\tVendor: X\r\n\r\nMemory Device\n\tSize: 8 GB\n";
        assert!(looks_like_dmidecode(q));
        let d = parse(q);
        let types: Vec<_> = d.records.iter().map(|r| r.dmi_type).collect();
        assert_eq!(types, vec![Some(0), Some(17)]);
        assert_eq!(d.records[1].get("Size"), Some("8 GB"));
    }

    #[test]
    fn keeps_dmidecode_complaints() {
        let t =
            "# dmidecode 3.4\nHandle 0x0001, DMI type 11, 5 bytes\nOEM Strings\n\tString 1: a\n\n\
Invalid entry length (0). DMI table is broken! Stop.\n";
        let d = parse(t);
        assert_eq!(d.records.len(), 1);
        assert_eq!(
            d.broken.as_deref(),
            Some("Invalid entry length (0). DMI table is broken! Stop.")
        );
    }

    #[test]
    fn plain_prose_is_not_dmidecode() {
        assert!(!looks_like_dmidecode("hello\nworld: 1\n"));
    }
}
