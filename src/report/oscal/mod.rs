//! OSCAL documents: the rule catalogue as an OSCAL catalog (`kvmaudit rules --format oscal`)
//! and a report as OSCAL assessment results (`scan --oscal PATH`), for GRC tools.
//!
//! Written for OSCAL 1.0.6, whose published JSON schemas the tests validate against (and which
//! compliance-trestle's 1.1 models load). The catalog has one group per guide section and one
//! control per rule (parts: statement = what passes, guidance = rationale and remediation). The
//! assessment results have one observation per finding, carrying the evidence, and one finding
//! per evaluated rule and target, whose target is the rule's control and whose state is
//! satisfied (pass, info, not_applicable) or not-satisfied (fail, warn, waived). `unknown`
//! findings get an observation only: kvmaudit could not tell, so no state is claimed.
//! UUIDs are name-based (v5): the same rule, finding or host gets the same UUID every time.

pub mod uuid5;

use super::{Report, Status};
use serde_json::{json, Value};

/// The OSCAL version the documents follow.
pub const OSCAL_VERSION: &str = "1.0.6";
/// Namespace of kvmaudit's own props.
const NS: &str = "https://kvmaudit.invalid/ns/oscal";

fn group_id(section: &str) -> String {
    let s: String = section
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("section-{}", s.trim_matches('-'))
}

/// A token (OSCAL's identifier type) made of `s`: letters, digits, `.`, `-`, `_`.
fn token(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        t
    } else {
        format!("_{t}")
    }
}

/// A value for OSCAL's `string` type (props, remarks): one line, no leading or trailing
/// whitespace, not empty. Targets carry VM names, which are hostile: a newline or a padded name
/// would make the whole document fail the schema.
fn line(s: &str) -> String {
    let one: String = s
        .chars()
        .map(|c| {
            if c.is_control() || c.is_whitespace() {
                ' '
            } else {
                c
            }
        })
        .collect();
    match one.trim() {
        "" => "-".to_string(),
        t => t.to_string(),
    }
}

fn metadata(title: &str, when: &str) -> Value {
    json!({
        "title": title,
        "last-modified": when,
        "version": env!("CARGO_PKG_VERSION"),
        "oscal-version": OSCAL_VERSION,
    })
}

/// The rule catalogue as an OSCAL catalog. `when` is its last-modified time (RFC 3339).
pub fn catalog(when: &str) -> Value {
    let rules = crate::vocab::catalogue::catalogue();
    let mut sections: Vec<&str> = Vec::new();
    for r in rules {
        if !sections.contains(&r.section.as_str()) {
            sections.push(&r.section);
        }
    }
    let groups: Vec<Value> = sections
        .iter()
        .map(|s| {
            let controls: Vec<Value> = rules
                .iter()
                .filter(|r| r.section == *s)
                .map(|r| {
                    let mut guidance = r.rationale.trim().to_string();
                    if !r.remediation.summary.trim().is_empty() {
                        guidance.push_str("\n\nRemediation: ");
                        guidance.push_str(r.remediation.summary.trim());
                    }
                    json!({
                        "id": token(&r.id),
                        "title": r.title,
                        "props": [
                            {"name": "label", "value": line(&r.id)},
                            {"name": "severity", "ns": NS, "value": r.severity.as_str()},
                        ],
                        "parts": [
                            {"id": format!("{}_stmt", token(&r.id)), "name": "statement",
                             "prose": r.pass.trim()},
                            {"id": format!("{}_gdn", token(&r.id)), "name": "guidance",
                             "prose": guidance},
                        ],
                    })
                })
                .collect();
            json!({
                "id": group_id(s),
                "title": format!("Guide section {s}"),
                "controls": controls,
            })
        })
        .collect();
    json!({"catalog": {
        "uuid": uuid5::of(&format!("catalog:{}", env!("CARGO_PKG_VERSION"))),
        "metadata": metadata(
            "kvmaudit rules: Intel KVM/QEMU tuning guide for 3rd Gen Xeon Scalable (Ice Lake)",
            when,
        ),
        "groups": groups,
    }})
}

/// OSCAL's finding state for a status; `None` for unknown (no state is claimed).
fn state(s: Status) -> Option<&'static str> {
    match s {
        Status::Pass | Status::Info | Status::NotApplicable => Some("satisfied"),
        Status::Fail | Status::Warn | Status::Waived => Some("not-satisfied"),
        Status::Unknown => None,
    }
}

/// The report as OSCAL assessment results.
pub fn assessment_results(r: &Report) -> Value {
    let host = r.host.hostname.as_deref().unwrap_or("unknown-host");
    let who = format!(
        "{host}|{}|{}",
        r.host.machine_id.as_deref().unwrap_or(""),
        r.host.smbios_uuid.as_deref().unwrap_or("")
    );
    let mut observations = Vec::new();
    let mut findings = Vec::new();
    for (i, f) in r.results.iter().enumerate() {
        // The index keeps two findings of one rule and target (a rule may report both) apart.
        let key = format!("{who}|{}|{}|{}|{i}", r.generated_at, f.rule, f.target);
        let obs_uuid = uuid5::of(&format!("observation:{key}"));
        let evidence: Vec<Value> = f
            .evidence
            .iter()
            .map(|e| {
                let mut d = format!("{}: {}", e.source, e.observed);
                if let Some(x) = &e.expected {
                    d.push_str(&format!(" (expected {x})"));
                }
                json!({"description": d})
            })
            .collect();
        let mut o = json!({
            "uuid": obs_uuid,
            "title": format!("{} on {}", f.rule, f.target),
            "description": if f.message.is_empty() { f.title.to_string() } else { f.message.clone() },
            "props": [
                {"name": "status", "ns": NS, "value": f.status.as_str()},
                {"name": "target", "ns": NS, "value": line(&f.target)},
            ],
            "methods": ["TEST"],
            "collected": r.generated_at,
        });
        if !evidence.is_empty() {
            o["relevant-evidence"] = Value::Array(evidence);
        }
        observations.push(o);
        let Some(st) = state(f.status) else { continue };
        let mut status = json!({"state": st, "reason": token(f.status.as_str())});
        if let Some(w) = &f.waiver {
            status["remarks"] = Value::String(format!("waived: {}", line(&w.reason)));
        }
        findings.push(json!({
            "uuid": uuid5::of(&format!("finding:{key}")),
            "title": format!("{}: {} on {}", f.rule, f.status.as_str(), f.target),
            "description": format!("{} — {}", f.title, f.message),
            "props": [
                {"name": "status", "ns": NS, "value": f.status.as_str()},
                {"name": "severity", "ns": NS, "value": f.severity.as_str()},
                {"name": "target", "ns": NS, "value": line(&f.target)},
            ],
            "target": {
                "type": "objective-id",
                "target-id": format!("{}_stmt", token(&f.rule)),
                "status": status,
            },
            "related-observations": [{"observation-uuid": obs_uuid}],
        }));
    }
    let catalog_uuid = uuid5::of(&format!("catalog:{}", env!("CARGO_PKG_VERSION")));
    let mut result = json!({
        "uuid": uuid5::of(&format!("result:{who}|{}", r.generated_at)),
        "title": format!("kvmaudit scan of {host}"),
        "description": format!(
            "kvmaudit {} scan of {host} ({} profile): score {}, coverage {}",
            r.tool.version,
            r.profile.as_str(),
            r.score.value.map_or("n/a".into(), |v| format!("{v}")),
            r.score.coverage.map_or("n/a".into(), |v| format!("{v}")),
        ),
        "start": r.generated_at,
        "end": r.generated_at,
        "reviewed-controls": {"control-selections": [{"include-all": {}}]},
        "observations": observations,
    });
    if !findings.is_empty() {
        result["findings"] = Value::Array(findings);
    }
    json!({"assessment-results": {
        "uuid": uuid5::of(&format!("assessment-results:{who}|{}", r.generated_at)),
        "metadata": metadata(&format!("kvmaudit assessment of {host}"), &r.generated_at),
        "import-ap": {"href": format!("#{catalog_uuid}")},
        "results": [result],
        "back-matter": {"resources": [{
            "uuid": catalog_uuid,
            "title": "kvmaudit rule catalogue (kvmaudit rules --format oscal)",
            "rlinks": [{"href": "kvmaudit-rules.oscal.json"}],
        }]},
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_states_and_unknown_claims_none() {
        assert_eq!(state(Status::Fail), Some("not-satisfied"));
        assert_eq!(state(Status::Pass), Some("satisfied"));
        assert_eq!(state(Status::Unknown), None);
        assert_eq!(token("host.thp"), "host.thp");
        assert_eq!(token("1x y"), "_1x_y");
        assert_eq!(group_id("2.1, 5"), "section-2.1--5");
        assert_eq!(line(" vm:a\nb\u{7}c "), "vm:a b c");
        assert_eq!(line(" \n"), "-");
    }
}
