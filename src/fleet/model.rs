//! The fleet roll-up: per-host summaries folded into one view. Its JSON form (`fleet --json`)
//! is `kind: "kvmaudit-fleet"`, `schema_version: 1`; like the report, fields may be added,
//! never removed or changed in meaning.

pub use crate::model::identity::HostIdentity;
use crate::report::{Counts, Severity, ToolInfo};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const FLEET_SCHEMA_VERSION: u32 = 1;

/// How many VMs the "worst VMs" list keeps.
pub const WORST_VMS: usize = 25;

/// Clock skew tolerated before a report counts as dated in the future (seconds).
pub const FUTURE_SKEW: i64 = 300;

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
    /// A report dated in the future, next to another report of its host: it never replaces
    /// one (a report dated 9999 would otherwise hide every later one).
    FutureDated,
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
            SkipKind::FutureDated => "future_dated",
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

/// A rule's id, title and section as a report words them: the catalogue's entry when they are
/// its words (nearly always: no copy, and nothing for the reader thread to hand over but an
/// index), else the report's own (another kvmaudit version's rule or title).
#[derive(Debug, Clone, PartialEq)]
pub enum RuleText {
    Catalogue(u16),
    Own(Box<[String; 3]>),
}

impl RuleText {
    pub fn new(rule: String, title: String, section: String) -> RuleText {
        static INDEX: std::sync::OnceLock<HashMap<&'static str, u16>> = std::sync::OnceLock::new();
        let cat = crate::vocab::catalogue::catalogue();
        let index = INDEX.get_or_init(|| {
            cat.iter()
                .enumerate()
                .filter_map(|(i, r)| Some((r.id.as_str(), u16::try_from(i).ok()?)))
                .collect()
        });
        match index.get(rule.as_str()) {
            Some(&i)
                if cat[usize::from(i)].title == title && cat[usize::from(i)].section == section =>
            {
                RuleText::Catalogue(i)
            }
            _ => RuleText::Own(Box::new([rule, title, section])),
        }
    }

    fn parts(&self) -> [&str; 3] {
        match self {
            RuleText::Catalogue(i) => {
                let r = &crate::vocab::catalogue::catalogue()[usize::from(*i)];
                [&r.id, &r.title, &r.section]
            }
            RuleText::Own(t) => [&t[0], &t[1], &t[2]],
        }
    }

    pub fn rule(&self) -> &str {
        self.parts()[0]
    }

    pub fn title(&self) -> &str {
        self.parts()[1]
    }

    pub fn section(&self) -> &str {
        self.parts()[2]
    }
}

/// One rule's findings on one host, counted by status.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleHit {
    pub text: RuleText,
    pub severity: Severity,
    pub fail: u32,
    pub warn: u32,
    pub unknown: u32,
    pub pass: u32,
}

impl Default for RuleHit {
    fn default() -> Self {
        RuleHit {
            text: RuleText::new(String::new(), String::new(), String::new()),
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
    /// The report's operator labels (`scan --label`).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: crate::labels::Labels,
}

/// What the roll-up keeps of one report.
#[derive(Debug, Clone, PartialEq)]
pub struct HostReport {
    pub path: PathBuf,
    /// Hostname, machine-id and SMBIOS UUID, as the report gives them (validated).
    pub identity: HostIdentity,
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
        self.identity
            .hostname
            .clone()
            .unwrap_or_else(|| self.path.display().to_string())
    }

    /// Which reports are of the same host: the hostname together with the machine-id (else
    /// the SMBIOS UUID). The name alone is not enough (two hosts called hv01 are two hosts),
    /// and neither is the machine-id alone (hosts installed from one image share it). `None`
    /// when the report names neither: it is a host of its own.
    fn key(&self) -> Option<(Option<String>, Option<String>)> {
        let id = &self.identity;
        let primary = id.machine_id.clone().or_else(|| id.smbios_uuid.clone());
        (id.hostname.is_some() || primary.is_some()).then(|| (id.hostname.clone(), primary))
    }
}

/// Finding counts summed over hosts: 64-bit, so that no set of reports can wrap them (with
/// 32 bits, one report claiming 4,294,967,295 passes turned the fleet's fail count to 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FleetCounts {
    pub pass: u64,
    pub fail: u64,
    pub warn: u64,
    pub info: u64,
    pub not_applicable: u64,
    pub unknown: u64,
    pub waived: u64,
}

impl FleetCounts {
    /// Add one report's counts.
    pub(crate) fn add(&mut self, c: &Counts) {
        use crate::report::Status;
        for (s, n) in [
            (Status::Pass, c.pass),
            (Status::Fail, c.fail),
            (Status::Warn, c.warn),
            (Status::Info, c.info),
            (Status::NotApplicable, c.not_applicable),
            (Status::Unknown, c.unknown),
            (Status::Waived, c.waived),
        ] {
            self.add_status(s, u64::from(n));
        }
    }

    /// Add `n` findings of status `s`, saturating.
    pub(crate) fn add_status(&mut self, s: crate::report::Status, n: u64) {
        use crate::report::Status;
        let c = match s {
            Status::Pass => &mut self.pass,
            Status::Fail => &mut self.fail,
            Status::Warn => &mut self.warn,
            Status::Info => &mut self.info,
            Status::NotApplicable => &mut self.not_applicable,
            Status::Unknown => &mut self.unknown,
            Status::Waived => &mut self.waived,
        };
        *c = c.saturating_add(n);
    }

    pub fn of(&self, s: crate::report::Status) -> u64 {
        use crate::report::Status;
        match s {
            Status::Pass => self.pass,
            Status::Fail => self.fail,
            Status::Warn => self.warn,
            Status::Info => self.info,
            Status::NotApplicable => self.not_applicable,
            Status::Unknown => self.unknown,
            Status::Waived => self.waived,
        }
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smbios_uuid: Option<String>,
    /// Another host in the roll-up has this hostname, machine-id or SMBIOS UUID: both are
    /// listed, and someone should find out which report is lying or which host was cloned.
    pub identity_conflict: bool,
    /// The report is dated more than [`FUTURE_SKEW`] after the roll-up: it is stale, and it
    /// replaced no other report of its host.
    pub future_dated: bool,
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
    /// The highest severity of a failed (not waived) finding on this host: what `--fail-on`
    /// gates on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_severity: Option<Severity>,
    /// Where the host's HTML report is: `--report-url` filled in, or the `.html` next to its
    /// JSON report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleStat {
    pub rule: String,
    pub title: String,
    pub section: String,
    /// The severity the rule has where it fails (else where it warns, else anywhere): a rule
    /// whose severity depends on the profile is not "high" on hosts where it only passes.
    pub severity: Severity,
    pub weight: u32,
    pub hosts_failing: u64,
    pub hosts_warning: u64,
    pub hosts_unknown: u64,
    /// Hosts where the rule gave a pass, warn or fail verdict.
    pub hosts_evaluated: u64,
    pub targets_failing: u64,
    pub targets_warning: u64,
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
    /// Hosts flagged with [`HostEntry::identity_conflict`].
    pub identity_conflicts: usize,
    /// Hosts whose report is dated in the future.
    pub future_dated: usize,
    pub mean_score: Option<f64>,
    pub median_score: Option<f64>,
    pub min_score: Option<f64>,
    pub counts: FleetCounts,
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
    /// What `--group-by` grouped the hosts by (`site`, `cpu`, `kernel`, `profile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
    /// One summary per group, most failing hosts first; empty without `--group-by`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<super::groups::GroupStat>,
}

impl Fleet {
    /// Rules that fail or warn somewhere, in the order of [`Fleet::rules`].
    pub fn failing_rules(&self) -> impl Iterator<Item = &RuleStat> {
        self.rules
            .iter()
            .filter(|r| r.hosts_failing + r.hosts_warning > 0)
    }
}

/// Folds host reports one at a time; keeps only the newest report of each host (see
/// [`HostReport::key`]).
#[derive(Default)]
pub struct Builder {
    /// The roll-up's time (seconds since the epoch): reports after it are dated in the future.
    now: i64,
    /// Per kept host: its report is dated in the future.
    future: Vec<bool>,
    /// Kept reports, their `rules` emptied: the counts live in `hits`, the rule ids, titles and
    /// sections once in `meta` (10,000 hosts would otherwise hold 600,000 copies of them).
    hosts: Vec<HostReport>,
    hits: Vec<Vec<Hit>>,
    meta: Vec<RuleText>,
    meta_index: HashMap<String, usize>,
    /// `meta`'s index of each catalogue rule seen, without hashing its id.
    catalogue_meta: Vec<Option<usize>>,
    by_key: HashMap<(Option<String>, Option<String>), usize>,
    pub skipped: Vec<Skipped>,
    pub files: usize,
}

/// One rule's counts on one host; the rule is an index into the builder's metadata. 16 bytes
/// (it was 32, then 24): a host holds one per rule, 100,000 hosts six million. Passes and
/// unknowns count only as "some" in the roll-up, so they are kept as such.
#[derive(Debug, Clone, Copy)]
struct Hit {
    rule: u32,
    fail: u32,
    warn: u32,
    severity: Severity,
    some_pass: bool,
    some_unknown: bool,
}

fn newer(a: &HostReport, b: &HostReport) -> bool {
    (a.epoch, &a.generated_at, &a.path) > (b.epoch, &b.generated_at, &b.path)
}

/// Whether report `a` (dated in the future: `a_future`) takes the place of `b`: a report
/// dated in the future never replaces one that is not; among equals, the newest wins.
fn replaces(a: &HostReport, a_future: bool, b: &HostReport, b_future: bool) -> bool {
    match (a_future, b_future) {
        (false, true) => true,
        (true, false) => false,
        _ => newer(a, b),
    }
}

/// Names a hostname but no machine-id or SMBIOS UUID (written before reports carried them,
/// or stripped of them).
fn anonymous(h: &HostReport) -> bool {
    let id = &h.identity;
    id.hostname.is_some() && id.machine_id.is_none() && id.smbios_uuid.is_none()
}

impl Builder {
    /// A roll-up as of `now` (seconds since the epoch).
    pub fn new(now: i64) -> Builder {
        Builder {
            now,
            ..Builder::default()
        }
    }

    /// The index of a rule's words in `meta`: its first words seen win (keyed by rule id).
    fn meta_of(&mut self, text: &RuleText) -> usize {
        if let RuleText::Catalogue(c) = text {
            if let Some(&Some(i)) = self.catalogue_meta.get(usize::from(*c)) {
                return i;
            }
        }
        let i = match self.meta_index.get(text.rule()) {
            Some(&i) => i,
            None => {
                self.meta_index
                    .insert(text.rule().to_string(), self.meta.len());
                self.meta.push(text.clone());
                self.meta.len() - 1
            }
        };
        if let RuleText::Catalogue(c) = text {
            let c = usize::from(*c);
            if self.catalogue_meta.len() <= c {
                self.catalogue_meta.resize(c + 1, None);
            }
            self.catalogue_meta[c] = Some(i);
        }
        i
    }

    fn intern(&mut self, rules: Vec<RuleHit>) -> Vec<Hit> {
        // Pushed into a Vec of exactly its size: `collect()` from `rules.into_iter()` may
        // reuse the RuleHits' buffer in place for the 16-byte hits, and the hits live as long
        // as the roll-up.
        let mut hits = Vec::with_capacity(rules.len());
        hits.extend(rules.into_iter().map(|r| {
            let rule = self.meta_of(&r.text);
            Hit {
                // More than 4 billion distinct rule ids cannot be held in memory anyway.
                rule: u32::try_from(rule).unwrap_or(u32::MAX),
                severity: r.severity,
                fail: r.fail,
                warn: r.warn,
                some_pass: r.pass > 0,
                some_unknown: r.unknown > 0,
            }
        }));
        hits
    }

    pub fn add(&mut self, mut h: HostReport) {
        let hits = self.intern(std::mem::take(&mut h.rules));
        let future = h
            .epoch
            .is_some_and(|t| t > self.now.saturating_add(FUTURE_SKEW));
        let Some(key) = h.key() else {
            self.push(h, hits, future);
            return;
        };
        let Some(&i) = self.by_key.get(&key) else {
            self.by_key.insert(key, self.hosts.len());
            self.push(h, hits, future);
            return;
        };
        let replace = replaces(&h, future, &self.hosts[i], self.future[i]);
        let (dropped, dropped_future) = if replace {
            self.hits[i] = hits;
            let was_future = std::mem::replace(&mut self.future[i], future);
            (std::mem::replace(&mut self.hosts[i], h), was_future)
        } else {
            (h, future)
        };
        let s = replaced(&dropped, dropped_future, &self.hosts[i]);
        self.skipped.push(s);
    }

    /// An anonymous report (see [`anonymous`]) next to identified reports of its hostname is
    /// that host's report from before an upgrade when one of them replaces it: it is
    /// superseded, so that a fleet upgrading kvmaudit does not show every host twice. One that
    /// would replace them all stays, flagged as a conflict: nothing says which machine wrote it.
    /// Decided once every report is in, so that the order of reading does not matter.
    fn retire_anonymous(&mut self) {
        let mut newest: HashMap<String, usize> = HashMap::new();
        for (i, h) in self.hosts.iter().enumerate() {
            let Some(name) = h.identity.hostname.as_ref().filter(|_| !anonymous(h)) else {
                continue;
            };
            let better = match newest.get(name) {
                Some(&j) => replaces(h, self.future[i], &self.hosts[j], self.future[j]),
                None => true,
            };
            if better {
                newest.insert(name.clone(), i);
            }
        }
        let mut retired = vec![false; self.hosts.len()];
        for (i, h) in self.hosts.iter().enumerate() {
            let Some(&j) = h.identity.hostname.as_ref().and_then(|n| newest.get(n)) else {
                continue;
            };
            if anonymous(h) && replaces(&self.hosts[j], self.future[j], h, self.future[i]) {
                retired[i] = true;
                let s = replaced(h, self.future[i], &self.hosts[j]);
                self.skipped.push(s);
            }
        }
        drop_marked(&mut self.hosts, &retired);
        drop_marked(&mut self.hits, &retired);
        drop_marked(&mut self.future, &retired);
    }

    fn push(&mut self, h: HostReport, hits: Vec<Hit>, future: bool) {
        self.hosts.push(h);
        self.hits.push(hits);
        self.future.push(future);
    }

    pub fn skip(&mut self, s: Skipped) {
        self.skipped.push(s);
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// The roll-up, with reports older than `stale_after` seconds stale: hosts folded one by
    /// one ([`Fold::host`]), then rules ranked, lists sorted and the summary counted.
    pub fn finish(mut self, stale_after: u64) -> Fleet {
        self.retire_anonymous();
        let now = self.now;
        let conflicts = identity_conflicts(&self.hosts);
        let mut fold = Fold {
            now,
            stale_after,
            rules: RuleTally::default(),
            totals: FleetCounts::default(),
            worst: Vec::new(),
            entries: Vec::with_capacity(self.hosts.len()),
            stale: Vec::new(),
            vms: 0,
        };
        let meta = self.meta;
        let kept = self.hosts.into_iter().zip(self.hits).zip(self.future);
        for (((h, hits), future), conflict) in kept.zip(conflicts) {
            fold.host(h, &hits, &meta, future, conflict);
        }
        let Fold {
            rules,
            totals,
            mut worst,
            mut entries,
            mut stale,
            vms,
            ..
        } = fold;
        let rules = rules.ranked();
        sort_entries(&mut entries);
        sort_stale(&mut stale);
        sort_vms(&mut worst);
        worst.truncate(WORST_VMS);
        let mut skipped = self.skipped;
        skipped.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.kind.cmp(&b.kind)));
        let summary = summarise(self.files, &entries, &stale, &skipped, vms, totals);
        Fleet {
            kind: "kvmaudit-fleet",
            schema_version: FLEET_SCHEMA_VERSION,
            tool: ToolInfo {
                name: "kvmaudit".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            generated_at: crate::util::rfc3339(now.max(0) as u64),
            stale_after_seconds: stale_after,
            summary,
            hosts: entries,
            rules,
            worst_vms: worst,
            stale,
            skipped,
            group_by: None,
            groups: Vec::new(),
        }
    }
}

/// The fleet's sums while hosts are folded into it.
struct Fold {
    now: i64,
    stale_after: u64,
    rules: RuleTally,
    totals: FleetCounts,
    /// Candidates for the fleet's worst VMs, cut back to [`WORST_VMS`] as they grow.
    worst: Vec<WorstVm>,
    entries: Vec<HostEntry>,
    stale: Vec<StaleHost>,
    vms: usize,
}

impl Fold {
    /// Fold one kept host: its rules into the rule sums, its VMs into the worst, its entry.
    fn host(
        &mut self,
        h: HostReport,
        hits: &[Hit],
        meta: &[RuleText],
        future: bool,
        conflict: bool,
    ) {
        let label = h.label();
        self.totals.add(&h.summary.counts);
        self.vms += h.vm_count;
        let verdicts = self.rules.host(hits, meta);
        for v in &h.vms {
            self.worst.push(WorstVm {
                host: label.clone(),
                vm: v.name.clone(),
                score: v.score,
                coverage: v.coverage,
                vcpus: v.vcpus,
            });
        }
        if self.worst.len() > 4 * WORST_VMS {
            sort_vms(&mut self.worst);
            self.worst.truncate(WORST_VMS);
        }
        let age = h.epoch.map(|t| self.now.saturating_sub(t));
        // Dated in the future is not fresh: nothing says when the report was really made.
        let is_stale = future || is_stale_age(age, self.stale_after);
        let path = h.path.display().to_string();
        if is_stale {
            self.stale.push(StaleHost {
                host: label.clone(),
                path: path.clone(),
                generated_at: h.generated_at.clone(),
                age_seconds: age,
            });
        }
        self.entries.push(HostEntry {
            host: label,
            machine_id: h.identity.machine_id,
            smbios_uuid: h.identity.smbios_uuid,
            identity_conflict: conflict,
            future_dated: future,
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
            failing_rules: verdicts.failing,
            warning_rules: verdicts.warning,
            fail_severity: verdicts.fail_severity,
            report_url: None,
        });
    }
}

/// What one host's rules say: which fail, which only warn, and the highest failing severity.
struct HostVerdicts {
    failing: Vec<String>,
    warning: Vec<String>,
    fail_severity: Option<Severity>,
}

/// Per rule, the fleet's sums.
#[derive(Default)]
struct RuleTally {
    rules: Vec<RuleStat>,
    index: HashMap<String, usize>,
    severity: Vec<SeverityWhere>,
}

impl RuleTally {
    /// Add one host's hits; its verdicts, rule names sorted.
    fn host(&mut self, hits: &[Hit], meta: &[RuleText]) -> HostVerdicts {
        let mut v = HostVerdicts {
            failing: Vec::new(),
            warning: Vec::new(),
            fail_severity: None,
        };
        for hit in hits {
            let Some(m) = meta.get(hit.rule as usize) else {
                continue;
            };
            let i = self.stat(m, hit.severity);
            self.severity[i].see(hit);
            let s = &mut self.rules[i];
            s.targets_failing += u64::from(hit.fail);
            s.targets_warning += u64::from(hit.warn);
            if hit.fail > 0 {
                s.hosts_failing += 1;
                v.failing.push(m.rule().to_string());
                v.fail_severity = v.fail_severity.max(Some(hit.severity));
            } else if hit.warn > 0 {
                s.hosts_warning += 1;
                v.warning.push(m.rule().to_string());
            }
            let verdicts = hit.fail > 0 || hit.warn > 0 || hit.some_pass;
            if hit.some_unknown && !verdicts {
                s.hosts_unknown += 1;
            }
            if verdicts {
                s.hosts_evaluated += 1;
            }
        }
        v.failing.sort();
        v.warning.sort();
        v
    }

    /// The index of rule `m`'s sums, made on first sight.
    fn stat(&mut self, m: &RuleText, severity: Severity) -> usize {
        let rules = &mut self.rules;
        let i = *self.index.entry(m.rule().to_string()).or_insert_with(|| {
            rules.push(RuleStat {
                rule: m.rule().to_string(),
                title: m.title().to_string(),
                section: m.section().to_string(),
                severity,
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
        if self.severity.len() < self.rules.len() {
            self.severity
                .resize(self.rules.len(), SeverityWhere::default());
        }
        i
    }

    /// The rules with their shown severity, weight and impact, most failing hosts first.
    fn ranked(self) -> Vec<RuleStat> {
        let mut rules = self.rules;
        for (r, w) in rules.iter_mut().zip(&self.severity) {
            r.severity = w.shown();
            r.weight = r.severity.weight();
            r.impact =
                f64::from(r.weight) * (r.targets_failing as f64 + 0.5 * r.targets_warning as f64);
        }
        rules.sort_by(|a, b| {
            b.hosts_failing
                .cmp(&a.hosts_failing)
                .then_with(|| b.impact.total_cmp(&a.impact))
                .then_with(|| b.hosts_warning.cmp(&a.hosts_warning))
                .then_with(|| a.rule.cmp(&b.rule))
        });
        rules
    }
}

/// Worst score first, hosts without a score last. Ties end on the path: hostnames repeat
/// (identity conflicts), paths do not, and the reader threads hand reports over in no fixed
/// order.
fn sort_entries(entries: &mut [HostEntry]) {
    entries.sort_by(|a, b| {
        let by_score = match (a.summary.score, b.summary.score) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        by_score
            .then_with(|| a.host.cmp(&b.host))
            .then_with(|| a.path.cmp(&b.path))
    });
}

/// Oldest first (an unreadable date counts as oldest).
fn sort_stale(stale: &mut [StaleHost]) {
    stale.sort_by(|a, b| {
        b.age_seconds
            .unwrap_or(i64::MAX)
            .cmp(&a.age_seconds.unwrap_or(i64::MAX))
            .then_with(|| a.host.cmp(&b.host))
            .then_with(|| a.path.cmp(&b.path))
    });
}

/// The summary line's numbers.
fn summarise(
    files: usize,
    entries: &[HostEntry],
    stale: &[StaleHost],
    skipped: &[Skipped],
    vms: usize,
    counts: FleetCounts,
) -> Summary {
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
    Summary {
        files,
        hosts: entries.len(),
        skipped: skipped.len(),
        stale: stale.len(),
        vms,
        hosts_with_blockers: entries
            .iter()
            .filter(|e| !e.summary.blockers.is_empty())
            .count(),
        identity_conflicts: entries.iter().filter(|e| e.identity_conflict).count(),
        future_dated: entries.iter().filter(|e| e.future_dated).count(),
        mean_score: mean,
        median_score: median,
        min_score: scores.first().copied(),
        counts,
    }
}

/// A rule's highest severity where it fails, where it warns, and anywhere.
#[derive(Debug, Clone, Copy, Default)]
struct SeverityWhere {
    failing: Option<Severity>,
    warning: Option<Severity>,
    seen: Option<Severity>,
}

impl SeverityWhere {
    fn see(&mut self, hit: &Hit) {
        let s = Some(hit.severity);
        self.seen = self.seen.max(s);
        if hit.fail > 0 {
            self.failing = self.failing.max(s);
        } else if hit.warn > 0 {
            self.warning = self.warning.max(s);
        }
    }

    fn shown(&self) -> Severity {
        self.failing
            .or(self.warning)
            .or(self.seen)
            .unwrap_or(Severity::Info)
    }
}

/// `v` without the items whose place in `marked` is true.
fn drop_marked<T>(v: &mut Vec<T>, marked: &[bool]) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        !marked.get(i - 1).copied().unwrap_or(false)
    });
}

/// Why `dropped` does not count: `keep` is the same host's report that does.
fn replaced(dropped: &HostReport, dropped_future: bool, keep: &HostReport) -> Skipped {
    let name = keep.label();
    if dropped_future {
        Skipped::new(
            &dropped.path,
            SkipKind::FutureDated,
            format!(
                "report of host {name} dated in the future ({}); the roll-up uses {}",
                dropped.generated_at,
                keep.path.display()
            ),
        )
    } else {
        Skipped::new(
            &dropped.path,
            SkipKind::Superseded,
            format!(
                "older report of host {name} ({}); the roll-up uses {}",
                dropped.generated_at,
                keep.path.display()
            ),
        )
    }
}

/// Per host: does another kept host share its hostname, machine-id or SMBIOS UUID?
fn identity_conflicts(hosts: &[HostReport]) -> Vec<bool> {
    let parts = |h: &HostReport| {
        let id = &h.identity;
        [
            id.hostname.clone().map(|v| (0, v)),
            id.machine_id.clone().map(|v| (1, v)),
            id.smbios_uuid.clone().map(|v| (2, v)),
        ]
    };
    let mut seen: HashMap<(u8, String), usize> = HashMap::new();
    for h in hosts {
        for p in parts(h).into_iter().flatten() {
            *seen.entry(p).or_default() += 1;
        }
    }
    hosts
        .iter()
        .map(|h| parts(h).into_iter().flatten().any(|p| seen[&p] > 1))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, fail: u32) -> HostReport {
        HostReport {
            path: PathBuf::from(format!("{name}.json")),
            identity: HostIdentity {
                hostname: Some(name.into()),
                ..HostIdentity::default()
            },
            generated_at: "2026-12-01T00:00:00Z".into(),
            epoch: Some(1_796_083_200),
            summary: HostSummary {
                profile: "throughput".into(),
                tool_version: "0.1.0".into(),
                cpu: None,
                kernel: None,
                score: Some(50.0),
                host_score: None,
                coverage: None,
                counts: Counts {
                    fail,
                    ..Counts::default()
                },
                blockers: Vec::new(),
                labels: Default::default(),
            },
            vm_count: 0,
            vms: Vec::new(),
            rules: vec![RuleHit {
                text: RuleText::new("r".into(), String::new(), String::new()),
                fail,
                ..RuleHit::default()
            }],
        }
    }

    #[test]
    fn a_rule_worded_otherwise_than_the_catalogue_keeps_its_words() {
        let cat = &crate::vocab::catalogue::catalogue()[0];
        let same = RuleText::new(cat.id.clone(), cat.title.clone(), cat.section.clone());
        assert_eq!(same, RuleText::Catalogue(0));
        let older = RuleText::new(cat.id.clone(), "an older title".into(), cat.section.clone());
        assert!(matches!(older, RuleText::Own(_)));
        assert_eq!(
            (older.rule(), older.title()),
            (cat.id.as_str(), "an older title")
        );
        // One rule however it is worded; the words first seen are shown, as before.
        let mut a = host("a", 1);
        a.rules[0].text = older;
        let mut b = host("b", 1);
        b.rules[0].text = same;
        let mut builder = Builder::new(1_796_083_200);
        builder.add(a);
        builder.add(b);
        let f = builder.finish(3600);
        assert_eq!(f.rules.len(), 1);
        assert_eq!(f.rules[0].title, "an older title");
        assert_eq!(f.rules[0].hosts_failing, 2);
    }

    #[test]
    fn a_hit_stays_small() {
        // Six million of them for 100,000 hosts (benches/fleet.sh, BENCHMARKS.md).
        assert_eq!(std::mem::size_of::<Hit>(), 16);
    }

    #[test]
    fn the_rule_severity_is_where_it_fails() {
        // One rule, low where it fails, high where it passes (a profile-dependent severity):
        // the fleet shows low, and only the failing host gates on it.
        let mut failing = host("a", 1);
        failing.rules[0].severity = Severity::Low;
        let mut passing = host("b", 0);
        passing.rules[0].severity = Severity::High;
        passing.rules[0].pass = 1;
        let mut b = Builder::new(1_796_083_200);
        b.add(passing);
        b.add(failing);
        let f = b.finish(3600);
        assert_eq!(f.rules[0].severity, Severity::Low);
        assert_eq!(f.rules[0].weight, Severity::Low.weight());
        let sev = |n: &str| f.hosts.iter().find(|h| h.host == n).unwrap().fail_severity;
        assert_eq!((sev("a"), sev("b")), (Some(Severity::Low), None));
        assert_eq!(crate::fleet::gate(&f, Some(Severity::Medium)), 0);
        assert_eq!(crate::fleet::gate(&f, Some(Severity::Low)), 2);
        assert_eq!(crate::fleet::gate(&f, None), 0);
    }

    #[test]
    fn fleet_sums_do_not_wrap() {
        let mut b = Builder::new(1_796_083_200);
        b.add(host("a", u32::MAX));
        b.add(host("b", u32::MAX));
        b.add(host("c", 2));
        let f = b.finish(3600);
        let want = 2 * u64::from(u32::MAX) + 2;
        assert_eq!(f.summary.counts.fail, want);
        assert_eq!(f.rules[0].targets_failing, want);
        assert_eq!(f.rules[0].hosts_failing, 3);
    }

    #[test]
    fn a_report_without_identity_yields_to_a_newer_identified_one_in_any_order() {
        let with_id = |epoch: i64, id: Option<&str>, file: &str| {
            let mut h = host("hv01", 1);
            h.epoch = Some(epoch);
            h.generated_at = crate::util::rfc3339(epoch as u64);
            h.identity.machine_id = id.map(str::to_string);
            h.path = PathBuf::from(file);
            h
        };
        let now = 1_796_083_200;
        let id = "0123456789abcdef0123456789abcdef";
        for (anonymous_at, hosts, conflicts) in [(now - 86_400, 1, 0), (now - 60, 2, 2)] {
            for flip in [false, true] {
                let mut reports = vec![
                    with_id(anonymous_at, None, "old.json"),
                    with_id(now - 3600, Some(id), "new.json"),
                ];
                if flip {
                    reports.reverse();
                }
                let mut b = Builder::new(now);
                for r in reports {
                    b.add(r);
                }
                let f = b.finish(86_400 * 2);
                assert_eq!(f.summary.hosts, hosts, "{anonymous_at} {flip}");
                assert_eq!(f.summary.identity_conflicts, conflicts);
                assert_eq!(f.skipped.len(), 2 - hosts);
            }
        }
    }
}
