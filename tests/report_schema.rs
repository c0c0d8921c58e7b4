//! The committed JSON Schema is what the Rust types generate, and every real report validates
//! against it.

mod common;
mod report_support;

use kvmaudit::report::{sample, schema};
use report_support::*;
use serde_json::Value;

fn committed() -> Value {
    let text = std::fs::read_to_string(repo().join(schema::COMMITTED_PATH)).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn committed_schema_is_current() {
    let path = repo().join(schema::COMMITTED_PATH);
    let fresh = schema::schema_text();
    if std::env::var_os("KVMAUDIT_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
    }
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        old == fresh,
        "{} is stale: the report types changed. Regenerate it with \
         `KVMAUDIT_BLESS=1 cargo test --test report_schema committed_schema_is_current` and \
         commit it (a removed or re-typed field needs schema_version 2).",
        schema::COMMITTED_PATH
    );
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&committed()).expect("the committed schema compiles")
}

fn assert_valid(v: &jsonschema::Validator, label: &str, report: &Value) {
    let errors: Vec<String> = v
        .iter_errors(report)
        .take(5)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{label}: {errors:#?}");
}

#[test]
fn real_reports_validate() {
    let v = validator();
    let tmp = tempfile::tempdir().unwrap();
    let reports = real_reports(tmp.path());
    let hosts = fixture_hosts().len();
    assert_eq!(reports.len(), 4 + 2 * hosts);
    if hosts == 0 {
        eprintln!("note: no fixtures/hosts trees in this checkout; validated the other reports");
    }
    for (label, r) in &reports {
        assert_valid(&v, label, r);
    }
    // The hostile report really carries what the schema must allow: a blocker and waivers.
    let waived = &reports.last().unwrap().1;
    assert!(waived["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["status"] == "waived" && f["waiver"]["original_status"].is_string()));
}

#[test]
fn synthetic_reports_with_every_optional_field_validate() {
    let v = validator();
    for seed in 0..20 {
        let mut r = sample::report(&sample::Spec::new(seed, format!("hv{seed}")));
        r.results[0].pending_reboot = true;
        r.results[1].waiver = Some(Box::new(kvmaudit::report::WaiverNote {
            reason: "accepted".into(),
            expires: Some("2099-01-01".into()),
            original_status: kvmaudit::report::Status::Fail,
        }));
        r.results[1].status = kvmaudit::report::Status::Waived;
        r.notes.push("a note".into());
        assert_valid(
            &v,
            &format!("sample {seed}"),
            &serde_json::to_value(&r).unwrap(),
        );
    }
}

#[test]
fn the_schema_rejects_what_is_not_a_report() {
    let v = validator();
    let good = serde_json::to_value(sample::report(&sample::Spec::new(1, "hv"))).unwrap();
    assert!(v.is_valid(&good));
    let mut bad_status = good.clone();
    bad_status["results"][0]["status"] = "excellent".into();
    let mut bad_version = good.clone();
    bad_version["schema_version"] = 2.into();
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("results");
    let mut bad_score = good.clone();
    bad_score["score"]["value"] = "high".into();
    for (what, r) in [
        ("unknown status", bad_status),
        ("schema_version 2", bad_version),
        ("no results", missing),
        ("string score", bad_score),
    ] {
        assert!(!v.is_valid(&r), "{what} validated");
    }
}
