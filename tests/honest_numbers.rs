//! Numbers that say what they rest on (issue 12, "Identity and honesty of the numbers"): a
//! score from little evidence reads "insufficient evidence", coverage tells "not readable here"
//! from "guest-side", and a host that is not the guide's platform or cannot run
//! KVM says so at the top of every output.

mod common;

use serde_json::Value;
use std::path::Path;

/// Every output of one scan of `root`: (table, JSON, HTML, Prometheus).
fn outputs(root: &Path) -> (String, Value, String, String) {
    let t = tempfile::tempdir().unwrap();
    let (json, html, prom) = (
        t.path().join("r.json"),
        t.path().join("r.html"),
        t.path().join("r.prom"),
    );
    let out = assert_cmd::Command::cargo_bin("kvmaudit")
        .unwrap()
        .args(["scan", "--root"])
        .arg(root)
        .arg("--json")
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .arg("--prom")
        .arg(&prom)
        .env("COLUMNS", "200")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 2)), "{err}");
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        serde_json::from_str(&read(&json)).unwrap(),
        read(&html),
        read(&prom),
    )
}

/// A tree with two NUMA nodes and one processor block of the fixture hosts' /proc/cpuinfo
/// (bare metal: without it no bare-metal rule may be judged) and nothing else: a couple of
/// rules evaluate, the rest is unknown or not applicable.
fn two_node_tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let cpuinfo = std::fs::read_to_string(common::fixture("hosts/icx-tuned/proc/cpuinfo")).unwrap();
    let first = cpuinfo.split("\n\n").next().unwrap();
    std::fs::create_dir_all(t.path().join("proc")).unwrap();
    std::fs::write(t.path().join("proc/cpuinfo"), format!("{first}\n\n")).unwrap();
    // And intel_pstate's status: bios.hwp-native can pass on it (with the CPU directory
    // absent, every other CPU rule is unknown).
    let pstate = t.path().join("sys/devices/system/cpu/intel_pstate");
    std::fs::create_dir_all(&pstate).unwrap();
    std::fs::write(pstate.join("status"), "active\n").unwrap();
    for (n, cpus) in [(0, "0-3"), (1, "4-7")] {
        let d = t.path().join(format!("sys/devices/system/node/node{n}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("cpulist"), cpus).unwrap();
    }
    t
}

#[test]
fn a_score_from_little_evidence_is_insufficient_evidence_everywhere() {
    let t = two_node_tree();
    let (table, json, html, prom) = outputs(t.path());
    let score = &json["score"];
    assert!(score["coverage"].as_f64().unwrap() < 0.5, "{score}");
    assert_eq!(score["insufficient_evidence"], true, "{score}");
    assert!(
        table.contains("insufficient evidence (coverage ") && table.contains("% < 50%): "),
        "{table}"
    );
    assert!(html.contains("id=\"insufficient-evidence\""), "HTML banner");
    assert!(html.contains("class=\"value grade-none\" id=\"score-overall\""));
    assert!(prom.contains("kvmaudit_insufficient_evidence{scope=\"overall\",target=\"host\"} 1\n"));
    // Nothing here is beyond kvmaudit's reach: what it misses is not readable in this tree.
    let (cov, nr, ne) = (
        score["coverage"].as_f64().unwrap(),
        score["not_readable"].as_f64().unwrap(),
        score["not_evaluated"].as_f64().unwrap(),
    );
    assert_eq!(ne, 0.0);
    assert!((cov + nr - 1.0).abs() < 0.002, "{score}");
    assert!(nr > 0.5, "{score}");
    let pct = format!("; {:.0}% not readable here", nr * 100.0);
    assert!(table.contains(&pct), "{pct}\n{table}");
    assert!(
        !table.contains("guest-side"),
        "no guest share to name\n{table}"
    );
    let series = format!("kvmaudit_unevaluated_ratio{{reason=\"not_readable\"}} {nr:.3}\n");
    assert!(prom.contains(&series), "{series}\n{prom}");
}

#[test]
fn a_well_evidenced_host_keeps_its_grade_and_names_guest_rules_as_not_evaluated() {
    let (table, json, html, prom) = outputs(&common::fixture("hosts/icx-tuned"));
    let score = &json["score"];
    assert!(score.get("insufficient_evidence").is_none(), "{score}");
    assert!(!table.contains("insufficient evidence"));
    assert!(!html.contains("id=\"insufficient-evidence\""));
    assert!(prom.contains("kvmaudit_insufficient_evidence{scope=\"overall\",target=\"host\"} 0\n"));
    // Guest rules judged from the host are unknown by design, not for want of privilege.
    let ne = score["not_evaluated"].as_f64().unwrap();
    assert!(ne > 0.0, "{score}");
    // The MSR evidence leaves nothing unreadable on this tree: the table names only the
    // guest-side share, not a "0% not readable".
    assert_eq!(score["not_readable"].as_f64().unwrap(), 0.0, "{score}");
    let flat = table.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("3% guest-side (judged only by a scan inside the guests)"),
        "{flat}"
    );
    assert!(!flat.contains("not readable here"), "{flat}");
    assert_eq!(
        json["host"].get("platform_note"),
        None,
        "an Ice Lake-SP host with KVM has no platform note"
    );
    assert!(!prom.contains("kvmaudit_platform_note"));
}

#[test]
fn a_host_off_the_guides_platform_says_so_at_the_top() {
    let (table, json, html, prom) = outputs(&common::fixture("hosts/amd-epyc"));
    let note = json["host"]["platform_note"]
        .as_str()
        .expect("platform note");
    assert!(
        note.starts_with("Not the guide's platform: this is AMD Rome (Zen 2)"),
        "{note}"
    );
    // Table: in the host header, the first row after the host name.
    let first_rows: Vec<&str> = table.lines().take(5).collect();
    assert!(
        first_rows[3].contains("NOTE") && first_rows[3].contains("Not the guide's platform"),
        "{first_rows:#?}"
    );
    // HTML: before the header with the scores.
    let banner = html.find("id=\"platform-note\"").expect("HTML banner");
    assert!(banner < html.find("id=\"score-overall\"").unwrap());
    // Prometheus: the first family.
    assert!(
        prom.starts_with("# HELP kvmaudit_platform_note "),
        "{}",
        &prom[..200]
    );
    assert!(prom.contains(
        "kvmaudit_platform_note{note=\"Not the guide's platform: this is AMD Rome (Zen 2)"
    ));
    // --summary: the note before the score.
    let out = assert_cmd::Command::cargo_bin("kvmaudit")
        .unwrap()
        .args(["scan", "--summary", "--root"])
        .arg(common::fixture("hosts/amd-epyc"))
        .env("COLUMNS", "200")
        .output()
        .unwrap();
    let summary = String::from_utf8(out.stdout).unwrap();
    let note = summary
        .find("NOTE: Not the guide's platform")
        .unwrap_or_else(|| panic!("no note in --summary:\n{summary}"));
    assert!(note < summary.find("Summary").unwrap(), "{summary}");
}

#[test]
fn a_host_that_cannot_run_kvm_says_so() {
    // The tuned Ice Lake tree with VT-x gone: no vmx in the kernel's flags, no /dev/kvm.
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("h");
    common::hosts::copy_tree(&common::fixture("hosts/icx-tuned"), &root).unwrap();
    let info = root.join("proc/cpuinfo");
    let text = std::fs::read_to_string(&info).unwrap().replace(" vmx", "");
    std::fs::write(&info, text).unwrap();
    let _ = std::fs::remove_file(root.join("dev/kvm"));
    let (table, json, _, prom) = outputs(&root);
    let note = json["host"]["platform_note"]
        .as_str()
        .expect("platform note");
    assert!(
        note.starts_with("KVM cannot run on this host: VT-x is not available"),
        "{note}"
    );
    assert!(note.contains("/dev/kvm does not exist"), "{note}");
    assert!(
        table.lines().nth(3).unwrap().contains("KVM cannot run"),
        "{table}"
    );
    assert!(prom.contains("kvmaudit_platform_note{note=\"KVM cannot run on this host"));
}
