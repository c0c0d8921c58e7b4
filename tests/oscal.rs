//! OSCAL: `kvmaudit rules --format oscal` (catalog) and `scan --oscal PATH` (assessment
//! results) read by compliance-trestle and validated against NIST's published JSON schemas
//! (tests/oscal_support/, driven by tests/oscal_support/check.py), on a real scan of a fixture
//! tree whose findings include fail, warn, pass and unknown.

mod common;

use serde_json::Value;

use std::process::Command;

fn kvmaudit() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("kvmaudit"))
}

/// python3 with trestle, jsonschema and regex (the CI venv); loud skip outside CI.
fn python_ready() -> bool {
    if !common::require_tool("python3") {
        return false;
    }
    let ok = Command::new("python3")
        .args(["-c", "import trestle, jsonschema, regex"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if common::in_ci() {
            panic!(
                "python3 cannot import trestle, jsonschema, regex (CI installs them: see .ci/run)"
            );
        }
        eprintln!("\n*** SKIPPING: compliance-trestle/jsonschema/regex not installed for python3 (see .ci/run) ***\n");
    }
    ok
}

fn is_v5_uuid(u: &str) -> bool {
    u.len() == 36
        && u.as_bytes()[14] == b'5'
        && matches!(u.as_bytes()[19], b'8' | b'9' | b'a' | b'b')
}

fn catalog() -> Value {
    let o = kvmaudit()
        .args(["rules", "--format", "oscal"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn catalog_has_a_group_per_section_and_a_control_per_rule() {
    let c = catalog();
    let rules: Value = serde_json::from_slice(
        &kvmaudit()
            .args(["rules", "--format", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let rules = rules.as_array().unwrap();
    let groups = c["catalog"]["groups"].as_array().unwrap();
    let mut sections: Vec<&str> = rules
        .iter()
        .map(|r| r["section"].as_str().unwrap())
        .collect();
    sections.sort();
    sections.dedup();
    assert_eq!(groups.len(), sections.len());
    let controls: Vec<&Value> = groups
        .iter()
        .flat_map(|g| g["controls"].as_array().unwrap())
        .collect();
    assert_eq!(controls.len(), rules.len());
    let thp = controls
        .iter()
        .find(|c| c["id"] == "host.thp")
        .expect("host.thp");
    let parts = thp["parts"].as_array().unwrap();
    assert_eq!(parts[0]["name"], "statement");
    assert_eq!(parts[1]["name"], "guidance");
    let meta = rules.iter().find(|r| r["id"] == "host.thp").unwrap();
    assert_eq!(parts[0]["prose"], meta["pass"].as_str().unwrap().trim());
    // Name-based UUIDs: the same in every run.
    let u = c["catalog"]["uuid"].as_str().unwrap();
    assert!(is_v5_uuid(u), "{u}");
    assert_eq!(catalog()["catalog"]["uuid"], u);
}

#[test]
fn assessment_results_load_in_trestle_and_validate_against_nist_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::degraded::degraded_tuned(tmp.path());
    let ar = tmp.path().join("results.oscal.json");
    let json = tmp.path().join("report.json");
    let o = kvmaudit()
        .args(["scan", "--root"])
        .arg(&root)
        .arg("--oscal")
        .arg(&ar)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let doc: Value = serde_json::from_slice(&std::fs::read(&ar).unwrap()).unwrap();
    let results = report["results"].as_array().unwrap();
    let result = &doc["assessment-results"]["results"][0];
    let observations = result["observations"].as_array().unwrap();
    let findings = result["findings"].as_array().unwrap();
    // One observation per finding, its evidence carried; a finding per finding that is not
    // unknown (unknown claims no state).
    assert_eq!(observations.len(), results.len());
    let unknown = results.iter().filter(|f| f["status"] == "unknown").count();
    assert!(unknown > 0);
    assert_eq!(findings.len(), results.len() - unknown);
    let evidence: usize = results
        .iter()
        .map(|f| f["evidence"].as_array().map_or(0, |e| e.len()))
        .sum();
    let carried: usize = observations
        .iter()
        .map(|o| o["relevant-evidence"].as_array().map_or(0, |e| e.len()))
        .sum();
    assert_eq!(carried, evidence);
    let cache = findings
        .iter()
        .find(|f| {
            f["target"]["target-id"] == "qemu.blk.cache_stmt"
                && f["props"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["value"] == "vm:web01/drive:virtio-disk0")
        })
        .expect("the cache=unsafe finding");
    assert_eq!(cache["target"]["status"]["state"], "not-satisfied");
    assert_eq!(cache["target"]["status"]["reason"], "fail");
    let obs_uuid = cache["related-observations"][0]["observation-uuid"]
        .as_str()
        .unwrap();
    let obs = observations.iter().find(|o| o["uuid"] == obs_uuid).unwrap();
    let ev = obs["relevant-evidence"].as_array().unwrap();
    assert!(
        ev.iter()
            .any(|e| e["description"].as_str().unwrap().contains("unsafe")),
        "{obs:#}"
    );
    assert!(is_v5_uuid(obs_uuid));

    if !python_ready() {
        return;
    }
    let v = trestle_and_schemas(tmp.path(), &ar);
    eprintln!("trestle and jsonschema: {v}");
    let t = &v["trestle"];
    assert_eq!(t["observations"], observations.len());
    assert_eq!(t["findings"], findings.len());
    assert_eq!(t["evidence"], evidence);
    assert_eq!(t["targets_in_catalog"], true);
    assert_eq!(
        t["states"],
        serde_json::json!(["not-satisfied", "satisfied"])
    );
    assert_eq!(
        t["controls"],
        catalog()["catalog"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["controls"].as_array().unwrap().len())
            .sum::<usize>()
    );
    for which in ["catalog", "assessment_results"] {
        assert_eq!(v["schema_errors"][which], serde_json::json!([]), "{which}");
    }
    assert!(
        v["schema_errors"]["broken"].as_u64().unwrap() > 0,
        "the schema check rejects nothing"
    );
}

/// A VM named with a newline, padding and a control character: its findings' target props stay
/// valid OSCAL strings, so the whole document still validates.
#[test]
fn hostile_vm_names_keep_the_document_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let argv = tmp.path().join("evil.cmdline");
    std::fs::write(
        &argv,
        b"/usr/bin/qemu-system-x86_64\0-name\0guest= web\nprod\x07 \0-machine\0pc-q35-8.2,accel=kvm\0-m\x002048\0",
    )
    .unwrap();
    let ar = tmp.path().join("ar.json");
    let o = kvmaudit()
        .arg("scan")
        .arg("--qemu-argv")
        .arg(&argv)
        .arg("--oscal")
        .arg(&ar)
        .output()
        .unwrap();
    assert!(matches!(o.status.code(), Some(0) | Some(2)), "{o:?}");
    let doc: Value = serde_json::from_slice(&std::fs::read(&ar).unwrap()).unwrap();
    let targets: Vec<String> = doc["assessment-results"]["results"][0]["observations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o["props"].as_array().unwrap().clone())
        .filter(|p| p["name"] == "target")
        .map(|p| p["value"].as_str().unwrap().to_string())
        .collect();
    assert!(targets.iter().any(|t| t.starts_with("vm:")), "{targets:?}");
    assert!(
        targets
            .iter()
            .all(|t| t == t.trim() && !t.contains(['\n', '\u{7}'])),
        "{targets:?}"
    );
    if !python_ready() {
        return;
    }
    let v = trestle_and_schemas(tmp.path(), &ar);
    assert_eq!(
        v["schema_errors"]["assessment_results"],
        serde_json::json!([])
    );
}

/// Writes the catalog beside `ar` and runs tests/oscal_support/check.py (compliance-trestle
/// loads both documents, jsonschema validates them against NIST's schemas); its JSON verdict.
fn trestle_and_schemas(dir: &std::path::Path, ar: &std::path::Path) -> Value {
    let cat = dir.join("catalog.oscal.json");
    std::fs::write(&cat, serde_json::to_vec_pretty(&catalog()).unwrap()).unwrap();
    let support = common::repo().join("tests/oscal_support");
    let out = Command::new("python3")
        .arg(support.join("check.py"))
        .arg(&support)
        .arg(&cat)
        .arg(ar)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "trestle/jsonschema: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
