//! The fleet as an operator of many hosts works from it: host rows link to each host's HTML
//! report, labels carried from `scan --label` group and filter hosts in every output,
//! `--fail-on` gates, and the terminal filters narrow the table.

mod common;
mod report_support;

use report_support::chromium::*;
use report_support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Four fixture hosts scanned with labels: untuned and tuned in fra1 (untuned with a rack and
/// an HTML report beside its JSON), rhel9-stock in ams2 (HTML beside), kvm-guest unlabelled.
fn reports(tmp: &Path) -> PathBuf {
    let dir = tmp.join("reports");
    std::fs::create_dir_all(&dir).unwrap();
    let h = |n: &str| repo().join("fixtures/hosts").join(n);
    for (host, file, labels, html) in [
        (
            "icx-untuned",
            "untuned",
            &["site=fra1", "rack=r 1"][..],
            true,
        ),
        ("icx-tuned", "tuned", &["site=fra1"][..], false),
        ("rhel9-stock", "rhel", &["site=ams2"][..], true),
        ("kvm-guest", "guest", &[][..], false),
    ] {
        let mut c = kvmaudit();
        c.env_remove("KVMAUDIT_CONFIG")
            .arg("scan")
            .arg("--root")
            .arg(h(host))
            .arg("--json")
            .arg(dir.join(format!("{file}.json")));
        for l in labels {
            c.args(["--label", l]);
        }
        if html {
            c.arg("--html").arg(dir.join(format!("{file}.html")));
        }
        let o = c.output().unwrap();
        assert!(matches!(o.status.code(), Some(0) | Some(2)), "{o:?}");
    }
    dir
}

fn fleet(args: &[&std::ffi::OsStr]) -> std::process::Output {
    kvmaudit().arg("fleet").args(args).output().unwrap()
}

fn host<'a>(f: &'a Value, name: &str) -> &'a Value {
    f["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == name)
        .unwrap_or_else(|| panic!("no host {name}"))
}

#[test]
fn groups_labels_and_links_in_every_output() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = reports(tmp.path());
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let (json, csv, prom, html) = (
        out.join("fleet.json"),
        out.join("fleet.csv"),
        out.join("fleet.prom"),
        out.join("fleet.html"),
    );
    let o = fleet(&[
        dir.as_os_str(),
        "--group-by".as_ref(),
        "site".as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
        "--csv".as_ref(),
        csv.as_os_str(),
        "--prom".as_ref(),
        prom.as_os_str(),
        "--html".as_ref(),
        html.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let f: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();

    // Labels as scanned; links to the .html beside the JSON, relative to the page.
    let untuned = host(&f, "hv-icx02");
    assert_eq!(
        untuned["labels"],
        serde_json::json!({"rack": "r 1", "site": "fra1"})
    );
    assert_eq!(untuned["report_url"], "../reports/untuned.html");
    assert_eq!(host(&f, "kvm-rhel01")["report_url"], "../reports/rhel.html");
    assert!(
        host(&f, "hv-icx01").get("report_url").is_none(),
        "no HTML beside tuned.json"
    );
    assert!(host(&f, "guest01").get("labels").is_none());

    // Groups: the per-host numbers summed, hosts without the label in their own group.
    assert_eq!(f["group_by"], "site");
    let groups = f["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3);
    for g in groups {
        let members: Vec<&Value> = f["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["labels"]["site"] == g["group"])
            .collect();
        assert_eq!(g["hosts"], members.len(), "{g}");
        let fail: u64 = members
            .iter()
            .map(|h| h["counts"]["fail"].as_u64().unwrap())
            .sum();
        assert_eq!(g["counts"]["fail"], fail, "{g}");
        let failing = members.iter().filter(|h| h["counts"]["fail"] != 0).count();
        assert_eq!(g["hosts_failing"], failing, "{g}");
    }
    let fra1 = groups.iter().find(|g| g["group"] == "fra1").unwrap();
    assert_eq!(fra1["hosts"], 2);
    assert_eq!(fra1["hosts_with_blockers"], 1);
    assert!(groups
        .iter()
        .any(|g| g["group"].is_null() && g["hosts"] == 1));

    // The table's group section says the same.
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("By site"), "{table}");
    let row = table.lines().find(|l| l.contains("fra1")).unwrap();
    let cells: Vec<&str> = row.split(['│', '┆']).map(str::trim).collect();
    assert_eq!(&cells[1..4], ["fra1", "2", "1"], "{row}");
    assert!(table.lines().any(|l| l.contains("(no site)")));

    // CSV: labels and link columns; Prometheus: per-group series.
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",labels,report_url"));
    assert!(csv.lines().any(|l| l.starts_with("hv-icx02,")
        && l.ends_with(",rack=r 1;site=fra1,../reports/untuned.html")));
    let prom = std::fs::read_to_string(&prom).unwrap();
    assert!(prom.contains("kvmaudit_fleet_group_hosts{group_by=\"site\",group=\"fra1\"} 2\n"));
    assert!(
        prom.contains("kvmaudit_fleet_group_failing_hosts{group_by=\"site\",group=\"ams2\"} 1\n")
    );

    // The page: the host name links to its report; it opens grouped by site; the label
    // filter and the grouping run in the browser.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(
        "<a class=\"report-link\" href=\"../reports/untuned.html\"><strong>hv-icx02</strong></a>"
    ));
    assert!(page.contains("<td class=\"target\"><strong>hv-icx01</strong>"));
    if !common::require_tool("chromium") {
        return;
    }
    let dom = dump_dom(tmp.path(), &html);
    assert!(
        dom.contains("<tr class=\"group-head\"><td colspan=\"11\">site = fra1 (2 hosts)</td></tr>"),
        "{dom}"
    );
    assert!(
        dom.contains("<tr class=\"group-head\"><td colspan=\"11\">(no site) (1 host)</td></tr>")
    );
    // Groups in order (ams2, fra1, then the unlabelled), each host under its heading.
    let at = |s: &str| dom.find(s).unwrap_or_else(|| panic!("{s}"));
    assert!(at("site = ams2") < at("site = fra1"));
    assert!(at("site = ams2") < at("<strong>kvm-rhel01</strong>"));
    assert!(at("site = fra1") < at("<strong>hv-icx01</strong>"));
    assert!(at(">(no site) (1 host)<") < at("<strong>guest01</strong>"));
    assert!(at("<strong>hv-icx01</strong>") < at(">(no site) (1 host)<"));
    // Screenshots for a person to look at (kept when KVMAUDIT_SHOTS names a directory).
    if let Some(d) = std::env::var_os("KVMAUDIT_SHOTS") {
        let shot = PathBuf::from(d).join("fleet-grouped-by-site.png");
        chromium(
            &tmp.path().join("profile"),
            &[
                format!("--screenshot={}", shot.display()),
                "--window-size=1280,2300".into(),
                "--hide-scrollbars".into(),
            ],
            &html,
        );
    }
}

#[test]
fn report_url_template_escapes_what_reports_say() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = reports(tmp.path());
    // A report whose hostname tries to leave the URL's path segment.
    let p = dir.join("rhel.json");
    let mut r: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    r["host"]["hostname"] = "x/../\"><script>?a=1#".into();
    std::fs::write(&p, serde_json::to_vec(&r).unwrap()).unwrap();
    let json = tmp.path().join("f.json");
    let html = tmp.path().join("f.html");
    let o = fleet(&[
        dir.as_os_str(),
        "--report-url".as_ref(),
        "https://reports.example/{host}/{file}".as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
        "--html".as_ref(),
        html.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let f: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(
        host(&f, "x/../\"><script>?a=1#")["report_url"],
        "https://reports.example/x%2F..%2F%22%3E%3Cscript%3E%3Fa%3D1%23/rhel.json"
    );
    assert_eq!(
        host(&f, "hv-icx01")["report_url"],
        "https://reports.example/hv-icx01/tuned.json"
    );
    assert!(!std::fs::read_to_string(&html)
        .unwrap()
        .contains("<script>?"));
    // A template with another placeholder is refused before anything is read.
    let o = fleet(&[
        dir.as_os_str(),
        "--report-url".as_ref(),
        "https://r/{hostname}".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown placeholder {hostname}"));
}

#[test]
fn fail_on_gates_like_scan() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = reports(tmp.path());
    let code = |files: &[&str], sev: Option<&str>| {
        let mut c = kvmaudit();
        c.arg("fleet");
        for f in files {
            c.arg(dir.join(format!("{f}.json")));
        }
        if let Some(s) = sev {
            c.args(["--fail-on", s]);
        }
        c.output().unwrap().status.code().unwrap()
    };
    // untuned fails high rules; rhel9-stock only low ones; tuned and guest nothing.
    assert_eq!(
        code(&["untuned", "tuned"], None),
        0,
        "no --fail-on, no gate"
    );
    assert_eq!(code(&["untuned", "tuned"], Some("high")), 2);
    assert_eq!(code(&["rhel", "tuned", "guest"], Some("medium")), 0);
    assert_eq!(code(&["rhel", "tuned", "guest"], Some("low")), 2);
    assert_eq!(code(&["tuned", "guest"], Some("low")), 0);
    // The JSON says why: the highest failing severity per host.
    let o = fleet(&[dir.as_os_str(), "--json".as_ref(), "-".as_ref()]);
    let f: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(host(&f, "hv-icx02")["fail_severity"], "high");
    assert_eq!(host(&f, "kvm-rhel01")["fail_severity"], "low");
    assert!(host(&f, "hv-icx01").get("fail_severity").is_none());
}

#[test]
fn terminal_filters_narrow_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = reports(tmp.path());
    let table = |args: &[&str]| {
        let mut c = kvmaudit();
        c.env("COLUMNS", "200").arg("fleet").arg(&dir).args(args);
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{o:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let hosts_section = |t: &str| {
        let start = t.find("Hosts by score").unwrap();
        let end = t.find("Top failing rules").unwrap();
        t[start..end].to_string()
    };
    let all = table(&[]);
    for h in ["hv-icx02", "kvm-rhel01", "guest01", "hv-icx01"] {
        assert!(hosts_section(&all).contains(h));
    }
    let failing = table(&["--status", "fail"]);
    let s = hosts_section(&failing);
    assert!(s.contains("(status fail)"), "{s}");
    assert!(s.contains("hv-icx02") && s.contains("kvm-rhel01"));
    assert!(!s.contains("guest01") && !s.contains("hv-icx01"), "{s}");

    // --rule: the rules table and the hosts where a matching rule fails or warns.
    let qemu = table(&["--rule", "qemu.*"]);
    let s = hosts_section(&qemu);
    assert!(s.contains("hv-icx02") && !s.contains("kvm-rhel01"), "{s}");
    let rules = &qemu[qemu.find("Top failing rules").unwrap()..];
    let rules = &rules[..rules.find("Worst VMs").unwrap_or(rules.len())];
    assert!(rules.contains("qemu.accel.kvm"));
    assert!(
        !rules.contains("bios.c1e") && !rules.contains("host."),
        "{rules}"
    );

    // --vm: the worst-VMs list.
    let vms = table(&["--vm", "db*"]);
    let list = &vms[vms.find("Worst VMs").unwrap()..];
    assert!(list.contains("db01") && !list.contains("build01"), "{list}");
}

#[test]
fn labels_a_scan_would_refuse_make_a_report_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = reports(tmp.path());
    let p = dir.join("tuned.json");
    let mut r: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    r["labels"] = serde_json::json!({"bad key": "x"});
    std::fs::write(&p, serde_json::to_vec(&r).unwrap()).unwrap();
    let o = fleet(&[dir.as_os_str(), "--json".as_ref(), "-".as_ref()]);
    assert_eq!(o.status.code(), Some(0));
    let f: Value = serde_json::from_slice(&o.stdout).unwrap();
    let s = f["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"].as_str().unwrap().ends_with("tuned.json"))
        .expect("tuned.json skipped");
    assert_eq!(s["kind"], "corrupt");
    assert!(s["reason"]
        .as_str()
        .unwrap()
        .contains("labels: label key `bad key`"));
}

/// The tag of the table row that holds `<strong>NAME</strong>`.
fn row_of<'a>(dom: &'a str, name: &str) -> &'a str {
    let at = dom
        .find(&format!("<strong>{name}</strong>"))
        .unwrap_or_else(|| panic!("no row of {name}"));
    let start = dom[..at].rfind("<tr ").unwrap();
    &dom[start..start + dom[start..].find('>').unwrap()]
}

/// The page's state as its script wrote it (the fragment it keeps in the URL).
fn page_state(dom: &str) -> String {
    let at = dom.find("data-state=\"").expect("the form's state") + 12;
    dom[at..at + dom[at..].find('"').unwrap()].replace("&amp;", "&")
}

#[test]
fn the_pages_filters_and_grouping_live_in_the_url_fragment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = reports(tmp.path());
    let html = tmp.path().join("fleet.html");
    let o = fleet(&[
        dir.as_os_str(),
        "--group-by".as_ref(),
        "site".as_ref(),
        "--html".as_ref(),
        html.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    if !common::require_tool("chromium") {
        return;
    }
    let open = |fragment: &str| {
        chromium_fragment(
            &tmp.path().join("profile"),
            &["--dump-dom".into()],
            &html,
            fragment,
        )
    };
    // Without a fragment: the opening view (grouped as --group-by asked) is the empty state.
    let dom = open("");
    assert_eq!(page_state(&dom), "");
    assert!(dom.contains("site = fra1 (2 hosts)"), "{dom}");
    assert!(dom.contains("4 of 4 hosts shown"));

    // A shared view: one label, no grouping, a search word; only the host it names shows.
    let dom = open("label=site%3Dfra1&group=none&q=icx02");
    assert_eq!(page_state(&dom), "label=site%3Dfra1&group=none&q=icx02");
    assert!(!dom.contains("class=\"group-head"), "grouping off");
    assert!(dom.contains("1 of 4 hosts shown"), "{dom}");
    assert!(!row_of(&dom, "hv-icx02").contains("hidden"));
    for other in ["hv-icx01", "kvm-rhel01", "guest01"] {
        assert!(row_of(&dom, other).contains("hidden"), "{other}");
    }

    // Choices the page does not offer are dropped, a label key it has groups, unknown keys
    // are ignored; the state it keeps is the canonical form of what it shows.
    let dom = open("only=everything&group=label%3Arack&x=1&only=failing");
    assert_eq!(page_state(&dom), "only=failing&group=label%3Arack");
    assert!(dom.contains("rack = r 1 ("), "{dom}");
    assert!(dom.contains("(no rack) ("));

    // Fragment text is data, never markup.
    let dom = open("q=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E");
    assert!(!dom.contains("<img src=\"x\""), "{dom}");
    assert!(dom.contains("0 of 4 hosts shown"));
}
