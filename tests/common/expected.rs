//! The fixture host trees' EXPECTED.toml and the JSON reports `kvmaudit scan` gives on them:
//! the loading, scanning and comparing that the rule tests (`tests/rules_*.rs`) share. Which
//! rules a test checks, and where it deliberately differs from EXPECTED, stay in that test.
#![allow(dead_code)]

use super::hosts::{self, tree};
use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// EXPECTED.toml of a tree for a profile: `[throughput]`, overlaid with `[latency]` (which lists
/// only the differences) when `profile` is "latency". Keys are `rule` or `rule@TARGET`.
pub fn expected(name: &str, profile: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(tree(name).join("EXPECTED.toml"))
        .unwrap_or_else(|e| panic!("{name}/EXPECTED.toml: {e}"));
    let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let section = |s: &str| {
        doc[s]
            .as_table()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
    };
    let mut want: BTreeMap<String, String> = section("throughput").collect();
    if profile == "latency" {
        want.extend(section("latency"));
    }
    want
}

/// The rule of an EXPECTED key (`rule` or `rule@TARGET`).
pub fn rule_of(key: &str) -> &str {
    key.split('@').next().unwrap_or(key)
}

/// `kvmaudit ARGS --format json`, which must exit 0 or 2; its report.
pub fn scan_json(args: &[&str]) -> Value {
    let out = Command::cargo_bin("kvmaudit")
        .unwrap()
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(2),
        "scan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The report of a fixture tree scanned under a profile.
pub fn scan(name: &str, profile: &str) -> Value {
    let root = tree(name);
    scan_json(&[
        "scan",
        "--root",
        root.to_str().unwrap(),
        "--profile",
        profile,
    ])
}

/// `kvmaudit ARGS --format json` run as uid 65534 in `tmp` (see [`hosts::run_unprivileged`]);
/// its report.
pub fn scan_json_as_nobody(tmp: &Path, args: &[&str]) -> Value {
    let bin = assert_cmd::cargo::cargo_bin("kvmaudit");
    let args: Vec<&str> = args.iter().copied().chain(["--format", "json"]).collect();
    let out = hosts::run_unprivileged(tmp, &bin, &args);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "scan as nobody: {e}: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `kvmaudit scan --root ROOT ARGS --format json` on a restricted copy (see
/// [`hosts::restricted_copy`]), run as uid 65534 in `tmp` and as root: (nobody, as_root).
pub fn scan_restricted(tmp: &Path, root: &Path, args: &[&str]) -> (Value, Value) {
    let root = root.to_str().unwrap();
    let argv: Vec<&str> = ["scan", "--root", root]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    (scan_json_as_nobody(tmp, &argv), scan_json(&argv))
}

pub fn results(report: &Value) -> &Vec<Value> {
    report["results"].as_array().expect("results")
}

/// The finding of `rule` on `target`; panics when there is none.
pub fn finding<'a>(report: &'a Value, rule: &str, target: &str) -> &'a Value {
    results(report)
        .iter()
        .find(|f| f["rule"] == rule && f["target"] == target)
        .unwrap_or_else(|| panic!("no {rule} finding on {target}"))
}

/// Statuses of the findings an EXPECTED key names: `rule` = every host-level finding
/// (`host`, `host/dev:...`), `rule@TARGET` = that target.
pub fn statuses(report: &Value, key: &str) -> Vec<String> {
    let (rule, target) = match key.split_once('@') {
        Some((r, t)) => (r, Some(t)),
        None => (key, None),
    };
    let mut v: Vec<String> = results(report)
        .iter()
        .filter(|f| f["rule"] == rule)
        .filter(|f| {
            let t = f["target"].as_str().unwrap();
            match target {
                Some(want) => t == want,
                None => t == "host" || t.starts_with("host/"),
            }
        })
        .map(|f| f["status"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The (key, status) pairs of `want` that the report disagrees with, one line each. A status
/// `a+b` expects the key's findings to carry exactly those statuses.
pub fn compare(
    name: &str,
    profile: &str,
    report: &Value,
    want: impl IntoIterator<Item = (String, String)>,
) -> Vec<String> {
    let mut bad = Vec::new();
    for (key, want) in want {
        let got = statuses(report, &key);
        let mut wanted: Vec<String> = want.split('+').map(str::to_string).collect();
        wanted.sort();
        if got != wanted {
            bad.push(format!(
                "{name} [{profile}] {key}: expected {want}, got {got:?}"
            ));
        }
    }
    bad
}

/// Panics on a finding of one of `mine` that fails in the unprivileged report `nobody` but not
/// in the root report `as_root` of the same tree: without privileges a rule may lose evidence,
/// never gain a `fail`.
pub fn assert_no_fail_only_as_nobody(nobody: &Value, as_root: &Value, mine: impl Fn(&str) -> bool) {
    for f in results(nobody) {
        let rule = f["rule"].as_str().unwrap();
        if !mine(rule) || f["status"] != "fail" {
            continue;
        }
        let target = f["target"].as_str().unwrap();
        assert_eq!(
            finding(as_root, rule, target)["status"],
            "fail",
            "{rule} on {target} fails only without privileges"
        );
    }
}
