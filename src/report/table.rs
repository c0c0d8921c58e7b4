//! Terminal rendering of a report (comfy-table): the host, findings grouped by guide section,
//! and a summary with scores, coverage, counts, blockers and the top fixes.
//!
//! Colour, width and ASCII are decided in [`super::terminal`], not by comfy-table (which
//! ignores NO_COLOR): piped output without COLUMNS is plain and laid out at 100 columns, so it
//! is the same wherever it is produced. [`View`] holds what the reader asked to see
//! (`--summary`, `--verbose`, `--status`/`--vm`/`--rule` filters).

use super::summary::{
    self, by_section, counts_in_order, fmt_bytes, fmt_ratio, fmt_score, grade, observed_expected,
    status_label, top_fixes,
};
use super::terminal;
use super::{Finding, Report, Status};
use comfy_table::{
    presets::{ASCII_FULL_CONDENSED, UTF8_FULL_CONDENSED},
    Attribute, Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, Table, Width,
};
use std::io::IsTerminal;

/// Width of piped output, and the narrowest layout the table is designed for.
pub const PIPED_WIDTH: u16 = 100;

/// How many rules the summary lists under "top fixes".
pub const TOP_FIXES: usize = 5;

/// Longest message shown in a finding row (the HTML and JSON reports carry the whole text).
pub const MESSAGE_CHARS: usize = 140;
/// Longest observed or expected value shown in a finding row.
pub const VALUE_CHARS: usize = 60;
/// Longest host-derived text (a VM name, a target, a hostname, a note) shown in a cell or a
/// line. A tenant names its VM, and the table layout's cost grows faster than a cell's width
/// (comfy-table's width arithmetic is not linear, and overflows); the JSON and the HTML keep
/// the whole text. The measurement is in BENCHMARKS.md (bounded resources).
pub const CELL_CHARS: usize = 300;
/// Longest note printed under the tables (notes are sentences that can quote a path or two).
pub const NOTE_CHARS: usize = 2000;

/// At most `max` characters, cut at a word boundary when there is one, with `…`.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    let at = match cut.rfind([' ', ',', ';']) {
        Some(i) if i > max / 2 => i,
        _ => cut.len(),
    };
    format!("{}…", cut[..at].trim_end_matches([' ', ',', ';']))
}

/// How to draw: with or without colour, and how wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
    pub width: u16,
    /// ASCII only (a locale without UTF-8): see [`super::terminal::asciify`].
    pub ascii: bool,
}

impl Style {
    /// Plain text at the piped width: what tests and pipes get.
    pub fn plain() -> Style {
        Style {
            color: false,
            width: PIPED_WIDTH,
            ascii: false,
        }
    }

    /// For standard output with `--color`: the terminal's width (else COLUMNS, else 100),
    /// colour as [`terminal::color_wanted`] decides, ASCII when the locale is not UTF-8.
    pub fn for_stdout_with(choice: terminal::ColorChoice) -> Style {
        let tty = std::io::stdout().is_terminal();
        let cols = if tty {
            terminal::stdout_size().map(|(c, _)| c)
        } else {
            None
        };
        let env = terminal::process_env;
        Style {
            color: terminal::color_wanted(choice, tty, &env),
            width: terminal::width(cols, std::env::var_os("COLUMNS").as_deref()),
            ascii: !terminal::unicode_wanted(&env),
        }
    }

    /// For standard output as it is now, with `--color auto`.
    pub fn for_stdout() -> Style {
        Style::for_stdout_with(terminal::ColorChoice::Auto)
    }
}

/// Colour only on a terminal, and never when NO_COLOR is set to a non-empty value
/// (<https://no-color.org>).
pub fn color_wanted(is_tty: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_tty && no_color.map_or(true, |v| v.is_empty())
}

/// Render for standard output (see [`Style::for_stdout`]).
pub fn render(r: &Report) -> String {
    render_with(r, Style::for_stdout())
}

/// Host-derived text made safe for a terminal: see [`crate::safe_text`]; newlines become
/// spaces unless `keep_lines`.
pub fn sanitize(s: &str, keep_lines: bool) -> String {
    crate::safe_text::sanitize(s, keep_lines)
}

/// Host-derived text for a cell: clipped to [`CELL_CHARS`] first (so the cost does not grow
/// with the input), then sanitised.
pub fn fit(s: &str) -> String {
    sanitize(&crate::safe_text::clip_chars(s, CELL_CHARS), false)
}

/// An empty table in kvmaudit's style (also the fleet roll-up's).
pub(crate) fn new_table(style: Style) -> Table {
    let mut t = Table::new();
    t.load_style(if style.ascii {
        ASCII_FULL_CONDENSED
    } else {
        UTF8_FULL_CONDENSED
    });
    // Every decision is ours: no terminal probing inside comfy-table, explicit width.
    t.force_no_tty();
    if style.color {
        t.enforce_styling();
    }
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_width(style.width);
    t
}

fn status_color(s: Status) -> Color {
    match s {
        Status::Fail => Color::Red,
        Status::Warn => Color::Yellow,
        Status::Unknown => Color::Magenta,
        Status::Info => Color::Cyan,
        Status::Pass => Color::Green,
        Status::Waived | Status::NotApplicable => Color::DarkGrey,
    }
}

fn grade_color(v: Option<f64>) -> Color {
    match grade(v) {
        "good" => Color::Green,
        "fair" => Color::Yellow,
        "poor" => Color::Red,
        _ => Color::DarkGrey,
    }
}

fn colored(text: String, color: Color, style: Style, bold: bool) -> Cell {
    let c = Cell::new(text);
    if !style.color {
        return c;
    }
    let c = c.fg(color);
    if bold {
        c.add_attribute(Attribute::Bold)
    } else {
        c
    }
}

fn heading(text: &str, style: Style) -> String {
    // A heading wider than the layout is wrapped; one that fits keeps its exact spacing.
    let wrapped;
    let text = if unicode_width::UnicodeWidthStr::width(text) > style.width as usize {
        wrapped = wrap(text, style.width as usize, 2);
        wrapped.trim_end_matches('\n')
    } else {
        text
    };
    if style.color {
        format!("\x1b[1m{text}\x1b[0m\n")
    } else {
        format!("{text}\n")
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|x| fit(&x.to_string()))
        .unwrap_or_else(|| "unknown".into())
}

fn host_table(r: &Report, style: Style) -> Table {
    let h = &r.host;
    let mut t = new_table(style);
    t.set_header(vec!["host".to_string(), opt(&h.hostname)]);
    if let Some(note) = &h.platform_note {
        t.add_row(vec![
            Cell::new("NOTE"),
            colored(sanitize(note, false), Color::Magenta, style, true),
        ]);
    }
    // The literal parts hold no control characters, so escaping the whole line is escaping
    // each host string in it.
    let rows = [
        ("source", fit(&h.source)),
        ("cpu", fit(&h.cpu_text())),
        ("topology", fit(&h.topology_text())),
        ("platform", fit(&h.platform_text())),
        ("kernel", opt(&h.kernel.release)),
        (
            "scan",
            format!(
                "{} profile, {} {} at {}",
                r.profile.as_str(),
                fit(&r.tool.name),
                fit(&r.tool.version),
                fit(&r.generated_at)
            ),
        ),
    ];
    for (k, v) in rows {
        t.add_row(vec![k.to_string(), v]);
    }
    t
}

fn finding_row(f: &Finding, style: Style, verbose: bool) -> Vec<Cell> {
    let (observed, expected) = observed_expected(f, VALUE_CHARS);
    let mut status = format!("{}\n{}", status_label(f.status), f.severity.as_str());
    if f.blocker {
        status.push_str("\nBLOCKER");
    }
    if f.pending_reboot {
        status.push_str("\npending\nreboot");
    }
    let mut message = clip(&fit(&f.message), MESSAGE_CHARS);
    if let Some(w) = &f.waiver {
        message.push_str(&format!(" [waived: {}]", clip(&fit(&w.reason), 60)));
    }
    let obs_exp = match (observed.is_empty(), expected.is_empty()) {
        (true, _) => String::new(),
        (false, true) => fit(&observed),
        (false, false) => format!("{}\n→ {}", fit(&observed), fit(&expected)),
    };
    // --verbose: the same cells unclipped (kept apart so the default rows stay as they were).
    let (obs_exp, message) = if verbose {
        (every_evidence(f), whole_message(f))
    } else {
        (obs_exp, message)
    };
    vec![
        colored(
            status,
            status_color(f.status),
            style,
            f.status == Status::Fail,
        ),
        Cell::new(format!("{}\n{}", fit(&f.rule), fit(&f.target))),
        Cell::new(obs_exp),
        Cell::new(message),
    ]
}

/// The message and any waiver reason, unclipped.
fn whole_message(f: &Finding) -> String {
    let mut message = sanitize(&f.message, false);
    if let Some(w) = &f.waiver {
        message.push_str(&format!(" [waived: {}]", sanitize(&w.reason, false)));
    }
    message
}

/// Every piece of evidence in full, one `observed` / `→ expected` pair after another (what
/// `--verbose` shows instead of the first one and "(+N more)").
fn every_evidence(f: &Finding) -> String {
    let mut lines = Vec::new();
    for e in &f.evidence {
        lines.push(sanitize(&e.observed, false));
        if let Some(x) = e.expected.as_deref().filter(|x| !x.is_empty()) {
            lines.push(format!("→ {}", sanitize(x, false)));
        }
    }
    lines.join("\n")
}

/// `bios.eist, qemu.accel.kvm ×3`: rule ids with how many targets, for the collapsed statuses.
fn rule_list(findings: &[&Finding], status: Status) -> Option<String> {
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for f in findings.iter().filter(|f| f.status == status) {
        match seen.iter_mut().find(|(r, _)| *r == f.rule) {
            Some(e) => e.1 += 1,
            None => seen.push((&f.rule, 1)),
        }
    }
    if seen.is_empty() {
        return None;
    }
    seen.sort();
    Some(
        seen.iter()
            .map(|(r, n)| {
                if *n > 1 {
                    format!("{} ×{n}", fit(r))
                } else {
                    fit(r)
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// Statuses listed by rule id under a section's table instead of one row per target: nothing
/// to act on there.
const COLLAPSED: [Status; 2] = [Status::Pass, Status::NotApplicable];

fn section_counts(findings: &[&Finding]) -> String {
    let mut parts = Vec::new();
    for s in summary::STATUSES {
        let n = findings.iter().filter(|f| f.status == s).count();
        if n > 0 {
            parts.push(format!("{n} {}", s.as_str()));
        }
    }
    parts.join(", ")
}

fn counts_line(r: &Report) -> String {
    counts_in_order(&r.score.counts)
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the coverage misses, split by why: `; 30% not readable here, 5% guest-side (judged
/// only inside the guests)`. Parts that are zero are left out (a "0% not readable" line reads
/// as a finding); empty for a report without the split.
pub(crate) fn coverage_gaps(s: &crate::report::Score) -> String {
    if s.not_readable.is_none() && s.not_evaluated.is_none() {
        return String::new();
    }
    let mut parts = Vec::new();
    if let Some(r) = s.not_readable.filter(|r| *r >= 0.005) {
        parts.push(format!("{} not readable here", fmt_ratio(Some(r))));
    }
    if let Some(e) = s.not_evaluated.filter(|e| *e >= 0.005) {
        parts.push(format!(
            "{} guest-side (judged only by a scan inside the guests)",
            fmt_ratio(Some(e))
        ));
    }
    if parts.is_empty() {
        "; everything kvmaudit can judge from here was read".to_string()
    } else {
        format!("; {}", parts.join(", "))
    }
}

/// The summary: the score block, the VM scores (when there are VMs) and the top fixes.
fn summary_tables(r: &Report, style: Style, out: &mut String) {
    score_table(r, style, out);
    if !r.vms.is_empty() {
        vm_score_table(r, style, out);
    }
    top_fix_table(r, style, out);
}

/// Score, coverage, finding counts and blockers; a score on insufficient evidence is not
/// shown as a grade.
fn score_table(r: &Report, style: Style, out: &mut String) {
    out.push_str(&heading("Summary", style));
    let s = &r.score;
    let mut t = new_table(style);
    let score_line = format!(
        "{} / {} overall (host {})",
        fmt_score(s.value),
        fmt_score(Some(s.max)),
        fmt_score(s.host)
    );
    t.add_row(vec![
        Cell::new("score"),
        if s.insufficient_evidence {
            colored(
                format!(
                    "insufficient evidence (coverage {} < 50%): {score_line} is not a grade",
                    fmt_ratio(s.coverage)
                ),
                Color::Magenta,
                style,
                true,
            )
        } else {
            colored(score_line, grade_color(s.value), style, true)
        },
    ]);
    t.add_row(vec![
        Cell::new("coverage"),
        Cell::new(format!(
            "{} of the applicable rule weight could be evaluated{}",
            fmt_ratio(s.coverage),
            coverage_gaps(s)
        )),
    ]);
    t.add_row(vec![Cell::new("findings"), Cell::new(counts_line(r))]);
    let blockers = if s.blockers.is_empty() {
        "none".to_string()
    } else {
        s.blockers
            .iter()
            .map(|b| fit(b))
            .collect::<Vec<_>>()
            .join("\n")
    };
    t.add_row(vec![
        Cell::new("blockers"),
        colored(
            blockers,
            if s.blockers.is_empty() {
                Color::Green
            } else {
                Color::Red
            },
            style,
            !s.blockers.is_empty(),
        ),
    ]);
    out.push_str(&t.to_string());
    out.push('\n');
}

/// One row per VM: what it is, its score and its fail/warn counts.
fn vm_score_table(r: &Report, style: Style, out: &mut String) {
    out.push('\n');
    out.push_str(&heading("VM scores", style));
    let mut v = new_table(style);
    v.set_header(vec![
        "VM", "pid", "vCPUs", "memory", "score", "coverage", "fail", "warn",
    ]);
    // Fail and warn counts per VM in one pass: filtering every finding for each VM was
    // quadratic, 45 s of a 10,000-VM scan's terminal output.
    let mut counts = vec![(0usize, 0usize); r.vms.len()];
    for f in &r.results {
        if let Some(c) = f.vm_index.and_then(|i| counts.get_mut(i)) {
            match f.status {
                Status::Fail => c.0 += 1,
                Status::Warn => c.1 += 1,
                _ => {}
            }
        }
    }
    for (vm, (fails, warns)) in r.vms.iter().zip(counts) {
        v.add_row(vec![
            Cell::new(fit(vm.display())),
            // A definition has no process: its state stands where the pid would.
            Cell::new(match &vm.state {
                Some(st) => st.clone(),
                None => opt(&vm.pid),
            }),
            Cell::new(opt(&vm.vcpus)),
            Cell::new(
                vm.memory_bytes
                    .map(fmt_bytes)
                    .unwrap_or_else(|| "unknown".into()),
            ),
            if vm.score.insufficient_evidence {
                colored(
                    format!("insufficient evidence ({})", fmt_score(vm.score.value)),
                    Color::Magenta,
                    style,
                    false,
                )
            } else {
                colored(
                    fmt_score(vm.score.value),
                    grade_color(vm.score.value),
                    style,
                    false,
                )
            },
            Cell::new(fmt_ratio(vm.score.coverage)),
            Cell::new(fails),
            Cell::new(warns),
        ]);
    }
    for i in [1, 2, 4, 5, 6, 7] {
        if let Some(c) = v.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    out.push_str(&v.to_string());
    out.push('\n');
}

/// The rules whose fix would raise the score most.
fn top_fix_table(r: &Report, style: Style, out: &mut String) {
    let fixes = top_fixes(r, TOP_FIXES);
    out.push('\n');
    out.push_str(&heading("Top fixes (weight × failing targets)", style));
    if fixes.is_empty() {
        out.push_str("nothing to fix: no weighted rule fails or warns\n");
    } else if style.width < NARROW_FIXES {
        top_fix_list(&fixes, style, out);
    } else {
        let mut t = new_table(style);
        t.set_header(vec!["#", "rule", "severity", "failing", "impact", "fix"]);
        for (i, f) in fixes.iter().enumerate() {
            let (failing, fix) = fix_words(f, "");
            t.add_row(vec![
                Cell::new(i + 1),
                Cell::new(fit(&f.rule)),
                Cell::new(f.severity.as_str()),
                Cell::new(failing),
                Cell::new(format!("{:.1}", f.impact)),
                Cell::new(fix),
            ]);
        }
        out.push_str(&t.to_string());
        out.push('\n');
    }
}

/// Below this width the top fixes are a list: six columns left the fix sentence a word per
/// line at 80 columns and split rule ids mid-word ("qemu.mem.hugepag" / "es").
const NARROW_FIXES: u16 = 100;

/// A top fix's failing targets ("3" then `unit`, or "2 fail, 1 warn") and its fix sentence.
fn fix_words(f: &crate::report::summary::TopFix, unit: &str) -> (String, String) {
    let failing = if f.warning > 0 {
        format!("{} fail, {} warn", f.failing, f.warning)
    } else {
        format!("{}{unit}", f.failing)
    };
    let mut fix = fit(&f.summary);
    if f.reboot {
        fix.push_str(" (reboot)");
    }
    (failing, fix)
}

/// The top fixes as a numbered list: the rule, its severity, how many targets fail and the
/// impact on one line, the fix wrapped under it.
fn top_fix_list(fixes: &[crate::report::summary::TopFix], style: Style, out: &mut String) {
    const INDENT: usize = 5;
    for (i, f) in fixes.iter().enumerate() {
        let (failing, fix) = fix_words(f, " failing");
        out.push_str(&wrap(
            &format!(
                "{}. {} ({}; {failing}; impact {:.1})",
                i + 1,
                fit(&f.rule),
                f.severity.as_str(),
                f.impact
            ),
            style.width as usize,
            INDENT,
        ));
        for line in wrap(&fix, (style.width as usize).saturating_sub(INDENT), 0).lines() {
            out.push_str(&" ".repeat(INDENT));
            out.push_str(line);
            out.push('\n');
        }
    }
}

/// Word-wrap `text` at `width` columns; continuation lines indented by `indent` spaces; a
/// word longer than a line is split.
fn wrap(text: &str, width: usize, indent: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let cw = |c: &char| c.width().unwrap_or(0);
    let width = width.max(indent + 10);
    let mut out = String::new();
    let mut line = String::new();
    // Display columns on the line, and whether a word is on it yet.
    let (mut len, mut fresh) = (0, true);
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let sep = usize::from(!fresh);
            let room = width.saturating_sub(len + sep);
            let wlen: usize = word.iter().map(cw).sum();
            if wlen <= room {
                if !fresh {
                    line.push(' ');
                }
                line.extend(word.iter());
                len += sep + wlen;
                fresh = false;
                break;
            }
            if fresh || wlen > width - indent {
                // Too long for any line: split it where this line is full.
                if !fresh {
                    line.push(' ');
                }
                let (mut used, mut at) = (0, 0);
                while at < word.len() && used + cw(&word[at]) <= room {
                    used += cw(&word[at]);
                    at += 1;
                }
                let rest = word.split_off(at);
                line.extend(word.iter());
                word = rest;
            }
            out.push_str(line.trim_end());
            out.push('\n');
            line = " ".repeat(indent);
            (len, fresh) = (indent, true);
            if word.is_empty() {
                break;
            }
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

/// The whole report as text.
pub fn render_with(r: &Report, style: Style) -> String {
    render_view(r, style, &View::default())
}

/// What the reader asked to see. Filters narrow the findings tables only: the summary, the
/// scores and the JSON/HTML/Prometheus outputs always cover the whole report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    /// Scores, coverage, blockers and top fixes only (`--summary`).
    pub summary_only: bool,
    /// Whole messages and every piece of evidence (`--verbose`/`--wide`).
    pub verbose: bool,
    /// The summary before the findings (a long report on a terminal).
    pub summary_first: bool,
    /// Only these statuses (`--status fail,warn`); empty: all.
    pub statuses: Vec<Status>,
    /// Only findings on VMs whose name matches this glob (`--vm`).
    pub vm: Option<String>,
    /// Only rules whose id matches this glob (`--rule`), case-insensitive.
    pub rule: Option<String>,
}

impl View {
    fn filtered(&self) -> bool {
        !self.statuses.is_empty() || self.vm.is_some() || self.rule.is_some()
    }

    /// Whether finding `f` of report `r` passes the filters.
    pub fn shows(&self, r: &Report, f: &Finding) -> bool {
        use crate::util::glob;
        if !self.statuses.is_empty() && !self.statuses.contains(&f.status) {
            return false;
        }
        if let Some(p) = &self.rule {
            if !glob(&p.to_ascii_lowercase(), &f.rule.to_ascii_lowercase()) {
                return false;
            }
        }
        if let Some(p) = &self.vm {
            // The VM names come from the report, so a name holding '/' is still one VM.
            let on = |name: &str| {
                f.target
                    .strip_prefix("vm:")
                    .and_then(|t| t.strip_prefix(name))
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            };
            if !r.vms.iter().any(|vm| glob(p, &vm.name) && on(&vm.name)) {
                return false;
            }
        }
        true
    }
}

/// The report as `view` asks, then made ASCII when `style` says so.
pub fn render_view(r: &Report, style: Style, view: &View) -> String {
    let text = render_view_unicode(r, style, view);
    if style.ascii {
        terminal::asciify(&text)
    } else {
        text
    }
}

/// The summary block (summary tables and notes).
fn summary_block(r: &Report, style: Style, out: &mut String) {
    summary_tables(r, style, out);
    if !r.notes.is_empty() {
        out.push('\n');
        for n in &r.notes {
            out.push_str(&wrap(
                &format!(
                    "note: {}",
                    sanitize(&crate::safe_text::clip_chars(n, NOTE_CHARS), false)
                ),
                style.width as usize,
                6,
            ));
        }
    }
}

fn render_view_unicode(r: &Report, style: Style, view: &View) -> String {
    if view.summary_only {
        let mut out = heading(
            &format!("{}: {} profile", opt(&r.host.hostname), r.profile.as_str()),
            style,
        );
        // The score below means little off the guide's platform or where KVM cannot run: the
        // note comes first here as in every other output.
        if let Some(note) = &r.host.platform_note {
            out.push_str(&wrap(
                &format!("NOTE: {}", sanitize(note, false)),
                style.width as usize,
                6,
            ));
        }
        out.push('\n');
        summary_block(r, style, &mut out);
        return out;
    }
    let mut out = host_table(r, style).to_string();
    out.push('\n');
    if view.summary_first {
        out.push('\n');
        summary_block(r, style, &mut out);
        out.push_str("\nFindings by guide section follow (--summary shows only the above).\n");
    }
    let all = r;
    let kept;
    let r = if view.filtered() {
        let mut c = all.clone();
        c.results.retain(|f| view.shows(all, f));
        kept = c;
        &kept
    } else {
        all
    };
    if view.filtered() {
        out.push_str(&format!(
            "Filtered: {} of {} findings shown; the summary covers all.\n",
            r.results.len(),
            all.results.len()
        ));
    }
    if r.vms.is_empty() {
        out.push_str("No running QEMU VMs found.\n");
    }
    let groups = by_section(r);
    if groups.is_empty() {
        out.push_str(if view.filtered() {
            "\nNo findings match the filters.\n"
        } else {
            "\nNo findings.\n"
        });
    }
    for g in &groups {
        out.push('\n');
        out.push_str(&heading(
            &format!("{}  ({})", fit(&g.heading), section_counts(&g.findings)),
            style,
        ));
        let shown: Vec<&&Finding> = g
            .findings
            .iter()
            .filter(|f| !COLLAPSED.contains(&f.status))
            .collect();
        if !shown.is_empty() {
            let mut t = new_table(style);
            t.set_header(vec![
                "status",
                "rule / target",
                "observed → expected",
                "message",
            ]);
            for f in shown {
                t.add_row(finding_row(f, style, view.verbose));
            }
            if let Some(c) = t.column_mut(0) {
                c.set_constraint(ColumnConstraint::ContentWidth);
            }
            if let Some(c) = t.column_mut(1) {
                c.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(30)));
            }
            out.push_str(&t.to_string());
            out.push('\n');
        }
        for st in COLLAPSED {
            if let Some(list) = rule_list(&g.findings, st) {
                let label = match st {
                    Status::Pass => "pass",
                    _ => "not applicable",
                };
                out.push_str(&wrap(
                    &format!("  {label}: {list}"),
                    style.width as usize,
                    4,
                ));
            }
        }
    }
    if !view.summary_first {
        out.push('\n');
        summary_block(all, style, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;
    use std::ffi::OsStr;

    #[test]
    fn wrapping() {
        let w = wrap("note: a b c", 100, 6);
        assert_eq!(w, "note: a b c\n");
        let long = format!("note: {} tail", "x".repeat(250));
        let w = wrap(&long, 100, 6);
        assert!(w.lines().all(|l| l.chars().count() <= 100), "{w}");
        assert_eq!(w.replace(['\n', ' '], ""), long.replace(' ', ""));
        let w = wrap(&"漢字".repeat(80), 100, 6);
        assert!(
            w.lines()
                .all(|l| unicode_width::UnicodeWidthStr::width(l) <= 100),
            "{w}"
        );
        let w = wrap(&"word ".repeat(60), 40, 4);
        assert!(w.lines().all(|l| l.chars().count() <= 40), "{w}");
        assert!(w.lines().skip(1).all(|l| l.starts_with("    word")));
    }

    #[test]
    fn clipping() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("one two three four", 12), "one two…");
        assert_eq!(clip("abcdefghijklmnop", 8), "abcdefg…");
        assert_eq!(clip("ééééééé", 4), "ééé…");
        assert!(clip(&"word ".repeat(100), MESSAGE_CHARS).chars().count() <= MESSAGE_CHARS);
    }

    #[test]
    fn colour_rules() {
        assert!(color_wanted(true, None));
        assert!(color_wanted(true, Some(OsStr::new(""))));
        assert!(!color_wanted(true, Some(OsStr::new("1"))));
        assert!(!color_wanted(false, None));
    }

    #[test]
    fn plain_has_no_escapes_and_fits_100_columns() {
        let r = sample::report(&sample::Spec::new(7, "hv07"));
        let text = render_with(&r, Style::plain());
        assert!(!text.contains('\x1b'));
        for line in text.lines() {
            assert!(line.chars().count() <= 100, "too wide: {line}");
        }
        assert!(text.contains("§2.1 BIOS Setting"));
        assert!(text.contains("Top fixes"));
        let coloured = render_with(
            &r,
            Style {
                color: true,
                width: 100,
                ascii: false,
            },
        );
        assert!(coloured.contains("\x1b["));
    }

    #[test]
    fn control_characters_are_neutralised() {
        let mut r = sample::report(&sample::Spec::new(1, "hv"));
        r.vms[0].name = "evil\x1b]0;pwned\x07name".into();
        r.results[0].message = "line1\nline2\x1b[2J".into();
        let text = render_with(&r, Style::plain());
        assert!(!text.contains('\x1b'));
        assert!(!text.contains('\x07'));
        assert!(text.contains("\\u{1b}"));
    }
}
