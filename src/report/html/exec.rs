//! What the top of the HTML page says in plain words before any table: the grade, the biggest
//! risks and what to do first, and which edition of Intel's guide the rules come from. Built
//! from the report alone, so the page and its embedded JSON cannot disagree.

use crate::report::summary::{fmt_ratio, fmt_score, grade, top_fixes};
use crate::report::{Report, Severity, Status};
use serde::Serialize;
use std::collections::BTreeMap;

/// The guide as its text names itself (../guide/README.md). The document carries no revision
/// number; the software versions it was written for are what tells one edition from another.
pub const GUIDE_TITLE: &str =
    "KVM/Qemu Virtualization Tuning Guide for 3rd Generation Intel® Xeon® Scalable Processors (Ice Lake)";
pub const GUIDE_VERSION: &str =
    "edition for Linux 5.12 and QEMU 6.0.0 (the document states no revision number)";

/// How many risks and first steps the summary names: enough to act on, few enough to read.
const RISKS: usize = 4;
const STEPS: usize = 3;

#[derive(Serialize)]
pub struct ExecSummary {
    /// `good`, `fair`, `poor` or `none`, for the colour.
    pub grade: &'static str,
    /// One sentence: the grade and the score behind it.
    pub headline: String,
    /// One sentence: how many checks need attention.
    pub tally: String,
    pub risks: Vec<String>,
    pub steps: Vec<String>,
}

fn grade_words(g: &str) -> &'static str {
    match g {
        "good" => "Good",
        "fair" => "Fair",
        "poor" => "Poor",
        _ => "No grade",
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn summarise(r: &Report) -> ExecSummary {
    let s = &r.score;
    let g = if s.insufficient_evidence {
        "none"
    } else {
        grade(s.value)
    };
    let headline = if s.insufficient_evidence {
        format!(
            "No grade: only {} of the applicable rule weight could be evaluated, too little to grade (score {} of {}).",
            fmt_ratio(s.coverage),
            fmt_score(s.value),
            fmt_score(Some(s.max))
        )
    } else if s.value.is_none() {
        "No grade: no scored rule could be evaluated.".to_string()
    } else {
        format!(
            "{}: overall score {} of {}, with {} of the applicable rule weight evaluated.",
            grade_words(g),
            fmt_score(s.value),
            fmt_score(Some(s.max)),
            fmt_ratio(s.coverage)
        )
    };
    let c = &s.counts;
    let tally = format!(
        "{} fail, {} warn and {} could not be checked (unknown), on the host and {}.",
        plural(c.fail as usize, "check", "checks"),
        c.warn,
        c.unknown,
        plural(r.vms.len(), "VM", "VMs"),
    );

    let mut risks = Vec::new();
    // Data loss outranks any score: every blocker is named, whatever the limit.
    for f in r.results.iter().filter(|f| f.blocker) {
        risks.push(format!(
            "Data-integrity risk on {}: {} ({}).",
            f.target, f.title, f.rule
        ));
    }
    // Then high-severity failures, one line per rule with how many targets fail it.
    let mut high: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
    for f in r
        .results
        .iter()
        .filter(|f| f.status == Status::Fail && f.severity == Severity::High && !f.blocker)
    {
        high.entry(&f.rule).or_insert((&f.title, 0)).1 += 1;
    }
    let mut high: Vec<_> = high.into_iter().collect();
    high.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then_with(|| a.0.cmp(b.0)));
    for (rule, (title, n)) in high {
        if risks.len() >= RISKS {
            break;
        }
        risks.push(format!(
            "{title} ({rule}): fails on {}.",
            plural(n, "target", "targets")
        ));
    }
    if risks.is_empty() && c.unknown > 0 {
        risks.push(format!(
            "{} could not be evaluated: their evidence was missing or unreadable, so they are not known to pass.",
            plural(c.unknown as usize, "check", "checks")
        ));
    }

    let steps = top_fixes(r, STEPS)
        .into_iter()
        .map(|t| {
            let n = (t.failing + t.warning) as usize;
            format!(
                "{} ({}, {}{}).",
                t.summary.trim_end_matches('.'),
                t.rule,
                plural(n, "target", "targets"),
                if t.reboot { ", needs a reboot" } else { "" }
            )
        })
        .collect();
    ExecSummary {
        grade: g,
        headline,
        tally,
        risks,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn names_blockers_first_and_the_top_fix() {
        let mut r = sample::report(&sample::Spec::new(5, "hv05"));
        let i = r
            .results
            .iter()
            .position(|f| f.status == Status::Fail)
            .expect("the sample fails something");
        r.results[i].blocker = true;
        r.score.insufficient_evidence = false;
        r.score.value = Some(55.0);
        let e = summarise(&r);
        assert_eq!(e.grade, "poor");
        assert!(
            e.headline.starts_with("Poor: overall score 55.0 of"),
            "{}",
            e.headline
        );
        assert!(
            e.risks[0].starts_with(&format!("Data-integrity risk on {}", r.results[i].target)),
            "{:?}",
            e.risks
        );
        let first = &top_fixes(&r, 1)[0];
        assert!(e.steps[0].contains(&first.rule), "{:?}", e.steps);
        assert!(e.risks.len() <= RISKS && e.steps.len() <= STEPS);
    }

    #[test]
    fn insufficient_evidence_has_no_grade() {
        let mut r = sample::report(&sample::Spec::new(1, "hv01"));
        r.score.insufficient_evidence = true;
        let e = summarise(&r);
        assert_eq!(e.grade, "none");
        assert!(e.headline.starts_with("No grade"), "{}", e.headline);
    }
}
