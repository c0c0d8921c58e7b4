//! `scan --label`, and the defaults file (`--config FILE`, `$KVMAUDIT_CONFIG`,
//! /etc/kvmaudit/config.toml): each flag overrides the file, labels merge with the flag's value
//! winning, and a bad or missing named file ends the run with exit 1 naming it.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// rhel9-stock fails two low-severity rules and nothing above: --fail-on decides its exit.
fn host() -> PathBuf {
    common::fixture("hosts/rhel9-stock")
}

fn kvmaudit() -> Command {
    let mut c = Command::cargo_bin("kvmaudit").unwrap();
    c.env_remove("KVMAUDIT_CONFIG");
    c
}

/// `scan --root rhel9-stock ARGS --json -`: exit code, report, stderr.
fn scan(env_config: Option<&Path>, args: &[&str]) -> (i32, Value, String) {
    let mut c = kvmaudit();
    if let Some(p) = env_config {
        c.env("KVMAUDIT_CONFIG", p);
    }
    let o = c
        .arg("scan")
        .arg("--root")
        .arg(host())
        .args(args)
        .args(["--json", "-"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o.status.code().unwrap(), v, err)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn labels_from_flags_are_in_the_json_and_the_textfile() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, r, err) = scan(None, &["--label", "site=fra1", "--label", "rack=r 12"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        r["labels"],
        serde_json::json!({"rack": "r 12", "site": "fra1"})
    );
    let prom = tmp.path().join("k.prom");
    let o = kvmaudit()
        .args(["scan", "--label", "site=fra\"1", "--root"])
        .arg(host())
        .arg("--prom")
        .arg(&prom)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(
        text.lines()
            .any(|l| l == "kvmaudit_labels{site=\"fra\\\"1\"} 1"),
        "{text}"
    );
    // Without labels the JSON has no key and the textfile no series.
    let (_, r, _) = scan(None, &[]);
    assert!(r.get("labels").is_none());
}

#[test]
fn bad_labels_exit_1_saying_why() {
    for (arg, why) in [
        ("2site=a", "must be letters, digits and _"),
        ("site", "not KEY=VALUE"),
        ("__name__=x", "reserves"),
        ("site=a\u{7}b", "control character"),
    ] {
        let (code, _, err) = scan(None, &["--label", arg]);
        assert_eq!(code, 1, "{arg}: {err}");
        assert!(err.contains(why), "{arg}: {err}");
    }
    let long = format!("site={}", "x".repeat(257));
    let (code, _, err) = scan(None, &["--label", &long]);
    assert_eq!(code, 1);
    assert!(err.contains("longer than 256"), "{err}");
}

#[test]
fn flags_override_the_config_file() {
    let tmp = tempfile::tempdir().unwrap();
    // The waivers path is relative to the config file's directory, not the working directory.
    std::fs::create_dir(tmp.path().join("etc")).unwrap();
    write(
        &tmp.path().join("etc"),
        "waivers.toml",
        "[[waiver]]\nrule = \"*\"\ntarget = \"host\"\nreason = \"lab host\"\n",
    );
    let flag_waivers = write(
        tmp.path(),
        "none.toml",
        "[[waiver]]\nrule = \"qemu.*\"\ntarget = \"vm:nothing-here\"\nreason = \"x\"\n",
    );
    let cfg = write(
        &tmp.path().join("etc"),
        "config.toml",
        "profile = \"latency\"\nwaivers = \"waivers.toml\"\nfail_on = \"medium\"\n\
         [labels]\nsite = \"fra1\"\ncluster = \"c7\"\n",
    );

    // The file alone: its profile, waivers, labels; a low failure is below its fail_on.
    let (code, r, err) = scan(Some(&cfg), &[]);
    assert_eq!(r["profile"], "latency", "{err}");
    assert!(r["score"]["counts"]["waived"].as_u64().unwrap() > 0);
    assert_eq!(r["score"]["counts"]["fail"], 0, "every host failure waived");
    assert_eq!(
        r["labels"],
        serde_json::json!({"cluster": "c7", "site": "fra1"})
    );
    assert_eq!(code, 0);

    // --config names the same file as the variable does.
    let (code2, r2, _) = scan(None, &["--config", cfg.to_str().unwrap()]);
    assert_eq!((code2, &r2["labels"]), (code, &r["labels"]));

    // Every flag wins over the file; labels merge key by key.
    let (code, r, err) = scan(
        Some(&cfg),
        &[
            "--profile",
            "throughput",
            "--waivers",
            flag_waivers.to_str().unwrap(),
            "--fail-on",
            "low",
            "--label",
            "site=ams2",
        ],
    );
    assert_eq!(r["profile"], "throughput", "{err}");
    assert_eq!(r["score"]["counts"]["waived"], 0);
    assert_eq!(
        r["labels"],
        serde_json::json!({"cluster": "c7", "site": "ams2"})
    );
    assert_eq!(code, 2, "--fail-on low: the low failures count");

    // The config's fail_on alone decides the exit: medium passes what low fails.
    let cfg_low = write(tmp.path(), "low.toml", "fail_on = \"low\"\n");
    assert_eq!(scan(Some(&cfg_low), &[]).0, 2);
    assert_eq!(scan(Some(&cfg_low), &["--fail-on", "medium"]).0, 0);
}

#[test]
fn a_named_config_must_exist_and_parse() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.toml");
    let (code, _, err) = scan(Some(&missing), &[]);
    assert_eq!(code, 1);
    assert!(err.contains(&*missing.to_string_lossy()), "{err}");
    let (code, _, err) = scan(None, &["--config", missing.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("nope.toml"), "{err}");

    for (text, why) in [
        ("profil = \"latency\"\n", "unknown field `profil`"),
        ("fail_on = \"info\"\n", "line 1"),
        (
            "[labels]\n\"bad-key\" = \"x\"\n",
            "[labels]: label key `bad-key`",
        ),
        (
            "waivers = \"missing-waivers.toml\"\n",
            "missing-waivers.toml",
        ),
    ] {
        let cfg = write(tmp.path(), "bad.toml", text);
        let (code, _, err) = scan(Some(&cfg), &[]);
        assert_eq!(code, 1, "{text}: {err}");
        assert!(err.contains(why), "{text}: {err}");
        if !text.starts_with("waivers") {
            assert!(err.contains("bad.toml"), "{err}");
        }
    }
}

#[test]
fn no_default_config_is_fine() {
    if Path::new(kvmaudit::config::DEFAULT_PATH).exists() {
        eprintln!(
            "SKIP: {} exists on this machine; the test needs it absent",
            kvmaudit::config::DEFAULT_PATH
        );
        return;
    }
    // An empty variable is the same as none: the default path, absent here.
    let mut c = kvmaudit();
    let o = c
        .env("KVMAUDIT_CONFIG", "")
        .arg("scan")
        .arg("--root")
        .arg(host())
        .args(["--json", "-"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["profile"], "throughput");
}
