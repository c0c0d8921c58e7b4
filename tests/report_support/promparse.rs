//! The Python prometheus_client text parser, for the textfile tests.

use serde_json::Value;
use std::path::Path;

const PARSER: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1], encoding="utf-8").read()
out = []
for fam in text_string_to_metric_families(text):
    out.append({
        "name": fam.name, "type": fam.type, "help": fam.documentation,
        "samples": [{"name": s.name, "labels": s.labels, "value": s.value,
                     "timestamp": s.timestamp} for s in fam.samples],
    })
print(json.dumps(out))
"#;

/// Whether `python3` with prometheus_client is available (skip loudly outside CI, fail in CI).
pub fn parser_available() -> bool {
    if !crate::common::require_tool("python3") {
        return false;
    }
    let ok = std::process::Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if crate::common::in_ci() {
            panic!("python3 cannot import prometheus_client (CI installs it: see .ci/run)");
        }
        eprintln!(
            "\n*** SKIPPING: prometheus_client is not installed for python3 (see .ci/run) ***\n"
        );
    }
    ok
}

pub fn parse(path: &Path) -> Vec<Value> {
    let out = std::process::Command::new("python3")
        .args(["-c", PARSER])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "prometheus_client rejected {}: {}\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

pub fn family<'a>(fams: &'a [Value], name: &str) -> &'a Value {
    fams.iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no family {name}"))
}

pub fn common_checks(fams: &[Value], text: &str) {
    for f in fams {
        assert_eq!(f["type"], "gauge", "{}", f["name"]);
        assert!(
            !f["help"].as_str().unwrap().is_empty(),
            "{} has no HELP",
            f["name"]
        );
        for s in f["samples"].as_array().unwrap() {
            assert!(s["timestamp"].is_null(), "timestamp on {s}");
        }
    }
    for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
        let name = line.split_whitespace().nth(2).unwrap();
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} lacks HELP"
        );
    }
}
