//! JUnit XML (`scan --junit PATH`), the report as CI systems (Jenkins, GitLab, GitHub Actions
//! test reporters) read test results.
//!
//! One `<testsuite>` per guide section, in the order the sections first appear in the report;
//! one `<testcase>` per finding (rule × target: `classname` the rule id, `name` the target).
//! `fail` is a `<failure>`; `warn` is a `<failure>` only when `--fail-on` names a severity at or
//! below its own (the user asked to gate on severity), otherwise a passing case whose
//! `kvmaudit.status` property says `warn`; `unknown`, `not_applicable` and `waived` are
//! `<skipped>` with the reason, so that a rule kvmaudit could not evaluate never shows as
//! passed. The evidence is the failure's text.
//!
//! Every string comes from the host (VM names are chosen by whoever defines the VM): it is
//! escaped, and characters XML 1.0 forbids (most control characters, U+FFFE, U+FFFF) become
//! U+FFFD so that the file always parses and the substitution stays visible.

use super::{Finding, Report, Severity, Status};
use std::io::{self, Write};

/// What happens to a finding in the JUnit view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failure,
    Skipped,
}

/// The outcome of `f` given the `--fail-on` threshold (`None`: not given).
pub fn outcome(f: &Finding, fail_on: Option<Severity>) -> Outcome {
    match f.status {
        Status::Fail => Outcome::Failure,
        Status::Warn if fail_on.is_some_and(|t| f.severity >= t) => Outcome::Failure,
        Status::Pass | Status::Info | Status::Warn => Outcome::Passed,
        Status::Unknown | Status::NotApplicable | Status::Waived => Outcome::Skipped,
    }
}

/// Write the JUnit document for `r` to `w`. `duration` is the scan's, in seconds.
pub fn write(
    w: &mut dyn Write,
    r: &Report,
    fail_on: Option<Severity>,
    duration: Option<f64>,
) -> io::Result<()> {
    // Sections in first-appearance order, each with its findings (borrowed: a host with
    // 10,000 VMs has 600,000 findings, and the text is streamed, never held whole).
    let mut sections: Vec<(&str, Vec<&Finding>)> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = Default::default();
    for f in &r.results {
        let i = *index.entry(f.section.as_ref()).or_insert_with(|| {
            sections.push((f.section.as_ref(), Vec::new()));
            sections.len() - 1
        });
        sections[i].1.push(f);
    }
    let count =
        |fs: &[&Finding], o: Outcome| fs.iter().filter(|f| outcome(f, fail_on) == o).count();
    let all: Vec<&Finding> = r.results.iter().collect();
    let time = duration
        .filter(|d| d.is_finite() && *d >= 0.0)
        .unwrap_or(0.0);
    let host = r.host.hostname.as_deref().unwrap_or("");
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<testsuites name="kvmaudit" tests="{}" failures="{}" errors="0" skipped="{}" time="{time:.3}">"#,
        all.len(),
        count(&all, Outcome::Failure),
        count(&all, Outcome::Skipped),
    )?;
    for (section, fs) in &sections {
        writeln!(
            w,
            r#"  <testsuite name="guide section {}" tests="{}" failures="{}" errors="0" skipped="{}" time="0" timestamp="{}" hostname="{}">"#,
            attr(section),
            fs.len(),
            count(fs, Outcome::Failure),
            count(fs, Outcome::Skipped),
            attr(&r.generated_at),
            attr(host),
        )?;
        writeln!(w, "    <properties>")?;
        property(w, 6, "kvmaudit.profile", r.profile.as_str())?;
        property(w, 6, "kvmaudit.version", &r.tool.version)?;
        writeln!(w, "    </properties>")?;
        for f in fs {
            testcase(w, f, outcome(f, fail_on))?;
        }
        writeln!(w, "  </testsuite>")?;
    }
    writeln!(w, "</testsuites>")
}

/// The whole document as a string (tests, small reports).
pub fn render(r: &Report, fail_on: Option<Severity>, duration: Option<f64>) -> String {
    let mut out = Vec::new();
    write(&mut out, r, fail_on, duration).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("the writer emits UTF-8 only")
}

fn testcase(w: &mut dyn Write, f: &Finding, o: Outcome) -> io::Result<()> {
    writeln!(
        w,
        r#"    <testcase classname="{}" name="{}" time="0">"#,
        attr(&f.rule),
        attr(&f.target)
    )?;
    writeln!(w, "      <properties>")?;
    property(w, 8, "kvmaudit.title", &f.title)?;
    property(w, 8, "kvmaudit.status", f.status.as_str())?;
    property(w, 8, "kvmaudit.severity", f.severity.as_str())?;
    if f.blocker {
        property(w, 8, "kvmaudit.blocker", "true")?;
    }
    writeln!(w, "      </properties>")?;
    match o {
        Outcome::Failure => writeln!(
            w,
            r#"      <failure message="{}" type="{}">{}</failure>"#,
            attr(&f.message),
            f.status.as_str(),
            text(&details(f))
        )?,
        Outcome::Skipped => writeln!(
            w,
            r#"      <skipped message="{}">{}</skipped>"#,
            attr(&skip_reason(f)),
            text(&details(f))
        )?,
        Outcome::Passed => {
            if f.status != Status::Pass {
                writeln!(w, "      <system-out>{}</system-out>", text(&details(f)))?;
            }
        }
    }
    writeln!(w, "    </testcase>")
}

fn property(w: &mut dyn Write, indent: usize, name: &str, value: &str) -> io::Result<()> {
    writeln!(
        w,
        r#"{:indent$}<property name="{}" value="{}"/>"#,
        "",
        attr(name),
        attr(value)
    )
}

/// Why a finding is skipped: its status and, for a waiver, the accepted reason.
fn skip_reason(f: &Finding) -> String {
    match (&f.status, &f.waiver) {
        (Status::Waived, Some(wv)) => {
            let until = wv
                .expires
                .as_deref()
                .map(|e| format!(" until {e}"))
                .unwrap_or_default();
            format!(
                "waived{until} ({} before the waiver): {}",
                wv.original_status.as_str(),
                wv.reason
            )
        }
        (s, _) => format!("{}: {}", s.as_str(), f.message),
    }
}

/// The message, each piece of evidence and the fix, one per line.
fn details(f: &Finding) -> String {
    let mut s = format!("{}\n", f.message);
    for e in &f.evidence {
        s.push_str(&format!("evidence: {}: {}", e.source, e.observed));
        if let Some(x) = &e.expected {
            s.push_str(&format!(" (expected: {x})"));
        }
        s.push('\n');
    }
    if !f.remediation.summary.is_empty() {
        s.push_str(&format!("fix: {}\n", f.remediation.summary));
    }
    s
}

/// A character XML 1.0 allows in a document (`Char` production); `char` already excludes the
/// surrogates.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}

/// Element text: markup escaped, forbidden characters replaced.
pub fn text(s: &str) -> String {
    escape(s, false)
}

/// An attribute value: as [`text`], plus quotes, and tab/newline/CR as character references
/// (a parser would otherwise normalise them to spaces).
pub fn attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            // A literal CR in text is normalised away by parsers too.
            '\r' => out.push_str("&#13;"),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_replaces_forbidden_characters() {
        assert_eq!(
            attr("a<b>&\"c'\n\t\r\u{1}\u{FFFE}z"),
            "a&lt;b&gt;&amp;&quot;c&apos;&#10;&#9;&#13;\u{FFFD}\u{FFFD}z"
        );
        assert_eq!(text("x]]>\u{0}\ny"), "x]]&gt;\u{FFFD}\ny");
        assert_eq!(text("é😀\u{D7FF}\u{E000}"), "é😀\u{D7FF}\u{E000}");
    }

    #[test]
    fn outcome_follows_status_and_fail_on() {
        let mut r = crate::report::sample::report(&crate::report::sample::Spec::new(1, "hv"));
        let mut f = r.results.remove(0);
        f.severity = Severity::Medium;
        let cases = [
            (Status::Fail, None, Outcome::Failure),
            (Status::Fail, Some(Severity::High), Outcome::Failure),
            (Status::Warn, None, Outcome::Passed),
            (Status::Warn, Some(Severity::High), Outcome::Passed),
            (Status::Warn, Some(Severity::Medium), Outcome::Failure),
            (Status::Pass, Some(Severity::Low), Outcome::Passed),
            (Status::Info, None, Outcome::Passed),
            (Status::Unknown, None, Outcome::Skipped),
            (Status::NotApplicable, None, Outcome::Skipped),
            (Status::Waived, None, Outcome::Skipped),
        ];
        for (status, fail_on, want) in cases {
            f.status = status;
            assert_eq!(outcome(&f, fail_on), want, "{status:?} {fail_on:?}");
        }
    }
}
