//! contrib/prometheus/kvmaudit.rules.yml and contrib/grafana/kvmaudit.json against what
//! `kvmaudit scan --prom` really writes: the rules are checked by `promtool check rules` and
//! unit-tested by `promtool test rules` on series taken from textfiles of real scans of fixture
//! trees (a tuned host, the same host degraded, a failed scan; a tuned and an untuned host);
//! every metric the rules and the dashboard query is one such a textfile has.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

const RULES: &str = "contrib/prometheus/kvmaudit.rules.yml";
const DASHBOARD: &str = "contrib/grafana/kvmaudit.json";
/// The labels node_exporter's scrape adds to every textfile series.
const SCRAPE_LABELS: &str = "instance=\"hv1:9100\",job=\"node\"";
/// Hours each phase of a timeline lasts (one scan an hour keeps the series dense).
const PHASE_HOURS: u64 = 24;

fn kvmaudit() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("kvmaudit"))
}

/// `kvmaudit scan --root ROOT --prom OUT ARGS` (exit 0 or 2); the textfile's text.
fn scan_prom(root: &Path, out: &Path, args: &[&str]) -> String {
    let o = kvmaudit()
        .arg("scan")
        .arg("--root")
        .arg(root)
        .arg("--prom")
        .arg(out)
        .args(args)
        .output()
        .unwrap();
    assert!(matches!(o.status.code(), Some(0) | Some(2)), "{o:?}");
    std::fs::read_to_string(out).unwrap()
}

/// A textfile's samples: series text (`name{labels}`) -> value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, v) = l.rsplit_once(' ').unwrap();
            let v = match v {
                "NaN" => f64::NAN,
                v => v.parse::<f64>().unwrap_or_else(|e| panic!("{l}: {e}")),
            };
            (series.to_string(), v)
        })
        .collect()
}

fn metric_name(series: &str) -> &str {
    series.split('{').next().unwrap()
}

/// The metric names a textfile has (from its `# TYPE` lines, so families without samples count).
fn families(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect()
}

/// The series as scraped: node_exporter's labels added.
fn scraped(series: &str) -> String {
    match series.strip_suffix('}') {
        Some(s) => format!("{s},{SCRAPE_LABELS}}}"),
        None => format!("{series}{{{SCRAPE_LABELS}}}"),
    }
}

/// The labels of a series as a map (our own textfiles: no escaped quotes in these fixtures).
fn labels(series: &str) -> BTreeMap<String, String> {
    let Some((_, rest)) = series.split_once('{') else {
        return BTreeMap::new();
    };
    rest.trim_end_matches('}')
        .split("\",")
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once("=\"").unwrap();
            (k.to_string(), v.trim_end_matches('"').to_string())
        })
        .collect()
}

/// A timeline: consecutive phases of PHASE_HOURS hourly scans, each phase one textfile.
/// `kvmaudit_last_scan_timestamp_seconds` is moved onto the test clock (promtool's time()
/// starts at 0): a scan at hour h reports h * 3600, and a failed phase keeps the value of the
/// last successful scan before it, as kvmaudit's failure textfile does.
fn input_series(phases: &[&BTreeMap<String, f64>]) -> Vec<serde_json::Value> {
    let all: BTreeSet<&String> = phases.iter().flat_map(|p| p.keys()).collect();
    let mut last_success_hour = None;
    let mut clock: Vec<Option<u64>> = Vec::new();
    for (i, p) in phases.iter().enumerate() {
        let ok = p.get("kvmaudit_scan_success") == Some(&1.0);
        for h in 0..PHASE_HOURS {
            let hour = i as u64 * PHASE_HOURS + h;
            if ok {
                last_success_hour = Some(hour);
            }
            clock.push(last_success_hour);
        }
    }
    all.into_iter()
        .map(|series| {
            let mut values = Vec::new();
            for (i, p) in phases.iter().enumerate() {
                for h in 0..PHASE_HOURS {
                    let step = i * PHASE_HOURS as usize + h as usize;
                    values.push(match p.get(series) {
                        None => "_".to_string(),
                        Some(_) if series == "kvmaudit_last_scan_timestamp_seconds" => {
                            (clock[step].expect("a timestamp without a success") * 3600).to_string()
                        }
                        Some(v) => format!("{v}"),
                    });
                }
            }
            serde_json::json!({"series": scraped(series), "values": values.join(" ")})
        })
        .collect()
}

/// Each alert's annotations as written in the rules file, by alert name.
fn annotations(rules: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut current = None;
    for line in rules.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("- alert: ") {
            current = Some(name.to_string());
        } else if let (Some(name), Some((k, v))) = (&current, t.split_once(": \"")) {
            if k == "summary" || k == "description" {
                let v = v.strip_suffix('"').unwrap().to_string();
                out.entry(name.clone())
                    .or_default()
                    .push((k.to_string(), v));
            }
        }
    }
    out
}

/// One expected alert: its labels (series labels minus the name, with the rule's severity) and
/// its annotations expanded for those labels.
fn alert(
    notes: &BTreeMap<String, Vec<(String, String)>>,
    name: &str,
    series: &str,
    severity: &str,
) -> serde_json::Value {
    let mut l = labels(&scraped(series));
    l.insert("severity".into(), severity.into());
    let mut a = serde_json::Map::new();
    for (k, v) in &notes[name] {
        let mut text = v.clone();
        for (lk, lv) in &l {
            text = text.replace(&format!("{{{{ $labels.{lk} }}}}"), lv);
        }
        assert!(
            !text.contains("{{"),
            "unexpanded template in {name}: {text}"
        );
        a.insert(k.clone(), text.into());
    }
    serde_json::json!({"exp_labels": l, "exp_annotations": a})
}

const ALERTS: [&str; 6] = [
    "KvmauditBlocker",
    "KvmauditHostScoreDropped",
    "KvmauditVmScoreDropped",
    "KvmauditCoverageDropped",
    "KvmauditScanStale",
    "KvmauditScanFailed",
];

/// The alerts that must fire at an hour of phase `now` after phase `before` (within the rules'
/// two-day window), derived from the textfiles' values with the thresholds the rules state.
fn expected(
    notes: &BTreeMap<String, Vec<(String, String)>>,
    before: Option<&BTreeMap<String, f64>>,
    now: &BTreeMap<String, f64>,
    stale: bool,
) -> BTreeMap<&'static str, Vec<serde_json::Value>> {
    let mut e: BTreeMap<&str, Vec<serde_json::Value>> =
        ALERTS.iter().map(|a| (*a, Vec::new())).collect();
    for (series, v) in now {
        let was = before.and_then(|b| b.get(series)).copied();
        let drop = was.map(|w| w.max(*v) - v).unwrap_or(0.0);
        match metric_name(series) {
            "kvmaudit_blockers" if *v > 0.0 => {
                let a = alert(notes, "KvmauditBlocker", series, "critical");
                e.get_mut("KvmauditBlocker").unwrap().push(a);
            }
            "kvmaudit_score" if drop >= 5.0 => {
                let name = if series.contains("scope=\"host\"") {
                    "KvmauditHostScoreDropped"
                } else if series.contains("scope=\"vm\"") {
                    "KvmauditVmScoreDropped"
                } else {
                    continue;
                };
                e.get_mut(name)
                    .unwrap()
                    .push(alert(notes, name, series, "warning"));
            }
            "kvmaudit_coverage_ratio" if drop >= 0.1 - 1e-9 => {
                let a = alert(notes, "KvmauditCoverageDropped", series, "warning");
                e.get_mut("KvmauditCoverageDropped").unwrap().push(a);
            }
            "kvmaudit_scan_success" if *v == 0.0 => {
                let a = alert(notes, "KvmauditScanFailed", series, "warning");
                e.get_mut("KvmauditScanFailed").unwrap().push(a);
            }
            "kvmaudit_last_scan_timestamp_seconds" if stale => {
                let a = alert(notes, "KvmauditScanStale", series, "warning");
                e.get_mut("KvmauditScanStale").unwrap().push(a);
            }
            _ => {}
        }
    }
    e
}

fn alert_tests(
    at_hour: u64,
    e: &BTreeMap<&'static str, Vec<serde_json::Value>>,
) -> Vec<serde_json::Value> {
    e.iter()
        .map(|(name, alerts)| {
            serde_json::json!({"eval_time": format!("{at_hour}h"), "alertname": name,
                               "exp_alerts": alerts})
        })
        .collect()
}

fn tools_present() -> bool {
    common::require_tool("promtool")
}

#[test]
fn alert_rules_fire_on_real_textfiles_under_promtool() {
    if !tools_present() {
        return;
    }
    let rules_path = common::repo().join(RULES);
    let out = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules_path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "promtool check rules: {out:?}");
    assert!(said.contains("SUCCESS: 6 rules found"), "{said}");
    let rules = std::fs::read_to_string(&rules_path).unwrap();
    let notes = annotations(&rules);
    assert_eq!(notes.len(), ALERTS.len(), "{notes:?}");

    let tmp = tempfile::tempdir().unwrap();
    let tuned = samples(&scan_prom(
        &common::hosts::tree("icx-tuned"),
        &tmp.path().join("tuned.prom"),
        &[],
    ));
    let untuned = samples(&scan_prom(
        &common::hosts::tree("icx-untuned"),
        &tmp.path().join("untuned.prom"),
        &[],
    ));
    // The degraded scan writes the path the failed scan then replaces, as the timer does.
    let live = tmp.path().join("kvmaudit.prom");
    let degraded = samples(&scan_prom(
        &common::degraded::degraded_tuned(tmp.path()),
        &live,
        &[],
    ));
    let o = kvmaudit()
        .args(["scan", "--root"])
        .arg(tmp.path().join("no-such-root"))
        .arg("--prom")
        .arg(&live)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let failed = samples(&std::fs::read_to_string(&live).unwrap());
    assert_eq!(failed.get("kvmaudit_scan_success"), Some(&0.0));
    assert_eq!(
        failed.get("kvmaudit_last_scan_timestamp_seconds"),
        degraded.get("kvmaudit_last_scan_timestamp_seconds"),
        "the failed scan keeps the last success's time"
    );
    assert!(!failed.keys().any(|s| s.starts_with("kvmaudit_score")));

    // Timeline 1: tuned (0-23 h), degraded (24-47 h), failed (48-95 h; the last success was
    // at 47 h, so the scan is stale from 83 h on).
    let h = PHASE_HOURS;
    let mut tests1 = Vec::new();
    let quiet = expected(&notes, None, &tuned, false);
    tests1.extend(alert_tests(h / 2, &quiet));
    let worse = expected(&notes, Some(&tuned), &degraded, false);
    for must in [
        "KvmauditBlocker",
        "KvmauditVmScoreDropped",
        "KvmauditCoverageDropped",
    ] {
        assert!(!worse[must].is_empty(), "the degraded tree fires no {must}");
    }
    tests1.extend(alert_tests(h + 6, &worse));
    tests1.extend(alert_tests(
        2 * h + 12,
        &expected(&notes, None, &failed, false),
    ));
    let stale = expected(&notes, None, &failed, true);
    assert!(!stale["KvmauditScanStale"].is_empty());
    tests1.extend(alert_tests(3 * h + 18, &stale));

    // Timeline 2: tuned (0-23 h), then the untuned host (24-47 h): the host score drops.
    let mut tests2 = Vec::new();
    let drop = expected(&notes, Some(&tuned), &untuned, false);
    assert!(!drop["KvmauditHostScoreDropped"].is_empty());
    tests2.extend(alert_tests(h + 2, &drop));

    let unit = serde_json::json!({
        "rule_files": [rules_path],
        "evaluation_interval": "1m",
        "tests": [
            {"interval": "1h", "input_series": input_series(&[&tuned, &degraded, &failed, &failed]),
             "alert_rule_test": tests1},
            {"interval": "1h", "input_series": input_series(&[&tuned, &untuned]),
             "alert_rule_test": tests2},
        ]
    });
    // YAML is a superset of JSON: promtool reads this as its test file.
    let test_file = tmp.path().join("kvmaudit.test.yml");
    std::fs::write(&test_file, serde_json::to_string_pretty(&unit).unwrap()).unwrap();
    let out = Command::new("promtool")
        .args(["test", "rules"])
        .arg(&test_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool test rules:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The metric names (kvmaudit_*) in a PromQL expression.
fn metrics_in(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("kvmaudit_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        // A name preceded by a letter or `_` is part of another identifier.
        let before = rest[..i].chars().last();
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.push(tail[..end].to_string());
        }
        rest = &tail[end..];
    }
    out
}

/// Every `expr` string anywhere in a Grafana dashboard (panels, rows' panels, templating).
fn exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("expr", serde_json::Value::String(s)) => out.push(s.clone()),
                    ("query", serde_json::Value::String(s)) if s.contains("kvmaudit_") => {
                        out.push(s.clone())
                    }
                    _ => exprs(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| exprs(x, out)),
        _ => {}
    }
}

#[test]
fn dashboard_and_rules_query_only_metrics_kvmaudit_writes() {
    let tmp = tempfile::tempdir().unwrap();
    // Everything a scan can write: every per-rule series, and the failure textfile.
    let prom = tmp.path().join("all.prom");
    let mut written = families(&scan_prom(
        &common::hosts::tree("icx-untuned"),
        &prom,
        &["--prom-detail", "all"],
    ));
    let o = kvmaudit()
        .args(["scan", "--root"])
        .arg(tmp.path().join("missing"))
        .arg("--prom")
        .arg(&prom)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    written.extend(families(&std::fs::read_to_string(&prom).unwrap()));
    assert!(written.contains("kvmaudit_rule_status"), "{written:?}");

    let dash: serde_json::Value =
        serde_json::from_slice(&std::fs::read(common::repo().join(DASHBOARD)).unwrap())
            .expect("the dashboard is JSON");
    let mut queries = Vec::new();
    exprs(&dash, &mut queries);
    assert!(queries.len() >= 8, "{queries:?}");
    let mut used = BTreeSet::new();
    for q in &queries {
        let names = metrics_in(q);
        assert!(
            !names.is_empty(),
            "a dashboard query without a kvmaudit metric: {q}"
        );
        for n in names {
            assert!(
                written.contains(&n),
                "dashboard query uses {n}, which kvmaudit never writes: {q}"
            );
            used.insert(n);
        }
    }
    for must in [
        "kvmaudit_score",
        "kvmaudit_rule_status",
        "kvmaudit_blockers",
    ] {
        assert!(used.contains(must), "the dashboard does not show {must}");
    }

    let rules = std::fs::read_to_string(common::repo().join(RULES)).unwrap();
    let rule_exprs: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr: "))
        .collect();
    assert_eq!(rule_exprs.len(), ALERTS.len());
    for e in rule_exprs {
        for n in metrics_in(e) {
            assert!(
                written.contains(&n),
                "rule uses {n}, which kvmaudit never writes: {e}"
            );
        }
    }
    assert_eq!(
        metrics_in("x_kvmaudit_y + kvmaudit_vms"),
        vec!["kvmaudit_vms"]
    );
}

#[test]
fn prom_detail_failing_leaves_out_pass_series_only() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::hosts::tree("icx-tuned");
    let failing = samples(&scan_prom(&root, &tmp.path().join("f.prom"), &[]));
    let all = samples(&scan_prom(
        &root,
        &tmp.path().join("a.prom"),
        &["--prom-detail", "all"],
    ));
    let rule_series = |m: &BTreeMap<String, f64>, pass: bool| {
        m.keys()
            .filter(|s| s.starts_with("kvmaudit_rule_status{"))
            .filter(|s| s.contains("status=\"pass\"") == pass)
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    assert!(rule_series(&failing, true).is_empty());
    let passes = rule_series(&all, true);
    assert!(passes.len() > 30, "{}", passes.len());
    // Everything that is not pass is in both, and the summary families are complete in both.
    assert_eq!(rule_series(&failing, false), rule_series(&all, false));
    assert!(!rule_series(&failing, false).is_empty());
    let pass_count: f64 = failing
        .iter()
        .filter(|(s, _)| s.starts_with("kvmaudit_findings{status=\"pass\""))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(pass_count as usize, passes.len());
}
