//! `kvmaudit rules` and `kvmaudit explain ID`, from the embedded metadata.

use crate::rules::meta::{catalogue, Automatable, RuleMeta};
use comfy_table::{presets::UTF8_FULL, Table};

pub fn table() -> String {
    let mut t = Table::new();
    t.load_style(UTF8_FULL);
    t.set_header(vec!["id", "title", "guide §", "scope", "severity", "auto"]);
    for m in catalogue() {
        t.add_row(vec![
            m.id.clone(),
            m.title.clone(),
            m.section.clone(),
            m.scope.as_str().to_string(),
            m.severity.as_str().to_string(),
            auto(m.remediation.automatable).to_string(),
        ]);
    }
    format!("{t}\n{} rules\n", catalogue().len())
}

fn auto(a: Automatable) -> &'static str {
    match a {
        Automatable::Yes => "yes",
        Automatable::Guarded => "guarded",
        Automatable::No => "no",
    }
}

fn section(out: &mut String, head: &str, body: &str) {
    if body.trim().is_empty() {
        return;
    }
    out.push_str(head);
    out.push_str(":\n");
    for line in body.trim().lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
}

pub fn explain(m: &RuleMeta) -> String {
    let mut out = format!(
        "{} — {}\nguide §{}  scope {}  severity {} (weight {})\n",
        m.id,
        m.title,
        m.section,
        m.scope.as_str(),
        m.severity.as_str(),
        m.severity.weight()
    );
    if !m.escalation.is_empty() {
        out.push_str(&format!("escalates: {}\n", m.escalation));
    }
    out.push('\n');
    section(&mut out, "Why", &m.rationale);
    section(&mut out, "Evidence", &m.evidence.join("\n"));
    section(&mut out, "Passes when", &m.pass);
    let r = &m.remediation;
    section(&mut out, "Fix", &r.summary);
    section(&mut out, "Runtime", &r.runtime);
    section(&mut out, "Persistent", &r.persistent);
    section(&mut out, "libvirt", &r.libvirt);
    section(
        &mut out,
        "Disruption / automation",
        &format!("{} / {}", r.disruption, auto(r.automatable)),
    );
    section(&mut out, "Rollback", &r.rollback);
    section(&mut out, "Guide slip", &m.slip);
    out
}
