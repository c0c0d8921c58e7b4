//! Inputs named on the command line are read only if they are regular files, and only up to a
//! cap (issue 13, "Inputs named on the command line").
//!
//! The review's attacks: `/dev/zero` (or a link to it) given as an input was read until the
//! OOM killer ended the run, and a FIFO blocked it forever. Each input flag now refuses them
//! within seconds with one line naming the file; a (sparse) file over the cap is "too large".
//! Runs are bounded in time and address space, so a regression fails instead of eating the
//! machine.

mod common;

use common::bounded::{kvmaudit, run_bounded, Bounded};
use std::path::{Path, PathBuf};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

/// `kvmaudit ARGS` under a 1 GiB address-space limit, bounded in time.
fn run(args: &[&str]) -> Bounded {
    let script = "ulimit -v 1048576; exec \"$0\" \"$@\"";
    let mut argv = vec!["-c", script, kvmaudit()];
    argv.extend_from_slice(args);
    run_bounded("sh", &argv, LIMIT)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every input flag, as the arguments of a run that reads FILE through it.
fn every_input(file: &str) -> Vec<Vec<String>> {
    let root = common::fixture("hosts/icx-tuned");
    let root = s(&root);
    let mut all: Vec<Vec<&str>> = vec![
        vec!["scan", "--snapshot", file],
        vec!["scan", "--root", root, "--waivers", file],
        vec!["fix", "--generate-script", "--report", file],
    ];
    for flag in ["--qemu-argv", "--kconfig", "--cpuid", "--dmi"] {
        all.push(vec!["scan", "--root", root, flag, file]);
    }
    all.into_iter()
        .map(|a| a.into_iter().map(String::from).collect())
        .collect()
}

fn args(a: &[String]) -> Vec<&str> {
    a.iter().map(String::as_str).collect()
}

/// Exit 1 within seconds, with exactly `line` on stderr.
fn assert_refused(r: &Bounded, a: &[String], line: &str) {
    assert!(!r.timed_out, "{a:?} hung");
    assert!(r.wall < Duration::from_secs(20), "{a:?} took {:?}", r.wall);
    assert_eq!(r.code, Some(1), "{a:?}: {}", r.stderr);
    assert_eq!(r.stderr, format!("kvmaudit: error: {line}\n"), "{a:?}");
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(s(p)).unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// The special files an attacker (or a slip of the admin) can name as an input.
fn special_files(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let link = dir.join("zero.json");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let fifo = dir.join("fifo.json");
    mkfifo(&fifo);
    vec![
        (PathBuf::from("/dev/zero"), "a character device"),
        (link, "a character device"),
        (fifo, "a FIFO"),
        (dir.to_path_buf(), "a directory"),
    ]
}

#[test]
fn devices_fifos_and_links_to_them_are_refused_as_every_input() {
    let t = tempfile::tempdir().unwrap();
    for (file, kind) in special_files(t.path()) {
        for a in every_input(s(&file)) {
            // --dmi DIR is the sysfs pair form: checked below.
            if kind == "a directory" && a.contains(&"--dmi".to_string()) {
                continue;
            }
            let r = run(&args(&a));
            assert_refused(
                &r,
                &a,
                &format!("{}: not a regular file ({kind})", file.display()),
            );
        }
    }
}

/// `--dmi DIR` (the sysfs pair) still reads a directory, and its files through the same
/// checked open.
#[test]
fn dmi_directory_form_opens_its_files_through_the_check() {
    let t = tempfile::tempdir().unwrap();
    let pair = common::fixture("smbios/sysfs-pair/tables");
    let r = run(&["scan", "--dmi", s(&pair), "--json", "-"]);
    r.assert_exit("--dmi sysfs pair dir", &[0, 2]);
    let dir = t.path().join("tables");
    std::fs::create_dir(&dir).unwrap();
    let table = dir.join("DMI");
    mkfifo(&table);
    let a: Vec<String> = ["scan", "--dmi", s(&dir)].map(String::from).to_vec();
    assert_refused(
        &run(&args(&a)),
        &a,
        &format!("{}: not a regular file (a FIFO)", table.display()),
    );
}

/// A sparse file one byte over each cap: refused by its size, without reading it.
#[test]
fn oversized_inputs_are_too_large() {
    let t = tempfile::tempdir().unwrap();
    let sparse = |name: &str, len: u64| {
        let p = t.path().join(name);
        std::fs::File::create(&p).unwrap().set_len(len).unwrap();
        p
    };
    let snap = sparse("snap.json", (256 << 20) + 1);
    let waivers = sparse("waivers.toml", (16 << 20) + 1);
    let dmi = sparse("DMI.bin", (16 << 20) + 1);
    let report = sparse("report.json", (256 << 20) + 1);
    let root = common::fixture("hosts/icx-tuned");
    for (a, line) in [
        (
            vec!["scan", "--snapshot", s(&snap)],
            format!(
                "{}: too large (more than 268435456 bytes for a kvmaudit snapshot)",
                snap.display()
            ),
        ),
        (
            vec!["scan", "--root", s(&root), "--waivers", s(&waivers)],
            format!(
                "{}: too large (more than 16777216 bytes for a waivers file)",
                waivers.display()
            ),
        ),
        (
            vec!["scan", "--dmi", s(&dmi)],
            format!(
                "{}: too large (more than 16777216 bytes for an SMBIOS table or dmidecode output)",
                dmi.display()
            ),
        ),
        (
            vec!["fix", "--generate-script", "--report", s(&report)],
            format!(
                "{}: too large (more than 268435456 bytes for a kvmaudit report)",
                report.display()
            ),
        ),
    ] {
        let a: Vec<String> = a.into_iter().map(String::from).collect();
        let r = run(&args(&a));
        assert_refused(&r, &a, &line);
        assert!(r.max_rss_kb < 200 << 10, "{a:?}: {} KiB", r.max_rss_kb);
    }
}

/// `fleet` lists a device or FIFO among its inputs as skipped with the reason, and still rolls
/// up the good reports; with nothing else it exits 1, within seconds either way.
#[test]
fn fleet_skips_devices_and_fifos() {
    let t = tempfile::tempdir().unwrap();
    let report = t.path().join("good.json");
    let root = common::fixture("hosts/icx-tuned");
    run(&["scan", "--root", s(&root), "--json", s(&report)]).assert_exit("scan", &[0, 2]);
    let specials: Vec<(PathBuf, &str)> = special_files(t.path())
        .into_iter()
        .filter(|(_, k)| *k != "a directory")
        .collect();
    // /dev/zero and the link to it are one file to fleet (it reads each file once).
    let together = &specials[1..];
    let mut a = vec!["fleet".to_string(), s(&report).to_string()];
    a.extend(together.iter().map(|(p, _)| s(p).to_string()));
    a.extend(["--json".to_string(), "-".to_string()]);
    let r = run(&args(&a));
    assert!(!r.timed_out, "{a:?} hung");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let skipped = v["skipped"].as_array().expect("skipped");
    for (p, kind) in together {
        let hit = skipped
            .iter()
            .find(|x| x["path"] == s(p))
            .unwrap_or_else(|| panic!("{} not listed as skipped: {skipped:?}", p.display()));
        assert_eq!(hit["kind"], "unreadable");
        assert_eq!(hit["reason"], format!("not a regular file ({kind})"));
    }
    for (p, _) in &specials {
        let a: Vec<String> = ["fleet", s(p), "--json", "-"].map(String::from).to_vec();
        let r = run(&args(&a));
        assert!(!r.timed_out, "{a:?} hung");
        assert!(r.wall < Duration::from_secs(20), "{a:?} took {:?}", r.wall);
        assert_eq!(r.code, Some(1), "{a:?}: {}", r.stderr);
    }
}
