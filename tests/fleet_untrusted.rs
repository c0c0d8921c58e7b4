//! `kvmaudit fleet` reads reports uploaded by the hosts they describe: each test here is an
//! attack a compromised host (or a careless copy) tried, and what the roll-up must do instead.

mod common;
mod report_support;

use kvmaudit::report::{sample, Report, Status};
use report_support::promparse::*;
use report_support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const ID_A: &str = "aaaaaaaa0000000000000000000000a1";
const ID_B: &str = "bbbbbbbb0000000000000000000000b2";
const ID_C: &str = "cccccccc0000000000000000000000c3";
const ID_D: &str = "dddddddd0000000000000000000000d4";
const ID_E: &str = "eeeeeeee0000000000000000000000e5";

fn now() -> i64 {
    kvmaudit::util::now_epoch()
}

fn at(epoch: i64) -> String {
    kvmaudit::util::rfc3339(epoch.max(0) as u64)
}

/// A report big enough (a dozen VMs, ~100 KB) that an earlier fleet read only its head.
fn report(seed: u64, host: &str, when: &str, machine_id: Option<&str>) -> Report {
    let mut spec = sample::Spec::new(seed, host);
    spec.generated_at = when.to_string();
    spec.vms = 12;
    let mut r = sample::report(&spec);
    r.host.machine_id = machine_id.map(str::to_string);
    r
}

/// As `scan --json` writes it: pretty, with a final newline.
fn pretty(r: &Report) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(r).unwrap();
    v.push(b'\n');
    v
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

struct Run {
    json: Value,
    table: String,
    csv: String,
    html: String,
    prom: PathBuf,
}

/// `fleet DIR` with every output.
fn fleet(dir: &Path) -> Run {
    let out_dir = dir.parent().unwrap().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let (json, csv, html, prom) = (
        out_dir.join("fleet.json"),
        out_dir.join("fleet.csv"),
        out_dir.join("fleet.html"),
        out_dir.join("fleet.prom"),
    );
    let out = kvmaudit()
        .arg("fleet")
        .arg(dir)
        .arg("--json")
        .arg(&json)
        .arg("--csv")
        .arg(&csv)
        .arg("--html")
        .arg(&html)
        .arg("--prom")
        .arg(&prom)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    Run {
        json: serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap(),
        table: String::from_utf8_lossy(&out.stdout).into_owned(),
        csv: std::fs::read_to_string(&csv).unwrap(),
        html: std::fs::read_to_string(&html).unwrap(),
        prom,
    }
}

fn hosts(f: &Value) -> &Vec<Value> {
    f["hosts"].as_array().unwrap()
}

fn file_name(v: &Value) -> String {
    Path::new(v.as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// (file name, kind, reason) of every skipped file.
fn skipped(f: &Value) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = f["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                file_name(&s["path"]),
                s["kind"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn skip_of<'a>(f: &'a [(String, String, String)], file: &str) -> &'a (String, String, String) {
    f.iter()
        .find(|s| s.0 == file)
        .unwrap_or_else(|| panic!("{file} not skipped: {f:#?}"))
}

/// The CSV as header → value maps.
fn csv_rows(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    // The test hosts' fields hold no commas or quotes.
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

#[test]
fn a_report_dated_in_the_future_never_supersedes_and_is_never_fresh() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reports");
    std::fs::create_dir(&dir).unwrap();
    let now = now();
    write(
        &dir,
        "hv01.json",
        &pretty(&report(1, "hv01", &at(now), None)),
    );
    // The attack: a report of hv01 dated 9999 (all-pass or not, it would stay forever).
    write(
        &dir,
        "hv01-forever.json",
        &pretty(&report(2, "hv01", "9999-12-31T23:59:59Z", None)),
    );
    // A host whose only report is dated in the future: shown, flagged, stale.
    write(
        &dir,
        "hv02.json",
        &pretty(&report(3, "hv02", &at(now + 86_400), None)),
    );
    // Two minutes ahead is clock skew, not the future: it replaces the older report.
    write(
        &dir,
        "hv03.json",
        &pretty(&report(4, "hv03", &at(now + 120), None)),
    );
    write(
        &dir,
        "hv03-old.json",
        &pretty(&report(5, "hv03", &at(now - 3600), None)),
    );
    let run = fleet(&dir);
    let f = &run.json;
    let by_host = |h: &str| {
        hosts(f)
            .iter()
            .find(|e| e["host"] == h)
            .unwrap_or_else(|| panic!("{h} missing"))
            .clone()
    };
    let hv01 = by_host("hv01");
    assert_eq!(file_name(&hv01["path"]), "hv01.json");
    assert_eq!(hv01["future_dated"], false);
    assert_eq!(hv01["stale"], false);
    let hv02 = by_host("hv02");
    assert_eq!(hv02["future_dated"], true);
    assert_eq!(hv02["stale"], true, "a report from the future is not fresh");
    let hv03 = by_host("hv03");
    assert_eq!(file_name(&hv03["path"]), "hv03.json");
    assert_eq!(hv03["future_dated"], false);
    assert_eq!(f["summary"]["future_dated"], 1);
    assert_eq!(f["summary"]["stale"], 1);

    let s = skipped(f);
    let forever = skip_of(&s, "hv01-forever.json");
    assert_eq!(forever.1, "future_dated");
    assert!(forever.2.contains("dated in the future"), "{}", forever.2);
    assert_eq!(skip_of(&s, "hv03-old.json").1, "superseded");

    // Every output says so.
    assert!(
        run.table.contains("1 report(s) dated in the future"),
        "{}",
        run.table
    );
    assert!(run.table.contains("future-dated"), "{}", run.table);
    let rows = csv_rows(&run.csv);
    let flagged: Vec<&str> = rows
        .iter()
        .filter(|r| r["future_dated"] == "true")
        .map(|r| r["host"].as_str())
        .collect();
    assert_eq!(flagged, ["hv02"]);
    assert!(run.html.contains("dated in the future"));
    let prom = std::fs::read_to_string(&run.prom).unwrap();
    assert!(
        prom.contains("\nkvmaudit_fleet_future_dated_hosts 1\n"),
        "{prom}"
    );
    assert!(prom.contains("\nkvmaudit_fleet_host_future_dated{host=\"hv02\"} 1\n"));
}

#[test]
fn a_counter_wrapping_report_is_skipped_and_sums_cannot_wrap() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reports");
    std::fs::create_dir(&dir).unwrap();
    let now = at(now());
    let good = report(1, "hv01", &now, None);
    let fails = good.score.counts.fail;
    assert!(fails > 0);
    write(&dir, "hv01.json", &pretty(&good));
    // The attack: counts that, added to the fleet's in 32 bits, bring its fail count to 0.
    let mut evil = report(2, "hv02", &now, None);
    evil.score.counts.fail = u32::MAX - fails + 1;
    evil.score.counts.pass = u32::MAX;
    write(&dir, "hv02.json", &pretty(&evil));
    let f = fleet(&dir).json;
    assert_eq!(f["summary"]["hosts"], 1);
    assert_eq!(f["summary"]["counts"]["fail"], u64::from(fails));
    let s = skipped(&f);
    let hv02 = skip_of(&s, "hv02.json");
    assert_eq!(hv02.1, "corrupt");
    assert!(hv02.2.contains("disagree"), "{}", hv02.2);
}

#[test]
fn reports_whose_numbers_cannot_be_true_are_skipped_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reports");
    std::fs::create_dir(&dir).unwrap();
    let now = at(now());
    write(&dir, "good.json", &pretty(&report(1, "good", &now, None)));
    type Edit = Box<dyn Fn(&mut Report)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "score.json",
            Box::new(|r| r.score.value = Some(1000.0)),
            "outside 0-100",
        ),
        (
            "negative.json",
            Box::new(|r| r.score.host = Some(-5.0)),
            "outside 0-100",
        ),
        (
            "coverage.json",
            Box::new(|r| r.score.coverage = Some(5.0)),
            "outside 0-1",
        ),
        (
            "vm.json",
            Box::new(|r| r.vms[0].score.value = Some(-3.0)),
            "out of range",
        ),
        (
            "totals.json",
            Box::new(|r| r.rule_totals[0].fail += 1),
            "rule_totals add up to",
        ),
        // The head (counts and rule_totals agree) says a failure passed; the findings say
        // it failed.
        (
            "findings.json",
            Box::new(|r| {
                let f = r
                    .results
                    .iter_mut()
                    .find(|f| f.status == Status::Fail)
                    .unwrap();
                f.status = Status::Pass;
            }),
            "disagree with the findings",
        ),
    ];
    for (i, (name, edit, _)) in cases.iter().enumerate() {
        let mut r = report(10 + i as u64, &format!("h{i}"), &now, None);
        edit(&mut r);
        write(&dir, name, &pretty(&r));
    }
    let f = fleet(&dir).json;
    assert_eq!(f["summary"]["hosts"], 1, "{:#?}", skipped(&f));
    let s = skipped(&f);
    for (name, _, why) in &cases {
        let (_, kind, reason) = skip_of(&s, name);
        assert_eq!(kind, "corrupt", "{name}");
        assert!(reason.contains(why), "{name}: {reason}");
    }
}

/// `bytes` with `extra` inserted before the top-level closing brace.
fn with_trailing_member(bytes: &[u8], extra: &str) -> Vec<u8> {
    let end = bytes.iter().rposition(|&b| b == b'}').unwrap();
    let mut v = bytes[..end].to_vec();
    while v.last().is_some_and(|b| b.is_ascii_whitespace()) {
        v.pop();
    }
    v.extend_from_slice(extra.as_bytes());
    v.extend_from_slice(b"\n}\n");
    v
}

#[test]
fn a_report_a_full_parser_rejects_is_never_rolled_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reports");
    std::fs::create_dir(&dir).unwrap();
    let now = at(now());
    write(&dir, "good.json", &pretty(&report(1, "good", &now, None)));
    let base = pretty(&report(2, "hv02", &now, None));
    assert!(base.len() > 64 << 10, "{} bytes", base.len());
    let results = base
        .windows(12)
        .position(|w| w == b"\"results\": [")
        .unwrap();
    let mid = results + (base.len() - results) / 2;

    // Duplicate keys: this fleet used to read the first `score`, jq reads the last.
    let perfect = r#",
  "score": {"value": 100.0, "max": 100.0, "counts": {"pass": 1, "fail": 0, "warn": 0, "info": 0, "not_applicable": 0, "unknown": 0, "waived": 0}}"#;
    write(
        &dir,
        "dup-score.json",
        &with_trailing_member(&base, perfect),
    );
    write(
        &dir,
        "dup-host.json",
        &with_trailing_member(&base, ",\n  \"host\": {\"hostname\": \"good\"}"),
    );
    // A valid head, then garbage up to a valid-looking end.
    let mut garbage = base[..mid].to_vec();
    garbage.extend_from_slice(b"\x00\x01 this is not JSON {{{ ]]]");
    garbage.extend_from_slice(&base[base.len() - 200..]);
    write(&dir, "garbage.json", &garbage);
    // A valid head, then not JSON at all, then the closing brace.
    let mut not_json = base[..results].to_vec();
    not_json.extend_from_slice(b"\"results\": [ oops\n}\n");
    write(&dir, "not-json.json", &not_json);
    // A chunk cut out of the middle (a broken copy), both ends intact.
    let mut holed = base[..mid].to_vec();
    holed.extend_from_slice(&base[mid + 5000..]);
    write(&dir, "holed.json", &holed);
    // Data after the object.
    let mut trailing = base.clone();
    trailing.extend_from_slice(b"{\"score\": 100}\n");
    write(&dir, "trailing.json", &trailing);

    let f = fleet(&dir).json;
    assert_eq!(f["summary"]["hosts"], 1, "{:#?}", skipped(&f));
    let s = skipped(&f);
    for name in [
        "dup-score.json",
        "dup-host.json",
        "garbage.json",
        "not-json.json",
        "holed.json",
        "trailing.json",
    ] {
        assert_eq!(skip_of(&s, name).1, "corrupt", "{name}");
    }
    assert!(
        skip_of(&s, "dup-score.json")
            .2
            .contains("duplicate field `score`"),
        "{:?}",
        skip_of(&s, "dup-score.json")
    );
    assert!(skip_of(&s, "dup-host.json")
        .2
        .contains("duplicate field `host`"));
}

/// Every sample of every family as (name, sorted labels): no two may be equal.
fn assert_no_duplicate_series(fams: &[Value]) {
    let mut seen = std::collections::HashSet::new();
    for fam in fams {
        for s in fam["samples"].as_array().unwrap() {
            let mut labels: Vec<(String, String)> = s["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            labels.sort();
            let key = (s["name"].as_str().unwrap().to_string(), labels);
            assert!(seen.insert(key.clone()), "duplicate series {key:?}");
        }
    }
}

#[test]
fn one_hostname_two_machines_are_two_hosts_flagged_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reports");
    std::fs::create_dir(&dir).unwrap();
    let now = now();
    // The attack: a second machine names itself hv01, with a newer, cleaner report.
    write(
        &dir,
        "hv01.json",
        &pretty(&report(1, "hv01", &at(now - 3600), Some(ID_A))),
    );
    write(
        &dir,
        "hv01-impostor.json",
        &pretty(&report(2, "hv01", &at(now), Some(ID_B))),
    );
    // And a third, newest hv01 that names no machine-id (a stripped report): nothing says
    // which machine it is.
    write(
        &dir,
        "hv01-anonymous.json",
        &pretty(&report(3, "hv01", &at(now + 60), None)),
    );
    // A report from before the host's kvmaudit named its machine-id: the same host, older.
    write(
        &dir,
        "hv05.json",
        &pretty(&report(8, "hv05", &at(now), Some(ID_E))),
    );
    write(
        &dir,
        "hv05-before-upgrade.json",
        &pretty(&report(9, "hv05", &at(now - 86_400), None)),
    );
    // One identity twice: the newest report wins, as before.
    write(
        &dir,
        "hv02.json",
        &pretty(&report(4, "hv02", &at(now), Some(ID_C))),
    );
    write(
        &dir,
        "hv02-old.json",
        &pretty(&report(5, "hv02", &at(now - 7200), Some(ID_C))),
    );
    // Two hosts installed from one image share a machine-id: two hosts, flagged.
    write(
        &dir,
        "hv03.json",
        &pretty(&report(6, "hv03", &at(now), Some(ID_D))),
    );
    write(
        &dir,
        "hv04.json",
        &pretty(&report(7, "hv04", &at(now), Some(ID_D))),
    );
    let run = fleet(&dir);
    let f = &run.json;
    let mut rows: Vec<(String, String, bool)> = hosts(f)
        .iter()
        .map(|h| {
            (
                h["host"].as_str().unwrap().to_string(),
                file_name(&h["path"]),
                h["identity_conflict"].as_bool().unwrap(),
            )
        })
        .collect();
    rows.sort();
    let row = |h: &str, p: &str, c: bool| (h.to_string(), p.to_string(), c);
    assert_eq!(
        rows,
        [
            row("hv01", "hv01-anonymous.json", true),
            row("hv01", "hv01-impostor.json", true),
            row("hv01", "hv01.json", true),
            row("hv02", "hv02.json", false),
            row("hv03", "hv03.json", true),
            row("hv04", "hv04.json", true),
            row("hv05", "hv05.json", false),
        ]
    );
    assert_eq!(f["summary"]["identity_conflicts"], 5);
    let s = skipped(f);
    assert_eq!(s.len(), 2, "{s:#?}");
    assert_eq!(skip_of(&s, "hv02-old.json").1, "superseded");
    assert_eq!(skip_of(&s, "hv05-before-upgrade.json").1, "superseded");
    let impostor = hosts(f)
        .iter()
        .find(|h| file_name(&h["path"]) == "hv01-impostor.json")
        .unwrap();
    assert_eq!(impostor["machine_id"], ID_B);

    // Table: each hv01 row says which machine it is, and that it conflicts.
    for id in ["aaaaaaaa", "bbbbbbbb", "no id"] {
        assert!(
            run.table.contains(&format!("hv01 [{id}] CONFLICT")),
            "{id}: {}",
            run.table
        );
    }
    assert!(run.table.contains("5 host(s) in an identity conflict"));
    // CSV.
    let csv = csv_rows(&run.csv);
    assert_eq!(
        csv.iter()
            .filter(|r| r["identity_conflict"] == "true")
            .count(),
        5
    );
    assert!(csv.iter().any(|r| r["machine_id"] == ID_B));
    // HTML.
    assert_eq!(run.html.matches(">identity conflict</span>").count(), 5);
    // Prometheus: flagged, and no series twice (Prometheus rejects the whole file then).
    let prom = std::fs::read_to_string(&run.prom).unwrap();
    assert!(
        prom.contains("\nkvmaudit_fleet_identity_conflicts 5\n"),
        "{prom}"
    );
    assert!(prom.contains(&format!(
        "kvmaudit_fleet_host_score{{host=\"hv01\",id=\"{ID_B}\"}}"
    )));
    assert!(prom.contains("kvmaudit_fleet_host_score{host=\"hv02\"}"));
    if parser_available() {
        let fams = parse(&run.prom);
        assert_no_duplicate_series(&fams);
        let flagged = family(&fams, "kvmaudit_fleet_host_identity_conflict")["samples"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(flagged, 5);
    }
}

#[test]
fn prometheus_series_stay_unique_whatever_the_hosts_call_themselves() {
    if !parser_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reports");
    std::fs::create_dir(&dir).unwrap();
    let now = at(now());
    // Same hostname, no machine-id, different SMBIOS UUIDs; and a host named like another
    // report's path (reports without a hostname are labelled by their path).
    let mut a = report(1, "hv01", &now, None);
    a.host.smbios_uuid = Some("4c4c4544-0037-3010-8052-b4c04f4e4d32".into());
    let mut b = report(2, "hv01", &now, None);
    b.host.smbios_uuid = Some("4c4c4544-0037-3010-8052-b4c04f4e4d33".into());
    write(&dir, "a.json", &pretty(&a));
    write(&dir, "b.json", &pretty(&b));
    let mut nameless = report(3, "x", &now, None);
    nameless.host.hostname = None;
    let nameless_path = write(&dir, "nameless.json", &pretty(&nameless));
    let mut squatter = report(4, "x", &now, Some(ID_A));
    squatter.host.hostname = Some(nameless_path.display().to_string());
    write(&dir, "squatter.json", &pretty(&squatter));
    let run = fleet(&dir);
    assert_eq!(run.json["summary"]["hosts"], 4);
    let fams = parse(&run.prom);
    assert_no_duplicate_series(&fams);
    let scores = family(&fams, "kvmaudit_fleet_host_score")["samples"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(scores, 4);
}

#[test]
fn a_malformed_identity_is_not_believed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reports");
    std::fs::create_dir(&dir).unwrap();
    let now = at(now());
    write(
        &dir,
        "good.json",
        &pretty(&report(1, "good", &now, Some(ID_A))),
    );
    let mut upper = report(2, "hv02", &now, None);
    upper.host.machine_id = Some(ID_B.to_ascii_uppercase());
    write(&dir, "upper.json", &pretty(&upper));
    let mut long = report(3, "hv03", &now, None);
    long.host.machine_id = Some("a".repeat(100_000));
    write(&dir, "long.json", &pretty(&long));
    let mut uuid = report(4, "hv04", &now, None);
    uuid.host.smbios_uuid = Some("00000000-0000-0000-0000-000000000000".into());
    write(&dir, "uuid.json", &pretty(&uuid));
    let f = fleet(&dir).json;
    assert_eq!(f["summary"]["hosts"], 1);
    let s = skipped(&f);
    for name in ["upper.json", "long.json", "uuid.json"] {
        let (_, kind, reason) = skip_of(&s, name);
        assert_eq!(kind, "corrupt", "{name}");
        assert!(reason.contains("is not one kvmaudit writes"), "{reason}");
        assert!(reason.len() < 200, "{name}: reason not bounded");
    }
}
