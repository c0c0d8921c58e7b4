//! The fleet roll-up as a terminal table, JSON, CSV, HTML and a Prometheus textfile.

use super::fmt_age;
use super::model::Fleet;
use crate::error::Result;
use crate::report::prom::Writer;
use crate::report::summary::{fmt_ratio, fmt_score, grade, STATUSES};
use crate::report::table::{fit, Style};
use comfy_table::{Cell, CellAlignment, ColumnConstraint, Table, Width};
use serde::Serialize;

/// Hosts listed in the terminal table when the fleet is large (all of them up to 100).
pub const TABLE_HOSTS: usize = 50;
/// Rules in the "top failing rules" tables.
pub const TOP_RULES: usize = 15;
/// Hosts (worst first) in the HTML failure matrix.
pub const MATRIX_HOSTS: usize = 200;

/// A table in the host report's style, with a header.
fn new_table(style: Style, header: &[&str]) -> Table {
    let mut t = crate::report::table::new_table(style);
    t.set_header(header.to_vec());
    t
}

fn right(t: &mut Table, cols: &[usize]) {
    for &i in cols {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// Keep a column's words whole: its minimum width is its longest cell, capped at `cap`.
fn keep_whole(t: &mut Table, col: usize, cap: u16) {
    let widths = t.column_max_content_widths();
    if let (Some(&w), Some(c)) = (widths.get(col), t.column_mut(col)) {
        c.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(
            w.min(cap) + 2,
        )));
    }
}

fn heading(text: &str, style: Style) -> String {
    if style.color {
        format!("\n\x1b[1m{text}\x1b[0m\n")
    } else {
        format!("\n{text}\n")
    }
}

fn stale_words(secs: u64) -> String {
    fmt_age(Some(secs as i64))
}

/// The roll-up for a terminal.
pub fn table(f: &Fleet, style: Style) -> String {
    let s = &f.summary;
    let mut out = format!(
        "kvmaudit fleet: {} host(s) from {} file(s), {} skipped, {} stale (older than {}); \
         score mean {}, median {}, worst {}; {} VM(s); {} host(s) with blockers\n",
        s.hosts,
        s.files,
        s.skipped,
        s.stale,
        stale_words(f.stale_after_seconds),
        fmt_score(s.mean_score),
        fmt_score(s.median_score),
        fmt_score(s.min_score),
        s.vms,
        s.hosts_with_blockers
    );

    let limit = if f.hosts.len() > 100 {
        TABLE_HOSTS
    } else {
        f.hosts.len()
    };
    out.push_str(&heading(
        &if limit < f.hosts.len() {
            format!("Hosts by score, worst {limit} of {}", f.hosts.len())
        } else {
            "Hosts by score".to_string()
        },
        style,
    ));
    let mut t = new_table(
        style,
        &[
            "host", "score", "host", "cover", "fail", "warn", "unkn", "block", "VMs", "worst VM",
            "age",
        ],
    );
    for h in f.hosts.iter().take(limit) {
        t.add_row(vec![
            Cell::new(fit(&h.host)),
            Cell::new(fmt_score(h.summary.score)),
            Cell::new(fmt_score(h.summary.host_score)),
            Cell::new(fmt_ratio(h.summary.coverage)),
            Cell::new(h.summary.counts.fail),
            Cell::new(h.summary.counts.warn),
            Cell::new(h.summary.counts.unknown),
            Cell::new(h.summary.blockers.len()),
            Cell::new(h.vms),
            Cell::new(
                h.worst_vm
                    .as_ref()
                    .map(|v| format!("{} ({:.1})", fit(&v.name), v.score))
                    .unwrap_or_default(),
            ),
            Cell::new(format!(
                "{}{}",
                fmt_age(h.age_seconds),
                if h.stale { " STALE" } else { "" }
            )),
        ]);
    }
    right(&mut t, &[1, 2, 3, 4, 5, 6, 7, 8]);
    keep_whole(&mut t, 0, 30);
    out.push_str(&t.to_string());
    out.push('\n');
    if limit < f.hosts.len() {
        out.push_str(&format!(
            "… {} more host(s): see --csv, --json or --html\n",
            f.hosts.len() - limit
        ));
    }

    out.push_str(&heading("Top failing rules", style));
    let failing: Vec<_> = f.failing_rules().take(TOP_RULES).collect();
    if failing.is_empty() {
        out.push_str("no rule fails or warns on any host\n");
    } else {
        let mut t = new_table(
            style,
            &[
                "rule",
                "severity",
                "hosts failing",
                "hosts warning",
                "targets failing",
                "title",
            ],
        );
        for r in failing {
            t.add_row(vec![
                Cell::new(fit(&r.rule)),
                Cell::new(r.severity.as_str()),
                Cell::new(r.hosts_failing),
                Cell::new(r.hosts_warning),
                Cell::new(r.targets_failing),
                Cell::new(fit(&r.title)),
            ]);
        }
        right(&mut t, &[2, 3, 4]);
        keep_whole(&mut t, 0, 30);
        out.push_str(&t.to_string());
        out.push('\n');
    }

    if !f.worst_vms.is_empty() {
        out.push_str(&heading("Worst VMs", style));
        let mut t = new_table(style, &["host", "VM", "score", "coverage", "vCPUs"]);
        for v in f.worst_vms.iter().take(10) {
            t.add_row(vec![
                Cell::new(fit(&v.host)),
                Cell::new(fit(&v.vm)),
                Cell::new(format!("{:.1}", v.score)),
                Cell::new(fmt_ratio(v.coverage)),
                Cell::new(v.vcpus.map(|n| n.to_string()).unwrap_or_default()),
            ]);
        }
        right(&mut t, &[2, 3, 4]);
        out.push_str(&t.to_string());
        out.push('\n');
    }

    if !f.stale.is_empty() {
        out.push_str(&heading(
            &format!(
                "Stale reports (older than {})",
                stale_words(f.stale_after_seconds)
            ),
            style,
        ));
        let mut t = new_table(style, &["host", "generated", "age", "path"]);
        for h in &f.stale {
            t.add_row(vec![
                fit(&h.host),
                fit(&h.generated_at),
                fmt_age(h.age_seconds),
                fit(&h.path),
            ]);
        }
        out.push_str(&t.to_string());
        out.push('\n');
    }

    if !f.skipped.is_empty() {
        out.push_str(&heading("Skipped files", style));
        let mut t = new_table(style, &["path", "kind", "reason"]);
        for s in &f.skipped {
            t.add_row(vec![
                fit(&s.path),
                s.kind.as_str().to_string(),
                fit(&s.reason),
            ]);
        }
        out.push_str(&t.to_string());
        out.push('\n');
    }
    out
}

/// Pretty JSON with a final newline.
pub fn json(f: &Fleet) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(f).unwrap_or_default();
    v.push(b'\n');
    v
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. Text that a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a leading `'`.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

/// One row per host, worst score first.
pub fn csv(f: &Fleet) -> String {
    let mut out = String::from(
        "host,path,generated_at,age_seconds,stale,profile,kvmaudit_version,score,host_score,\
         coverage,pass,fail,warn,info,not_applicable,unknown,waived,blockers,vms,worst_vm,\
         worst_vm_score,failing_rules\r\n",
    );
    for h in &f.hosts {
        let c = &h.summary.counts;
        let fields = [
            csv_field(&h.host),
            csv_field(&h.path),
            csv_field(&h.generated_at),
            h.age_seconds.map(|a| a.to_string()).unwrap_or_default(),
            h.stale.to_string(),
            csv_field(&h.summary.profile),
            csv_field(&h.summary.tool_version),
            num(h.summary.score),
            num(h.summary.host_score),
            num(h.summary.coverage),
            c.pass.to_string(),
            c.fail.to_string(),
            c.warn.to_string(),
            c.info.to_string(),
            c.not_applicable.to_string(),
            c.unknown.to_string(),
            c.waived.to_string(),
            h.summary.blockers.len().to_string(),
            h.vms.to_string(),
            csv_field(h.worst_vm.as_ref().map(|v| v.name.as_str()).unwrap_or("")),
            num(h.worst_vm.as_ref().map(|v| v.score)),
            csv_field(&h.failing_rules.join(" ")),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The fleet as a Prometheus textfile (`kvmaudit_fleet_*`, apart from the per-host
/// `kvmaudit_*` metrics of `scan --prom`).
pub fn prom(f: &Fleet) -> String {
    let mut w = Writer::new();
    let s = &f.summary;
    w.family(
        "kvmaudit_fleet_hosts",
        "gauge",
        "Hosts with a usable report in the roll-up.",
    );
    w.sample("kvmaudit_fleet_hosts", &[], s.hosts as f64);
    w.family(
        "kvmaudit_fleet_skipped_files",
        "gauge",
        "Paths that gave no usable report, by reason.",
    );
    for kind in [
        super::model::SkipKind::NotFound,
        super::model::SkipKind::Unreadable,
        super::model::SkipKind::Corrupt,
        super::model::SkipKind::Foreign,
        super::model::SkipKind::NewerSchema,
        super::model::SkipKind::Superseded,
    ] {
        let n = f.skipped.iter().filter(|x| x.kind == kind).count();
        w.sample(
            "kvmaudit_fleet_skipped_files",
            &[("reason", kind.as_str())],
            n as f64,
        );
    }
    w.family(
        "kvmaudit_fleet_stale_hosts",
        "gauge",
        "Hosts whose last report is older than --stale-after (or has no readable timestamp).",
    );
    w.sample("kvmaudit_fleet_stale_hosts", &[], s.stale as f64);
    w.family(
        "kvmaudit_fleet_findings",
        "gauge",
        "Findings over all hosts by status.",
    );
    for st in STATUSES {
        w.sample(
            "kvmaudit_fleet_findings",
            &[("status", st.as_str())],
            f64::from(crate::report::summary::count_of(&s.counts, st)),
        );
    }
    w.family(
        "kvmaudit_fleet_host_score",
        "gauge",
        "Overall tuning score (0-100) of each host's last report.",
    );
    for h in &f.hosts {
        if let Some(v) = h.summary.score {
            w.sample("kvmaudit_fleet_host_score", &[("host", &h.host)], v);
        }
    }
    w.family(
        "kvmaudit_fleet_host_coverage_ratio",
        "gauge",
        "Share (0-1) of applicable rule weight evaluated on each host.",
    );
    for h in &f.hosts {
        if let Some(v) = h.summary.coverage {
            w.sample(
                "kvmaudit_fleet_host_coverage_ratio",
                &[("host", &h.host)],
                v,
            );
        }
    }
    w.family(
        "kvmaudit_fleet_host_blockers",
        "gauge",
        "Data-integrity blockers on each host.",
    );
    for h in &f.hosts {
        w.sample(
            "kvmaudit_fleet_host_blockers",
            &[("host", &h.host)],
            h.summary.blockers.len() as f64,
        );
    }
    w.family(
        "kvmaudit_fleet_host_report_age_seconds",
        "gauge",
        "Age of each host's last report when the roll-up ran.",
    );
    for h in &f.hosts {
        if let Some(a) = h.age_seconds {
            w.sample(
                "kvmaudit_fleet_host_report_age_seconds",
                &[("host", &h.host)],
                a as f64,
            );
        }
    }
    w.family(
        "kvmaudit_fleet_rule_failing_hosts",
        "gauge",
        "Hosts on which a rule has at least one failed finding.",
    );
    for r in &f.rules {
        w.sample(
            "kvmaudit_fleet_rule_failing_hosts",
            &[("rule", &r.rule), ("severity", r.severity.as_str())],
            f64::from(r.hosts_failing),
        );
    }
    w.finish()
}

#[derive(Serialize)]
struct HostRowView<'a> {
    host: &'a str,
    path: &'a str,
    score: String,
    grade: &'static str,
    host_score: String,
    coverage: String,
    fail: u32,
    warn: u32,
    unknown: u32,
    blockers: usize,
    vms: usize,
    worst_vm: String,
    age: String,
    stale: bool,
    generated_at: &'a str,
}

#[derive(Serialize)]
struct RuleView<'a> {
    rule: &'a str,
    title: &'a str,
    section: &'a str,
    severity: &'static str,
    hosts_failing: u32,
    hosts_warning: u32,
    hosts_evaluated: u32,
    targets_failing: u32,
    share: String,
}

#[derive(Serialize)]
struct MatrixRow<'a> {
    host: &'a str,
    score: String,
    cells: Vec<MatrixCell>,
}

#[derive(Serialize)]
struct MatrixCell {
    class: &'static str,
    mark: &'static str,
    title: String,
}

#[derive(Serialize)]
struct FleetPage<'a> {
    nonce: String,
    tool: &'a crate::report::ToolInfo,
    generated_at: &'a str,
    stale_after: String,
    summary: &'a super::model::Summary,
    mean: String,
    median: String,
    worst: String,
    hosts: Vec<HostRowView<'a>>,
    top_rules: Vec<RuleView<'a>>,
    matrix_rules: Vec<&'a str>,
    matrix: Vec<MatrixRow<'a>>,
    matrix_note: String,
    worst_vms: Vec<&'a super::model::WorstVm>,
    worst_vm_scores: Vec<String>,
    stale: Vec<StaleView<'a>>,
    skipped: &'a [super::model::Skipped],
    data: serde_json::Value,
}

#[derive(Serialize)]
struct StaleView<'a> {
    host: &'a str,
    path: &'a str,
    generated_at: &'a str,
    age: String,
}

/// The fleet page: hosts by score, rule × host failure matrix, top failing rules, worst VMs,
/// stale hosts and skipped files; filters and a text search as in the host report.
pub fn html(f: &Fleet) -> Result<String> {
    let matrix_rules: Vec<&super::model::RuleStat> = f.failing_rules().collect();
    let matrix = f
        .hosts
        .iter()
        .take(MATRIX_HOSTS)
        .map(|h| MatrixRow {
            host: &h.host,
            score: fmt_score(h.summary.score),
            cells: matrix_rules
                .iter()
                .map(|r| {
                    if h.failing_rules.binary_search(&r.rule).is_ok() {
                        MatrixCell {
                            class: "cell-fail",
                            mark: "✗",
                            title: format!("{}: fail on {}", r.rule, h.host),
                        }
                    } else if h.warning_rules.binary_search(&r.rule).is_ok() {
                        MatrixCell {
                            class: "cell-warn",
                            mark: "!",
                            title: format!("{}: warn on {}", r.rule, h.host),
                        }
                    } else {
                        MatrixCell {
                            class: "",
                            mark: "",
                            title: String::new(),
                        }
                    }
                })
                .collect(),
        })
        .collect();
    let matrix_note = if f.hosts.len() > MATRIX_HOSTS {
        format!(
            "The {MATRIX_HOSTS} hosts with the lowest scores of {}; the JSON and CSV list every host's failing rules.",
            f.hosts.len()
        )
    } else {
        String::new()
    };
    // The embedded data omits the per-host lists (already in the tables) to keep the page small.
    let data = serde_json::json!({
        "kind": f.kind,
        "schema_version": f.schema_version,
        "generated_at": f.generated_at,
        "summary": f.summary,
    });
    let page = FleetPage {
        nonce: format!("{:016x}", {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(f.hosts.len());
            h.write(f.generated_at.as_bytes());
            h.finish()
        }),
        tool: &f.tool,
        generated_at: &f.generated_at,
        stale_after: stale_words(f.stale_after_seconds),
        summary: &f.summary,
        mean: fmt_score(f.summary.mean_score),
        median: fmt_score(f.summary.median_score),
        worst: fmt_score(f.summary.min_score),
        hosts: f
            .hosts
            .iter()
            .map(|h| HostRowView {
                host: &h.host,
                path: &h.path,
                score: fmt_score(h.summary.score),
                grade: grade(h.summary.score),
                host_score: fmt_score(h.summary.host_score),
                coverage: fmt_ratio(h.summary.coverage),
                fail: h.summary.counts.fail,
                warn: h.summary.counts.warn,
                unknown: h.summary.counts.unknown,
                blockers: h.summary.blockers.len(),
                vms: h.vms,
                worst_vm: h
                    .worst_vm
                    .as_ref()
                    .map(|v| format!("{} ({:.1})", v.name, v.score))
                    .unwrap_or_default(),
                age: fmt_age(h.age_seconds),
                stale: h.stale,
                generated_at: &h.generated_at,
            })
            .collect(),
        top_rules: f
            .failing_rules()
            .take(TOP_RULES)
            .map(|r| RuleView {
                rule: &r.rule,
                title: &r.title,
                section: &r.section,
                severity: r.severity.as_str(),
                hosts_failing: r.hosts_failing,
                hosts_warning: r.hosts_warning,
                hosts_evaluated: r.hosts_evaluated,
                targets_failing: r.targets_failing,
                share: if f.summary.hosts > 0 {
                    format!(
                        "{:.0}%",
                        100.0 * f64::from(r.hosts_failing) / f.summary.hosts as f64
                    )
                } else {
                    String::new()
                },
            })
            .collect(),
        matrix_rules: matrix_rules.iter().map(|r| r.rule.as_str()).collect(),
        matrix,
        matrix_note,
        worst_vm_scores: f
            .worst_vms
            .iter()
            .map(|v| format!("{:.1}", v.score))
            .collect(),
        worst_vms: f.worst_vms.iter().collect(),
        stale: f
            .stale
            .iter()
            .map(|s| StaleView {
                host: &s.host,
                path: &s.path,
                generated_at: &s.generated_at,
                age: fmt_age(s.age_seconds),
            })
            .collect(),
        skipped: &f.skipped,
        data,
    };
    crate::report::html::render_template("fleet", crate::report::html::FLEET_JS, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting_and_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }
}
