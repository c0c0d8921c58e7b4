//! Self-contained HTML report (`scan --html PATH`): handlebars templates under `reports/`,
//! embedded with `include_str!`; inline CSS and JS, no network, works from file://.
//!
//! Host-derived strings (VM names, paths, argv values, SMBIOS strings) reach the page only
//! through `{{x}}`, which handlebars HTML-escapes; the templates never use triple-stash. The
//! embedded JSON copy of the report goes through [`json_for_script`], which escapes `<`, `>`
//! and `&` so that no `</script>` can end the element early. A Content-Security-Policy with a
//! per-file nonce blocks any script or network load the templates did not put there.

use super::host_block::or_unknown as opt;
use super::summary::{
    by_section, counts_in_order, fmt_bytes, fmt_ratio, fmt_score, grade, status_label, top_fixes,
    SectionGroup, SEVERITIES,
};
use super::{Finding, Report, Status, VmEntry};
use crate::error::{Error, Result};
use crate::vocab::host::HostBlock;
use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason,
};
use serde::Serialize;

mod exec;
pub use exec::{GUIDE_TITLE, GUIDE_VERSION};

pub const REPORT_TEMPLATE: &str = include_str!("../../reports/report.html.hbs");
pub const FLEET_TEMPLATE: &str = include_str!("../../reports/fleet.html.hbs");
pub const STYLE: &str = include_str!("../../reports/style.css");
pub const REPORT_JS: &str = include_str!("../../reports/report.js");
pub const FLEET_JS: &str = include_str!("../../reports/fleet.js");

/// JSON that is safe inside a `<script>` element: `<`, `>`, `&` and the JavaScript line
/// separators are written as `\uXXXX` escapes (valid JSON, same value).
pub fn json_for_script(v: &serde_json::Value) -> String {
    escape_for_script(&serde_json::to_string(v).unwrap_or_else(|_| "null".into()))
}

/// JSON text made safe inside `<script>` (see [`json_for_script`]).
fn escape_for_script(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 16);
    for c in raw.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// `{{NAME v}}`: the first parameter, made script-safe by `text`.
fn script_helper(
    name: &'static str,
    h: &Helper,
    out: &mut dyn Output,
    text: impl FnOnce(&serde_json::Value) -> String,
) -> HelperResult {
    let v = h
        .param(0)
        .ok_or_else(|| RenderErrorReason::ParamNotFoundForIndex(name, 0))?;
    out.write(&text(v.value()))?;
    Ok(())
}

/// `{{json_script v}}`: a value serialized as JSON for `<script>`.
fn json_script_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    script_helper("json_script", h, out, json_for_script)
}

/// `{{json_text_script s}}`: JSON text already serialized (a string), escaped for `<script>` on
/// the way out, so that no template writes unescaped output.
fn json_text_script_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    script_helper("json_text_script", h, out, |v| {
        escape_for_script(v.as_str().unwrap_or("null"))
    })
}

/// A nonce for the page's CSP: not a secret (the file is static), only a value an injected
/// element cannot have been written with.
fn nonce() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// A registry with both templates, the shared partials and the JSON helper; strict, so that a
/// misspelt field is an error rather than an empty cell.
pub fn registry() -> std::result::Result<Handlebars<'static>, String> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_helper("json_script", Box::new(json_script_helper));
    hb.register_helper("json_text_script", Box::new(json_text_script_helper));
    hb.register_partial("style", STYLE)
        .map_err(|e| e.to_string())?;
    hb.register_template_string("report", REPORT_TEMPLATE)
        .map_err(|e| e.to_string())?;
    hb.register_template_string("fleet", FLEET_TEMPLATE)
        .map_err(|e| e.to_string())?;
    Ok(hb)
}

/// Render a named template with partials `script` = `js`.
pub fn render_template(name: &str, js: &str, data: &impl Serialize) -> Result<String> {
    let mut hb = registry().map_err(|e| Error::Usage(format!("internal template error: {e}")))?;
    hb.register_partial("script", js)
        .map_err(|e| Error::Usage(format!("internal template error: {e}")))?;
    hb.render(name, data).map_err(|e: RenderError| {
        Error::Usage(format!("internal error rendering the {name} page: {e}"))
    })
}

#[derive(Serialize)]
struct HostView {
    hostname: String,
    source: String,
    cpu: String,
    topology: String,
    platform: String,
    kernel: String,
    cmdline: String,
    platform_note: Option<String>,
}

#[derive(Serialize)]
struct ScoreView {
    overall: String,
    max: String,
    host: String,
    coverage: String,
    grade: &'static str,
    host_grade: &'static str,
    /// Set when the score rests on too little evidence to be read as a grade.
    insufficient: Option<String>,
    gaps: String,
}

#[derive(Serialize)]
struct CountView {
    status: &'static str,
    label: &'static str,
    n: u32,
}

#[derive(Serialize)]
struct VmView {
    name: String,
    target: String,
    score: String,
    coverage: String,
    grade: &'static str,
    details: String,
    source: String,
    fail: usize,
    warn: usize,
    unknown: usize,
}

#[derive(Serialize)]
struct EvidenceView<'a> {
    source: &'a str,
    observed: &'a str,
    expected: Option<&'a str>,
}

#[derive(Serialize)]
struct WaiverView<'a> {
    reason: &'a str,
    expires: Option<&'a str>,
    original_status: &'static str,
}

#[derive(Serialize)]
struct RemediationView<'a> {
    summary: &'a str,
    tags: String,
}

#[derive(Serialize)]
struct FindingView<'a> {
    status: &'static str,
    status_label: &'static str,
    severity: &'static str,
    scope: &'a str,
    rule: &'a str,
    title: &'a str,
    target: &'a str,
    /// The VM's display name, empty for host findings: the page's VM filter matches this.
    vm: &'a str,
    message: &'a str,
    evidence: Vec<EvidenceView<'a>>,
    show_fix: bool,
    remediation: RemediationView<'a>,
    pending_reboot: bool,
    blocker: bool,
    waiver: Option<WaiverView<'a>>,
}

#[derive(Serialize)]
struct SectionView<'a> {
    anchor: String,
    heading: String,
    summary: String,
    findings: Vec<FindingView<'a>>,
}

#[derive(Serialize)]
struct FixView {
    rank: usize,
    rule: String,
    title: String,
    severity: &'static str,
    failing: String,
    impact: String,
    summary: String,
    reboot: bool,
}

#[derive(Serialize)]
struct GuideView {
    title: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct PageView<'a> {
    nonce: String,
    tool: &'a super::ToolInfo,
    guide: GuideView,
    exec: exec::ExecSummary,
    /// Findings the page opens on (fail, warn, unknown, blockers) and all of them.
    attention: usize,
    total: usize,
    vm_names: Vec<&'a str>,
    profile: &'static str,
    generated_at: &'a str,
    host: HostView,
    score: ScoreView,
    counts: Vec<CountView>,
    blockers: &'a [String],
    notes: &'a [String],
    top_fixes: Vec<FixView>,
    vm_count: usize,
    vms: Vec<VmView>,
    severities: Vec<&'static str>,
    scopes: Vec<&'a str>,
    sections: Vec<SectionView<'a>>,
    /// The report's JSON text (the template escapes it for `<script>`), serialized from the
    /// report itself in its own key order: a `serde_json::Value` copy of a 10,000-VM report
    /// took 6 GB.
    report_json: String,
}

/// What the page opens on; report.js has the same rule.
fn needs_attention(f: &Finding) -> bool {
    f.blocker || matches!(f.status, Status::Fail | Status::Warn | Status::Unknown)
}

fn finding_view<'a>(report: &'a Report, f: &'a Finding) -> FindingView<'a> {
    let r = &f.remediation;
    let mut tags = Vec::new();
    if r.reboot {
        tags.push("needs reboot".to_string());
    }
    if !r.disruption.is_empty() {
        tags.push(format!("disruption: {}", r.disruption));
    }
    tags.push(format!(
        "script: {}",
        if r.mode.is_empty() {
            if r.automatable {
                "yes"
            } else {
                "no"
            }
        } else {
            &r.mode
        }
    ));
    FindingView {
        status: f.status.as_str(),
        status_label: status_label(f.status),
        severity: f.severity.as_str(),
        scope: &f.scope,
        rule: &f.rule,
        title: &f.title,
        target: &f.target,
        vm: f
            .vm_index
            .and_then(|i| report.vms.get(i))
            .map_or("", |vm| vm.display()),
        message: &f.message,
        evidence: f
            .evidence
            .iter()
            .map(|e| EvidenceView {
                source: &e.source,
                observed: &e.observed,
                expected: e.expected.as_deref(),
            })
            .collect(),
        show_fix: matches!(f.status, Status::Fail | Status::Warn)
            || (f.status == Status::Waived && !r.summary.is_empty()),
        remediation: RemediationView {
            summary: &r.summary,
            tags: tags.join(", "),
        },
        pending_reboot: f.pending_reboot,
        blocker: f.blocker,
        waiver: f.waiver.as_ref().map(|w| WaiverView {
            reason: &w.reason,
            expires: w.expires.as_deref(),
            original_status: w.original_status.as_str(),
        }),
    }
}

fn anchor(section: &str) -> String {
    section
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// The template's data: the VMs, sections and their findings, the host and score blocks, each
/// built by its own step below.
fn page(r: &Report) -> PageView<'_> {
    let vms = r
        .vms
        .iter()
        .zip(vm_counts(r))
        .map(|(vm, counts)| vm_view(vm, counts))
        .collect();
    let mut scopes: Vec<&str> = r.results.iter().map(|f| &*f.scope).collect();
    scopes.sort();
    scopes.dedup();
    let sections = by_section(r)
        .into_iter()
        .map(|g| section_view(r, g))
        .collect();
    PageView {
        nonce: nonce(),
        tool: &r.tool,
        guide: GuideView {
            title: GUIDE_TITLE,
            version: GUIDE_VERSION,
        },
        exec: exec::summarise(r),
        attention: r.results.iter().filter(|f| needs_attention(f)).count(),
        total: r.results.len(),
        vm_names: r.vms.iter().map(|vm| vm.display()).collect(),
        profile: r.profile.as_str(),
        generated_at: &r.generated_at,
        host: host_view(&r.host),
        score: score_view(r),
        counts: counts_in_order(&r.score.counts)
            .iter()
            .map(|(s, n)| CountView {
                status: s.as_str(),
                label: status_label(*s),
                n: *n,
            })
            .collect(),
        blockers: &r.score.blockers,
        notes: &r.notes,
        top_fixes: fix_views(r),
        vm_count: r.vms.len(),
        vms,
        severities: SEVERITIES.iter().map(|s| s.as_str()).collect(),
        scopes,
        sections,
        report_json: serde_json::to_string(r).unwrap_or_else(|_| "null".into()),
    }
}

/// Each VM's fail, warn and unknown counts, in one pass over the findings (filtering them all
/// for each VM was quadratic: 35 s of a 10,000-VM page).
fn vm_counts(r: &Report) -> Vec<[usize; 3]> {
    let mut counts = vec![[0; 3]; r.vms.len()];
    for f in &r.results {
        let slot = match f.status {
            Status::Fail => 0,
            Status::Warn => 1,
            Status::Unknown => 2,
            _ => continue,
        };
        if let Some(c) = f.vm_index.and_then(|i| counts.get_mut(i)) {
            c[slot] += 1;
        }
    }
    counts
}

/// One VM's card: its score, what it is (vCPUs, memory, machine, pid, state) and its counts.
fn vm_view(vm: &VmEntry, [fail, warn, unknown]: [usize; 3]) -> VmView {
    let mut details = Vec::new();
    if let Some(v) = vm.vcpus {
        details.push(format!("{v} vCPUs"));
    }
    if let Some(m) = vm.memory_bytes {
        details.push(fmt_bytes(m));
    }
    if let Some(m) = &vm.machine {
        details.push(m.clone());
    }
    if let Some(p) = vm.pid {
        details.push(format!("pid {p}"));
    }
    if let Some(st) = &vm.state {
        details.push(st.clone());
    }
    VmView {
        name: vm.display().to_string(),
        target: format!("vm:{}", vm.display()),
        score: if vm.score.insufficient_evidence {
            format!("insufficient evidence ({})", fmt_score(vm.score.value))
        } else {
            fmt_score(vm.score.value)
        },
        coverage: fmt_ratio(vm.score.coverage),
        grade: if vm.score.insufficient_evidence {
            "none"
        } else {
            grade(vm.score.value)
        },
        details: details.join(" · "),
        source: vm.source.clone(),
        fail,
        warn,
        unknown,
    }
}

/// One guide section: its anchor, its status counts and its findings.
fn section_view<'a>(r: &'a Report, g: SectionGroup<'a>) -> SectionView<'a> {
    let mut parts = Vec::new();
    for (s, _) in counts_in_order(&r.score.counts) {
        let n = g.findings.iter().filter(|f| f.status == s).count();
        if n > 0 {
            parts.push(format!("{n} {}", s.as_str()));
        }
    }
    SectionView {
        anchor: anchor(&g.section),
        heading: g.heading,
        summary: parts.join(", "),
        findings: g.findings.into_iter().map(|f| finding_view(r, f)).collect(),
    }
}

fn host_view(h: &HostBlock) -> HostView {
    HostView {
        hostname: h.hostname.clone().unwrap_or_else(|| "unknown host".into()),
        source: h.source.clone(),
        cpu: format!(
            "{} — {} ({})",
            h.cpu_part(),
            opt(&h.cpu.brand),
            h.cpu_signature()
        ),
        topology: h.topology_line(),
        platform: h.platform_line(),
        kernel: opt(&h.kernel.release),
        cmdline: opt(&h.kernel.cmdline),
        platform_note: h.platform_note.clone(),
    }
}

/// The score block; the grade is withheld ("none") when the evidence is insufficient.
fn score_view(r: &Report) -> ScoreView {
    ScoreView {
        overall: fmt_score(r.score.value),
        max: fmt_score(Some(r.score.max)),
        host: fmt_score(r.score.host),
        coverage: fmt_ratio(r.score.coverage),
        grade: if r.score.insufficient_evidence {
            "none"
        } else {
            grade(r.score.value)
        },
        host_grade: grade(r.score.host),
        insufficient: r.score.insufficient_evidence.then(|| {
            format!(
                "insufficient evidence: the score rests on {} of the applicable rule weight (less than half)",
                fmt_ratio(r.score.coverage)
            )
        }),
        gaps: super::table::coverage_gaps(&r.score)
            .trim_start_matches("; ")
            .to_string(),
    }
}

/// The ten fixes that would raise the score most.
fn fix_views(r: &Report) -> Vec<FixView> {
    top_fixes(r, 10)
        .into_iter()
        .enumerate()
        .map(|(i, t)| FixView {
            rank: i + 1,
            failing: if t.warning > 0 {
                format!("{} (+{} warn)", t.failing, t.warning)
            } else {
                t.failing.to_string()
            },
            impact: format!("{:.1}", t.impact),
            severity: t.severity.as_str(),
            rule: t.rule,
            title: t.title,
            summary: t.summary,
            reboot: t.reboot,
        })
        .collect()
}

/// The HTML page of one report.
pub fn render(r: &Report) -> Result<String> {
    render_template("report", REPORT_JS, &page(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn script_json_cannot_close_the_element() {
        let v = serde_json::json!({"name": "</script><img src=x onerror=alert(1)>&\u{2028}"});
        let s = json_for_script(&v);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn templates_never_use_triple_stash() {
        for (name, t) in [("report", REPORT_TEMPLATE), ("fleet", FLEET_TEMPLATE)] {
            assert!(!t.contains("{{{"), "{name} template uses triple-stash");
            assert!(!t.contains("{{&"), "{name} template uses unescaped output");
        }
        for (name, s) in [
            ("css", STYLE),
            ("report.js", REPORT_JS),
            ("fleet.js", FLEET_JS),
        ] {
            assert!(!s.contains("{{"), "{name} would be parsed as a template");
            assert!(
                !s.contains("http://") && !s.contains("https://"),
                "{name} loads from the network"
            );
        }
    }

    #[test]
    fn hostile_strings_are_escaped() {
        let mut r = sample::report(&sample::Spec::new(5, "hv05"));
        let evil = "<img src=x onerror=alert(1)>";
        r.vms[0].name = evil.into();
        r.host.hostname = Some(format!("</script>{evil}"));
        r.results[0].target = format!("vm:{evil}");
        r.results[0].evidence[0].observed = format!("\"'{evil}");
        let html = render(&r).unwrap();
        assert!(!html.contains("<img"), "unescaped element");
        assert!(html.contains("&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;"));
        // Exactly the template's script elements close.
        assert_eq!(html.matches("</script>").count(), 2);
    }
}
