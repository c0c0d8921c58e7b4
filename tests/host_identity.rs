//! The report's host identity: `/etc/machine-id` and the SMBIOS system UUID, read from a
//! `--root` tree and carried by `collect` snapshots; anything but their one valid spelling is
//! unknown.

mod common;
mod report_support;

use report_support::*;
use serde_json::Value;
use std::path::Path;

const MACHINE_ID: &str = "5c1f2e3d4b5a69788796a5b4c3d2e1f0";

/// A copy of the tuned Ice Lake fixture (it has an SMBIOS table) with `etc/machine-id`.
fn root_with_machine_id(tmp: &Path, text: &[u8]) -> std::path::PathBuf {
    let root = tmp.join("root");
    common::hosts::copy_tree(&common::hosts::tree("icx-tuned"), &root).unwrap();
    std::fs::write(root.join("etc/machine-id"), text).unwrap();
    root
}

fn scan_json(root: &Path) -> Value {
    let out = kvmaudit()
        .args(["scan", "--json", "-", "--root"])
        .arg(root)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0) | Some(2)), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn scan_of_a_root_reports_machine_id_and_smbios_uuid_in_their_one_spelling() {
    let tmp = tempfile::tempdir().unwrap();
    let root = root_with_machine_id(tmp.path(), format!("{MACHINE_ID}\n").as_bytes());
    let r = scan_json(&root);
    assert_eq!(r["host"]["machine_id"], MACHINE_ID);
    let uuid = r["host"]["smbios_uuid"].as_str().expect("smbios_uuid");
    let canonical = uuid.len() == 36
        && uuid
            .chars()
            .enumerate()
            .all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) == (c == '-'))
        && uuid == uuid.to_ascii_lowercase();
    assert!(canonical, "{uuid}");

    // The snapshot carries the file, and a scan of the snapshot says the same.
    let snap = tmp.path().join("snap.json");
    let out = kvmaudit()
        .args(["collect", "-o"])
        .arg(&snap)
        .arg("--root")
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = std::fs::read_to_string(&snap).unwrap();
    assert!(text.contains("/etc/machine-id"), "not collected");
    let out = kvmaudit()
        .args(["scan", "--json", "-", "--snapshot"])
        .arg(&snap)
        .output()
        .unwrap();
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["host"]["machine_id"], MACHINE_ID);
    assert_eq!(again["host"]["smbios_uuid"], uuid);

    // Any other spelling is unknown (not "close enough"): capitals, an extra digit, two
    // lines, a file far too long.
    for bad in [
        MACHINE_ID.to_ascii_uppercase().into_bytes(),
        format!("{MACHINE_ID}0\n").into_bytes(),
        format!("{MACHINE_ID}\n{MACHINE_ID}\n").into_bytes(),
        vec![b'a'; 70_000],
    ] {
        std::fs::write(root.join("etc/machine-id"), &bad).unwrap();
        let r = scan_json(&root);
        assert!(
            r["host"].get("machine_id").is_none(),
            "{:?}: {}",
            String::from_utf8_lossy(&bad[..bad.len().min(40)]),
            r["host"]
        );
    }
}
