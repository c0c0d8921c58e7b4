//! The HTML report and the fleet page opened in headless Chromium (Debian's package): the page
//! renders, its scripts run under the page's CSP, the counts it shows are the JSON's, and
//! hostile host data stays text.

mod common;
mod report_support;

use report_support::chromium::*;
use report_support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn scan_to_files<S: AsRef<std::ffi::OsStr>>(tmp: &Path, extra: &[S]) -> (PathBuf, Value) {
    let html = tmp.join("report.html");
    let v = scan_writing(extra, "--html", &html, &tmp.join("report.json"));
    (html, v)
}

#[test]
fn html_report_renders_with_the_json_counts_and_hostile_names_as_text() {
    if !common::require_tool("chromium") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let args = evil_on_untuned_args(tmp.path());
    let (page, r) = scan_to_files(tmp.path(), &args);
    let source = std::fs::read_to_string(&page).unwrap();
    assert!(
        !source.contains("<img"),
        "the served file holds an <img> element"
    );
    assert!(
        !source.contains("http://") && !source.contains("https://"),
        "network reference"
    );

    let dom = dump_dom(tmp.path(), &page);
    // Rendered, and the filter script ran (it fills #shown) despite the strict CSP.
    let total = r["results"].as_array().unwrap().len();
    assert_eq!(
        text_of(&dom, "shown"),
        format!("{total} of {total} findings shown"),
        "the page script did not run"
    );
    // The counts shown are the JSON's, and so are the rows per status.
    for status in STATUSES {
        let want = r["score"]["counts"][status].as_u64().unwrap();
        assert_eq!(
            text_of(&dom, &format!("count-{status}")),
            want.to_string(),
            "count of {status}"
        );
        let rows = dom
            .matches(&format!("<tr class=\"finding\" data-status=\"{status}\""))
            .count() as u64;
        assert_eq!(rows, want, "rows with status {status}");
    }
    let score = r["score"]["value"]
        .as_f64()
        .map(|v| format!("{v:.1}"))
        .unwrap_or_else(|| "n/a".into());
    assert_eq!(text_of(&dom, "score-overall"), score);
    // The hostile VM name is text in its card, never an element.
    assert!(!dom.contains("<img"), "an <img> element reached the DOM");
    assert!(!dom.contains("<b>x.qcow2"), "a <b> element reached the DOM");
    assert!(
        dom.contains("<h3 class=\"vm-name\">&lt;img src=x onerror=alert(1)&gt;</h3>"),
        "the VM name is not shown as text"
    );
    // The embedded machine-readable copy is the report itself.
    let key = "id=\"kvmaudit-report\"";
    let at = dom.find(key).expect("embedded report");
    let body = &dom[at..];
    let body = &body[body.find('>').unwrap() + 1..];
    let body = &body[..body.find("</script>").unwrap()];
    let embedded: Value = serde_json::from_str(body).expect("embedded JSON parses");
    assert_eq!(embedded, r);
    assert!(r["vms"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["name"] == EVIL_NAME));
}

#[test]
fn html_report_screenshots_and_prints() {
    if !common::require_tool("chromium") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let evil = evil_argv(tmp.path());
    let (page, _) = scan_to_files(tmp.path(), &["--qemu-argv".as_ref(), evil.as_os_str()]);
    let shot = tmp.path().join("shot.png");
    chromium(
        &tmp.path().join("profile"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,1600".into(),
            "--hide-scrollbars".into(),
        ],
        &page,
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, 1280);
    assert!(
        png.len() > 20_000,
        "screenshot suspiciously small (blank page?)"
    );
    let pdf = tmp.path().join("report.pdf");
    chromium(
        &tmp.path().join("profile"),
        &[
            format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer".into(),
        ],
        &page,
    );
    let bytes = std::fs::read(&pdf).expect("PDF written");
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(bytes.len() > 10_000);
}
