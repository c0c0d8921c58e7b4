//! contrib/: the cron line and the systemd units run kvmaudit unattended under a lock; the
//! Ansible playbook scans an inventory (localhost here) and rolls the reports up.

mod common;
mod report_support;

use report_support::*;
use serde_json::Value;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// The production paths in contrib/, and where a test puts them instead.
struct Paths {
    lib: PathBuf,
    textfile: PathBuf,
    lock: PathBuf,
}

impl Paths {
    fn new(tmp: &Path) -> Paths {
        let p = Paths {
            lib: tmp.join("var-lib-kvmaudit"),
            textfile: tmp.join("textfile_collector"),
            lock: tmp.join("kvmaudit.lock"),
        };
        std::fs::create_dir_all(&p.textfile).unwrap();
        p
    }

    fn localise(&self, cmd: &str) -> String {
        cmd.replace("/var/lib/kvmaudit", &self.lib.to_string_lossy())
            .replace(
                "/var/lib/node_exporter/textfile_collector",
                &self.textfile.to_string_lossy(),
            )
            .replace("/run/lock/kvmaudit.lock", &self.lock.to_string_lossy())
            .replace("/usr/local/bin/kvmaudit", &bin().to_string_lossy())
            .replace("/usr/bin/flock", "flock")
    }
}

/// The command of the one job line in contrib/cron/kvmaudit (after the schedule and user).
fn cron_command() -> String {
    let text = std::fs::read_to_string(repo().join("contrib/cron/kvmaudit")).unwrap();
    let line = text
        .lines()
        .find(|l| !l.starts_with('#') && l.contains("kvmaudit scan"))
        .expect("a job line");
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[5], "root", "cron.d lines name the user");
    assert!(
        !line.contains('%'),
        "an unescaped % would end the cron command"
    );
    fields[6..].join(" ")
}

fn unit(name: &str) -> String {
    std::fs::read_to_string(repo().join("contrib/systemd").join(name)).unwrap()
}

fn key<'a>(unit: &'a str, k: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(&format!("{k}=")))
        .collect()
}

/// Run `cmd` with /bin/sh, kvmaudit's directory first on PATH; the exit code.
fn sh(cmd: &str) -> i32 {
    let path = format!(
        "{}:{}",
        bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", cmd])
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty() || out.status.code() == Some(1),
        "stderr from an unattended run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.status.code().unwrap_or(-1)
}

/// Holds an exclusive flock(2) on `path` until dropped, as a running scan would.
struct Held {
    _file: std::fs::File,
}

fn hold(path: &Path) -> Held {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap();
    assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
    Held { _file: f }
}

fn check_unattended(cmd: &str, p: &Paths, ok: &[i32]) {
    let report = p.lib.join("report.json");
    let prom = p.textfile.join("kvmaudit.prom");
    std::fs::create_dir_all(&p.lib).unwrap();
    // Another run holds the lock: this one skips at once and writes nothing.
    {
        let _held = hold(&p.lock);
        let started = std::time::Instant::now();
        assert_eq!(sh(cmd), 75, "{cmd}");
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert!(!report.exists() && !prom.exists());
    }
    // Free: it runs and writes both files.
    let code = sh(cmd);
    assert!(ok.contains(&code), "exit {code} for {cmd}");
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["schema_version"], 1);
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(text.contains("kvmaudit_last_scan_timestamp_seconds "));
    let leftovers = std::fs::read_dir(&p.textfile)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with('.'))
        })
        .count();
    assert_eq!(
        leftovers, 0,
        "temporary file left in the textfile directory"
    );
}

#[test]
fn cron_line_runs_under_a_lock_and_writes_both_outputs() {
    if !common::require_tool("flock") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = Paths::new(tmp.path());
    let cmd = p.localise(&cron_command());
    assert!(cmd.contains(" scan --json ") && cmd.contains(" --prom "));
    check_unattended(&cmd, &p, &[0, 2]);
}

/// kvmaudit creates files with the mode the umask allows, and node_exporter reads the textfile
/// as another user: the cron line sets its own umask (cron's may be 077) and the unit sets
/// UMask=.
#[test]
fn cron_and_systemd_make_the_textfile_world_readable_under_a_strict_umask() {
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(key(&unit("kvmaudit.service"), "UMask"), ["0022"]);
    if !common::require_tool("flock") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = Paths::new(tmp.path());
    let cmd = format!("umask 077; {}", p.localise(&cron_command()));
    let code = sh(&cmd);
    assert!([0, 2].contains(&code), "exit {code} for {cmd}");
    let prom = std::fs::metadata(p.textfile.join("kvmaudit.prom")).unwrap();
    assert_eq!(prom.permissions().mode() & 0o777, 0o644);
}

#[test]
fn systemd_units_treat_2_as_success_and_run_under_the_lock() {
    let service = unit("kvmaudit.service");
    let timer = unit("kvmaudit.timer");
    let success: Vec<&str> = key(&service, "SuccessExitStatus")
        .iter()
        .flat_map(|v| v.split_whitespace())
        .collect();
    assert!(success.contains(&"2"), "SuccessExitStatus lacks 2");
    assert!(
        success.contains(&"75"),
        "a skipped run (lock held) is not a failure"
    );
    assert_eq!(key(&service, "Type"), ["oneshot"]);
    assert_eq!(key(&timer, "Persistent"), ["true"]);
    assert!(!key(&timer, "OnCalendar").is_empty());
    let exec = key(&service, "ExecStart");
    assert_eq!(exec.len(), 1);
    assert!(exec[0].contains("flock") && exec[0].contains("/run/lock/kvmaudit.lock"));
    // The cron line and the unit share the lock, so they never overlap either.
    assert!(cron_command().contains("/run/lock/kvmaudit.lock"));
    if !common::require_tool("flock") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = Paths::new(tmp.path());
    check_unattended(&p.localise(exec[0]), &p, &[0, 2]);
}

#[test]
fn systemd_analyze_verifies_the_units() {
    if !common::require_tool("systemd-analyze") {
        return;
    }
    // verify wants the binaries named in ExecStart= to exist: point them at this build.
    let tmp = tempfile::tempdir().unwrap();
    let p = Paths::new(tmp.path());
    let flock = which("flock").unwrap_or_else(|| PathBuf::from("/usr/bin/flock"));
    for name in ["kvmaudit.service", "kvmaudit.timer"] {
        let text = p
            .localise(&unit(name))
            .replace("ExecStart=flock", &format!("ExecStart={}", flock.display()));
        std::fs::write(tmp.path().join(name), text).unwrap();
    }
    let out = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(tmp.path().join("kvmaudit.service"))
        .arg(tmp.path().join("kvmaudit.timer"))
        .env("SYSTEMD_LOG_LEVEL", "warning")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Only complaints about our units count (a container may lack unrelated system units).
    let ours: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("kvmaudit.service") || l.contains("kvmaudit.timer"))
        .filter(|l| {
            !l.contains("not found") && !l.contains("Failed to create") && !l.contains("dependency")
        })
        .collect();
    assert!(ours.is_empty(), "systemd-analyze verify:\n{err}");
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

#[test]
fn ansible_playbook_scans_localhost_and_rolls_the_reports_up() {
    if !common::require_tool("ansible-playbook") || !common::require_tool("flock") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let evil = evil_argv(tmp.path());
    let fetch = tmp.path().join("fetched");
    let out_dir = tmp.path().join("fleet");
    let extra = serde_json::json!({
        "kvmaudit_hosts": "localhost",
        "kvmaudit_become": false,
        "kvmaudit_bin": bin(),
        "kvmaudit_controller_bin": bin(),
        "kvmaudit_remote_report": tmp.path().join("remote/report.json"),
        "kvmaudit_lock": tmp.path().join("kvmaudit.lock"),
        "kvmaudit_fetch_dir": fetch,
        "kvmaudit_fleet_dir": out_dir,
        "kvmaudit_scan_args": ["--qemu-argv", evil],
        // Modules run with the Python that runs ansible-playbook (local connection).
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
    });
    let home = tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let out = std::process::Command::new("ansible-playbook")
        .args(["-i", "localhost,", "-c", "local", "-e"])
        .arg(extra.to_string())
        .arg(repo().join("contrib/ansible/kvmaudit-fleet.yml"))
        .env("LC_ALL", "C.UTF-8")
        .env("LANG", "C.UTF-8")
        .env("HOME", &home)
        .env("ANSIBLE_LOCAL_TEMP", tmp.path().join("ansible-local"))
        .env("ANSIBLE_REMOTE_TEMP", tmp.path().join("ansible-remote"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        .output()
        .unwrap();
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "ansible-playbook failed:\n{log}");
    assert!(fetch.join("localhost.json").is_file(), "{log}");
    let f: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("fleet.json")).unwrap()).unwrap();
    assert_eq!(f["summary"]["hosts"], 1, "{log}");
    assert!(f["skipped"].as_array().unwrap().is_empty());
    assert!(f["worst_vms"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["vm"] != ""));
    for o in ["fleet.html", "fleet.csv", "fleet.prom"] {
        assert!(out_dir.join(o).is_file(), "{o} missing:\n{log}");
    }
    assert!(log.contains("kvmaudit fleet: 1 host(s)"), "{log}");
}
