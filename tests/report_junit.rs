//! `scan --junit PATH`, read back by a real consumer (the Python junitparser, installed by
//! .ci/run): its counts equal the JSON report's, hostile VM names survive, and every status
//! lands where the contract says (fail → failure, warn → failure only at or above --fail-on,
//! unknown/not_applicable/waived → skipped with the reason).

mod common;
mod report_support;

use report_support::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const READER: &str = r#"
import json, sys
from junitparser import JUnitXml
xml = JUnitXml.fromfile(sys.argv[1])
out = {"tests": xml.tests, "failures": xml.failures, "skipped": xml.skipped,
       "errors": xml.errors, "suites": []}
for suite in xml:
    s = {"name": suite.name, "tests": suite.tests, "failures": suite.failures,
         "skipped": suite.skipped, "hostname": suite.hostname, "cases": []}
    for case in suite:
        s["cases"].append({
            "classname": case.classname, "name": case.name,
            "results": [{"kind": type(r).__name__, "message": r.message, "text": r.text}
                        for r in case.result],
        })
    out["suites"].append(s)
print(json.dumps(out))
"#;

/// Whether python3 can import junitparser (skip loudly outside CI, fail in CI).
fn reader_available() -> bool {
    if !common::require_tool("python3") {
        return false;
    }
    let ok = std::process::Command::new("python3")
        .args(["-c", "import junitparser"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if common::in_ci() {
            panic!("python3 cannot import junitparser (CI installs it: see .ci/run)");
        }
        eprintln!("\n*** SKIPPING: junitparser is not installed for python3 (see .ci/run) ***\n");
    }
    ok
}

fn read(path: &Path) -> Value {
    let out = std::process::Command::new("python3")
        .args(["-c", READER])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "junitparser rejected {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every case as (rule, target) → (result kind or "passed", message, text).
fn cases(x: &Value) -> BTreeMap<(String, String), (String, String, String)> {
    let mut out = BTreeMap::new();
    for s in x["suites"].as_array().unwrap() {
        for c in s["cases"].as_array().unwrap() {
            let res = c["results"].as_array().unwrap();
            assert!(res.len() <= 1, "{c}");
            let (kind, msg, text) = match res.first() {
                Some(r) => (
                    r["kind"].as_str().unwrap().to_string(),
                    r["message"].as_str().unwrap_or("").to_string(),
                    r["text"].as_str().unwrap_or("").to_string(),
                ),
                None => ("passed".into(), String::new(), String::new()),
            };
            let key = (
                c["classname"].as_str().unwrap().to_string(),
                c["name"].as_str().unwrap().to_string(),
            );
            assert!(
                out.insert(key, (kind, msg, text)).is_none(),
                "duplicate case"
            );
        }
    }
    out
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "info" => 0,
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        other => panic!("severity {other}"),
    }
}

/// Scan with --junit and --json; junitparser's reading against the JSON report.
fn check_scan(extra: &[&str], fail_on: Option<&str>) -> u64 {
    let tmp = tempfile::tempdir().unwrap();
    let mut args = evil_on_untuned_args(tmp.path());
    args.extend(extra.iter().map(Into::into));
    if extra.contains(&"--waivers") {
        let i = args.iter().position(|a| a == "--waivers").unwrap();
        args[i + 1] = waivers(tmp.path()).into_os_string();
    }
    if let Some(f) = fail_on {
        args.extend(["--fail-on".into(), f.into()]);
    }
    let junit = tmp.path().join("kvmaudit.xml");
    let r = scan_writing(&args, "--junit", &junit, &tmp.path().join("r.json"));
    let x = read(&junit);
    let results = r["results"].as_array().unwrap();
    let counts = &r["score"]["counts"];
    let n = |s: &str| counts[s].as_u64().unwrap();
    let threshold = fail_on.map(severity_rank);
    let warn_failures = results
        .iter()
        .filter(|f| {
            f["status"] == "warn"
                && threshold.is_some_and(|t| severity_rank(f["severity"].as_str().unwrap()) >= t)
        })
        .count() as u64;
    assert_eq!(x["tests"].as_u64().unwrap(), results.len() as u64);
    assert_eq!(x["failures"].as_u64().unwrap(), n("fail") + warn_failures);
    assert_eq!(
        x["skipped"].as_u64().unwrap(),
        n("unknown") + n("not_applicable") + n("waived")
    );
    assert_eq!(x["errors"].as_u64().unwrap(), 0);
    assert!(
        n("fail") > 0 && n("unknown") + n("not_applicable") > 0,
        "{counts}"
    );

    // One suite per guide section, its counts those of its cases.
    let suites = x["suites"].as_array().unwrap();
    let mut sections: Vec<&str> = results
        .iter()
        .map(|f| f["section"].as_str().unwrap())
        .collect();
    sections.sort();
    sections.dedup();
    let mut names: Vec<String> = suites
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    let mut want: Vec<String> = sections
        .iter()
        .map(|s| format!("guide section {s}"))
        .collect();
    want.sort();
    assert_eq!(names, want);
    for s in suites {
        let cs = s["cases"].as_array().unwrap();
        assert_eq!(s["tests"].as_u64().unwrap(), cs.len() as u64);
        let kind = |k: &str| {
            cs.iter()
                .filter(|c| {
                    c["results"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|r| r["kind"] == k)
                })
                .count() as u64
        };
        assert_eq!(s["failures"].as_u64().unwrap(), kind("Failure"));
        assert_eq!(s["skipped"].as_u64().unwrap(), kind("Skipped"));
        assert_eq!(s["hostname"], r["host"]["hostname"]);
    }

    // Each finding is one case, under its rule and (hostile, intact) target.
    let cs = cases(&x);
    assert_eq!(cs.len(), results.len());
    assert!(cs
        .keys()
        .any(|(_, t)| t == "vm:<img src=x onerror=alert(1)>"));
    for f in results {
        let key = (
            f["rule"].as_str().unwrap().to_string(),
            f["target"].as_str().unwrap().to_string(),
        );
        let (kind, msg, text) = cs.get(&key).unwrap_or_else(|| panic!("no case {key:?}"));
        let status = f["status"].as_str().unwrap();
        let sev = severity_rank(f["severity"].as_str().unwrap());
        let want = match status {
            "fail" => "Failure",
            "warn" if threshold.is_some_and(|t| sev >= t) => "Failure",
            "pass" | "info" | "warn" => "passed",
            "unknown" | "not_applicable" | "waived" => "Skipped",
            s => panic!("status {s}"),
        };
        assert_eq!(kind, want, "{key:?} {status}");
        match want {
            "Failure" => {
                assert_eq!(msg, f["message"].as_str().unwrap());
                for e in f["evidence"].as_array().unwrap() {
                    let line = format!(
                        "evidence: {}: {}",
                        e["source"].as_str().unwrap(),
                        e["observed"].as_str().unwrap()
                    );
                    assert!(text.contains(&line), "{key:?}: {line:?} not in {text:?}");
                }
            }
            "Skipped" if status == "waived" => {
                let reason = f["waiver"]["reason"].as_str().unwrap();
                assert!(msg.starts_with("waived") && msg.contains(reason), "{msg}");
            }
            "Skipped" => {
                assert_eq!(
                    msg,
                    &format!("{status}: {}", f["message"].as_str().unwrap())
                );
            }
            _ => {}
        }
    }
    warn_failures
}

#[test]
fn junit_counts_equal_the_reports() {
    if !reader_available() {
        return;
    }
    check_scan(&[], None);
}

#[test]
fn fail_on_makes_warnings_at_or_above_it_failures() {
    if !reader_available() {
        return;
    }
    assert!(
        check_scan(&[], Some("low")) > 0,
        "no warning to turn into a failure"
    );
    check_scan(&["--profile", "latency"], Some("medium"));
    check_scan(&[], Some("high"));
}

#[test]
fn waived_findings_are_skipped_with_the_reason() {
    if !reader_available() {
        return;
    }
    check_scan(&["--waivers", "FILE"], None);
}

#[test]
fn hostile_names_survive_a_real_parser() {
    if !reader_available() {
        return;
    }
    let mut r = kvmaudit::report::sample::report(&kvmaudit::report::sample::Spec::new(4, "hv"));
    // Markup, quotes, a CDATA end, CR/LF/tab, and characters XML 1.0 forbids (NUL, ESC, U+FFFE).
    let weird = "a<b>&\"c'd]]>e\r\n\tf\u{0}g\u{1b}[31mh\u{FFFE}i";
    let shown = "a<b>&\"c'd]]>e\r\n\tf\u{FFFD}g\u{FFFD}[31mh\u{FFFD}i";
    r.vms[0].name = weird.into();
    for f in r.results.iter_mut() {
        f.target = f.target.replace("hv-vm01", weird);
        f.message = f.message.replace("hv-vm01", weird);
    }
    r.host.hostname = Some(weird.into());
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x.xml");
    std::fs::write(&p, kvmaudit::report::junit::render(&r, None, Some(1.5))).unwrap();
    let x = read(&p);
    let cs = cases(&x);
    assert_eq!(cs.len(), r.results.len());
    let hostile: Vec<_> = cs.keys().filter(|(_, t)| t.contains(shown)).collect();
    assert_eq!(
        hostile.len(),
        r.results
            .iter()
            .filter(|f| f.target.contains(weird))
            .count()
    );
    assert!(!hostile.is_empty());
    assert_eq!(x["suites"][0]["hostname"], shown);
}

#[test]
fn junit_through_a_planted_link_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, "keep").unwrap();
    let link = tmp.path().join("kvmaudit.xml");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let out = kvmaudit()
        .arg("scan")
        .args(evil_on_untuned_args(tmp.path()))
        .arg("--junit")
        .arg(&link)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("kvmaudit.xml"));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
}
