//! The packages: the .deb built by contrib/deb/build-deb.sh (cargo-deb), checked by dpkg-deb
//! and lintian, and the .rpm built by contrib/rpm/build-rpm.sh (cargo-generate-rpm) from the
//! same staged binary, whose `rpm -qlp` list must be the .deb's. Under CI (or with
//! KVMAUDIT_TEST_INSTALL=1) the .deb is installed with dpkg -i, used, and removed again.
//! One test function: the binary packaged is the one this test run built, staged once in a
//! target directory of its own, so no second (release) build is ever started.

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
    for tool in ["cargo-deb", "dpkg-deb", "lintian", "gzip", "strip"] {
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

    eprintln!(
        "package sizes: .deb {} bytes (this run's debug binary, stripped by cargo-deb)",
        std::fs::metadata(deb).unwrap().len()
    );
    rpm_lists_the_debs_files(tmp.path(), &target, &paths);
    install_use_and_remove(deb);

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

/// The .rpm of the same staged binary: `rpm -qlp` lists the .deb's files (`deb_paths`, from
/// `dpkg-deb -c`, directories included), except Debian's copyright and changelog, for which the
/// RPM has the license where RPM distributions keep licenses.
fn rpm_lists_the_debs_files(tmp: &Path, target: &Path, deb_paths: &[&str]) {
    for tool in ["cargo-generate-rpm", "rpm"] {
        if !common::require_tool(tool) {
            return;
        }
    }
    let out_dir = tmp.join("rpm");
    std::fs::create_dir_all(&out_dir).unwrap();
    run(
        Command::new(common::repo().join("contrib/rpm/build-rpm.sh"))
            .arg("-o")
            .arg(&out_dir)
            .env("CARGO_TARGET_DIR", target)
            .env("KVMAUDIT_RPM_NO_BUILD", "1"),
    );
    let rpm = out_dir.join(format!(
        "kvmaudit-{}-1.x86_64.rpm",
        env!("CARGO_PKG_VERSION")
    ));
    assert!(
        rpm.is_file(),
        "{:?}",
        std::fs::read_dir(&out_dir).unwrap().collect::<Vec<_>>()
    );
    eprintln!(
        "package sizes: .rpm {} bytes (this run's debug binary, stripped)",
        std::fs::metadata(&rpm).unwrap().len()
    );
    let listing = String::from_utf8(run(Command::new("rpm").arg("-qlp").arg(&rpm)).stdout).unwrap();
    let mut rpm_files: Vec<String> = listing.lines().map(str::to_string).collect();
    rpm_files.sort();
    // The .deb's files (not directories), as absolute paths; Debian's own two swapped for the
    // RPM's license.
    let mut deb_files: Vec<String> = deb_paths
        .iter()
        .filter(|p| !p.ends_with('/'))
        .map(|p| p.trim_start_matches('.').to_string())
        .filter(|p| {
            p != "/usr/share/doc/kvmaudit/copyright"
                && p != "/usr/share/doc/kvmaudit/changelog.Debian.gz"
        })
        .chain(["/usr/share/licenses/kvmaudit/LICENSE".to_string()])
        .collect();
    deb_files.sort();
    assert_eq!(rpm_files, deb_files, "rpm -qlp and dpkg-deb -c differ");
    assert!(rpm_files.len() >= 20, "{rpm_files:?}");

    // The RPM's own metadata, as rpm reads it.
    let info = String::from_utf8(
        run(Command::new("rpm")
            .args(["-qp", "--queryformat", "%{NAME} %{VERSION} %{LICENSE}"])
            .arg(&rpm))
        .stdout,
    )
    .unwrap();
    assert_eq!(
        info,
        format!("kvmaudit {} Apache-2.0", env!("CARGO_PKG_VERSION"))
    );
    // Its binary is the staged one, stripped: `rpm --dump` gives each file's size, SHA-256 and
    // mode (Debian's rpm2cpio exits 1 on this zstd payload, so the file is not extracted).
    let dump = String::from_utf8(run(Command::new("rpm").args(["-qp", "--dump"]).arg(&rpm)).stdout)
        .unwrap();
    let line = dump
        .lines()
        .find(|l| l.starts_with("/usr/bin/kvmaudit "))
        .unwrap_or_else(|| panic!("{dump}"));
    let fields: Vec<&str> = line.split(' ').collect();
    let staged = target.join("release/pkg-assets/kvmaudit");
    let sha = run(Command::new("sha256sum").arg(&staged)).stdout;
    let sha = String::from_utf8(sha).unwrap();
    assert_eq!(fields[3], sha.split(' ').next().unwrap(), "{line}");
    assert_eq!(fields[4], "0100755", "{line}");
    assert_eq!((fields[5], fields[6]), ("root", "root"), "{line}");
    let v = run(Command::new(&staged).arg("--version")).stdout;
    assert_eq!(
        String::from_utf8(v).unwrap().trim(),
        format!("kvmaudit {}", env!("CARGO_PKG_VERSION"))
    );
}

/// Whether this run may install packages on the machine: under CI, or when asked.
fn install_allowed() -> bool {
    common::in_ci() || std::env::var_os("KVMAUDIT_TEST_INSTALL").is_some_and(|v| v == "1")
}

/// `dpkg -i` the .deb, use what it installed, and `dpkg -r` it again (also when a check fails).
fn install_use_and_remove(deb: &Path) {
    if !install_allowed() {
        eprintln!(
            "\n*** SKIPPING the install test: it runs under CI or with KVMAUDIT_TEST_INSTALL=1 (it runs dpkg -i as root) ***\n"
        );
        return;
    }
    for tool in ["dpkg", "man", "systemd-analyze"] {
        if !common::require_tool(tool) {
            return;
        }
    }
    let before = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", "kvmaudit"])
        .output()
        .unwrap();
    let installed_before = String::from_utf8_lossy(&before.stdout).contains("install ok installed");
    assert!(
        !installed_before,
        "kvmaudit is already installed on this machine: the install test would remove it"
    );
    /// Removes the package when dropped, so a failed check leaves no package behind.
    struct Remove;
    impl Drop for Remove {
        fn drop(&mut self) {
            let out = Command::new("dpkg").args(["-r", "kvmaudit"]).output();
            if !matches!(&out, Ok(o) if o.status.success()) {
                eprintln!("dpkg -r kvmaudit failed: {out:?}");
            }
        }
    }
    run(Command::new("dpkg")
        .arg("-i")
        .arg(deb)
        .env("DEBIAN_FRONTEND", "noninteractive"));
    let _remove = Remove;

    // The installed binary scans: a fixture tree with known verdicts, then this machine.
    let bin = Path::new("/usr/bin/kvmaudit");
    let o = Command::new(bin)
        .args(["scan", "--format", "json", "--root"])
        .arg(common::fixture("hosts/icx-tuned"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["host"]["hostname"], "hv-icx01");
    assert_eq!(r["score"]["value"], 100.0);
    let o = Command::new(bin)
        .args(["scan", "--summary"])
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0) | Some(2)),
        "live scan: {o:?}"
    );
    assert!(!o.stdout.is_empty(), "live scan printed nothing: {o:?}");

    // The installed man page renders.
    let o = Command::new("man")
        .args(["-l", "/usr/share/man/man1/kvmaudit.1.gz"])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && page.contains("kvmaudit"), "{o:?}");
    assert!(page.contains("scan"), "{page}");

    // The installed units, as systemd reads them from where the package put them.
    let o = Command::new("systemd-analyze")
        .args([
            "verify",
            "--man=no",
            "/lib/systemd/system/kvmaudit.service",
            "/lib/systemd/system/kvmaudit.timer",
        ])
        .env("SYSTEMD_LOG_LEVEL", "warning")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    let ours: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("kvmaudit.service") || l.contains("kvmaudit.timer"))
        .filter(|l| !l.contains("Failed to create") && !l.contains("dependency"))
        .collect();
    assert!(
        ours.is_empty(),
        "systemd-analyze verify of the installed units:\n{err}"
    );
    let unit = std::fs::read_to_string("/lib/systemd/system/kvmaudit.service").unwrap();
    assert!(unit.contains(" /usr/bin/kvmaudit scan "), "{unit}");
}
