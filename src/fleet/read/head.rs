//! A report's head: the top-level fields the roll-up needs, taken in one pass that stops as
//! soon as they are all in — before the findings, which kvmaudit writes last.

use super::{Head, LiteHost, LiteScore, LiteTool, LiteTotal, LiteVm};
use crate::fleet::model::RuleHit;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

/// The summary held in the first bytes of a report, or `None` when they do not hold all of
/// it (the caller then reads and parses the whole file, which also says what is wrong).
pub(super) fn summary(bytes: &[u8]) -> Option<Head> {
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
    rules: Option<Vec<RuleHit>>,
}

impl Parts {
    fn complete(&mut self) -> Option<Head> {
        let all = self.schema_version.is_some()
            && self.tool.is_some()
            && self.generated_at.is_some()
            && self.profile.is_some()
            && self.host.is_some()
            && self.score.is_some()
            && self.vms.is_some()
            && self.rules.is_some();
        if !all {
            return None;
        }
        Some(Head {
            schema_version: self.schema_version.take()?,
            tool: self.tool.take()?,
            generated_at: self.generated_at.take()?,
            profile: self.profile.take()?,
            host: self.host.take()?,
            score: self.score.take()?,
            vms: self.vms.take()?,
            rules: self.rules.take()?,
        })
    }
}

struct HeadVisitor<'a> {
    out: &'a mut Option<Head>,
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
                "rule_totals" => {
                    let t: Vec<LiteTotal> = map.next_value()?;
                    p.rules = Some(t.into_iter().map(RuleHit::from).collect());
                }
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
