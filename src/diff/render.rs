//! The `diff` table: a headline (regressed or not, and why), the score, coverage and blocker
//! deltas, then per target the findings new, resolved and changed. Every string that came
//! from a report (targets, messages, VM names) is escaped and clipped.

use super::{Delta, Diff};
use crate::report::table::{clip, sanitize, MESSAGE_CHARS};
use std::fmt::Write;

fn num(v: Option<f64>, places: usize) -> String {
    match v {
        Some(v) => format!("{v:.places$}"),
        None => "n/a".into(),
    }
}

/// `100.0 → 90.1 (-9.9)`.
pub fn delta_words(d: &Delta, places: usize) -> String {
    let mut s = format!("{} → {}", num(d.old, places), num(d.new, places));
    if let Some(x) = d.delta {
        let _ = write!(s, " ({x:+.places$})");
    }
    s
}

fn text(s: &str) -> String {
    clip(&sanitize(s, false), MESSAGE_CHARS)
}

pub fn table(d: &Diff) -> String {
    let mut out = String::new();
    let side = |s: &super::Side| {
        format!(
            "{} ({} of {}, {})",
            text(&s.path),
            s.kind,
            text(s.hostname.as_deref().unwrap_or("unknown host")),
            text(&s.generated_at)
        )
    };
    let _ = writeln!(
        out,
        "kvmaudit diff\n  old: {}\n  new: {}",
        side(&d.old),
        side(&d.new)
    );
    if !d.identity_differences.is_empty() {
        let _ = writeln!(
            out,
            "  --any-host: different hosts ({})",
            text(&d.identity_differences.join("; "))
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "score       {}", delta_words(&d.score, 1));
    let _ = writeln!(out, "host score  {}", delta_words(&d.host_score, 1));
    let _ = writeln!(out, "coverage    {}", delta_words(&d.coverage, 3));
    let _ = writeln!(out, "blockers    {}", delta_words(&d.blockers, 0));
    let _ = writeln!(out);
    if d.regressed {
        let _ = writeln!(out, "REGRESSED ({}):", d.regressions.len());
        for r in &d.regressions {
            let _ = writeln!(out, "  - {}", text(r));
        }
    } else {
        let _ = writeln!(out, "No regression.");
    }
    for t in &d.targets {
        let _ = writeln!(out, "\n{}", text(&t.target));
        if let (Some(s), Some(c)) = (&t.score, &t.coverage) {
            let _ = writeln!(
                out,
                "  score {}; coverage {}",
                delta_words(s, 1),
                delta_words(c, 3)
            );
        }
        for f in &t.new {
            let _ = writeln!(
                out,
                "  + {:<28} {} ({}): {}",
                text(&f.rule),
                f.status.as_str(),
                f.severity.as_str(),
                text(&f.message)
            );
        }
        for f in &t.changed {
            let _ = writeln!(
                out,
                "  {} {:<28} {} → {}{}: {}",
                if f.worse { '!' } else { '~' },
                text(&f.rule),
                f.old_status.as_str(),
                f.new_status.as_str(),
                if f.old_severity != f.new_severity {
                    format!(
                        " ({} → {})",
                        f.old_severity.as_str(),
                        f.new_severity.as_str()
                    )
                } else {
                    String::new()
                },
                text(&f.message)
            );
        }
        for f in &t.resolved {
            let _ = writeln!(
                out,
                "  - {:<28} was {} (gone from the new side)",
                text(&f.rule),
                f.status.as_str()
            );
        }
    }
    let _ = writeln!(
        out,
        "\n+ new finding, - finding no longer reported, ~ changed, ! changed for the worse"
    );
    out
}
