//! The fleet roll-up's outputs, byte for byte, over a generated set of a few hundred reports:
//! the reader and the fold can be rewritten for speed and memory (issue 17's 100,000-report
//! benchmark) only if every output stays as it was. `KVMAUDIT_BLESS=1 cargo test --test
//! fleet_golden` rewrites `fixtures/golden/fleet/`; a commit that does so says why.
//!
//! The set mixes what the reader and the fold treat differently: 0-8 VMs, labels, compact and
//! pretty JSON, reports without `rule_totals`, superseded and future-dated reports, identity
//! conflicts, anonymous reports and files that are not reports.

use kvmaudit::fleet::{groups, links, render, roll_up};
use kvmaudit::report::sample;
use kvmaudit::report::table::Style;
use serde_json::Value;
use std::path::{Path, PathBuf};

const GOLDEN: &str = "fixtures/golden/fleet";
/// The roll-up's clock: 2026-12-01T00:00:00Z.
const NOW: i64 = 1_796_083_200;
/// More than 100, so that the table lists the worst 50.
const HOSTS: u64 = 120;

fn bless() -> bool {
    std::env::var_os("KVMAUDIT_BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

fn at(secs_before_now: i64) -> String {
    kvmaudit::util::rfc3339((NOW - secs_before_now) as u64)
}

fn write(dir: &Path, name: &str, v: &Value, compact: bool) {
    let mut bytes = if compact {
        serde_json::to_vec(v).unwrap()
    } else {
        serde_json::to_vec_pretty(v).unwrap()
    };
    bytes.push(b'\n');
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// One generated host's report as JSON, with its identity and labels.
fn host(i: u64, name: &str, age: i64) -> Value {
    let mut spec = sample::Spec::new(i, name);
    spec.vms = (i % 9) as usize;
    spec.generated_at = at(age);
    let mut v = serde_json::to_value(sample::report(&spec)).unwrap();
    // Every fifth host predates machine-ids (anonymous); the others carry one.
    if i % 5 != 0 {
        v["host"]["machine_id"] = format!("{i:032x}").into();
    }
    if i % 3 != 0 {
        v["labels"] = serde_json::json!({
            "site": format!("site{}", i % 4),
            "rack": format!("r{:02}", i % 7),
        });
    }
    v
}

/// The corpus, written under `dir`.
fn corpus(dir: &Path) {
    for i in 0..HOSTS {
        let rack = dir.join(format!("rack{:02}", i % 6));
        std::fs::create_dir_all(&rack).unwrap();
        let name = format!("host{i:03}");
        let age = ((i * 7919) % (48 * 3600)) as i64;
        let mut v = host(i, &name, age);
        if i % 61 == 7 {
            // Written before reports carried rule totals: tallied from the findings.
            v.as_object_mut().unwrap().remove("rule_totals");
        }
        write(&rack, &format!("{name}.json"), &v, i % 50 == 3);
        if i % 37 == 5 {
            let mut old = host(i + 10_000, &name, 7 * 86_400);
            old["host"]["machine_id"] = v["host"]["machine_id"].clone();
            write(&rack, &format!("{name}-old.json"), &old, false);
        }
    }
    // Two machines called host-dup (an identity conflict), one report dated in the future
    // next to a real one, and one dated in the future alone.
    let d = dir.join("odd");
    std::fs::create_dir_all(&d).unwrap();
    write(&d, "dup-a.json", &host(901, "host-dup", 600), false);
    write(&d, "dup-b.json", &host(902, "host-dup", 900), false);
    let real = host(903, "host-fut", 1200);
    let mut fut = host(904, "host-fut", -86_400);
    fut["host"]["machine_id"] = real["host"]["machine_id"].clone();
    write(&d, "fut-real.json", &real, false);
    write(&d, "fut-ahead.json", &fut, false);
    write(&d, "fut-alone.json", &host(906, "host-ahead", -7200), false);
    // Files that are not usable reports.
    std::fs::write(d.join("cut.json"), b"{\"schema_version\": 1, \"tool\": {").unwrap();
    std::fs::write(d.join("package.json"), br#"{"name": "web"}"#).unwrap();
    let mut lying = host(905, "host-liar", 60);
    lying["score"]["counts"]["fail"] = 0.into();
    write(&d, "lying.json", &lying, false);
}

/// Compare (or bless) one output; differences are collected so one run lists them all.
fn check(name: &str, actual: &str, diffs: &mut Vec<String>) {
    let path = Path::new(GOLDEN).join(name);
    if bless() {
        std::fs::create_dir_all(GOLDEN).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (bless with KVMAUDIT_BLESS=1)", path.display()));
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        diffs.push(format!(
            "{} differs from line {}:\n  - {}\n  + {}",
            path.display(),
            line + 1,
            expected.lines().nth(line).unwrap_or("<end>"),
            actual.lines().nth(line).unwrap_or("<end>")
        ));
    }
}

/// The outputs with the corpus's temporary directory and the tool version taken out.
fn normalise(text: &str, dir: &Path) -> String {
    text.replace(&format!("{}/", dir.display()), "")
        .replace(env!("CARGO_PKG_VERSION"), "VERSION")
}

#[test]
fn fleet_outputs_are_unchanged() {
    // In /tmp whatever TMPDIR says: the table's column widths depend on the paths' length
    // before the directory is taken out of them.
    let tmp = tempfile::tempdir_in("/tmp").unwrap();
    let dir = tmp.path().join("reports");
    corpus(&dir);
    let paths: Vec<PathBuf> = vec![dir.clone()];
    let mut diffs = Vec::new();
    for (variant, group) in [("plain", None), ("by-site", Some("site"))] {
        let (mut f, usable) = roll_up(&paths, 36 * 3600, NOW, false);
        assert!(usable);
        if let Some(k) = group {
            groups::attach(&mut f, &groups::GroupKey::parse(k).unwrap());
        }
        links::attach(&mut f, Some("https://reports.example/{host}.html"), None);
        let out = |s: String| normalise(&s, &dir);
        let json = render::json(&f);
        let mut streamed = Vec::new();
        render::json_to(&mut streamed, &f).unwrap();
        assert_eq!(streamed, json, "streamed JSON = JSON");
        if group.is_none() {
            check(
                "plain.json",
                &out(String::from_utf8(json).unwrap()),
                &mut diffs,
            );
            check("plain.csv", &out(render::csv(&f)), &mut diffs);
        } else {
            // Grouping adds `group_by` and `groups` to the JSON and changes no CSV byte.
            let v: Value = serde_json::from_slice(&json).unwrap();
            let groups = serde_json::to_string_pretty(&(&v["group_by"], &v["groups"])).unwrap();
            check(&format!("{variant}.groups.json"), &groups, &mut diffs);
        }
        check(
            &format!("{variant}.txt"),
            &out(render::table(&f, Style::plain())),
            &mut diffs,
        );
        check(
            &format!("{variant}.prom"),
            &out(render::prom(&f)),
            &mut diffs,
        );
        // The page's nonce is random: compared without it.
        let html = render::html(&f).unwrap();
        let nonce_at = html.find("nonce-").expect("a CSP nonce") + 6;
        let nonce = &html[nonce_at..nonce_at + 16];
        check(
            &format!("{variant}.html"),
            &out(html.replace(nonce, "NONCE")),
            &mut diffs,
        );
    }
    assert!(
        diffs.is_empty(),
        "{} fleet output(s) differ (re-bless with KVMAUDIT_BLESS=1 only when the change is meant):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
