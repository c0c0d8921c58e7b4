//! The version of a real, running Debian QEMU, found without executing anything (the version
//! string in /proc/PID/exe): the one `qemu-system-x86_64 --version` prints, whose upstream
//! part dpkg names; `base.qemu.version` then passes on it.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Vm(std::process::Child);

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn running_qemu_version_is_the_binary_s() {
    for tool in ["qemu-system-x86_64", "dpkg-query"] {
        if !common::require_tool(tool) {
            return;
        }
    }
    // What the binary says when run, and what dpkg installed (1:7.2+dfsg-7+deb12u18+b3).
    let out = Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let want = text
        .strip_prefix("QEMU emulator version ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected --version output: {text}"))
        .to_string();
    let deb = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", "qemu-system-x86"])
        .output()
        .unwrap();
    let deb = String::from_utf8_lossy(&deb.stdout).to_string();
    let upstream: String = deb
        .split_once(':')
        .map_or(deb.as_str(), |(_, v)| v)
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    assert!(
        want.starts_with(&upstream),
        "--version {want} vs dpkg {deb}"
    );

    let name = format!("kvmaudit-version-{}", std::process::id());
    let vm = Vm(Command::new("qemu-system-x86_64")
        .args(["-name", &name, "-machine", "q35,accel=tcg", "-m", "32"])
        .args(["-nodefaults", "-display", "none", "-S"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap());
    let pid = vm.0.id();
    // Running once its command line is readable.
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end
        && !std::fs::read(format!("/proc/{pid}/cmdline"))
            .unwrap_or_default()
            .starts_with(b"qemu-system-x86_64")
    {
        std::thread::sleep(Duration::from_millis(50));
    }

    let t = tempfile::tempdir().unwrap();
    let snap = t.path().join("snap.json");
    let out = assert_cmd::Command::cargo_bin("kvmaudit")
        .unwrap()
        .args(["collect", "-o"])
        .arg(&snap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    let p = s["qemu"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == pid)
        .unwrap_or_else(|| panic!("QEMU {pid} not collected"));
    assert_eq!(p["version"]["value"], want.as_str(), "{}", p["version"]);
    assert_eq!(p["version"]["path"], format!("/proc/{pid}/exe"));

    let r = common::scan_report(&[] as &[&str]);
    let f = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "base.qemu.version" && f["target"] == format!("vm:{name}"))
        .expect("base.qemu.version for the VM");
    // -machine q35 carries no version: only the binary's says >= 6.0.
    assert_eq!(f["status"], "pass", "{f}");
    assert!(f["message"].as_str().unwrap().contains(&want), "{f}");
    drop(vm);
}
