//! A report's head: the top-level fields the roll-up needs, taken in one pass that stops as
//! soon as they are all in — before the findings, which kvmaudit writes last.

use super::{LiteHost, LiteReport, LiteScore, LiteTool, LiteTotal, LiteVm};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

/// The summary held in the first bytes of a report, or `None` when they do not hold all of
/// it (the caller then reads and parses the whole file, which also says what is wrong).
pub(super) fn summary(bytes: &[u8]) -> Option<LiteReport> {
    // kvmaudit's own layout only: top-level keys indented by two spaces, which is what makes
    // the caller's end-of-file check (a `}` at column 0 closes the top level) sound.
    if !bytes.starts_with(b"{\n  \"") {
        return None;
    }
    let mut out = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // Stopping early is an error as far as serde_json is concerned; the visitor has stored
    // the head by then, and any other error means "read the whole file".
    let _ = (&mut de).deserialize_map(HeadVisitor { out: &mut out });
    out
}

#[derive(Default)]
struct Parts {
    schema_version: Option<u64>,
    tool: Option<LiteTool>,
    generated_at: Option<String>,
    profile: Option<String>,
    host: Option<LiteHost>,
    score: Option<LiteScore>,
    vms: Option<Vec<LiteVm>>,
    rule_totals: Option<Vec<LiteTotal>>,
}

impl Parts {
    fn complete(&mut self) -> Option<LiteReport> {
        let all = self.schema_version.is_some()
            && self.tool.is_some()
            && self.generated_at.is_some()
            && self.profile.is_some()
            && self.host.is_some()
            && self.score.is_some()
            && self.vms.is_some()
            && self.rule_totals.is_some();
        if !all {
            return None;
        }
        Some(LiteReport {
            schema_version: self.schema_version.take()?,
            tool: self.tool.take()?,
            generated_at: self.generated_at.take()?,
            profile: self.profile.take()?,
            host: self.host.take()?,
            score: self.score.take()?,
            vms: self.vms.take()?,
            rule_totals: Some(self.rule_totals.take()?),
            // kvmaudit writes the findings after everything above; they are never read here.
            results: Vec::new(),
        })
    }
}

struct HeadVisitor<'a> {
    out: &'a mut Option<LiteReport>,
}

impl<'de> Visitor<'de> for HeadVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a kvmaudit report")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut p = Parts::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "schema_version" => p.schema_version = Some(map.next_value()?),
                "tool" => p.tool = Some(map.next_value()?),
                "generated_at" => p.generated_at = Some(map.next_value()?),
                "profile" => p.profile = Some(map.next_value()?),
                "host" => p.host = Some(map.next_value()?),
                "score" => p.score = Some(map.next_value()?),
                "vms" => p.vms = Some(map.next_value()?),
                "rule_totals" => p.rule_totals = Some(map.next_value()?),
                // Findings before the totals: not worth reading twice; the caller parses all.
                "results" => return Err(de::Error::custom("results before rule_totals")),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            if let Some(head) = p.complete() {
                *self.out = Some(head);
                return Err(de::Error::custom("head complete"));
            }
        }
        Err(de::Error::custom("no rule_totals"))
    }
}
