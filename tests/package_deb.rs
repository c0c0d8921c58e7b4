//! The Debian package built by contrib/deb/build-deb.sh (cargo-deb), checked by dpkg-deb and
//! lintian. The binary packaged is the one this test run built, in a target directory of its
//! own, so the test never starts a second (release) build.

mod common;

use std::path::Path;
use std::process::Command;

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn deb_holds_binary_docs_completions_units_and_passes_lintian() {
    for tool in ["cargo-deb", "dpkg-deb", "lintian", "gzip"] {
        if !common::require_tool(tool) {
            return;
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("target");
    std::fs::create_dir_all(target.join("release")).unwrap();
    std::fs::copy(
        assert_cmd::cargo::cargo_bin("kvmaudit"),
        target.join("release/kvmaudit"),
    )
    .unwrap();
    let out_dir = tmp.path().join("debian");
    run(
        Command::new(common::repo().join("contrib/deb/build-deb.sh"))
            .args(["--output"])
            .arg(&out_dir)
            .env("CARGO_TARGET_DIR", &target)
            .env("KVMAUDIT_DEB_NO_BUILD", "1"),
    );
    let debs: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    assert_eq!(debs.len(), 1, "{debs:?}");
    let deb: &Path = &debs[0];
    let name = deb.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("kvmaudit_{}-1_", env!("CARGO_PKG_VERSION"))),
        "{name}"
    );

    let listing =
        String::from_utf8(run(Command::new("dpkg-deb").arg("-c").arg(deb)).stdout).unwrap();
    let paths: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .collect();
    let mut want = vec![
        "./usr/bin/kvmaudit".to_string(),
        "./usr/share/man/man1/kvmaudit.1.gz".into(),
        "./usr/share/bash-completion/completions/kvmaudit".into(),
        "./usr/share/zsh/vendor-completions/_kvmaudit".into(),
        "./usr/share/fish/vendor_completions.d/kvmaudit.fish".into(),
        "./lib/systemd/system/kvmaudit.service".into(),
        "./lib/systemd/system/kvmaudit.timer".into(),
        "./usr/share/doc/kvmaudit/examples/cron.d/kvmaudit".into(),
        "./usr/share/doc/kvmaudit/README.md".into(),
        "./usr/share/doc/kvmaudit/copyright".into(),
        "./usr/share/doc/kvmaudit/changelog.Debian.gz".into(),
    ];
    for sub in [
        "scan",
        "collect",
        "fix",
        "rules",
        "explain",
        "fleet",
        "diff",
        "completions",
        "man",
    ] {
        want.push(format!("./usr/share/man/man1/kvmaudit-{sub}.1.gz"));
    }
    for w in &want {
        assert!(
            paths.contains(&w.as_str()),
            "{w} not in the .deb:\n{listing}"
        );
    }
    assert!(
        listing.lines().any(|l| (l.starts_with("-rwxr-xr-x 0/0 ")
            || l.starts_with("-rwxr-xr-x root/root "))
            && l.ends_with("./usr/bin/kvmaudit")),
        "{listing}"
    );

    // The packaged service runs the packaged binary, and names the packaged man page.
    let x = tmp.path().join("x");
    run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&x));
    let unit = std::fs::read_to_string(x.join("lib/systemd/system/kvmaudit.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/flock"), "{unit}");
    assert!(unit.contains(" /usr/bin/kvmaudit scan "), "{unit}");
    assert!(!unit.contains("/usr/local/bin"), "{unit}");
    assert!(unit.contains("Documentation=man:kvmaudit(1)"));
    let bin = x.join("usr/bin/kvmaudit");
    let v = run(Command::new(&bin).arg("--version")).stdout;
    assert_eq!(
        String::from_utf8(v).unwrap().trim(),
        format!("kvmaudit {}", env!("CARGO_PKG_VERSION"))
    );

    // The packaged units as systemd reads them (only complaints about them count: a container
    // may lack unrelated system units).
    if common::require_tool("systemd-analyze") {
        let units = x.join("lib/systemd/system");
        let out = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(units.join("kvmaudit.service"))
            .arg(units.join("kvmaudit.timer"))
            .env("SYSTEMD_LOG_LEVEL", "warning")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let ours: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("kvmaudit.service") || l.contains("kvmaudit.timer"))
            .filter(|l| {
                !l.contains("not found")
                    && !l.contains("Failed to create")
                    && !l.contains("dependency")
            })
            .collect();
        assert!(ours.is_empty(), "systemd-analyze verify:\n{err}");
    }

    // lintian: no error (warnings and info are reported, not fatal).
    let out = Command::new("lintian")
        .args(["--tag-display-limit", "0", "--display-info"])
        .arg(deb)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("lintian:\n{report}{}", String::from_utf8_lossy(&out.stderr));
    let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("E:")).collect();
    assert!(errors.is_empty(), "lintian errors:\n{}", errors.join("\n"));
    // lintian exits 2 when it could not check the package at all.
    assert_ne!(out.status.code(), Some(2), "lintian failed to run: {out:?}");
}
