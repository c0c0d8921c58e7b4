//! The fleet roll-up: per-host summaries folded into one view. Its JSON form (`fleet --json`)
//! is `kind: "kvmaudit-fleet"`, `schema_version: 1`; like the report, fields may be added,
//! never removed or changed in meaning.

use crate::report::{Counts, Severity, ToolInfo};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const FLEET_SCHEMA_VERSION: u32 = 1;

/// How many VMs the "worst VMs" list keeps.
pub const WORST_VMS: usize = 25;

/// Why a file did not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// A path or pattern that names no file.
    NotFound,
    /// The file could not be read (permissions, I/O).
    Unreadable,
    /// Not valid JSON, or a kvmaudit report that lacks required fields.
    Corrupt,
    /// Valid JSON that is not a kvmaudit report (another tool's, a snapshot).
    Foreign,
    /// A report of a newer schema_version than this kvmaudit reads.
    NewerSchema,
    /// An older report of a host that has a newer one in the same roll-up.
    Superseded,
}

impl SkipKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipKind::NotFound => "not_found",
            SkipKind::Unreadable => "unreadable",
            SkipKind::Corrupt => "corrupt",
            SkipKind::Foreign => "foreign",
            SkipKind::NewerSchema => "newer_schema",
            SkipKind::Superseded => "superseded",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub path: String,
    pub kind: SkipKind,
    pub reason: String,
}

impl Skipped {
    pub fn new(path: &Path, kind: SkipKind, reason: impl Into<String>) -> Skipped {
        Skipped {
            path: path.display().to_string(),
            kind,
            reason: reason.into(),
        }
    }
}

/// One rule's findings on one host, counted by status.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleHit {
    pub rule: String,
    pub title: String,
    pub section: String,
    pub severity: Severity,
    pub fail: u32,
    pub warn: u32,
    pub unknown: u32,
    pub pass: u32,
}

impl Default for RuleHit {
    fn default() -> Self {
        RuleHit {
            rule: String::new(),
            title: String::new(),
            section: String::new(),
            severity: Severity::Info,
            fail: 0,
            warn: 0,
            unknown: 0,
            pass: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VmRow {
    pub name: String,
    pub score: f64,
    pub coverage: Option<f64>,
    pub vcpus: Option<u32>,
}

/// What one host's report says of it that the roll-up passes on unchanged: read into
/// [`HostReport`], listed in [`HostEntry`] (whose JSON has these fields inline).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostSummary {
    pub profile: String,
    pub tool_version: String,
    /// The CPU's codename.
    pub cpu: Option<String>,
    pub kernel: Option<String>,
    pub score: Option<f64>,
    pub host_score: Option<f64>,
    pub coverage: Option<f64>,
    pub counts: Counts,
    pub blockers: Vec<String>,
}

/// What the roll-up keeps of one report.
#[derive(Debug, Clone, PartialEq)]
pub struct HostReport {
    pub path: PathBuf,
    pub hostname: Option<String>,
    pub generated_at: String,
    pub epoch: Option<i64>,
    pub summary: HostSummary,
    pub vm_count: usize,
    /// The host's worst VMs (at most `read::VMS_PER_HOST`), worst first.
    pub vms: Vec<VmRow>,
    pub rules: Vec<RuleHit>,
}

impl HostReport {
    /// The host's name, or its report's path when the report has none.
    pub fn label(&self) -> String {
        self.hostname
            .clone()
            .unwrap_or_else(|| self.path.display().to_string())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct WorstVmRef {
    pub name: String,
    pub score: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostEntry {
    /// Hostname, or the report path for a report without one.
    pub host: String,
    pub path: String,
    pub generated_at: String,
    /// Seconds between the report and the roll-up; `null` when its timestamp is unreadable.
    pub age_seconds: Option<i64>,
    pub stale: bool,
    #[serde(flatten)]
    pub summary: HostSummary,
    pub vms: usize,
    pub worst_vm: Option<WorstVmRef>,
    /// Rules with at least one failed finding on this host.
    pub failing_rules: Vec<String>,
    /// Rules with warnings and no failure on this host.
    pub warning_rules: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleStat {
    pub rule: String,
    pub title: String,
    pub section: String,
    pub severity: Severity,
    pub weight: u32,
    pub hosts_failing: u32,
    pub hosts_warning: u32,
    pub hosts_unknown: u32,
    /// Hosts where the rule gave a pass, warn or fail verdict.
    pub hosts_evaluated: u32,
    pub targets_failing: u32,
    pub targets_warning: u32,
    /// weight × (failing targets + ½ warning targets) over the fleet.
    pub impact: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorstVm {
    pub host: String,
    pub vm: String,
    pub score: f64,
    pub coverage: Option<f64>,
    pub vcpus: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StaleHost {
    pub host: String,
    pub path: String,
    pub generated_at: String,
    pub age_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub files: usize,
    pub hosts: usize,
    pub skipped: usize,
    pub stale: usize,
    pub vms: usize,
    pub hosts_with_blockers: usize,
    pub mean_score: Option<f64>,
    pub median_score: Option<f64>,
    pub min_score: Option<f64>,
    pub counts: Counts,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fleet {
    pub kind: &'static str,
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub generated_at: String,
    pub stale_after_seconds: u64,
    pub summary: Summary,
    /// Worst score first; hosts without a score last.
    pub hosts: Vec<HostEntry>,
    /// Every rule seen, most failing hosts first.
    pub rules: Vec<RuleStat>,
    pub worst_vms: Vec<WorstVm>,
    pub stale: Vec<StaleHost>,
    pub skipped: Vec<Skipped>,
}

impl Fleet {
    /// Rules that fail or warn somewhere, in the order of [`Fleet::rules`].
    pub fn failing_rules(&self) -> impl Iterator<Item = &RuleStat> {
        self.rules
            .iter()
            .filter(|r| r.hosts_failing + r.hosts_warning > 0)
    }
}

/// Folds host reports one at a time; keeps only the newest report of each hostname.
#[derive(Default)]
pub struct Builder {
    /// Kept reports, their `rules` emptied: the counts live in `hits`, the rule ids, titles and
    /// sections once in `meta` (10,000 hosts would otherwise hold 600,000 copies of them).
    hosts: Vec<HostReport>,
    hits: Vec<Vec<Hit>>,
    meta: Vec<RuleHit>,
    meta_index: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
    pub skipped: Vec<Skipped>,
    pub files: usize,
}

/// One rule's counts on one host; the rule is an index into the builder's metadata.
#[derive(Debug, Clone, Copy)]
struct Hit {
    rule: usize,
    severity: Severity,
    fail: u32,
    warn: u32,
    unknown: u32,
    pass: u32,
}

fn newer(a: &HostReport, b: &HostReport) -> bool {
    (a.epoch, &a.generated_at, &a.path) > (b.epoch, &b.generated_at, &b.path)
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    fn intern(&mut self, rules: Vec<RuleHit>) -> Vec<Hit> {
        rules
            .into_iter()
            .map(|r| {
                let rule = match self.meta_index.get(&r.rule) {
                    Some(&i) => i,
                    None => {
                        self.meta_index.insert(r.rule.clone(), self.meta.len());
                        self.meta.push(RuleHit {
                            fail: 0,
                            warn: 0,
                            unknown: 0,
                            pass: 0,
                            ..r.clone()
                        });
                        self.meta.len() - 1
                    }
                };
                Hit {
                    rule,
                    severity: r.severity,
                    fail: r.fail,
                    warn: r.warn,
                    unknown: r.unknown,
                    pass: r.pass,
                }
            })
            .collect()
    }

    pub fn add(&mut self, mut h: HostReport) {
        let hits = self.intern(std::mem::take(&mut h.rules));
        let Some(name) = h.hostname.clone() else {
            self.hosts.push(h);
            self.hits.push(hits);
            return;
        };
        match self.by_name.get(&name) {
            None => {
                self.by_name.insert(name, self.hosts.len());
                self.hosts.push(h);
                self.hits.push(hits);
            }
            Some(&i) => {
                let (keep, drop) = if newer(&h, &self.hosts[i]) {
                    let old = std::mem::replace(&mut self.hosts[i], h);
                    self.hits[i] = hits;
                    (self.hosts[i].path.clone(), old)
                } else {
                    (self.hosts[i].path.clone(), h)
                };
                self.skipped.push(Skipped::new(
                    &drop.path,
                    SkipKind::Superseded,
                    format!(
                        "older report of host {name} ({}); the roll-up uses {}",
                        drop.generated_at,
                        keep.display()
                    ),
                ));
            }
        }
    }

    pub fn skip(&mut self, s: Skipped) {
        self.skipped.push(s);
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// The roll-up as of `now` (seconds since the epoch).
    pub fn finish(self, now: i64, stale_after: u64) -> Fleet {
        let mut rules: Vec<RuleStat> = Vec::new();
        let mut rule_index: HashMap<String, usize> = HashMap::new();
        let mut totals = Counts::default();
        let mut worst: Vec<WorstVm> = Vec::new();
        let mut entries = Vec::with_capacity(self.hosts.len());
        let mut stale = Vec::new();
        let mut vms = 0;
        let meta = self.meta;
        for (h, hits) in self.hosts.into_iter().zip(self.hits) {
            let label = h.label();
            let c = &h.summary.counts;
            totals.pass += c.pass;
            totals.fail += c.fail;
            totals.warn += c.warn;
            totals.info += c.info;
            totals.not_applicable += c.not_applicable;
            totals.unknown += c.unknown;
            totals.waived += c.waived;
            vms += h.vm_count;
            let mut failing_rules = Vec::new();
            let mut warning_rules = Vec::new();
            for hit in &hits {
                let m = &meta[hit.rule];
                let i = *rule_index.entry(m.rule.clone()).or_insert_with(|| {
                    rules.push(RuleStat {
                        rule: m.rule.clone(),
                        title: m.title.clone(),
                        section: m.section.clone(),
                        severity: hit.severity,
                        weight: 0,
                        hosts_failing: 0,
                        hosts_warning: 0,
                        hosts_unknown: 0,
                        hosts_evaluated: 0,
                        targets_failing: 0,
                        targets_warning: 0,
                        impact: 0.0,
                    });
                    rules.len() - 1
                });
                let s = &mut rules[i];
                s.severity = s.severity.max(hit.severity);
                s.targets_failing += hit.fail;
                s.targets_warning += hit.warn;
                if hit.fail > 0 {
                    s.hosts_failing += 1;
                    failing_rules.push(m.rule.clone());
                } else if hit.warn > 0 {
                    s.hosts_warning += 1;
                    warning_rules.push(m.rule.clone());
                }
                if hit.unknown > 0 && hit.fail + hit.warn + hit.pass == 0 {
                    s.hosts_unknown += 1;
                }
                if hit.fail + hit.warn + hit.pass > 0 {
                    s.hosts_evaluated += 1;
                }
            }
            failing_rules.sort();
            warning_rules.sort();
            for v in &h.vms {
                worst.push(WorstVm {
                    host: label.clone(),
                    vm: v.name.clone(),
                    score: v.score,
                    coverage: v.coverage,
                    vcpus: v.vcpus,
                });
            }
            if worst.len() > 4 * WORST_VMS {
                sort_vms(&mut worst);
                worst.truncate(WORST_VMS);
            }
            let age = h.epoch.map(|t| now - t);
            let is_stale = is_stale_age(age, stale_after);
            let path = h.path.display().to_string();
            if is_stale {
                stale.push(StaleHost {
                    host: label.clone(),
                    path: path.clone(),
                    generated_at: h.generated_at.clone(),
                    age_seconds: age,
                });
            }
            entries.push(HostEntry {
                host: label,
                path,
                generated_at: h.generated_at,
                age_seconds: age,
                stale: is_stale,
                summary: h.summary,
                vms: h.vm_count,
                worst_vm: h.vms.first().map(|v| WorstVmRef {
                    name: v.name.clone(),
                    score: v.score,
                }),
                failing_rules,
                warning_rules,
            });
        }
        for r in &mut rules {
            r.weight = r.severity.weight();
            r.impact = f64::from(r.weight)
                * (f64::from(r.targets_failing) + 0.5 * f64::from(r.targets_warning));
        }
        rules.sort_by(|a, b| {
            b.hosts_failing
                .cmp(&a.hosts_failing)
                .then_with(|| b.impact.total_cmp(&a.impact))
                .then_with(|| b.hosts_warning.cmp(&a.hosts_warning))
                .then_with(|| a.rule.cmp(&b.rule))
        });
        entries.sort_by(|a, b| match (a.summary.score, b.summary.score) {
            (Some(x), Some(y)) => x.total_cmp(&y).then_with(|| a.host.cmp(&b.host)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.host.cmp(&b.host),
        });
        stale.sort_by(|a, b| {
            b.age_seconds
                .unwrap_or(i64::MAX)
                .cmp(&a.age_seconds.unwrap_or(i64::MAX))
                .then_with(|| a.host.cmp(&b.host))
        });
        sort_vms(&mut worst);
        worst.truncate(WORST_VMS);
        let mut scores: Vec<f64> = entries.iter().filter_map(|e| e.summary.score).collect();
        scores.sort_by(|a, b| a.total_cmp(b));
        let round1 = crate::rules::score::round1;
        let mean =
            (!scores.is_empty()).then(|| round1(scores.iter().sum::<f64>() / scores.len() as f64));
        let median = (!scores.is_empty()).then(|| {
            let n = scores.len();
            if n % 2 == 1 {
                scores[n / 2]
            } else {
                round1((scores[n / 2 - 1] + scores[n / 2]) / 2.0)
            }
        });
        let mut skipped = self.skipped;
        skipped.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.kind.cmp(&b.kind)));
        Fleet {
            kind: "kvmaudit-fleet",
            schema_version: FLEET_SCHEMA_VERSION,
            tool: ToolInfo {
                name: "kvmaudit".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            generated_at: crate::util::rfc3339(now.max(0) as u64),
            stale_after_seconds: stale_after,
            summary: Summary {
                files: self.files,
                hosts: entries.len(),
                skipped: skipped.len(),
                stale: stale.len(),
                vms,
                hosts_with_blockers: entries
                    .iter()
                    .filter(|e| !e.summary.blockers.is_empty())
                    .count(),
                mean_score: mean,
                median_score: median,
                min_score: scores.first().copied(),
                counts: totals,
            },
            hosts: entries,
            rules,
            worst_vms: worst,
            stale,
            skipped,
        }
    }
}

fn sort_vms(v: &mut [WorstVm]) {
    v.sort_by(|a, b| {
        a.score
            .total_cmp(&b.score)
            .then_with(|| a.host.cmp(&b.host))
            .then_with(|| a.vm.cmp(&b.vm))
    });
}

/// Stale: the age is unknown (unreadable timestamp) or above the limit.
fn is_stale_age(age: Option<i64>, limit: u64) -> bool {
    match age {
        None => true,
        Some(a) => a > 0 && a as u64 > limit,
    }
}
