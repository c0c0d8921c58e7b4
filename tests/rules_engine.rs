//! The engine end to end on the fixture hosts: scores, exit status and --fail-on, waivers,
//! profiles, the in-guest view and non-root honesty.

mod common;

use assert_cmd::Command;
use common::hosts;
use serde_json::Value;

/// `kvmaudit scan ARGS --json -` (exit 0 or 2): the report and the exit code.
fn scan(args: &[&str]) -> (Value, i32) {
    common::scan_report_code(args)
}

fn root(name: &str) -> String {
    hosts::tree(name).display().to_string()
}

fn findings<'a>(r: &'a Value, rule: &str) -> Vec<&'a Value> {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

#[test]
fn tuned_ice_lake_scores_far_above_untuned() {
    let (tuned, tcode) = scan(&["--root", &root("icx-tuned")]);
    let (untuned, ucode) = scan(&["--root", &root("icx-untuned")]);
    let t = tuned["score"]["value"].as_f64().unwrap();
    let u = untuned["score"]["value"].as_f64().unwrap();
    assert!(t >= 90.0, "tuned host scores {t}");
    assert!(t - u >= 30.0, "tuned {t} vs untuned {u}");
    assert!(tuned["score"]["host"].as_f64().unwrap() > untuned["score"]["host"].as_f64().unwrap());
    // Exit status: the tuned host has no failure, the untuned one has.
    assert_eq!(tcode, 0);
    assert_eq!(ucode, 2);
    assert_eq!(tuned["score"]["counts"]["fail"], 0);
    // cache=unsafe is a blocker whatever the score.
    let blockers = untuned["score"]["blockers"].to_string();
    assert!(
        blockers.contains("qemu.blk.cache vm:scratch01/"),
        "{blockers}"
    );
    // Every VM has its own score; the overall is 0.4 host + 0.6 vCPU-weighted VM mean.
    for vm in untuned["vms"].as_array().unwrap() {
        assert!(vm["score"]["value"].is_f64(), "{vm}");
    }
    assert_eq!(tuned["profile"], "throughput");
}

#[test]
fn fail_on_threshold_and_waivers() {
    // amd-epyc fails exactly one medium rule (no IOThread on epyc-vm1's disk).
    let (r, code) = scan(&["--root", &root("amd-epyc")]);
    let fails: Vec<_> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail")
        .collect();
    assert_eq!(fails.len(), 1, "{fails:?}");
    assert_eq!(fails[0]["rule"], "qemu.blk.iothread");
    assert_eq!(fails[0]["severity"], "medium");
    assert_eq!(code, 2);
    let (_, code) = scan(&["--root", &root("amd-epyc"), "--fail-on", "high"]);
    assert_eq!(code, 0, "a medium failure does not trip --fail-on high");
    let (_, code) = scan(&["--root", &root("amd-epyc"), "--fail-on", "medium"]);
    assert_eq!(code, 2);

    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("waivers.toml");
    // amd-epyc scanned with `waivers` as its waiver file.
    let scan_waived = |waivers: &str| {
        std::fs::write(&w, waivers).unwrap();
        scan(&[
            "--root",
            &root("amd-epyc"),
            "--waivers",
            w.to_str().unwrap(),
        ])
    };
    let (r, code) = scan_waived(
        "[[waiver]]\nrule = \"qemu.blk.iothread\"\ntarget = \"vm:epyc-*\"\nreason = \"batch VM, disk idle\"\nexpires = \"2999-12-31\"\n",
    );
    assert_eq!(code, 0, "the only failure is waived");
    let f = findings(&r, "qemu.blk.iothread");
    assert_eq!(f[0]["status"], "waived");
    assert_eq!(f[0]["waiver"]["original_status"], "fail");
    assert_eq!(f[0]["waiver"]["reason"], "batch VM, disk idle");
    assert_eq!(r["score"]["counts"]["waived"], 1);

    let (r, code) = scan_waived(
        "[[waiver]]\nrule = \"qemu.blk.iothread\"\nreason = \"old\"\nexpires = \"2020-01-31\"\n",
    );
    assert_eq!(code, 2, "an expired waiver stops applying");
    assert_eq!(findings(&r, "qemu.blk.iothread")[0]["status"], "fail");
    assert!(
        r["notes"].to_string().contains("expired on 2020-01-31"),
        "{}",
        r["notes"]
    );

    // A malformed waiver file is an input error: exit 1.
    std::fs::write(&w, "[[waiver]]\nrule = \"x\"\n").unwrap();
    let out = Command::cargo_bin("kvmaudit")
        .unwrap()
        .args([
            "scan",
            "--root",
            &root("amd-epyc"),
            "--waivers",
            w.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("waivers.toml"));
}

#[test]
fn latency_profile_is_named_and_stricter() {
    let (t, _) = scan(&["--root", &root("icx-untuned")]);
    let (l, _) = scan(&["--root", &root("icx-untuned"), "--profile", "latency"]);
    assert_eq!(l["profile"], "latency");
    // mem-lock off on a host that is not memory-overcommitted: optional under throughput
    // (warn), expected under latency (fail).
    let status = |r: &Value| -> Vec<String> {
        findings(r, "qemu.overcommit.mem-lock")
            .iter()
            .map(|f| f["status"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(status(&t).iter().all(|s| s != "fail"), "{:?}", status(&t));
    assert!(status(&l).iter().any(|s| s == "fail"), "{:?}", status(&l));
}

#[test]
fn inside_a_guest_bare_metal_rules_are_not_applicable_and_guest_rules_run() {
    let (r, _) = scan(&["--root", &root("kvm-guest")]);
    assert_eq!(r["host"]["cpu"]["hypervisor"], true);
    for rule in ["bios.vtx", "bios.c6", "host.kvm.ple"] {
        let f = findings(&r, rule);
        assert_eq!(f[0]["status"], "not_applicable", "{rule}");
        assert!(
            f[0]["message"].as_str().unwrap().contains("inside a VM"),
            "{rule}"
        );
    }
    for rule in [
        "guest.haltpoll.driver",
        "guest.cmdline.no-idle",
        "guest.blk.rq-affinity",
    ] {
        let f = findings(&r, rule);
        assert_eq!(f[0]["target"], "host", "{rule}");
        assert_eq!(f[0]["status"], "pass", "{rule}: {}", f[0]["message"]);
    }
}

/// An unprivileged scan may only lose evidence: every fail it reports, the root scan reports
/// too, and its coverage is lower.
#[test]
fn unprivileged_scan_only_turns_verdicts_into_unknown() {
    let Some((tmp, tree)) = hosts::restricted_copy_for_nobody("icx-restricted") else {
        return;
    };
    let bin = assert_cmd::cargo::cargo_bin("kvmaudit");
    let tree_s = tree.to_str().unwrap();
    let (as_root, _) = scan(&["--root", tree_s]);
    let out = hosts::run_unprivileged(tmp.path(), &bin, &["scan", "--root", tree_s, "--json", "-"]);
    assert!(
        matches!(out.status.code(), Some(0) | Some(2)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let as_nobody: Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = |f: &Value| format!("{} {}", f["rule"], f["target"]);
    let root_status: std::collections::HashMap<String, String> = as_root["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (key(f), f["status"].as_str().unwrap().to_string()))
        .collect();
    let mut unknowns = 0;
    for f in as_nobody["results"].as_array().unwrap() {
        let s = f["status"].as_str().unwrap();
        if s == "fail" {
            assert_eq!(
                root_status.get(&key(f)).map(String::as_str),
                Some("fail"),
                "fail only without root: {f}"
            );
        }
        if s == "unknown" && root_status.get(&key(f)).map(String::as_str) != Some("unknown") {
            unknowns += 1;
            assert!(!f["message"].as_str().unwrap().is_empty());
        }
    }
    assert!(unknowns > 0, "the restricted files must cost some verdicts");
    let cov = |r: &Value| r["score"]["coverage"].as_f64().unwrap();
    assert!(
        cov(&as_nobody) < cov(&as_root),
        "coverage {} (nobody) vs {} (root)",
        cov(&as_nobody),
        cov(&as_root)
    );
}
