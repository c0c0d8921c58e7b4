//! The JSON Schema of the report (schema_version 1), generated from the Rust types so that it
//! cannot drift from what `scan --json` writes. The committed copy lives at
//! `reports/schema/report-v1.schema.json`; a test regenerates it and fails when it is stale.

use super::{Report, REPORT_SCHEMA_VERSION};
use schemars::generate::SchemaSettings;
use serde_json::{json, Value};

/// Where the committed schema lives, relative to the repository root.
pub const COMMITTED_PATH: &str = "reports/schema/report-v1.schema.json";

/// The schema as a JSON value: draft 2020-12, the serialized form of [`Report`].
pub fn schema() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let schema = generator.into_root_schema_for::<Report>();
    let mut v = serde_json::to_value(&schema).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "$id".into(),
            json!("https://kvmaudit.invalid/schema/report-v1.schema.json"),
        );
        obj.insert("title".into(), json!("kvmaudit report, schema_version 1"));
        obj.insert(
            "description".into(),
            json!(
                "One host's findings and scores as written by `kvmaudit scan --json`. Fields may \
                 be added within schema_version 1; none is removed or changes meaning."
            ),
        );
        // The version is a constant of this schema, not any integer.
        if let Some(p) = obj
            .get_mut("properties")
            .and_then(|p| p.get_mut("schema_version"))
        {
            *p = json!({ "const": REPORT_SCHEMA_VERSION });
        }
    }
    v
}

/// The schema as committed: pretty JSON with a final newline.
pub fn schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn pins_the_version_and_names_the_statuses() {
        let s = super::schema();
        assert_eq!(s["properties"]["schema_version"]["const"], 1);
        let text = super::schema_text();
        for status in ["pass", "fail", "warn", "not_applicable", "waived"] {
            assert!(text.contains(&format!("\"{status}\"")), "{status}");
        }
    }
}
