//! `kvmaudit fleet`: good reports rolled up, everything else listed as skipped with its reason;
//! every output format; exit statuses.

mod common;
mod report_support;

use kvmaudit::report::sample;
use report_support::chromium::*;
use report_support::promparse::*;
use report_support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn write_sample(dir: &Path, file: &str, seed: u64, host: &str, at: &str) {
    let mut spec = sample::Spec::new(seed, host);
    spec.generated_at = at.to_string();
    std::fs::write(
        dir.join(file),
        serde_json::to_vec_pretty(&sample::report(&spec)).unwrap(),
    )
    .unwrap();
}

/// A directory of good, corrupt, foreign, newer-schema and superseded files, plus a real scan.
fn mixed_dir(tmp: &Path) -> PathBuf {
    let dir = tmp.join("reports");
    std::fs::create_dir_all(dir.join("rack2")).unwrap();
    let now = kvmaudit::util::now_rfc3339();
    write_sample(&dir, "hv01.json", 1, "hv01", &now);
    write_sample(&dir, "hv02.json", 2, "hv02", &now);
    write_sample(&dir.join("rack2"), "hv03.json", 3, "hv03", &now);
    // An old report of hv01 (superseded) and a stale host.
    write_sample(&dir, "hv01-old.json", 11, "hv01", "2020-01-01T00:00:00Z");
    write_sample(&dir, "hv04.json", 4, "hv04", "2020-01-01T00:00:00Z");
    // A real report of this machine (scanned with a hostile argv file).
    let evil = evil_argv(tmp);
    let real = kvmaudit()
        .args(["scan", "--json"])
        .arg(dir.join("real.json"))
        .arg("--qemu-argv")
        .arg(&evil)
        .output()
        .unwrap();
    assert!(matches!(real.status.code(), Some(0) | Some(2)));
    std::fs::write(
        dir.join("corrupt.json"),
        b"{\"schema_version\": 1, \"tool\": {",
    )
    .unwrap();
    std::fs::write(dir.join("empty.json"), b"").unwrap();
    std::fs::write(dir.join("binary.json"), b"\x00\x9f\xff\xfe").unwrap();
    std::fs::write(
        dir.join("package.json"),
        br#"{"name": "web", "version": "1.0.0"}"#,
    )
    .unwrap();
    std::fs::write(dir.join("list.json"), b"[1, 2, 3]").unwrap();
    let mut newer: Value =
        serde_json::to_value(sample::report(&sample::Spec::new(5, "hv05"))).unwrap();
    newer["schema_version"] = 2.into();
    newer["results"] = Value::String("reshaped in v2".into());
    std::fs::write(dir.join("future.json"), serde_json::to_vec(&newer).unwrap()).unwrap();
    // A snapshot from `collect` is kvmaudit's, but not a report.
    let snap = kvmaudit()
        .args(["collect", "-o"])
        .arg(dir.join("snapshot.json"))
        .arg("--qemu-argv")
        .arg(&evil)
        .output()
        .unwrap();
    assert_eq!(snap.status.code(), Some(0), "{snap:?}");
    // Not JSON by name: ignored inside a directory.
    std::fs::write(dir.join("README.txt"), b"not a report").unwrap();
    // An in-flight temporary of an atomic write: hidden, ignored.
    std::fs::write(dir.join(".kvmaudit-abc123"), b"{").unwrap();
    dir
}

fn fleet(args: &[&std::ffi::OsStr]) -> std::process::Output {
    kvmaudit().arg("fleet").args(args).output().unwrap()
}

#[test]
fn mixed_directory_rolls_up_the_good_and_lists_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = mixed_dir(tmp.path());
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let (json, csv, html, prom) = (
        out_dir.join("fleet.json"),
        out_dir.join("fleet.csv"),
        out_dir.join("fleet.html"),
        out_dir.join("fleet.prom"),
    );
    let out = fleet(&[
        dir.as_os_str(),
        "--json".as_ref(),
        json.as_os_str(),
        "--csv".as_ref(),
        csv.as_os_str(),
        "--html".as_ref(),
        html.as_os_str(),
        "--prom".as_ref(),
        prom.as_os_str(),
        "--stale-after".as_ref(),
        "36h".as_ref(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"));
    assert!(
        !stderr.contains('\r'),
        "progress bar drawn on a non-terminal"
    );
    let f: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(f["kind"], "kvmaudit-fleet");
    let hosts: Vec<&str> = f["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts.len(), 5, "{hosts:?}");
    for h in ["hv01", "hv02", "hv03", "hv04"] {
        assert!(hosts.contains(&h), "{h} missing from {hosts:?}");
    }
    // hv01 is its newest report.
    let hv01 = f["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == "hv01")
        .unwrap();
    assert!(hv01["path"].as_str().unwrap().ends_with("/hv01.json"));
    // Worst first.
    let scores: Vec<f64> = f["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["score"].as_f64())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}");
    // Every skipped file with its reason.
    let skipped: Vec<(String, String)> = f["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                Path::new(s["path"].as_str().unwrap())
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                s["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("binary.json", "corrupt"),
        ("corrupt.json", "corrupt"),
        ("empty.json", "corrupt"),
        ("future.json", "newer_schema"),
        ("hv01-old.json", "superseded"),
        ("list.json", "foreign"),
        ("package.json", "foreign"),
        ("snapshot.json", "foreign"),
    ];
    let mut got = skipped.clone();
    got.sort();
    assert_eq!(
        got,
        want.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    );
    for s in f["skipped"].as_array().unwrap() {
        assert!(!s["reason"].as_str().unwrap().is_empty());
        // The table on stdout lists each skipped file too.
        let name = Path::new(s["path"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(stdout.contains(&name), "{name} not in the table");
    }
    assert!(stderr.contains("8 path(s) skipped"), "{stderr}");
    // Stale: the 2020 report.
    let stale: Vec<&str> = f["stale"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["host"].as_str().unwrap())
        .collect();
    assert_eq!(stale, ["hv04"]);
    assert_eq!(f["summary"]["stale"], 1);
    assert!(stdout.contains("Stale reports"));
    // The rule counts add up with the hosts' failing rules.
    for r in f["rules"].as_array().unwrap() {
        let n = f["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| {
                h["failing_rules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x == &r["rule"])
            })
            .count();
        assert_eq!(
            r["hosts_failing"].as_u64().unwrap() as usize,
            n,
            "{}",
            r["rule"]
        );
    }
    // CSV: a header and one row per host, same hosts as the JSON.
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 6);
    assert!(lines[0].starts_with("host,path,generated_at,"));
    let cols = lines[0].split(',').count();
    for l in &lines[1..] {
        assert!(!l.contains('"') || l.matches('"').count() % 2 == 0);
        let plain = l.split(',').count();
        assert!(plain >= cols, "short row {l}");
    }
    assert!(std::fs::read_to_string(&html)
        .unwrap()
        .contains("Failure matrix"));
    assert!(std::fs::read_to_string(&prom)
        .unwrap()
        .contains("kvmaudit_fleet_hosts 5\n"));
}

#[test]
fn files_and_globs_and_missing_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = mixed_dir(tmp.path());
    let glob = dir.join("hv0*.json");
    let missing = dir.join("nope.json");
    let nomatch = dir.join("*.nothing");
    let json = tmp.path().join("f.json");
    let out = fleet(&[
        glob.as_os_str(),
        dir.join("rack2/hv03.json").as_os_str(),
        missing.as_os_str(),
        nomatch.as_os_str(),
        "--json".as_ref(),
        json.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let f: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(f["summary"]["hosts"], 4);
    let kinds: Vec<&str> = f["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "not_found").count(),
        2,
        "{kinds:?}"
    );
}

#[test]
fn exit_status_1_when_nothing_usable_or_an_output_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("junk");
    std::fs::create_dir(&junk).unwrap();
    std::fs::write(junk.join("a.json"), b"not json").unwrap();
    let out = fleet(&[junk.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no usable kvmaudit report"), "{err}");
    assert!(err.contains("a.json"), "{err}");
    assert!(!err.contains("panicked"));

    let out = fleet(&[tmp.path().join("nothing-here").as_os_str()]);
    assert_eq!(out.status.code(), Some(1));

    let dir = tmp.path().join("good");
    std::fs::create_dir(&dir).unwrap();
    write_sample(&dir, "a.json", 1, "a", &kvmaudit::util::now_rfc3339());
    let out = fleet(&[
        dir.as_os_str(),
        "--json".as_ref(),
        tmp.path().join("no/such/dir/f.json").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write"));

    let out = fleet(&[dir.as_os_str(), "--stale-after".as_ref(), "soon".as_ref()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a bad duration is a usage error"
    );
}

#[test]
fn json_and_csv_to_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    write_sample(
        tmp.path(),
        "a.json",
        1,
        "=cmd|' /C calc'!A0",
        &kvmaudit::util::now_rfc3339(),
    );
    let out = fleet(&[tmp.path().as_os_str(), "--json".as_ref(), "-".as_ref()]);
    assert_eq!(out.status.code(), Some(0));
    let f: Value = serde_json::from_slice(&out.stdout).expect("only JSON on stdout");
    assert_eq!(f["summary"]["hosts"], 1);
    let out = fleet(&[tmp.path().as_os_str(), "--csv".as_ref(), "-".as_ref()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("host,"));
    assert!(
        text.contains("\r\n'=cmd|' /C calc'!A0,"),
        "formula not neutralised: {text}"
    );
}

#[test]
fn progress_bar_only_on_a_terminal() {
    if !common::require_tool("script") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let now = kvmaudit::util::now_rfc3339();
    for i in 0..30 {
        write_sample(tmp.path(), &format!("h{i}.json"), i, &format!("h{i}"), &now);
    }
    let out_json = tmp.path().join("out.json.out");
    let cmd = format!(
        "{} fleet {} --json {} >/dev/null",
        shell_words::quote(&bin().to_string_lossy()),
        shell_words::quote(&tmp.path().to_string_lossy()),
        shell_words::quote(&out_json.to_string_lossy())
    );
    let out = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(
        tty.contains("reading reports [") && tty.contains("30/30"),
        "{tty:?}"
    );
}

/// 2,000 reports (a fifth of the benchmark) in well under a minute, even in a debug build.
#[test]
fn two_thousand_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let now = kvmaudit::util::now_rfc3339();
    for i in 0..2000u64 {
        let mut spec = sample::Spec::new(i, format!("host{i:05}"));
        spec.generated_at = now.clone();
        spec.vms = (i % 6) as usize;
        std::fs::write(
            tmp.path().join(format!("host{i:05}.json")),
            serde_json::to_vec(&sample::report(&spec)).unwrap(),
        )
        .unwrap();
    }
    let json = tmp.path().join("out.json.out");
    let start = Instant::now();
    let out = fleet(&[tmp.path().as_os_str(), "--json".as_ref(), json.as_os_str()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
    let f: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(f["summary"]["hosts"], 2000);
    assert_eq!(f["worst_vms"].as_array().unwrap().len(), 25);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("worst 50 of 2000"),
        "the table lists the worst hosts only"
    );
}

#[test]
fn fleet_page_renders_with_the_json_summary() {
    if !common::require_tool("chromium") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reports");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..6u64 {
        let mut spec = kvmaudit::report::sample::Spec::new(i, format!("hv{i:02}"));
        spec.generated_at = kvmaudit::util::now_rfc3339();
        let r = kvmaudit::report::sample::report(&spec);
        std::fs::write(
            dir.join(format!("hv{i:02}.json")),
            serde_json::to_vec(&r).unwrap(),
        )
        .unwrap();
    }
    let mut evil =
        kvmaudit::report::sample::report(&kvmaudit::report::sample::Spec::new(9, EVIL_NAME));
    evil.vms[0].name = EVIL_NAME.into();
    std::fs::write(dir.join("evil.json"), serde_json::to_vec(&evil).unwrap()).unwrap();
    std::fs::write(dir.join("broken.json"), b"{\"schema_version\": 1,").unwrap();
    let page = tmp.path().join("fleet.html");
    let json = tmp.path().join("fleet.json");
    let out = kvmaudit()
        .arg("fleet")
        .arg(&dir)
        .arg("--html")
        .arg(&page)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let f: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let dom = dump_dom(tmp.path(), &page);
    let hosts = f["summary"]["hosts"].as_u64().unwrap();
    assert_eq!(hosts, 7);
    assert_eq!(text_of(&dom, "host-count"), hosts.to_string());
    assert_eq!(
        text_of(&dom, "skipped-count"),
        f["summary"]["skipped"].to_string()
    );
    assert_eq!(
        text_of(&dom, "stale-count"),
        f["summary"]["stale"].to_string()
    );
    assert_eq!(dom.matches("<tr class=\"host\"").count() as u64, hosts);
    assert_eq!(
        text_of(&dom, "shown"),
        format!("{hosts} of {hosts} hosts shown")
    );
    assert!(
        !dom.contains("<img"),
        "an <img> element reached the fleet DOM"
    );
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

#[test]
fn fleet_prom_parses() {
    if !parser_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..4u64 {
        let r = kvmaudit::report::sample::report(&kvmaudit::report::sample::Spec::new(
            i,
            format!("hv\"{i}"),
        ));
        std::fs::write(
            tmp.path().join(format!("r{i}.json")),
            serde_json::to_vec(&r).unwrap(),
        )
        .unwrap();
    }
    std::fs::write(tmp.path().join("junk.json"), b"nope").unwrap();
    let prom = tmp.path().join("out/fleet.prom");
    std::fs::create_dir(tmp.path().join("out")).unwrap();
    let out = kvmaudit()
        .arg("fleet")
        .arg(tmp.path())
        .arg("--prom")
        .arg(&prom)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = std::fs::read_to_string(&prom).unwrap();
    let fams = parse(&prom);
    common_checks(&fams, &text);
    assert_eq!(
        family(&fams, "kvmaudit_fleet_hosts")["samples"][0]["value"],
        4.0
    );
    let skipped = family(&fams, "kvmaudit_fleet_skipped_files")["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["labels"]["reason"] == "corrupt")
        .unwrap()["value"]
        .clone();
    assert_eq!(skipped, 1.0);
    let hosts = family(&fams, "kvmaudit_fleet_host_score")["samples"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(hosts, 4);
}

/// What `fleet --cache` said about the cache on stderr.
fn cache_line(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("cache"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn cache_serves_unchanged_reports_once_they_are_old_enough() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reports");
    std::fs::create_dir_all(&dir).unwrap();
    let now = kvmaudit::util::now_rfc3339();
    for i in 1..=4u64 {
        write_sample(
            &dir,
            &format!("hv{i:02}.json"),
            i,
            &format!("hv{i:02}"),
            &now,
        );
    }
    std::fs::write(
        dir.join("corrupt.json"),
        b"{\"schema_version\": 1, \"tool\": {",
    )
    .unwrap();
    let cache = tmp.path().join("fleet.cache");
    let table = tmp.path().join("fleet.csv");
    let run = || {
        let out = fleet(&[
            dir.as_os_str(),
            "--cache".as_ref(),
            cache.as_os_str(),
            "--csv".as_ref(),
            table.as_os_str(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        (cache_line(&out), std::fs::read_to_string(&table).unwrap())
    };
    // Just written: too fresh to trust their change time, so read and not kept.
    let (line, fresh_csv) = run();
    assert!(line.contains("0 of 5 file(s) unchanged"), "{line}");
    let (line, _) = run();
    assert!(line.contains("0 of 5 file(s) unchanged"), "{line}");
    std::thread::sleep(Duration::from_millis(3100));
    let (line, _) = run();
    assert!(line.contains("0 of 5 file(s) unchanged"), "{line}");
    let (line, cached_csv) = run();
    assert!(line.contains("5 of 5 file(s) unchanged"), "{line}");
    // The CSV's ages moved by the seconds slept; the hosts, scores and counts did not.
    let no_age = |csv: &str| -> Vec<Vec<String>> {
        let header: Vec<&str> = csv.lines().next().unwrap_or("").split(',').collect();
        let age = header.iter().position(|h| *h == "age_seconds");
        assert!(age.is_some(), "{header:?}");
        csv.lines()
            .map(|l| {
                let mut cells: Vec<String> = l.split(',').map(str::to_owned).collect();
                cells.remove(age.unwrap_or(0));
                cells
            })
            .collect()
    };
    assert_eq!(no_age(&cached_csv), no_age(&fresh_csv));
    assert_eq!(cached_csv.lines().count(), 5, "{cached_csv}");
    let meta = std::fs::metadata(&cache).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o022,
        0
    );

    // A cache others could have written is not believed, and is rebuilt.
    std::fs::set_permissions(&cache, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let (line, csv) = run();
    assert!(
        line.contains("not reading the cache") && line.contains("writable by group or others"),
        "{line}"
    );
    assert!(line.contains("0 of 5 file(s) unchanged"), "{line}");
    assert_eq!(no_age(&csv), no_age(&fresh_csv));

    // Binary entries never go to stdout.
    let out = fleet(&[dir.as_os_str(), "--cache".as_ref(), "-".as_ref()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the cache is a file"));
}
