//! The terminal controls of issue 17 through the CLI: width from COLUMNS, colour decisions
//! (NO_COLOR, CLICOLOR_FORCE, TERM=dumb, --color), ASCII under a non-UTF-8 locale,
//! --summary, --verbose, the --status/--vm/--rule filters, the host lines, `rules` at 80
//! columns, and the summary first on a long terminal report.

mod common;

use std::process::Command;
use unicode_width::UnicodeWidthStr;

fn untuned() -> std::path::PathBuf {
    let p = common::fixture("hosts/icx-untuned");
    assert!(p.join("proc").is_dir(), "fixture missing: {}", p.display());
    p
}

/// kvmaudit with a neutral environment (UTF-8 locale, no colour or width variables), then
/// `env` on top; (stdout, stderr, exit code).
fn run(args: &[&str], env: &[(&str, &str)]) -> (String, String, i32) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kvmaudit"));
    c.args(args);
    for k in [
        "NO_COLOR",
        "CLICOLOR_FORCE",
        "COLUMNS",
        "LC_ALL",
        "LC_CTYPE",
    ] {
        c.env_remove(k);
    }
    c.env("LANG", "C.UTF-8").env("TERM", "xterm");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

fn scan(extra: &[&str], env: &[(&str, &str)]) -> String {
    let root = untuned();
    let mut args = vec!["scan", "--root", root.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (out, err, code) = run(&args, env);
    assert_eq!(code, 2, "untuned host fails rules: {err}");
    out
}

/// The table without its "scan … at TIME" line, which differs between two runs.
fn without_time(text: &str) -> String {
    text.lines()
        .filter(|l| !l.contains(" profile, kvmaudit "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn widest(text: &str) -> usize {
    text.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
}

#[test]
fn columns_sets_the_width_of_the_scan_and_rules_tables() {
    let mut lines = Vec::new();
    for w in [80usize, 120, 200] {
        let cols = w.to_string();
        for (what, text) in [
            ("scan", scan(&[], &[("COLUMNS", &cols)])),
            (
                "scan --verbose",
                scan(&["--verbose"], &[("COLUMNS", &cols)]),
            ),
            ("rules", run(&["rules"], &[("COLUMNS", &cols)]).0),
        ] {
            for line in text.lines() {
                assert!(line.width() <= w, "{what} at {w}: too wide: {line}");
            }
            // The layout uses the room it is given, not a fixed 100 columns (the rule
            // list needs only 138 at most).
            assert!(
                what == "rules" && w > 138 || widest(&text) > w - 10,
                "{what} at {w}: widest {}",
                widest(&text)
            );
            if what == "scan" {
                lines.push(text.lines().count());
            }
        }
    }
    assert!(lines[0] > lines[1] && lines[1] > lines[2], "{lines:?}");
    // Without COLUMNS a pipe still gets 100 columns.
    let plain = scan(&[], &[]);
    assert_eq!(widest(&plain), 100);
}

#[test]
fn colour_follows_no_color_clicolor_force_and_the_flag() {
    let esc = |t: &str| t.contains("\x1b[");
    assert!(!esc(&scan(&[], &[])), "a pipe is plain");
    assert!(esc(&scan(&[], &[("CLICOLOR_FORCE", "1")])));
    assert!(!esc(&scan(&[], &[("CLICOLOR_FORCE", "0")])));
    assert!(!esc(&scan(
        &[],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
    )));
    assert!(esc(&scan(&["--color", "always"], &[("NO_COLOR", "1")])));
    assert!(!esc(&scan(
        &["--color", "never"],
        &[("CLICOLOR_FORCE", "1")]
    )));
    // Colour does not change the layout: stripped of escapes it is the plain table.
    let forced = scan(&["--color", "always"], &[]);
    let stripped = strip_escapes(&forced);
    let plain = scan(&[], &[]);
    assert_eq!(without_time(&stripped), without_time(&plain));
}

fn strip_escapes(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\x1b' && it.peek() == Some(&'[') {
            for d in it.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `kvmaudit ARGS` under a pseudo-terminal (util-linux `script`) with `env`.
fn under_tty(args: &[&str], env: &[(&str, &str)]) -> Option<String> {
    if !common::require_tool("script") {
        return None;
    }
    let cmd = std::iter::once(env!("CARGO_BIN_EXE_kvmaudit"))
        .chain(args.iter().copied())
        .map(|a| shell_words::quote(a).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut c = Command::new("script");
    c.args(["-q", "-e", "-c", &cmd, "/dev/null"]);
    for k in [
        "NO_COLOR",
        "CLICOLOR_FORCE",
        "COLUMNS",
        "LC_ALL",
        "LC_CTYPE",
    ] {
        c.env_remove(k);
    }
    c.env("LANG", "C.UTF-8").env("TERM", "xterm");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert!(matches!(out.status.code(), Some(0) | Some(2)), "{out:?}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn term_dumb_gets_no_colour_and_a_long_terminal_report_starts_with_its_summary() {
    let root = untuned();
    let args = ["scan", "--root", root.to_str().unwrap()];
    let Some(tty) = under_tty(&args, &[]) else {
        return;
    };
    assert!(tty.contains("\x1b["), "no colour on a terminal");
    let dumb = under_tty(&args, &[("TERM", "dumb")]).unwrap();
    assert!(!dumb.contains('\x1b'), "TERM=dumb still coloured");
    // On a terminal the 400-line report opens on its score, right after the host.
    let summary = dumb.find("Summary").unwrap();
    let first_section = dumb.find("§1 ").unwrap();
    assert!(summary < first_section, "summary not first:\n{dumb}");
    assert!(dumb.contains("Findings by guide section follow"));
    // Piped, the order is as it always was: the summary last.
    let piped = scan(&[], &[]);
    assert!(piped.find("§1 ").unwrap() < piped.find("Summary").unwrap());
}

#[test]
fn a_locale_without_utf8_gets_ascii_only() {
    for env in [
        &[("LANG", "C")][..],
        &[("LANG", "en_US.UTF-8"), ("LC_ALL", "POSIX")][..],
        &[("LANG", "de_DE.ISO-8859-1")][..],
    ] {
        for extra in [&[][..], &["--verbose"][..], &["--summary"][..]] {
            let text = scan(extra, env);
            assert!(text.is_ascii(), "{env:?} {extra:?}: non-ASCII in\n{text}");
            assert!(text.contains("+----------+"), "{text}");
            assert!(text.contains("Summary"));
        }
        let rules = run(&["rules"], env).0;
        assert!(rules.is_ascii(), "{env:?}: rules not ASCII");
    }
    // A UTF-8 locale keeps the box drawing.
    assert!(scan(&[], &[("LANG", "en_US.UTF-8")]).contains('┌'));
}

#[test]
fn summary_is_short_and_holds_scores_blockers_and_top_fixes() {
    let full = scan(&[], &[]);
    let text = scan(&["--summary"], &[]);
    let n = text.lines().count();
    assert!(n < 60, "--summary printed {n} lines:\n{text}");
    assert!(full.lines().count() > 4 * n);
    for want in [
        "Summary",
        "score",
        "coverage",
        "blockers",
        "Top fixes",
        "VM scores",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    assert!(text.starts_with("hv-icx02: throughput profile\n"), "{text}");
    assert!(!text.contains('§'), "findings in --summary:\n{text}");
    let (_, err, code) = run(&["scan", "--summary", "--verbose"], &[]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn top_fixes_at_80_columns_keep_rule_ids_whole() {
    // Six table columns at 80 left the fix a word per line and split ids mid-word.
    let text = scan(&["--summary"], &[("COLUMNS", "80")]);
    for line in text.lines() {
        assert!(line.width() <= 80, "too wide: {line}");
    }
    let fixes = text.split("Top fixes").nth(1).unwrap_or_default();
    for id in [
        "qemu.mem.hugepages",
        "qemu.numa.device-locality",
        "qemu.numa.memory-locality",
    ] {
        assert!(
            fixes.contains(&format!(" {id} (medium; ")),
            "{id}:\n{fixes}"
        );
    }
    assert!(
        fixes.contains("\n     Back guest RAM with hugetlb pages"),
        "{fixes}"
    );
    // At 120 columns the table has room and stays.
    let wide = scan(&["--summary"], &[("COLUMNS", "120")]);
    let wide_fixes = wide.split("Top fixes").nth(1).unwrap_or_default();
    assert!(wide_fixes.contains("┆ rule "), "{wide_fixes}");
}

#[test]
fn verbose_shows_whole_messages_and_every_evidence_line() {
    let plain = scan(&[], &[("COLUMNS", "200")]);
    assert!(plain.contains(" more)"), "the default collapses evidence");
    let wide = scan(&["--wide"], &[("COLUMNS", "200")]);
    assert!(!wide.contains(" more)"), "--wide still collapses:\n{wide}");
    assert!(!wide.contains('…'), "--wide still clips:\n{wide}");
    // --wide is another name for --verbose.
    let verbose = scan(&["--verbose"], &[("COLUMNS", "200")]);
    assert_eq!(without_time(&verbose), without_time(&wide));
    assert!(wide.lines().count() > plain.lines().count());
}

/// Rows of the findings tables: (status, rule, target).
fn rows(text: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        let cells: Vec<&str> = l.split(['│', '┆']).map(str::trim).collect();
        if cells.len() != 6 || cells[1].is_empty() || cells[1] == "status" {
            continue;
        }
        if !["FAIL", "WARN", "UNKNOWN", "INFO", "WAIVED"].contains(&cells[1]) {
            continue;
        }
        let next = lines.peek().copied().unwrap_or_default();
        let ncells: Vec<&str> = next.split(['│', '┆']).map(str::trim).collect();
        out.push((
            cells[1].to_string(),
            cells[2].to_string(),
            ncells.get(2).copied().unwrap_or_default().to_string(),
        ));
    }
    out
}

#[test]
fn filters_narrow_the_tables_and_compose() {
    let w = [("COLUMNS", "200")];
    let all = rows(&scan(&[], &w));
    assert!(all.iter().any(|r| r.0 == "WARN") && all.iter().any(|r| r.0 == "FAIL"));

    let fails = rows(&scan(&["--status", "fail"], &w));
    assert!(!fails.is_empty());
    assert!(fails.iter().all(|r| r.0 == "FAIL"), "{fails:?}");
    assert_eq!(fails.len(), all.iter().filter(|r| r.0 == "FAIL").count());

    let fw = rows(&scan(&["--status", "fail,warn"], &w));
    assert_eq!(
        fw.len(),
        all.iter()
            .filter(|r| r.0 == "FAIL" || r.0 == "WARN")
            .count()
    );

    let vm = rows(&scan(&["--vm", "app*"], &w));
    assert!(!vm.is_empty());
    assert!(
        vm.iter()
            .all(|r| r.2 == "vm:app01" || r.2.starts_with("vm:app01/")),
        "{vm:?}"
    );

    let rule = rows(&scan(&["--rule", "QEMU.BLK.*"], &w));
    assert!(!rule.is_empty());
    assert!(
        rule.iter().all(|r| r.1.starts_with("qemu.blk.")),
        "{rule:?}"
    );

    let both = scan(
        &["--status", "fail", "--vm", "scratch01", "--rule", "qemu.*"],
        &w,
    );
    let b = rows(&both);
    assert!(!b.is_empty());
    assert!(
        b.iter()
            .all(|r| r.0 == "FAIL" && r.1.starts_with("qemu.") && r.2.starts_with("vm:scratch01")),
        "{b:?}"
    );
    assert!(
        both.contains(&format!("Filtered: {} of 122 findings shown", b.len())),
        "{both}"
    );
    // The summary still counts everything.
    assert!(both.contains("19 fail, 24 warn"), "{both}");

    let none = scan(&["--vm", "no-such-vm"], &w);
    assert!(none.contains("No findings match the filters."));

    // The JSON written alongside is the whole report.
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("r.json");
    scan(&["--status", "fail", "--json", json.to_str().unwrap()], &[]);
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(r["results"].as_array().unwrap().len(), 122);

    let (_, err, code) = run(&["scan", "--status", "broken"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("`broken`: not a status"), "{err}");
}

#[test]
fn host_lines_say_one_socket_and_leave_out_what_was_not_seen() {
    let guest = common::fixture("hosts/kvm-guest");
    let (text, _, _) = run(&["scan", "--root", guest.to_str().unwrap()], &[]);
    assert!(
        text.contains("1 socket, 4 cores, 4 threads, 1 NUMA node "),
        "{text}"
    );
    // A host tree with nothing in it: every host part is unknown.
    let bare = tempfile::tempdir().unwrap();
    std::fs::create_dir(bare.path().join("proc")).unwrap();
    let (text, _, _) = run(&["scan", "--root", bare.path().to_str().unwrap()], &[]);
    assert!(!text.contains("unknown unknown"), "{text}");
    assert!(!text.contains("BIOS unknown"), "{text}");
    // The row labelled platform (the NOTE row above it names the platform too).
    let platform = text
        .lines()
        .find(|l| {
            l.trim_start_matches(['│', '|', ' '])
                .starts_with("platform ")
        })
        .unwrap();
    assert!(platform.contains("┆ unknown "), "{platform}");
}

#[test]
fn help_says_the_filters_leave_other_outputs_whole() {
    let (help, _, code) = run(&["scan", "--help"], &[]);
    assert_eq!(code, 0);
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for want in [
        "--summary",
        "--verbose",
        "--wide",
        "--status",
        "--vm",
        "--rule",
        "--color",
        "the --json, --html and --prom outputs always cover every finding",
        "else COLUMNS, else 100",
        "summary first",
    ] {
        assert!(flat.contains(want), "{want} missing from scan --help");
    }
}

#[test]
fn explain_takes_any_case_and_lists_the_rules_of_a_prefix() {
    let (upper, err, code) = run(&["explain", "QEMU.Blk.Cache"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(upper.starts_with("qemu.blk.cache — "), "{upper}");

    let (list, err, code) = run(&["explain", "qemu.blk"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(list.starts_with("6 rules start with `qemu.blk`"), "{list}");
    let ids: Vec<&str> = list
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "qemu.blk.aio",
            "qemu.blk.cache",
            "qemu.blk.iothread",
            "qemu.blk.num-queues",
            "qemu.blk.packed",
            "qemu.blk.virtio-bus"
        ]
    );

    let (_, err, code) = run(&["explain", "hugepage"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("did you mean"), "{err}");
    assert!(err.contains("qemu.mem.hugepages"), "{err}");
    let (_, err, code) = run(&["explain", "zzz\x1b[2J"], &[]);
    assert_eq!(code, 1);
    assert!(!err.contains('\x1b'), "{err}");
    assert!(err.contains("`kvmaudit rules` lists them"), "{err}");
}

#[test]
fn explain_with_a_report_shows_the_rules_findings_in_full() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("untuned.json");
    scan(&["--json", json.to_str().unwrap()], &[]);
    let (text, err, code) = run(
        &[
            "explain",
            "qemu.mem.hugepages",
            "--report",
            json.to_str().unwrap(),
        ],
        &[("COLUMNS", "100")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("): 3\n"), "{text}");
    for vm in ["app01", "build01", "scratch01"] {
        assert!(text.contains(&format!("FAIL medium vm:{vm}\n")), "{text}");
    }
    // Every piece of evidence, not the first and "(+2 more)".
    assert_eq!(text.matches("evidence [").count(), 9, "{text}");
    assert!(!text.contains("more)"));

    let (text, _, code) = run(
        &["explain", "bios.vtx", "--report", json.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0);
    assert!(
        text.contains("PASS ") || text.contains("UNKNOWN "),
        "{text}"
    );

    let (_, err, code) = run(
        &[
            "explain",
            "qemu.blk.cache",
            "--report",
            "/nonexistent/r.json",
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/r.json"), "{err}");
}

/// `scan --waivers FILE` (FILE holding `toml`) of the untuned host as JSON: (report, stderr,
/// exit code).
fn scan_with_waivers(toml: &str) -> (serde_json::Value, String, i32) {
    let tmp = tempfile::tempdir().unwrap();
    let w = tmp.path().join("waivers.toml");
    std::fs::write(&w, toml).unwrap();
    let root = untuned();
    let (out, err, code) = run(
        &[
            "scan",
            "--root",
            root.to_str().unwrap(),
            "--waivers",
            w.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    );
    let r = serde_json::from_str(&out).unwrap_or(serde_json::Value::Null);
    (r, err, code)
}

#[test]
fn waivers_take_toml_dates_and_vm_globs_and_reject_what_cannot_apply() {
    let (r, err, code) = scan_with_waivers(
        "[[waiver]]\nrule = \"qemu.mem.hugepages\"\nvm = \"app*\"\nreason = \"r\"\nexpires = 2999-01-31\n",
    );
    assert_eq!(code, 2, "{err}");
    let hp: Vec<(String, String)> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "qemu.mem.hugepages")
        .map(|f| {
            (
                f["target"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        hp,
        [
            ("vm:app01".to_string(), "waived".to_string()),
            ("vm:build01".to_string(), "fail".to_string()),
            ("vm:scratch01".to_string(), "fail".to_string())
        ]
    );
    let waived = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["status"] == "waived")
        .unwrap();
    assert_eq!(waived["waiver"]["expires"], "2999-01-31");

    for (toml, want) in [
        (
            "[[waiver]]\nrule = \"qemu.mem.hugepages\"\nreason = \"r\"\n\n[[waiver]]\nrule = \"qemu.blk.cache\"\nreason = \"r\"\nexpires = \"2027-02-30\"\n",
            "waiver 2 (qemu.blk.cache): expires = \"2027-02-30\" is not a day of the calendar",
        ),
        ("[[waiver]]\nrule = \"qemu.blk.cache\"\nreason = \"r\"\nexpires = 2027-02-30\n", "line 4"),
        (
            "[[waiver]]\nrule = \"qemu.mem.hugepage\"\nreason = \"r\"\n",
            "waiver 1 (rule = \"qemu.mem.hugepage\"): no rule matches it",
        ),
    ] {
        let (_, err, code) = scan_with_waivers(toml);
        assert_eq!(code, 1, "{toml}: {err}");
        assert!(err.contains("waivers.toml: "), "{err}");
        assert!(err.contains(want), "{toml}: {err}");
    }
}

#[test]
fn help_and_readme_document_the_waiver_format() {
    let (help, _, _) = run(&["scan", "--help"], &[]);
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    for text in [&help, &readme] {
        for want in [
            "[[waiver]]",
            "rule = ",
            "target = ",
            "vm = ",
            "reason = ",
            "expires = 2027-03-31",
        ] {
            assert!(text.contains(want), "{want} missing");
        }
    }
}

#[test]
fn another_kvmaudit_file_is_named_with_what_to_use_instead() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let (report, fleet, snap) = (t("report.json"), t("fleet.json"), t("snap.json"));
    scan(&["--json", &report], &[]);
    let (_, err, code) = run(&["fleet", &report, "--json", &fleet], &[]);
    assert_eq!(code, 0, "{err}");
    let tuned = common::fixture("hosts/icx-tuned");
    let (_, err, code) = run(
        &["collect", "--root", tuned.to_str().unwrap(), "-o", &snap],
        &[],
    );
    assert_eq!(code, 0, "{err}");

    let fix = |f: &str| run(&["fix", "--generate-script", "--report", f], &[]);
    for (args, file, want) in [
        (
            vec!["scan", "--snapshot", report.as_str()],
            &report,
            "not a snapshot: this file is a kvmaudit report (from `scan --json`); use it with \
             `fix --generate-script --report FILE` or `explain ID --report FILE`",
        ),
        (
            vec!["scan", "--snapshot", fleet.as_str()],
            &fleet,
            "not a snapshot: this file is a fleet roll-up",
        ),
        (
            vec!["fix", "--generate-script", "--report", fleet.as_str()],
            &fleet,
            "not a report: this file is a fleet roll-up (from `fleet --json`)",
        ),
        (
            vec!["explain", "bios.vtx", "--report", fleet.as_str()],
            &fleet,
            "not a report: this file is a fleet roll-up",
        ),
        (
            vec!["fix", "--generate-script", "--report", snap.as_str()],
            &snap,
            "not a report: this file is a kvmaudit snapshot (from `collect`); it holds facts, \
             not findings: audit it with `scan --snapshot FILE`",
        ),
    ] {
        let (_, err, code) = run(&args, &[]);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.starts_with(&format!("kvmaudit: error: {file}: {want}")),
            "{args:?}: {err}"
        );
    }
    // The right files still work.
    assert_eq!(fix(&report).2, 0);
    let (_, err, code) = run(&["scan", "--snapshot", &snap], &[]);
    assert!(code == 0 || code == 2, "{err}");
}

#[test]
fn stale_after_takes_weeks_days_and_hours() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("r.json");
    scan(&["--json", report.to_str().unwrap()], &[]);
    for (d, secs) in [
        ("3w", 1_814_400),
        ("36h", 129_600),
        ("2d", 172_800),
        ("1d12h", 129_600),
    ] {
        let (out, err, code) = run(
            &[
                "fleet",
                report.to_str().unwrap(),
                "--stale-after",
                d,
                "--json",
                "-",
            ],
            &[],
        );
        assert_eq!(code, 0, "{d}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["stale_after_seconds"], secs, "{d}");
    }
    let (_, err, code) = run(
        &["fleet", report.to_str().unwrap(), "--stale-after", "3x"],
        &[],
    );
    assert_eq!(code, 1);
    assert!(err.contains("unknown unit `x`"), "{err}");
}

#[test]
fn a_failed_write_names_the_output_not_its_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("missing-dir/r.json");
    let (_, err, code) = run(
        &[
            "scan",
            "--root",
            untuned().to_str().unwrap(),
            "--json",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("r.json"), "{err}");
    assert!(!err.contains(".kvmaudit-"), "temporary name in: {err}");
}
