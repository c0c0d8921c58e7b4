//! The Prometheus textfiles of `scan --prom` and `fleet --prom`, parsed by a real parser (the
//! Python prometheus_client text parser, installed by .ci/run).

mod common;
mod report_support;

use report_support::promparse::*;
use report_support::*;

#[test]
fn scan_prom_parses_and_matches_the_report() {
    if !parser_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let args = evil_on_untuned_args(tmp.path());
    let prom = tmp.path().join("kvmaudit.prom");
    let r = scan_writing(&args, "--prom", &prom, &tmp.path().join("report.json"));
    let text = std::fs::read_to_string(&prom).unwrap();
    let fams = parse(&prom);
    common_checks(&fams, &text);
    for name in [
        "kvmaudit_score",
        "kvmaudit_coverage_ratio",
        "kvmaudit_findings",
        "kvmaudit_rule_status",
        "kvmaudit_last_scan_timestamp_seconds",
        "kvmaudit_scan_duration_seconds",
        "kvmaudit_blockers",
    ] {
        family(&fams, name);
    }
    // Findings per status add up to the report's counts.
    let findings = family(&fams, "kvmaudit_findings")["samples"]
        .as_array()
        .unwrap()
        .clone();
    for status in STATUSES {
        let sum: f64 = findings
            .iter()
            .filter(|s| s["labels"]["status"] == status)
            .map(|s| s["value"].as_f64().unwrap())
            .sum();
        assert_eq!(
            sum,
            r["score"]["counts"][status].as_f64().unwrap(),
            "{status}"
        );
    }
    // One rule_status series per (rule, target), the hostile name intact after unescaping.
    let rs = family(&fams, "kvmaudit_rule_status")["samples"]
        .as_array()
        .unwrap()
        .clone();
    let mut keys: Vec<(String, String)> = rs
        .iter()
        .map(|s| {
            (
                s["labels"]["rule"].as_str().unwrap().to_string(),
                s["labels"]["target"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "duplicate series");
    assert!(rs.iter().all(|s| s["value"] == 1.0));
    let blockers = family(&fams, "kvmaudit_blockers")["samples"][0]["value"]
        .as_f64()
        .unwrap();
    assert_eq!(
        blockers,
        r["score"]["blockers"].as_array().map_or(0, |b| b.len()) as f64
    );
    let when = family(&fams, "kvmaudit_last_scan_timestamp_seconds")["samples"][0]["value"]
        .as_f64()
        .unwrap();
    assert_eq!(
        Some(when as i64),
        kvmaudit::util::parse_rfc3339(r["generated_at"].as_str().unwrap())
    );
    let took = family(&fams, "kvmaudit_scan_duration_seconds")["samples"][0]["value"]
        .as_f64()
        .unwrap();
    assert!(took > 0.0 && took < 600.0);
    if let Some(v) = r["score"]["value"].as_f64() {
        let s = family(&fams, "kvmaudit_score")["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["labels"]["scope"] == "overall")
            .unwrap()["value"]
            .as_f64()
            .unwrap();
        assert_eq!(s, v);
    }
    // No temporary file is left beside the textfile (atomic rename).
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".kvmaudit-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn hostile_label_values_survive_a_real_parser() {
    if !parser_available() {
        return;
    }
    let mut r = kvmaudit::report::sample::report(&kvmaudit::report::sample::Spec::new(4, "hv"));
    let weird = "a\"b\\c\nd}e,f=g";
    r.vms[0].name = weird.into();
    for f in r.results.iter_mut() {
        f.target = f.target.replace("hv-vm01", weird);
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x.prom");
    std::fs::write(&p, kvmaudit::report::prom::render(&r, Some(0.5))).unwrap();
    let fams = parse(&p);
    let scores = family(&fams, "kvmaudit_score")["samples"]
        .as_array()
        .unwrap()
        .clone();
    assert!(scores
        .iter()
        .any(|s| s["labels"]["target"] == format!("vm:{weird}")));
}

/// A VM named with a carriage return: Python reads the file as text (universal newlines), so a
/// raw CR ended the line inside the label and the parser rejected the whole file.
#[test]
fn carriage_return_in_a_vm_name_keeps_the_file_parseable() {
    if !parser_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let argv = tmp.path().join("cr.cmdline");
    std::fs::write(
        &argv,
        b"/usr/bin/qemu-system-x86_64\0-name\0guest=web\rprod\0-machine\0pc-q35-8.2,accel=kvm\0-m\x002048\0",
    )
    .unwrap();
    let prom = tmp.path().join("kvmaudit.prom");
    let args = [
        std::ffi::OsString::from("--qemu-argv"),
        argv.into_os_string(),
    ];
    scan_writing(&args, "--prom", &prom, &tmp.path().join("report.json"));
    let fams = parse(&prom);
    let rs = family(&fams, "kvmaudit_rule_status")["samples"]
        .as_array()
        .unwrap()
        .clone();
    let targets: Vec<&str> = rs
        .iter()
        .filter_map(|s| s["labels"]["target"].as_str())
        .filter(|t| t.starts_with("vm:"))
        .collect();
    assert!(!targets.is_empty());
    // The CR is shown as the two characters `\r`; no sample lost its line.
    assert!(
        targets.iter().all(|t| t.starts_with("vm:web\\rprod")),
        "{targets:?}"
    );
}
