//! The HTML report and the fleet page opened in headless Chromium (Debian's package): the page
//! renders, its scripts run under the page's CSP, the counts it shows are the JSON's, and
//! hostile host data stays text.

mod common;
mod report_support;

use report_support::chromium::*;
use report_support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What the page opens on: fail, warn, unknown (blockers are failures).
const ATTENTION: [&str; 3] = ["fail", "warn", "unknown"];

fn attention_count(r: &Value) -> usize {
    findings(r)
        .filter(|f| ATTENTION.contains(&f["status"].as_str().unwrap()) || f["blocker"] == true)
        .count()
}

fn findings(r: &Value) -> impl Iterator<Item = &Value> {
    r["results"].as_array().unwrap().iter()
}

/// The display name of a finding's VM (`label`, else `name`), if it has one.
fn vm_of<'a>(r: &'a Value, f: &Value) -> Option<&'a str> {
    let vm = &r["vms"][f["vm_index"].as_u64()? as usize];
    vm["label"].as_str().or(vm["name"].as_str())
}

/// The text of every finding row the page shows (not hidden), tags stripped, lower case.
fn shown_rows(dom: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = dom;
    while let Some(at) = rest.find("<tr class=\"finding\"") {
        let row = &rest[at..];
        let end = row.find("</tr>").unwrap();
        let mut text = String::new();
        let mut in_tag = false;
        for c in row[..end].chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        out.push(text.to_lowercase());
        rest = &row[end..];
    }
    out
}

/// The attribute `name` of the element with `id`.
fn attr_of(dom: &str, id: &str, name: &str) -> String {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let tag_start = dom[..at].rfind('<').unwrap();
    let tag = &dom[tag_start..tag_start + dom[tag_start..].find('>').unwrap()];
    let key = format!("{name}=\"");
    let v = &tag[tag
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} on #{id}"))
        + key.len()..];
    v[..v.find('"').unwrap()].replace("&amp;", "&")
}

/// Pages of a PDF Chromium wrote: its `/Type /Page` objects (not the `/Pages` tree nodes).
fn pdf_pages(pdf: &[u8]) -> usize {
    let key = b"/Type /Page";
    pdf.windows(key.len() + 1)
        .filter(|w| w.starts_with(key) && w[key.len()] != b's')
        .count()
}

fn untuned() -> Option<PathBuf> {
    let h = fixture_hosts()
        .into_iter()
        .find(|h| h.ends_with("icx-untuned"));
    if h.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "fixtures/hosts/icx-untuned missing"
        );
        eprintln!("SKIP: fixtures/hosts/icx-untuned missing");
    }
    h
}

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
    // Rendered, and the filter script ran (it fills #shown) despite the strict CSP: the page
    // opens on what needs attention.
    let total = r["results"].as_array().unwrap().len();
    let attention = attention_count(&r);
    assert_eq!(
        text_of(&dom, "shown"),
        format!("{attention} of {total} findings shown"),
        "the page script did not run"
    );
    // The counts shown are the JSON's, and so are the rows per status: those needing attention
    // shown, the others in the page but hidden.
    for status in STATUSES {
        let want = r["score"]["counts"][status].as_u64().unwrap();
        assert_eq!(
            text_of(&dom, &format!("count-{status}")),
            want.to_string(),
            "count of {status}"
        );
        let shown = dom
            .matches(&format!("<tr class=\"finding\" data-status=\"{status}\""))
            .count() as u64;
        let hidden = dom
            .matches(&format!(
                "<tr class=\"finding hidden\" data-status=\"{status}\""
            ))
            .count() as u64;
        assert_eq!(shown + hidden, want, "rows with status {status}");
        let needs = ATTENTION.contains(&status);
        assert_eq!(shown, if needs { want } else { 0 }, "{status} rows shown");
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

#[test]
fn html_report_opens_with_a_plain_summary_and_names_the_guide() {
    if !common::require_tool("chromium") {
        return;
    }
    let Some(host) = untuned() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (page, r) = scan_to_files(tmp.path(), &["--root".as_ref(), host.as_os_str()]);
    let dom = dump_dom(tmp.path(), &page);
    // The grade in words with the JSON's score; the tally is the JSON's counts.
    let score = format!("{:.1}", r["score"]["value"].as_f64().unwrap());
    let headline = text_of(&dom, "exec-headline");
    assert!(
        headline.starts_with(&format!("Poor: overall score {score} of 100.0")),
        "{headline}"
    );
    let c = &r["score"]["counts"];
    assert_eq!(
        text_of(&dom, "exec-tally"),
        format!(
            "{} checks fail, {} warn and {} could not be checked (unknown), on the host and {} VMs.",
            c["fail"], c["warn"], c["unknown"],
            r["vms"].as_array().unwrap().len()
        )
    );
    // The blocker is the first risk; the first step is the first top fix.
    let blocker = r["score"]["blockers"][0].as_str().unwrap();
    let (rule, target) = blocker.split_once(' ').unwrap();
    let risks = &dom[dom.find("id=\"exec-risks\"").unwrap()..];
    let first_risk = &risks[risks.find("<li>").unwrap() + 4..risks.find("</li>").unwrap()];
    assert!(
        first_risk.starts_with(&format!("Data-integrity risk on {target}"))
            && first_risk.contains(rule),
        "{first_risk}"
    );
    let steps = &dom[dom.find("id=\"exec-steps\"").unwrap()..];
    let first_step = &steps[steps.find("<li>").unwrap() + 4..steps.find("</li>").unwrap()];
    let top_rule = &dom[dom.find("id=\"top-fixes\"").unwrap()..];
    let top_rule =
        &top_rule[top_rule.find("<code>").unwrap() + 6..top_rule.find("</code>").unwrap()];
    assert!(
        first_step.contains(&format!("({top_rule},")),
        "{first_step}"
    );
    // The guide by its title and the edition it names.
    assert_eq!(
        text_of(&dom, "guide-title"),
        "KVM/Qemu Virtualization Tuning Guide for 3rd Generation Intel® Xeon® Scalable Processors (Ice Lake)"
    );
    assert!(text_of(&dom, "guide-version").contains("Linux 5.12 and QEMU 6.0.0"));
    // The default view is the empty fragment.
    assert_eq!(attr_of(&dom, "filters", "data-state"), "");
}

#[test]
fn html_report_filters_come_from_the_url_fragment() {
    if !common::require_tool("chromium") {
        return;
    }
    let Some(host) = untuned() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (page, r) = scan_to_files(tmp.path(), &["--root".as_ref(), host.as_os_str()]);
    let total = findings(&r).count();
    let vm = vm_of(&r, findings(&r).find(|f| f["vm_index"].is_u64()).unwrap())
        .unwrap()
        .to_string();
    let dom_at = |fragment: &str| {
        chromium_fragment(
            &tmp.path().join("profile"),
            &["--dump-dom".into()],
            &page,
            fragment,
        )
    };

    // Status list and exact VM: the JSON's fail findings of that VM.
    let dom = dom_at(&format!("status=fail&vm={vm}"));
    let want = findings(&r)
        .filter(|f| f["status"] == "fail" && vm_of(&r, f) == Some(&vm))
        .count();
    assert!(want > 0);
    assert_eq!(
        text_of(&dom, "shown"),
        format!("{want} of {total} findings shown")
    );
    assert_eq!(
        attr_of(&dom, "filters", "data-state"),
        format!("status=fail&vm={vm}")
    );

    // Several statuses, a severity and a VM glob; written back in canonical order.
    let glob = format!("{}*", &vm[..vm.len() - 1]);
    let dom = dom_at(&format!("severity=medium&vm={glob}&status=warn,unknown"));
    let want = findings(&r)
        .filter(|f| {
            ["warn", "unknown"].contains(&f["status"].as_str().unwrap())
                && f["severity"] == "medium"
                && vm_of(&r, f).is_some_and(|n| n.starts_with(&vm[..vm.len() - 1]))
        })
        .count();
    assert_eq!(
        text_of(&dom, "shown"),
        format!("{want} of {total} findings shown")
    );
    assert_eq!(
        attr_of(&dom, "filters", "data-state"),
        format!("status=warn,unknown&severity=medium&vm={glob}")
    );

    // Search over every status: each row shown holds the words, and only those rows.
    let dom = dom_at("status=all&q=NUMA%20node");
    let rows = shown_rows(&dom);
    assert!(
        !rows.is_empty() && rows.len() < total,
        "{} rows",
        rows.len()
    );
    assert!(rows
        .iter()
        .all(|t| t.contains("numa") && t.contains("node")));
    assert_eq!(
        attr_of(&dom, "filters", "data-state"),
        "status=all&q=NUMA%20node"
    );
    let all = dom_at("status=all");
    assert_eq!(
        text_of(&all, "shown"),
        format!("{total} of {total} findings shown")
    );

    // A hostile fragment stays a search string.
    let dom = dom_at("q=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&vm=%3Cb%3E");
    assert!(!dom.contains("<img") && !dom.contains("<b>"));
    assert_eq!(
        text_of(&dom, "shown"),
        format!("0 of {total} findings shown")
    );
}

#[test]
fn html_report_prints_the_attention_view_on_a_few_pages() {
    if !common::require_tool("chromium") {
        return;
    }
    let Some(host) = untuned() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (page, r) = scan_to_files(tmp.path(), &["--root".as_ref(), host.as_os_str()]);
    let print = |fragment: &str| {
        let pdf = tmp.path().join(format!("p{}.pdf", fragment.len()));
        chromium_fragment(
            &tmp.path().join("profile"),
            &[
                format!("--print-to-pdf={}", pdf.display()),
                "--no-pdf-header-footer".into(),
            ],
            &page,
            fragment,
        );
        pdf_pages(&std::fs::read(&pdf).expect("PDF written"))
    };
    let attention = print("");
    let all = print("status=all");
    eprintln!(
        "icx-untuned printed: needs attention ({} findings) {attention} pages, all ({}) {all} pages",
        attention_count(&r),
        findings(&r).count()
    );
    // 42 pages for all 122 findings before the print stylesheet and the default view.
    assert!((2..=8).contains(&attention), "{attention} pages");
    assert!(all > attention + 3, "all {all}, attention {attention}");
}
