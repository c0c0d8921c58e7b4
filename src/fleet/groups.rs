//! `fleet --group-by KEY`: hosts summarised per label value (`site`, `cluster`, ...) or per
//! CPU codename, kernel release or profile, in every output.

use super::model::{Fleet, FleetCounts, HostEntry};
use serde::Serialize;
use std::collections::BTreeMap;

/// What hosts are grouped by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKey {
    Cpu,
    Kernel,
    Profile,
    /// An operator label (`scan --label KEY=VALUE`).
    Label(String),
}

impl GroupKey {
    /// `cpu`, `kernel`, `profile`, or a label key (`label:cpu` for a label that has one of
    /// those names).
    pub fn parse(s: &str) -> Result<GroupKey, String> {
        match s {
            "cpu" => Ok(GroupKey::Cpu),
            "kernel" => Ok(GroupKey::Kernel),
            "profile" => Ok(GroupKey::Profile),
            _ => {
                let key = s.strip_prefix("label:").unwrap_or(s);
                crate::labels::check_key(key).map_err(|e| {
                    format!("{e}; --group-by takes cpu, kernel, profile or a label key")
                })?;
                Ok(GroupKey::Label(key.to_string()))
            }
        }
    }

    pub fn name(&self) -> &str {
        match self {
            GroupKey::Cpu => "cpu",
            GroupKey::Kernel => "kernel",
            GroupKey::Profile => "profile",
            GroupKey::Label(k) => k,
        }
    }

    /// The host's group, `None` when its report does not say.
    pub fn of<'a>(&self, h: &'a HostEntry) -> Option<&'a str> {
        match self {
            GroupKey::Cpu => h.summary.cpu.as_deref(),
            GroupKey::Kernel => h.summary.kernel.as_deref(),
            GroupKey::Profile => Some(&h.summary.profile),
            GroupKey::Label(k) => h.summary.labels.get(k).map(String::as_str),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupStat {
    /// The group's value; `null` for the hosts whose report does not have it.
    pub group: Option<String>,
    pub hosts: usize,
    /// Hosts with at least one failed finding.
    pub hosts_failing: usize,
    pub hosts_with_blockers: usize,
    pub stale: usize,
    pub mean_score: Option<f64>,
    pub min_score: Option<f64>,
    pub counts: FleetCounts,
}

impl GroupStat {
    /// The group as text: its value, or `(no KEY)`.
    pub fn display(&self, key: &str) -> String {
        self.group.clone().unwrap_or_else(|| format!("(no {key})"))
    }
}

/// Fill `f.groups` (most failing hosts first, then the worst mean score, then by name).
pub fn attach(f: &mut Fleet, key: &GroupKey) {
    #[derive(Default)]
    struct Acc {
        hosts: usize,
        failing: usize,
        blockers: usize,
        stale: usize,
        scores: Vec<f64>,
        counts: FleetCounts,
    }
    let mut by: BTreeMap<Option<&str>, Acc> = BTreeMap::new();
    for h in &f.hosts {
        let a = by.entry(key.of(h)).or_default();
        a.hosts += 1;
        a.failing += usize::from(h.summary.counts.fail > 0);
        a.blockers += usize::from(!h.summary.blockers.is_empty());
        a.stale += usize::from(h.stale);
        a.scores.extend(h.summary.score);
        a.counts.add(&h.summary.counts);
    }
    let round1 = crate::rules::score::round1;
    let mut groups: Vec<GroupStat> = by
        .into_iter()
        .map(|(g, a)| GroupStat {
            group: g.map(str::to_string),
            hosts: a.hosts,
            hosts_failing: a.failing,
            hosts_with_blockers: a.blockers,
            stale: a.stale,
            mean_score: (!a.scores.is_empty())
                .then(|| round1(a.scores.iter().sum::<f64>() / a.scores.len() as f64)),
            min_score: a.scores.iter().copied().reduce(f64::min),
            counts: a.counts,
        })
        .collect();
    groups.sort_by(|a, b| {
        b.hosts_failing
            .cmp(&a.hosts_failing)
            .then_with(|| {
                a.mean_score
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.mean_score.unwrap_or(f64::INFINITY))
            })
            .then_with(|| a.group.cmp(&b.group))
    });
    f.group_by = Some(key.name().to_string());
    f.groups = groups;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(GroupKey::parse("cpu"), Ok(GroupKey::Cpu));
        assert_eq!(GroupKey::parse("site"), Ok(GroupKey::Label("site".into())));
        assert_eq!(
            GroupKey::parse("label:cpu"),
            Ok(GroupKey::Label("cpu".into()))
        );
        assert!(GroupKey::parse("si te").is_err());
    }
}
