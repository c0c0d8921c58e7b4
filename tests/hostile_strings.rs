//! Hostile strings from the security review (issue 13): secrets on a QEMU command line, escape
//! and bidi characters and megabyte-long text in what kvmaudit prints, a 120 KB VM name.

mod common;

use assert_cmd::Command;
use std::path::Path;

fn kvmaudit() -> Command {
    Command::cargo_bin("kvmaudit").unwrap()
}

/// Every secret the argv file below carries.
const SECRETS: &[&str] = &[
    "c2VjcmV0LWRhdGE",
    "QVFCc2VjcmV0a2V5",
    "AQBcephkey",
    "urlpass",
    "iscsipass",
    "spicepass",
    "envsecret",
];

/// A libvirt-style argv file with a secret in every form the review listed.
fn secret_argv(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("secrets.args");
    let lines = [
        "LC_ALL=C \\",
        "CEPH_ARGS=--key=envsecret \\",
        "/usr/bin/qemu-system-x86_64 \\",
        "-name guest=vault,debug-threads=on \\",
        "-machine pc-q35-8.2,accel=kvm \\",
        "-m 2048 \\",
        "-object secret,id=sec0,data=c2VjcmV0LWRhdGE,format=base64 \\",
        "-object '{\"qom-type\":\"secret\",\"id\":\"sec1\",\"data\":\"QVFCc2VjcmV0a2V5\",\"format\":\"base64\"}' \\",
        "-drive 'file=rbd:pool/img:id=admin:key=AQBcephkey:auth_supported=cephx,format=raw,if=none,id=drive0,cache=none' \\",
        "-device virtio-blk-pci,drive=drive0,id=virtio-disk0 \\",
        "-drive file=https://alice:urlpass@images.example.com/a.img,format=raw,if=none,id=drive1,readonly=on \\",
        "-drive file=iscsi://bob%iscsipass@10.0.0.1/iqn.2001-04.com.example:storage/1,format=raw,if=none,id=drive2 \\",
        "-spice port=5901,password=spicepass",
    ];
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

fn assert_no_secret(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} still holds {s}");
    }
}

#[test]
fn secrets_on_the_command_line_reach_no_output() {
    let t = tempfile::tempdir().unwrap();
    // An empty host tree (a directory without proc/ or sys/ is refused as not a host tree).
    std::fs::create_dir(t.path().join("proc")).unwrap();
    let argv = secret_argv(t.path());
    let (json, html) = (t.path().join("r.json"), t.path().join("r.html"));
    let out = kvmaudit()
        .arg("scan")
        .arg("--qemu-argv")
        .arg(&argv)
        .arg("--json")
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 2)), "{out:?}");
    assert_no_secret("the table", &String::from_utf8_lossy(&out.stdout));
    assert_no_secret("stderr", &String::from_utf8_lossy(&out.stderr));
    let json_text = std::fs::read_to_string(&json).unwrap();
    assert_no_secret("the JSON report", &json_text);
    assert_no_secret("the HTML report", &std::fs::read_to_string(&html).unwrap());
    // The VM is still modelled from its options: the rbd disk and the URL disk are there.
    let r: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(r["vms"][0]["name"], "vault");

    let snap = t.path().join("snap.json");
    let out = kvmaudit()
        .arg("collect")
        .arg("--root")
        .arg(t.path())
        .arg("--qemu-argv")
        .arg(&argv)
        .arg("-o")
        .arg(&snap)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let snap_text = std::fs::read_to_string(&snap).unwrap();
    assert_no_secret("the snapshot", &snap_text);
    // The redaction is visible where each secret was.
    for kept in [
        "data=<redacted>",
        r#"\"data\":\"<redacted>\""#,
        "key=<redacted>:auth_supported=cephx",
        "https://alice:<redacted>@images.example.com",
        "iscsi://bob%<redacted>@10.0.0.1",
        "password=<redacted>",
        "CEPH_ARGS=<redacted>",
        "LC_ALL=C",
    ] {
        assert!(snap_text.contains(kept), "snapshot lacks {kept}");
    }
    // A snapshot written before redaction existed is redacted when it is read.
    let mut v: serde_json::Value = serde_json::from_str(&snap_text).unwrap();
    v["qemu"]["value"][0]["argv"][7] = "secret,id=sec0,data=c2VjcmV0LWRhdGE".into();
    let old = t.path().join("old-snap.json");
    std::fs::write(&old, v.to_string()).unwrap();
    let out = kvmaudit()
        .args(["scan", "--format", "json", "--snapshot"])
        .arg(&old)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 2)), "{out:?}");
    assert_no_secret(
        "a report of an old snapshot",
        &String::from_utf8_lossy(&out.stdout),
    );
}

/// A tenant names its VM with 120 KB: the table stays bounded (it took 2.3 s in a release
/// build, and a debug build panicked inside comfy-table's width arithmetic); the JSON keeps
/// the whole name.
#[test]
fn a_120_kb_vm_name_gives_a_bounded_table() {
    let t = tempfile::tempdir().unwrap();
    let name = "n".repeat(120 * 1024);
    let argv = t.path().join("long.cmdline");
    let mut bytes = b"/usr/bin/qemu-system-x86_64\0-name\0guest=".to_vec();
    bytes.extend_from_slice(name.as_bytes());
    bytes.extend_from_slice(b"\0-machine\0pc-q35-8.2,accel=kvm\0-m\x002048\0");
    std::fs::write(&argv, bytes).unwrap();
    let json = t.path().join("r.json");
    let out = kvmaudit()
        .arg("scan")
        .arg("--qemu-argv")
        .arg(&argv)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 2)), "{err}");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.len() < 100_000, "table of {} bytes", table.len());
    // Each place the name appears shows at most a few hundred characters of it, then `…`.
    let shown = table.matches('n').count();
    assert!(shown < 30_000, "{shown} characters of the name shown");
    assert!(table.contains("n…"), "no clipped name");
    for line in table.lines() {
        assert!(line.chars().count() <= 100, "too wide: {}", line.len());
    }
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(r["vms"][0]["name"].as_str().unwrap().len(), name.len());

    // The fleet roll-up's table of that report is bounded the same way.
    let out = kvmaudit().arg("fleet").arg(&json).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.len() < 100_000,
        "fleet table of {} bytes",
        table.len()
    );
    assert!(table.contains("n…"), "no clipped name");
}

/// stderr gets one bounded line with escapes shown, whatever the input and its name hold.
#[test]
fn errors_on_stderr_are_one_short_sanitised_line() {
    let t = tempfile::tempdir().unwrap();
    // A waiver file with one 400 KB line: toml quoted the whole line.
    let waivers = t.path().join("w.toml");
    std::fs::write(
        &waivers,
        format!(
            "[[waiver]]\nrule = \"x\"\nreason = \"r\"\nbogus = {}\n",
            "x".repeat(400_000)
        ),
    )
    .unwrap();
    // A snapshot whose string value is 400 KB of the wrong type: serde_json quotes it.
    let snap = t.path().join("s.json");
    std::fs::write(
        &snap,
        format!(
            "{{\"schema_version\": 1, \"tool\": \"kvmaudit\", \"hostname\": \"{}\"}}",
            "\u{202e}".repeat(100_000)
        ),
    )
    .unwrap();
    // A name with a terminal escape and a bidi override.
    let evil = t.path().join("w\u{1b}]0;pwned\u{7}\u{202e}lmot.toml");
    for (what, args) in [
        (
            "waivers",
            vec!["scan", "--qemu-argv", "/nonexistent", "--waivers"],
        ),
        ("snapshot", vec!["scan", "--snapshot"]),
        ("evil name", vec!["scan", "--snapshot"]),
    ] {
        let file = match what {
            "waivers" => waivers.clone(),
            "snapshot" => snap.clone(),
            _ => evil.clone(),
        };
        let mut cmd = kvmaudit();
        cmd.args(&args).arg(&file);
        if what == "waivers" {
            // The waiver file is read before the argv file.
            cmd.args(["--format", "json"]);
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(err.len() < 1500, "{what}: {} bytes on stderr", err.len());
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
        assert!(
            !err.contains(|c: char| crate_hazard(c) && c != '\n'),
            "{what}: raw control or bidi character on stderr: {err:?}"
        );
    }
    // clap's usage errors quote the argument too.
    let out = kvmaudit()
        .args(["scan", "--format", "x\u{1b}[2J\u{202e}"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{202e}'),
        "{err:?}"
    );
    assert!(err.contains("\\u{202e}"), "{err:?}");
}

fn crate_hazard(c: char) -> bool {
    kvmaudit::safe_text::is_hazard(c)
}

/// A live process's command line (`/proc/PID/cmdline` under `--root`) is redacted as well.
#[test]
fn secrets_of_a_running_qemu_stay_out_of_the_snapshot() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("proc/4242");
    std::fs::create_dir_all(d.join("task/4242")).unwrap();
    std::fs::write(
        d.join("cmdline"),
        b"/usr/bin/qemu-system-x86_64\0-name\0guest=vault\0-object\0secret,id=s0,data=c2VjcmV0LWRhdGE\0-spice\0port=5901,password=spicepass\0",
    )
    .unwrap();
    let status = "Name:\tqemu-system-x86\nState:\tS (sleeping)\nThreads:\t1\n";
    std::fs::write(d.join("status"), status).unwrap();
    std::os::unix::fs::symlink("/usr/bin/qemu-system-x86_64", d.join("exe")).unwrap();
    let snap = t.path().join("snap.json");
    let out = kvmaudit()
        .arg("collect")
        .arg("--root")
        .arg(t.path())
        .arg("-o")
        .arg(&snap)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&snap).unwrap();
    assert_no_secret("the snapshot", &text);
    assert!(text.contains("secret,id=s0,data=<redacted>"), "{text}");
    assert!(text.contains("port=5901,password=<redacted>"));
}

/// `fleet` names skipped files on stderr: the name and the reason come from outside.
#[test]
fn fleet_skip_lines_are_sanitised_and_bounded() {
    let t = tempfile::tempdir().unwrap();
    let evil = t.path().join("host\u{1b}]0;owned\u{7}\u{202e}nosj.json");
    std::fs::write(
        &evil,
        format!("{{\"tool\": \"kvmaudit\", \"x\": \"{}", "y".repeat(200_000)),
    )
    .unwrap();
    let out = kvmaudit().arg("fleet").arg(&evil).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains(|c: char| crate_hazard(c) && c != '\n'),
        "{err:?}"
    );
    assert!(err.contains("\\u{1b}"), "{err:?}");
    for line in err.lines() {
        assert!(line.chars().count() <= 1100, "{} chars", line.len());
    }
}
