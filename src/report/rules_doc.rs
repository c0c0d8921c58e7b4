//! `kvmaudit rules` and `kvmaudit explain ID`, from the embedded metadata.

use crate::vocab::catalogue::{catalogue, Automatable, RuleMeta};
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

/// What an `explain` query names: one rule (its id, any case), or the ids it is a prefix of.
pub enum Lookup {
    Rule(&'static RuleMeta),
    /// Ids starting with the query (`qemu.blk` → the six `qemu.blk.*` rules), in catalogue
    /// order.
    Prefix(Vec<&'static RuleMeta>),
    /// No id starts with it; ids containing it, as suggestions (may be empty).
    Missing(Vec<&'static RuleMeta>),
}

pub fn lookup(query: &str) -> Lookup {
    let q = query.trim().to_ascii_lowercase();
    let cat = catalogue();
    if let Some(m) = cat.iter().find(|m| m.id.to_ascii_lowercase() == q) {
        return Lookup::Rule(m);
    }
    let starting: Vec<_> = cat
        .iter()
        .filter(|m| !q.is_empty() && m.id.to_ascii_lowercase().starts_with(&q))
        .collect();
    if !starting.is_empty() {
        return Lookup::Prefix(starting);
    }
    let containing = cat
        .iter()
        .filter(|m| q.len() >= 3 && m.id.to_ascii_lowercase().contains(&q))
        .collect();
    Lookup::Missing(containing)
}

/// `id  title` lines for a list of rules.
pub fn id_list(rules: &[&RuleMeta]) -> String {
    let w = rules.iter().map(|m| m.id.len()).max().unwrap_or(0);
    rules
        .iter()
        .map(|m| format!("  {:w$}  {}\n", m.id, m.title))
        .collect()
}

/// The findings of rule `id` in report `r`, in full: every target with its status, message,
/// each piece of evidence and any waiver. Report text is the audited host's: escaped.
pub fn findings_text(r: &crate::report::Report, id: &str, source: &str, width: usize) -> String {
    use crate::report::table::sanitize;
    let s = |t: &str| sanitize(t, false);
    let mine: Vec<_> = r.results.iter().filter(|f| f.rule == id).collect();
    let host = r
        .host
        .hostname
        .as_deref()
        .map(s)
        .unwrap_or_else(|| "unknown".into());
    let mut out = format!(
        "\nFindings in {} (host {host}, {}): {}\n",
        s(source),
        s(&r.generated_at),
        match mine.len() {
            0 => "none: the report holds no finding of this rule".to_string(),
            1 => "1".to_string(),
            n => n.to_string(),
        }
    );
    // Continuation lines sit two columns in from their paragraph.
    let para = |out: &mut String, text: String| {
        let lead = text.len() - text.trim_start().len();
        out.push_str(&wrap_indented(&text, width, lead + 2));
    };
    for f in mine {
        out.push('\n');
        let mut head = format!(
            "  {} {} {}",
            f.status.as_str().to_uppercase(),
            f.severity.as_str(),
            s(&f.target)
        );
        if f.blocker {
            head.push_str(" BLOCKER");
        }
        if f.pending_reboot {
            head.push_str(" (pending reboot)");
        }
        out.push_str(&head);
        out.push('\n');
        para(&mut out, format!("    {}", s(&f.message)));
        for e in &f.evidence {
            para(
                &mut out,
                format!("    evidence [{}]: {}", s(&e.source), s(&e.observed)),
            );
            if let Some(x) = e.expected.as_deref().filter(|x| !x.is_empty()) {
                para(&mut out, format!("      → expected {}", s(x)));
            }
        }
        if let Some(w) = &f.waiver {
            para(&mut out, format!("    waived: {}", s(&w.reason)));
        }
    }
    out
}

/// Word-wrap at `width` columns, continuation lines indented by `indent` spaces (the
/// leading spaces of `text` are kept).
fn wrap_indented(text: &str, width: usize, indent: usize) -> String {
    let lead = text.len() - text.trim_start().len();
    let mut out = String::new();
    let mut line = text[..lead].to_string();
    let mut len = lead;
    let mut fresh = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let wl = word.chars().count();
        if !fresh && len + 1 + wl > width {
            out.push_str(&line);
            out.push('\n');
            line = " ".repeat(indent);
            len = indent;
            fresh = true;
        }
        if !fresh {
            line.push(' ');
            len += 1;
        }
        line.push_str(word);
        len += wl;
        fresh = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}
