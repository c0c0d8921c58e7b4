//! The terminal table through the CLI: plain and stable when piped, coloured only on a
//! terminal without NO_COLOR, grouped by guide section with the report's counts.

mod common;
mod report_support;

use kvmaudit::report::summary::section_heading;
use report_support::*;
use serde_json::Value;

/// Sources for a report with VMs: a fixture host tree when there is one, else the hostile
/// argv file plus a corpus file.
fn sources(tmp: &std::path::Path) -> Vec<std::ffi::OsString> {
    let mut v: Vec<std::ffi::OsString> = Vec::new();
    if let Some(h) = fixture_hosts()
        .into_iter()
        .find(|h| h.ends_with("icx-untuned"))
    {
        v.push("--root".into());
        v.push(h.into_os_string());
    } else {
        v.push("--qemu-argv".into());
        v.push(evil_argv(tmp).into_os_string());
        v.push("--qemu-argv".into());
        v.push(
            repo()
                .join("fixtures/libvirt-args/v11.3.0/qemuxmlconfdata/q35-virt-manager-basic.x86_64-latest.args")
                .into_os_string(),
        );
    }
    v
}

fn table_and_json(args: &[std::ffi::OsString]) -> (String, Value) {
    let out = kvmaudit()
        .arg("scan")
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0) | Some(2)), "{out:?}");
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    (String::from_utf8(out.stdout).unwrap(), scan_json(&refs))
}

#[test]
fn piped_table_is_plain_fits_100_columns_and_shows_sections_and_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let (text, r) = table_and_json(&sources(tmp.path()));
    assert!(!text.contains('\x1b'), "escape sequences in piped output");
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "wider than 100 columns: {line}"
        );
    }
    let mut sections: Vec<String> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["section"].as_str().unwrap().to_string())
        .collect();
    sections.sort();
    sections.dedup();
    assert!(!sections.is_empty());
    for s in &sections {
        let primary = s.split(',').next().unwrap().trim();
        assert!(
            text.contains(&section_heading(primary)),
            "no heading for §{s} in:\n{text}"
        );
    }
    let c = &r["score"]["counts"];
    let line = format!(
        "{} fail, {} warn, {} unknown, {} info, {} waived, {} pass, {} not_applicable",
        c["fail"], c["warn"], c["unknown"], c["info"], c["waived"], c["pass"], c["not_applicable"]
    );
    assert!(
        text.contains(&line),
        "counts line {line:?} missing:\n{text}"
    );
    assert!(text.contains("Summary") && text.contains("Top fixes"));
    for vm in r["vms"].as_array().unwrap() {
        let name = vm["name"].as_str().unwrap();
        assert!(text.contains(name), "VM {name} missing from the table");
    }
    // Stable: the same scan renders the same table.
    let (again, _) = table_and_json(&sources(tmp.path()));
    let strip = |t: &str| {
        t.lines()
            .filter(|l| !l.contains("profile, kvmaudit"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&text), strip(&again));
}

/// Run the scan under a pseudo-terminal (util-linux `script`) and return what it printed.
fn under_tty(no_color: Option<&str>) -> Option<String> {
    if !common::require_tool("script") {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let args: Vec<String> = sources(tmp.path())
        .iter()
        .map(|a| shell_words::quote(&a.to_string_lossy()).into_owned())
        .collect();
    let cmd = format!(
        "{} scan {}",
        shell_words::quote(&bin().to_string_lossy()),
        args.join(" ")
    );
    let mut c = std::process::Command::new("script");
    c.args(["-q", "-e", "-c", &cmd, "/dev/null"]);
    c.env_remove("NO_COLOR");
    if let Some(v) = no_color {
        c.env("NO_COLOR", v);
    }
    let out = c.output().unwrap();
    assert!(matches!(out.status.code(), Some(0) | Some(2)), "{out:?}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let Some(coloured) = under_tty(None) else {
        return;
    };
    assert!(
        coloured.contains("\x1b["),
        "no colour on a terminal:\n{coloured}"
    );
    assert!(coloured.contains("Summary"));
    let plain = under_tty(Some("1")).unwrap();
    assert!(
        !plain.contains('\x1b'),
        "NO_COLOR=1 still coloured:\n{plain}"
    );
    assert!(plain.contains("Summary"));
    // An empty NO_COLOR does not count as set (no-color.org).
    let empty = under_tty(Some("")).unwrap();
    assert!(empty.contains("\x1b["));
}
