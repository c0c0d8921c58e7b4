//! One pass over a whole report: the fields the roll-up keeps are deserialized, the findings
//! are only counted, everything else is skipped — but every byte is parsed.
//!
//! An earlier reader stopped after the report's head (a tenth of its bytes) and trusted the
//! rest; a file with a valid head and garbage, a cut or a second `"score"` after it was rolled
//! up from its head while `jq` (which keeps the last duplicate) or any full parser read
//! something else or nothing. Parsing everything costs a linear scan (serde_json skipping
//! values it is not asked to keep allocates nothing); counting the findings' statuses instead
//! of reading them lets the roll-up check the report's own totals against its findings.

use super::{LiteFinding, LiteHost, LiteScore, LiteTool, LiteTotal, LiteVm};
use crate::report::Status;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// Findings counted by status: the fleet's own counters, so that one report's tally and the
/// fleet's sums are one type.
pub(super) use crate::fleet::model::FleetCounts as Tally;

/// The parts of a report the roll-up reads.
pub(super) struct Document {
    pub schema_version: u64,
    pub tool: LiteTool,
    pub generated_at: String,
    pub profile: String,
    pub host: LiteHost,
    pub score: LiteScore,
    pub vms: Vec<LiteVm>,
    pub rule_totals: Option<Vec<LiteTotal>>,
    /// Operator labels, checked by the caller.
    pub labels: Option<crate::labels::Labels>,
    /// The findings by status.
    pub tally: Tally,
    /// The findings themselves, kept only when no `rule_totals` came before them (a report
    /// written before they existed is tallied per rule from its findings).
    pub findings: Option<Vec<LiteFinding>>,
}

/// Parse `bytes` as a whole report.
pub(super) fn parse(bytes: &[u8]) -> Result<Document, serde_json::Error> {
    // JSON is UTF-8 (RFC 8259 §8.1); serde_json checks only the strings it keeps. One pass
    // over the whole file is far cheaper than checking key by key.
    if let Err(e) = std::str::from_utf8(bytes) {
        let at = e.valid_up_to();
        let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
        let col = at
            - bytes[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
        return Err(serde_json::Error::io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 at line {line} column {}", col + 1),
        )));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let doc = (&mut de).deserialize_map(DocumentVisitor)?;
    de.end()?;
    Ok(doc)
}

/// A finding as far as the tally needs it: its `status` (exactly one), every other member
/// skipped. Hand-written rather than derived: a derived struct reads each key as checked
/// UTF-8, which was a seventh of the roll-up; here keys are compared as bytes (the whole file
/// was checked as UTF-8 once, in [`parse`]).
struct StatusOnly(Status);

impl<'de> Deserialize<'de> for StatusOnly {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(StatusOnlyVisitor)
    }
}

struct StatusOnlyVisitor;

impl<'de> Visitor<'de> for StatusOnlyVisitor {
    type Value = StatusOnly;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a finding")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StatusOnly, A::Error> {
        let mut status = None;
        while let Some(IsStatus(is)) = map.next_key()? {
            if !is {
                map.next_value::<IgnoredAny>()?;
            } else if status.is_some() {
                return Err(de::Error::duplicate_field("status"));
            } else {
                status = Some(map.next_value::<Status>()?);
            }
        }
        status
            .map(StatusOnly)
            .ok_or_else(|| de::Error::missing_field("status"))
    }
}

/// Whether a key is `status`, read as bytes (escapes decoded, no UTF-8 check).
struct IsStatus(bool);

impl<'de> Deserialize<'de> for IsStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IsStatus;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<IsStatus, E> {
                Ok(IsStatus(v == b"status"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IsStatus, E> {
                Ok(IsStatus(v == "status"))
            }
        }
        d.deserialize_bytes(V)
    }
}

struct DocumentVisitor;

fn once<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    slot: &mut Option<T>,
    key: &'static str,
    map: &mut A,
) -> Result<(), A::Error> {
    // A second copy of a field the roll-up reads is ambiguous: serde_json keeps the first,
    // jq the last. Refuse it, as the derived parsers do.
    if slot.is_some() {
        return Err(de::Error::duplicate_field(key));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Document;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a kvmaudit report")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut schema_version = None;
        let mut tool = None;
        let mut generated_at = None;
        let mut profile = None;
        let mut host = None;
        let mut score = None;
        let mut vms = None;
        let mut rule_totals: Option<Vec<LiteTotal>> = None;
        let mut labels = None;
        let mut results: Option<(Tally, Option<Vec<LiteFinding>>)> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "schema_version" => once(&mut schema_version, "schema_version", &mut map)?,
                "tool" => once(&mut tool, "tool", &mut map)?,
                "generated_at" => once(&mut generated_at, "generated_at", &mut map)?,
                "profile" => once(&mut profile, "profile", &mut map)?,
                "host" => once(&mut host, "host", &mut map)?,
                "score" => once(&mut score, "score", &mut map)?,
                "vms" => once(&mut vms, "vms", &mut map)?,
                "rule_totals" => once(&mut rule_totals, "rule_totals", &mut map)?,
                "labels" => once(&mut labels, "labels", &mut map)?,
                "results" => {
                    if results.is_some() {
                        return Err(de::Error::duplicate_field("results"));
                    }
                    results = Some(map.next_value_seed(Findings {
                        keep: rule_totals.is_none(),
                    })?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let missing = de::Error::missing_field;
        let (tally, findings) = results.ok_or_else(|| missing("results"))?;
        Ok(Document {
            schema_version: schema_version.ok_or_else(|| missing("schema_version"))?,
            tool: tool.ok_or_else(|| missing("tool"))?,
            generated_at: generated_at.ok_or_else(|| missing("generated_at"))?,
            profile: profile.ok_or_else(|| missing("profile"))?,
            host: host.ok_or_else(|| missing("host"))?,
            score: score.ok_or_else(|| missing("score"))?,
            vms: vms.ok_or_else(|| missing("vms"))?,
            // Findings read before their totals appeared are not needed after all.
            findings: if rule_totals.is_some() {
                None
            } else {
                findings
            },
            rule_totals,
            labels,
            tally,
        })
    }
}

/// `results`: tallied, and kept as findings when `keep`.
struct Findings {
    keep: bool,
}

impl<'de> DeserializeSeed<'de> for Findings {
    type Value = (Tally, Option<Vec<LiteFinding>>);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Findings {
    type Value = (Tally, Option<Vec<LiteFinding>>);

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of findings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut tally = Tally::default();
        if self.keep {
            let mut kept = Vec::new();
            while let Some(f) = seq.next_element::<LiteFinding>()? {
                tally.add_status(f.status, 1);
                kept.push(f);
            }
            return Ok((tally, Some(kept)));
        }
        while let Some(StatusOnly(status)) = seq.next_element()? {
            tally.add_status(status, 1);
        }
        Ok((tally, None))
    }
}
