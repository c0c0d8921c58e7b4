//! The fast way through a whole report, for the common case: the [`scan`](super::scan)ner
//! checks every byte, counts the findings' statuses, and marks where the fields the roll-up
//! keeps are; serde_json then reads only those (a tenth of the bytes).
//!
//! Anything out of the ordinary — a key or status written with escapes, findings before their
//! totals (a report older than `rule_totals`), a duplicate field, anything that is not JSON —
//! gives up (`None`), and the caller parses the whole file with serde_json
//! ([`super::document`]), which then decides, and words the reason. So a report is read here
//! exactly as the full parse reads it, or not at all (`tests::fast_and_full_agree`).

use super::document::{Document, Tally};
use super::scan::{Invalid, Scan, Scanner, Str};
use crate::report::Status;
use serde::de::DeserializeOwned;

/// Where one kept top-level field's value is.
type Span = Option<(usize, usize)>;

#[derive(Default)]
struct Spans {
    schema_version: Span,
    tool: Span,
    generated_at: Span,
    profile: Span,
    host: Span,
    score: Span,
    vms: Span,
    rule_totals: Span,
    labels: Span,
}

/// Read `bytes` as a report the fast way, or `None` to leave it to the full parse.
pub(super) fn parse(bytes: &[u8]) -> Option<Document> {
    // JSON is UTF-8; std's check runs a word at a time over ASCII.
    std::str::from_utf8(bytes).ok()?;
    let mut s = Scanner::new(bytes);
    let (spans, tally) = top_level(&mut s).ok()?;
    s.end().ok()?;
    let get = |span: Span| span.map(|(a, b)| &bytes[a..b]);
    fn read<T: DeserializeOwned>(v: &[u8]) -> Option<T> {
        serde_json::from_slice(v).ok()
    }
    Some(Document {
        schema_version: read(get(spans.schema_version)?)?,
        tool: read(get(spans.tool)?)?,
        generated_at: read(get(spans.generated_at)?)?,
        profile: read(get(spans.profile)?)?,
        host: read(get(spans.host)?)?,
        score: read(get(spans.score)?)?,
        vms: read(get(spans.vms)?)?,
        rule_totals: Some(read(get(spans.rule_totals)?)?),
        labels: match get(spans.labels) {
            Some(v) => Some(read(v)?),
            None => None,
        },
        tally: tally?,
        findings: None,
    })
}

/// The top-level object: kept fields' spans, the findings' tally (`None` when absent).
fn top_level(s: &mut Scanner) -> Scan<(Spans, Option<Tally>)> {
    let mut spans = Spans::default();
    let mut tally = None;
    s.expect(b'{')?;
    s.enter()?;
    let mut first = true;
    while s.members(&mut first)? {
        s.ws();
        let key = plain_key(s)?;
        s.expect(b':')?;
        let slot = match &s.b[key.start..key.end] {
            b"schema_version" => &mut spans.schema_version,
            b"tool" => &mut spans.tool,
            b"generated_at" => &mut spans.generated_at,
            b"profile" => &mut spans.profile,
            b"host" => &mut spans.host,
            b"score" => &mut spans.score,
            b"vms" => &mut spans.vms,
            b"rule_totals" => &mut spans.rule_totals,
            b"labels" => &mut spans.labels,
            b"results" => {
                // Findings before their totals are read whole by the full parse (an old
                // report is tallied per rule from them); a second list is ambiguous.
                if tally.is_some() || spans.rule_totals.is_none() {
                    return Err(Invalid);
                }
                tally = Some(findings(s)?);
                continue;
            }
            _ => {
                s.value()?;
                continue;
            }
        };
        // A second copy of a kept field: the full parse refuses it, with the reason.
        if slot.is_some() {
            return Err(Invalid);
        }
        s.ws();
        let start = s.i;
        s.value()?;
        *slot = Some((start, s.i));
    }
    s.leave();
    Ok((spans, tally))
}

/// A key whose bytes are its value (no escapes).
#[inline]
fn plain_key(s: &mut Scanner) -> Scan<Str> {
    let k = s.string()?;
    if k.escaped {
        return Err(Invalid);
    }
    Ok(k)
}

/// `results`: an array of objects, each with exactly one `status` that is a [`Status`].
fn findings(s: &mut Scanner) -> Scan<Tally> {
    let mut tally = Tally::default();
    s.expect(b'[')?;
    s.enter()?;
    let mut first = true;
    while s.elements(&mut first)? {
        tally.add_status(finding(s)?, 1);
    }
    s.leave();
    Ok(tally)
}

fn finding(s: &mut Scanner) -> Scan<Status> {
    s.expect(b'{')?;
    s.enter()?;
    let mut status = None;
    let mut first = true;
    while s.members(&mut first)? {
        s.ws();
        let key = plain_key(s)?;
        s.expect(b':')?;
        if &s.b[key.start..key.end] != b"status" {
            s.value()?;
            continue;
        }
        if status.is_some() {
            return Err(Invalid);
        }
        s.ws();
        let v = plain_key(s)?;
        status = Some(status_named(&s.b[v.start..v.end])?);
    }
    s.leave();
    status.ok_or(Invalid)
}

/// The status a JSON string names, as serde names them (`tests::status_names_are_serdes`).
#[inline]
fn status_named(name: &[u8]) -> Scan<Status> {
    Ok(match name {
        b"pass" => Status::Pass,
        b"fail" => Status::Fail,
        b"warn" => Status::Warn,
        b"info" => Status::Info,
        b"not_applicable" => Status::NotApplicable,
        b"unknown" => Status::Unknown,
        b"waived" => Status::Waived,
        _ => return Err(Invalid),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_are_serdes() {
        for st in [
            Status::Pass,
            Status::Fail,
            Status::Warn,
            Status::Info,
            Status::NotApplicable,
            Status::Unknown,
            Status::Waived,
        ] {
            let json = serde_json::to_string(&st).unwrap();
            let name = json.trim_matches('"');
            assert_eq!(status_named(name.as_bytes()), Ok(st));
            assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), st);
        }
        assert!(status_named(b"Pass").is_err());
    }
}
