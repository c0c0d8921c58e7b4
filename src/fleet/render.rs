//! The fleet roll-up as a terminal table, JSON, CSV, HTML and a Prometheus textfile.

use super::fmt_age;
use super::model::{Fleet, HostEntry};
use crate::error::Result;
use crate::report::prom::Writer;
use crate::report::summary::{fmt_ratio, fmt_score, grade, STATUSES};
use crate::report::table::{fit, Style};
use comfy_table::{Cell, CellAlignment, ColumnConstraint, Table, Width};
use serde::Serialize;
use std::io::Write as _;

/// Hosts listed in the terminal table when the fleet is large (all of them up to 100).
pub const TABLE_HOSTS: usize = 50;
/// Rules in the "top failing rules" tables.
pub const TOP_RULES: usize = 15;
/// Hosts (worst first) in the HTML failure matrix.
pub const MATRIX_HOSTS: usize = 200;
/// Host rows on the HTML page (worst first): a browser lays out a few thousand rows at once;
/// 100,000 made a page of 200 MB that none could open, and rendering it dominated the
/// roll-up's memory. The groups, JSON and CSV cover every host.
pub const HTML_HOSTS: usize = 5_000;

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

/// The identity that tells a host from another of the same name: machine-id, else SMBIOS
/// UUID, else "no id".
pub fn host_id(h: &HostEntry) -> &str {
    h.machine_id
        .as_deref()
        .or(h.smbios_uuid.as_deref())
        .unwrap_or("no id")
}

/// The host column of the table: the name, and for a host in an identity conflict the start
/// of its id and the flag (two rows both reading "hv01" would say nothing).
fn host_cell(h: &HostEntry) -> String {
    let name = fit(&h.host);
    if h.identity_conflict {
        let id: String = host_id(h).chars().take(8).collect();
        format!("{name} [{id}] CONFLICT")
    } else {
        name
    }
}

fn age_cell(h: &HostEntry) -> String {
    if h.future_dated {
        // Short: the table is often 80 columns wide; the summary line says it in full.
        "future-dated".to_string()
    } else {
        format!(
            "{}{}",
            fmt_age(h.age_seconds),
            if h.stale { " STALE" } else { "" }
        )
    }
}

/// Which rows the terminal table lists (`fleet --status`, `--rule`, `--vm`): the summary
/// line, the groups and the other outputs always cover every host.
#[derive(Debug, Clone, Default)]
pub struct TableFilter {
    /// Hosts with at least one finding of one of these statuses.
    pub statuses: Vec<crate::report::Status>,
    /// Rules matching this glob in the rules table; hosts where one fails or warns.
    pub rule: Option<String>,
    /// VMs whose name matches this glob in the worst-VMs table.
    pub vm: Option<String>,
}

impl TableFilter {
    fn is_empty(&self) -> bool {
        self.statuses.is_empty() && self.rule.is_none() && self.vm.is_none()
    }

    fn rule_ok(&self, rule: &str) -> bool {
        self.rule
            .as_deref()
            .map_or(true, |g| crate::rules::waivers::glob(g, rule))
    }

    fn host_ok(&self, h: &HostEntry) -> bool {
        let c = &h.summary.counts;
        let by_status = self.statuses.is_empty()
            || self
                .statuses
                .iter()
                .any(|&st| crate::report::summary::count_of(c, st) > 0);
        let by_rule = self.rule.is_none()
            || h.failing_rules
                .iter()
                .chain(&h.warning_rules)
                .any(|r| self.rule_ok(r));
        by_status && by_rule
    }

    fn vm_ok(&self, vm: &str) -> bool {
        self.vm
            .as_deref()
            .map_or(true, |g| crate::rules::waivers::glob(g, vm))
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.statuses.is_empty() {
            let s: Vec<&str> = self.statuses.iter().map(|s| s.as_str()).collect();
            parts.push(format!("status {}", s.join(",")));
        }
        if let Some(r) = &self.rule {
            parts.push(format!("rule {}", fit(r)));
        }
        if let Some(v) = &self.vm {
            parts.push(format!("VM {}", fit(v)));
        }
        parts.join(", ")
    }
}

/// The roll-up for a terminal.
pub fn table(f: &Fleet, style: Style) -> String {
    table_filtered(f, style, &TableFilter::default())
}

/// Per group (`--group-by`): hosts, failing hosts, blockers, stale, mean and worst score.
fn groups_table(f: &Fleet, style: Style) -> String {
    let key = f.group_by.as_deref().unwrap_or("group");
    let mut out = heading(&format!("By {}", fit(key)), style);
    let mut t = new_table(
        style,
        &[
            key, "hosts", "failing", "block", "stale", "mean", "worst", "fail", "warn",
        ],
    );
    for g in &f.groups {
        t.add_row(vec![
            Cell::new(fit(&g.display(key))),
            Cell::new(g.hosts),
            Cell::new(g.hosts_failing),
            Cell::new(g.hosts_with_blockers),
            Cell::new(g.stale),
            Cell::new(fmt_score(g.mean_score)),
            Cell::new(fmt_score(g.min_score)),
            Cell::new(g.counts.fail),
            Cell::new(g.counts.warn),
        ]);
    }
    right(&mut t, &[1, 2, 3, 4, 5, 6, 7, 8]);
    keep_whole(&mut t, 0, 30);
    out.push_str(&t.to_string());
    out.push('\n');
    out
}

/// The roll-up for a terminal, its host, rule and VM rows filtered.
pub fn table_filtered(f: &Fleet, style: Style, filter: &TableFilter) -> String {
    let mut out = headline(f);
    if !f.groups.is_empty() {
        out.push_str(&groups_table(f, style));
    }
    out.push_str(&hosts_section(f, style, filter));
    out.push_str(&failing_rules_section(f, style, filter));
    out.push_str(&worst_vms_section(f, style, filter));
    out.push_str(&stale_section(f, style));
    out.push_str(&skipped_section(f, style));
    out
}

/// The fleet in one line (and the identity/future-date warning when there is one).
fn headline(f: &Fleet) -> String {
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
    // Said only when it happens, so the usual first line stays as it was.
    if s.identity_conflicts > 0 || s.future_dated > 0 {
        out.push_str(&format!(
            "warning: {} host(s) in an identity conflict (same hostname, machine-id or SMBIOS \
             UUID as another host); {} report(s) dated in the future\n",
            s.identity_conflicts, s.future_dated
        ));
    }
    out
}

/// The hosts, worst first (the worst [`TABLE_HOSTS`] of a large fleet).
fn hosts_section(f: &Fleet, style: Style, filter: &TableFilter) -> String {
    let mut out = String::new();
    let hosts: Vec<&HostEntry> = f.hosts.iter().filter(|h| filter.host_ok(h)).collect();
    let limit = if hosts.len() > 100 {
        TABLE_HOSTS
    } else {
        hosts.len()
    };
    let filtered = if filter.is_empty() {
        String::new()
    } else {
        format!(" ({})", filter.describe())
    };
    out.push_str(&heading(
        &if limit < hosts.len() {
            format!("Hosts by score, worst {limit} of {}{filtered}", hosts.len())
        } else {
            format!("Hosts by score{filtered}")
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
    for h in hosts.iter().take(limit) {
        t.add_row(vec![
            Cell::new(host_cell(h)),
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
            Cell::new(age_cell(h)),
        ]);
    }
    right(&mut t, &[1, 2, 3, 4, 5, 6, 7, 8]);
    keep_whole(&mut t, 0, 30);
    out.push_str(&t.to_string());
    out.push('\n');
    if limit < hosts.len() {
        out.push_str(&format!(
            "… {} more host(s): see --csv, --json or --html\n",
            hosts.len() - limit
        ));
    }
    out
}

/// The rules that fail or warn on most hosts.
fn failing_rules_section(f: &Fleet, style: Style, filter: &TableFilter) -> String {
    let mut out = String::new();
    out.push_str(&heading("Top failing rules", style));
    let failing: Vec<_> = f
        .failing_rules()
        .filter(|r| filter.rule_ok(&r.rule))
        .take(TOP_RULES)
        .collect();
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
    out
}

/// The worst VMs of the fleet (when any host has VMs).
fn worst_vms_section(f: &Fleet, style: Style, filter: &TableFilter) -> String {
    let mut out = String::new();
    if !f.worst_vms.is_empty() {
        out.push_str(&heading("Worst VMs", style));
        let mut t = new_table(style, &["host", "VM", "score", "coverage", "vCPUs"]);
        for v in f.worst_vms.iter().filter(|v| filter.vm_ok(&v.vm)).take(10) {
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
    out
}

/// Reports older than the staleness limit.
fn stale_section(f: &Fleet, style: Style) -> String {
    let mut out = String::new();
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
    out
}

/// Files that are not usable reports, with the reason.
fn skipped_section(f: &Fleet, style: Style) -> String {
    let mut out = String::new();
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

/// Pretty JSON with a final newline, written to `w` as it is serialized.
pub fn json_to(w: &mut dyn std::io::Write, f: &Fleet) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(1 << 16, w);
    serde_json::to_writer_pretty(&mut w, f).map_err(std::io::Error::other)?;
    w.write_all(b"\n")?;
    w.flush()
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
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and every field is UTF-8.
    let _ = csv_to(&mut out, f);
    String::from_utf8(out).unwrap_or_default()
}

/// [`csv`], written to `w` row by row: 100,000 hosts are 50 MB of CSV, never held whole.
pub fn csv_to(w: &mut dyn std::io::Write, f: &Fleet) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(1 << 16, w);
    w.write_all(
        b"host,path,generated_at,age_seconds,stale,profile,kvmaudit_version,score,host_score,\
         coverage,pass,fail,warn,info,not_applicable,unknown,waived,blockers,vms,worst_vm,\
         worst_vm_score,failing_rules,machine_id,smbios_uuid,identity_conflict,future_dated,\
         labels,report_url\r\n",
    )?;
    for h in &f.hosts {
        w.write_all(csv_row(h).as_bytes())?;
    }
    w.flush()
}

fn csv_row(h: &HostEntry) -> String {
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
        csv_field(h.machine_id.as_deref().unwrap_or("")),
        csv_field(h.smbios_uuid.as_deref().unwrap_or("")),
        h.identity_conflict.to_string(),
        h.future_dated.to_string(),
        csv_field(
            &h.summary
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(";"),
        ),
        csv_field(h.report_url.as_deref().unwrap_or("")),
    ];
    let mut row = fields.join(",");
    row.push_str("\r\n");
    row
}

/// The fleet as a Prometheus textfile (`kvmaudit_fleet_*`, apart from the per-host
/// `kvmaudit_*` metrics of `scan --prom`).
pub fn prom(f: &Fleet) -> String {
    let mut w = Writer::new();
    fleet_totals(&mut w, f);
    per_host_metrics(&mut w, f);
    group_metrics(&mut w, f);
    rule_metrics(&mut w, f);
    w.finish()
}

/// Fleet-wide gauges: hosts, skipped files by reason, stale hosts, findings, identity conflicts, future-dated reports.
fn fleet_totals(w: &mut Writer, f: &Fleet) {
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
        super::model::SkipKind::FutureDated,
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
            s.counts.of(st) as f64,
        );
    }
    w.family(
        "kvmaudit_fleet_identity_conflicts",
        "gauge",
        "Hosts sharing a hostname, machine-id or SMBIOS UUID with another host of the roll-up.",
    );
    w.sample(
        "kvmaudit_fleet_identity_conflicts",
        &[],
        s.identity_conflicts as f64,
    );
    w.family(
        "kvmaudit_fleet_future_dated_hosts",
        "gauge",
        "Hosts whose last report is dated in the future (counted as stale too).",
    );
    w.sample(
        "kvmaudit_fleet_future_dated_hosts",
        &[],
        s.future_dated as f64,
    );
}

/// One sample per host and metric, labelled so that no two hosts collide.
fn per_host_metrics(w: &mut Writer, f: &Fleet) {
    let labels = host_labels(f);
    let per_host = |w: &mut Writer, name: &str, value: &dyn Fn(&HostEntry) -> Option<f64>| {
        for (h, l) in f.hosts.iter().zip(&labels) {
            if let Some(v) = value(h) {
                let l: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
                w.sample(name, &l, v);
            }
        }
    };
    w.family(
        "kvmaudit_fleet_host_score",
        "gauge",
        "Overall tuning score (0-100) of each host's last report.",
    );
    per_host(w, "kvmaudit_fleet_host_score", &|h| h.summary.score);
    w.family(
        "kvmaudit_fleet_host_coverage_ratio",
        "gauge",
        "Share (0-1) of applicable rule weight evaluated on each host.",
    );
    per_host(w, "kvmaudit_fleet_host_coverage_ratio", &|h| {
        h.summary.coverage
    });
    w.family(
        "kvmaudit_fleet_host_blockers",
        "gauge",
        "Data-integrity blockers on each host.",
    );
    per_host(w, "kvmaudit_fleet_host_blockers", &|h| {
        Some(h.summary.blockers.len() as f64)
    });
    w.family(
        "kvmaudit_fleet_host_report_age_seconds",
        "gauge",
        "Age of each host's last report when the roll-up ran.",
    );
    per_host(w, "kvmaudit_fleet_host_report_age_seconds", &|h| {
        h.age_seconds.map(|a| a as f64)
    });
    w.family(
        "kvmaudit_fleet_host_identity_conflict",
        "gauge",
        "1 for each host in an identity conflict (hosts without one have no sample).",
    );
    per_host(w, "kvmaudit_fleet_host_identity_conflict", &|h| {
        h.identity_conflict.then_some(1.0)
    });
    w.family(
        "kvmaudit_fleet_host_future_dated",
        "gauge",
        "1 for each host whose report is dated in the future (others have no sample).",
    );
    per_host(w, "kvmaudit_fleet_host_future_dated", &|h| {
        h.future_dated.then_some(1.0)
    });
}

/// Per group of `--group-by` (nothing without it).
fn group_metrics(w: &mut Writer, f: &Fleet) {
    if let Some(key) = &f.group_by {
        let rows: Vec<(String, &super::groups::GroupStat)> =
            f.groups.iter().map(|g| (g.display(key), g)).collect();
        let group_metric =
            |w: &mut Writer,
             name: &str,
             help: &str,
             value: &dyn Fn(&super::groups::GroupStat) -> Option<f64>| {
                w.family(name, "gauge", help);
                for (g, stat) in &rows {
                    if let Some(v) = value(stat) {
                        w.sample(name, &[("group_by", key), ("group", g)], v);
                    }
                }
            };
        group_metric(
            w,
            "kvmaudit_fleet_group_hosts",
            "Hosts per group of --group-by.",
            &|g| Some(g.hosts as f64),
        );
        group_metric(
            w,
            "kvmaudit_fleet_group_failing_hosts",
            "Hosts with a failed finding per group of --group-by.",
            &|g| Some(g.hosts_failing as f64),
        );
        group_metric(
            w,
            "kvmaudit_fleet_group_mean_score",
            "Mean overall score per group of --group-by.",
            &|g| g.mean_score,
        );
    }
}

/// Per rule: the hosts it fails on.
fn rule_metrics(w: &mut Writer, f: &Fleet) {
    w.family(
        "kvmaudit_fleet_rule_failing_hosts",
        "gauge",
        "Hosts on which a rule has at least one failed finding.",
    );
    for r in &f.rules {
        w.sample(
            "kvmaudit_fleet_rule_failing_hosts",
            &[("rule", &r.rule), ("severity", r.severity.as_str())],
            r.hosts_failing as f64,
        );
    }
}

/// Per host, the labels of its series: `host`; where several hosts have one name, `id` too
/// (machine-id, SMBIOS UUID or "no id"); and where even that repeats, `path`, then an
/// ordinal — two hosts must never write one series (a textfile with duplicate series is
/// rejected whole by Prometheus).
fn host_labels(f: &Fleet) -> Vec<Vec<(&'static str, String)>> {
    use std::collections::HashMap;
    fn repeated(labels: &[Vec<(&'static str, String)>]) -> Vec<bool> {
        let mut n: HashMap<&[(&'static str, String)], usize> = HashMap::new();
        for l in labels {
            *n.entry(l.as_slice()).or_default() += 1;
        }
        labels.iter().map(|l| n[l.as_slice()] > 1).collect()
    }
    let mut labels: Vec<Vec<(&'static str, String)>> = f
        .hosts
        .iter()
        .map(|h| vec![("host", h.host.clone())])
        .collect();
    for stage in 0..3 {
        let rep = repeated(&labels);
        if !rep.contains(&true) {
            break;
        }
        for (i, (h, l)) in f.hosts.iter().zip(labels.iter_mut()).enumerate() {
            if rep[i] {
                l.push(match stage {
                    0 => ("id", host_id(h).to_string()),
                    1 => ("path", h.path.clone()),
                    _ => ("n", i.to_string()),
                });
            }
        }
    }
    labels
}

#[derive(Serialize)]
struct HostRowView<'a> {
    host: &'a str,
    /// Machine-id or SMBIOS UUID, shown for hosts in an identity conflict.
    id: &'a str,
    identity_conflict: bool,
    future_dated: bool,
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
    report_url: Option<&'a str>,
    /// `key=value` per label, for the cells.
    labels: Vec<String>,
    /// The same joined by line breaks (values hold no control character), for the script.
    labels_attr: String,
    cpu: &'a str,
    kernel: &'a str,
    profile: &'a str,
}

#[derive(Serialize)]
struct GroupView {
    group: String,
    hosts: usize,
    hosts_failing: usize,
    hosts_with_blockers: usize,
    stale: usize,
    mean: String,
    worst: String,
    fail: u64,
    warn: u64,
}

#[derive(Serialize)]
struct RuleView<'a> {
    rule: &'a str,
    title: &'a str,
    section: &'a str,
    severity: &'static str,
    hosts_failing: u64,
    hosts_warning: u64,
    hosts_evaluated: u64,
    targets_failing: u64,
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
    hosts_note: String,
    top_rules: Vec<RuleView<'a>>,
    matrix_rules: Vec<&'a str>,
    matrix: Vec<MatrixRow<'a>>,
    matrix_note: String,
    worst_vms: Vec<&'a super::model::WorstVm>,
    worst_vm_scores: Vec<String>,
    stale: Vec<StaleView<'a>>,
    skipped: &'a [super::model::Skipped],
    data: serde_json::Value,
    /// Every label key of the fleet, and every `key=value` (at most [`LABEL_OPTIONS`]).
    label_keys: Vec<&'a str>,
    label_pairs: Vec<String>,
    group_by: Option<&'a str>,
    /// The page's group-by choice on opening (`label:site`, `cpu`, ...), empty for none.
    group_default: String,
    groups: Vec<GroupView>,
}

/// `key=value` choices in the page's label filter: more would make a select no one can use.
pub const LABEL_OPTIONS: usize = 500;

#[derive(Serialize)]
struct StaleView<'a> {
    host: &'a str,
    path: &'a str,
    generated_at: &'a str,
    age: String,
}

/// The fleet page: hosts by score, rule × host failure matrix, top failing rules, worst VMs,
/// stale hosts and skipped files; filters and a text search as in the host report. Each part
/// of the page's data is one step below.
pub fn html(f: &Fleet) -> Result<String> {
    let matrix_rules: Vec<&super::model::RuleStat> = f.failing_rules().collect();
    // The embedded data omits the per-host lists (already in the tables) to keep the page small.
    let data = serde_json::json!({
        "kind": f.kind,
        "schema_version": f.schema_version,
        "generated_at": f.generated_at,
        "summary": f.summary,
    });
    let (label_keys, label_pairs) = label_choices(f);
    let page = FleetPage {
        nonce: nonce(f),
        tool: &f.tool,
        generated_at: &f.generated_at,
        stale_after: stale_words(f.stale_after_seconds),
        summary: &f.summary,
        mean: fmt_score(f.summary.mean_score),
        median: fmt_score(f.summary.median_score),
        worst: fmt_score(f.summary.min_score),
        hosts_note: if f.hosts.len() > HTML_HOSTS {
            format!(
                "The {HTML_HOSTS} hosts with the lowest scores of {}; the JSON and CSV list every host.",
                f.hosts.len()
            )
        } else {
            String::new()
        },
        hosts: f.hosts.iter().take(HTML_HOSTS).map(host_row).collect(),
        top_rules: rule_views(f),
        matrix: matrix(f, &matrix_rules),
        matrix_note: if f.hosts.len() > MATRIX_HOSTS {
            format!(
                "The {MATRIX_HOSTS} hosts with the lowest scores of {}; the JSON and CSV list every host's failing rules.",
                f.hosts.len()
            )
        } else {
            String::new()
        },
        matrix_rules: matrix_rules.iter().map(|r| r.rule.as_str()).collect(),
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
        label_keys,
        label_pairs,
        group_by: f.group_by.as_deref(),
        group_default: match f.group_by.as_deref() {
            None => String::new(),
            Some(k @ ("cpu" | "kernel" | "profile")) => k.to_string(),
            Some(k) => format!("label:{k}"),
        },
        groups: group_views(f),
    };
    crate::report::html::render_template("fleet", crate::report::html::FLEET_JS, &page)
}

/// The page's CSP nonce: fresh per page (a random hasher's seed).
fn nonce(f: &Fleet) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_usize(f.hosts.len());
    h.write(f.generated_at.as_bytes());
    format!("{:016x}", h.finish())
}

/// The worst [`MATRIX_HOSTS`] hosts against every rule that fails or warns somewhere.
fn matrix<'a>(f: &'a Fleet, rules: &[&super::model::RuleStat]) -> Vec<MatrixRow<'a>> {
    let cell = |h: &HostEntry, r: &super::model::RuleStat| {
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
    };
    f.hosts
        .iter()
        .take(MATRIX_HOSTS)
        .map(|h| MatrixRow {
            host: &h.host,
            score: fmt_score(h.summary.score),
            cells: rules.iter().map(|r| cell(h, r)).collect(),
        })
        .collect()
}

/// One row of the hosts table.
fn host_row(h: &HostEntry) -> HostRowView<'_> {
    let pairs = || h.summary.labels.iter().map(|(k, v)| format!("{k}={v}"));
    HostRowView {
        host: &h.host,
        id: host_id(h),
        identity_conflict: h.identity_conflict,
        future_dated: h.future_dated,
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
        report_url: h.report_url.as_deref(),
        labels: pairs().collect(),
        labels_attr: pairs().collect::<Vec<_>>().join("\n"),
        cpu: h.summary.cpu.as_deref().unwrap_or(""),
        kernel: h.summary.kernel.as_deref().unwrap_or(""),
        profile: &h.summary.profile,
    }
}

/// The top failing rules, with the share of hosts they fail on.
fn rule_views(f: &Fleet) -> Vec<RuleView<'_>> {
    f.failing_rules()
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
                    100.0 * r.hosts_failing as f64 / f.summary.hosts as f64
                )
            } else {
                String::new()
            },
        })
        .collect()
}

/// Every label key of the fleet, and its `key=value` pairs (at most [`LABEL_OPTIONS`]), for
/// the page's group-by and label choices.
fn label_choices(f: &Fleet) -> (Vec<&str>, Vec<String>) {
    let labels = || f.hosts.iter().flat_map(|h| h.summary.labels.iter());
    let keys: std::collections::BTreeSet<&str> = labels().map(|(k, _)| k.as_str()).collect();
    let pairs: std::collections::BTreeSet<(&str, &str)> =
        labels().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    (
        keys.into_iter().collect(),
        pairs
            .into_iter()
            .take(LABEL_OPTIONS)
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
    )
}

/// The `--group-by` table's rows.
fn group_views(f: &Fleet) -> Vec<GroupView> {
    f.groups
        .iter()
        .map(|g| GroupView {
            group: g.display(f.group_by.as_deref().unwrap_or("group")),
            hosts: g.hosts,
            hosts_failing: g.hosts_failing,
            hosts_with_blockers: g.hosts_with_blockers,
            stale: g.stale,
            mean: fmt_score(g.mean_score),
            worst: fmt_score(g.min_score),
            fail: g.counts.fail,
            warn: g.counts.warn,
        })
        .collect()
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
