//! `kvmaudit rules` and `kvmaudit explain ID`, from the embedded metadata.

use crate::rules::meta::{catalogue, Automatable, RuleMeta};
use comfy_table::{ColumnConstraint, Width};

/// The rule list at the piped width (100 columns).
pub fn table() -> String {
    table_with(crate::report::table::Style::plain())
}

/// The rule list laid out for `style`: titles wrap so it fits the width (it used to be 140
/// columns wide, wrapping every row of an 80-column terminal).
pub fn table_with(style: crate::report::table::Style) -> String {
    // Below this width six columns leave the title a few letters: scope, severity and auto
    // share one column, one word a line.
    const SIX_COLUMNS: u16 = 120;
    let narrow = style.width < SIX_COLUMNS;
    let mut t = crate::report::table::new_table(style);
    if narrow {
        t.set_header(vec!["id", "title", "guide §", "severity\nscope\nauto"]);
    } else {
        t.set_header(vec!["id", "title", "guide §", "scope", "severity", "auto"]);
    }
    for m in catalogue() {
        let (scope, severity, automatable) = (
            m.scope.as_str().to_string(),
            m.severity.as_str().to_string(),
            auto(m.remediation.automatable).to_string(),
        );
        let mut row = vec![m.id.clone(), m.title.clone(), m.section.clone()];
        if narrow {
            row.push(format!("{severity}\n{scope}\n{automatable}"));
        } else {
            row.extend([scope, severity, automatable]);
        }
        t.add_row(row);
    }
    // Ids are what people copy into `explain`, `--only` and waivers: never split them.
    // The one-word columns keep their width; the title takes what is left.
    for i in [0, 3, 4, 5] {
        if let Some(c) = t.column_mut(i) {
            c.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    if let Some(c) = t.column_mut(2) {
        c.set_constraint(ColumnConstraint::Boundaries {
            lower: Width::Fixed(9),
            upper: Width::Fixed(12),
        });
    }
    let text = format!("{t}\n{} rules\n", catalogue().len());
    if style.ascii {
        crate::report::terminal::asciify(&text)
    } else {
        text
    }
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
