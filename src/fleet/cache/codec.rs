//! The cache's bytes for one report's roll-up ([`HostReport`] or [`Skipped`]): length-prefixed
//! little-endian fields, decoded with every length and tag checked. A cache file is ours, but
//! a cut or a corrupted one must read as "not cached", never as a panic or a wrong host.

use crate::fleet::model::{HostReport, HostSummary, RuleHit, RuleText, SkipKind, Skipped, VmRow};
use crate::model::identity::HostIdentity;
use crate::report::{Counts, Severity};
use std::path::Path;

/// Longest string a decoded entry may hold (a blocker sentence, a label, a VM name).
const MAX_STR: usize = 1 << 16;
/// Most items in one decoded list (rules, VMs, blockers, labels).
const MAX_ITEMS: usize = 1 << 16;

/// What the roll-up made of one file: a host's summary or why the file was skipped.
pub type Outcome = Result<HostReport, Skipped>;

#[derive(Default)]
pub struct Enc(pub Vec<u8>);

impl Enc {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn opt_str(&mut self, s: &Option<String>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }
    fn opt_f64(&mut self, v: Option<f64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.u64(v.to_bits());
            }
        }
    }
    fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
        }
    }
}

pub struct Dec<'a> {
    b: &'a [u8],
}

/// Why an entry did not decode; the caller treats the file as not cached.
#[derive(Debug, PartialEq)]
pub struct Bad;

type R<T> = Result<T, Bad>;

impl<'a> Dec<'a> {
    pub fn new(b: &'a [u8]) -> Dec<'a> {
        Dec { b }
    }
    pub fn is_empty(&self) -> bool {
        self.b.is_empty()
    }
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        if n > self.b.len() {
            return Err(Bad);
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> R<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> R<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn count(&mut self) -> R<usize> {
        let n = self.u32()? as usize;
        if n > MAX_ITEMS {
            return Err(Bad);
        }
        Ok(n)
    }
    pub fn bytes(&mut self) -> R<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn str(&mut self) -> R<String> {
        let b = self.bytes()?;
        if b.len() > MAX_STR {
            return Err(Bad);
        }
        std::str::from_utf8(b).map(str::to_owned).map_err(|_| Bad)
    }
    fn flag(&mut self) -> R<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Bad),
        }
    }
    fn opt_str(&mut self) -> R<Option<String>> {
        Ok(if self.flag()? {
            Some(self.str()?)
        } else {
            None
        })
    }
    fn opt_f64(&mut self) -> R<Option<f64>> {
        Ok(if self.flag()? {
            Some(f64::from_bits(self.u64()?))
        } else {
            None
        })
    }
    fn opt_u64(&mut self) -> R<Option<u64>> {
        Ok(if self.flag()? {
            Some(self.u64()?)
        } else {
            None
        })
    }
}

const SEVERITIES: [Severity; 4] = [
    Severity::Info,
    Severity::Low,
    Severity::Medium,
    Severity::High,
];

fn severity_code(s: Severity) -> u8 {
    SEVERITIES.iter().position(|x| *x == s).unwrap_or(0) as u8
}

/// Only what a report's bytes alone decide is cached: whether it reads as a report at all.
const SKIP_KINDS: [SkipKind; 3] = [SkipKind::Corrupt, SkipKind::Foreign, SkipKind::NewerSchema];

/// Whether `kind` says something about the file's bytes (and so may be cached): unreadable,
/// missing, superseded or future-dated files depend on the moment or on other files.
pub fn cacheable(kind: SkipKind) -> bool {
    SKIP_KINDS.contains(&kind)
}

fn counts(e: &mut Enc, c: &Counts) {
    for v in [
        c.pass,
        c.fail,
        c.warn,
        c.info,
        c.not_applicable,
        c.unknown,
        c.waived,
    ] {
        e.u32(v);
    }
}

fn read_counts(d: &mut Dec) -> R<Counts> {
    Ok(Counts {
        pass: d.u32()?,
        fail: d.u32()?,
        warn: d.u32()?,
        info: d.u32()?,
        not_applicable: d.u32()?,
        unknown: d.u32()?,
        waived: d.u32()?,
    })
}

/// Encode `o` (the file's path is the cache's key, not part of the entry).
pub fn encode(e: &mut Enc, o: &Outcome) {
    match o {
        Err(s) => {
            e.u8(0);
            let kind = SKIP_KINDS.iter().position(|k| *k == s.kind).unwrap_or(0);
            e.u8(kind as u8);
            e.str(&s.reason);
        }
        Ok(h) => {
            e.u8(1);
            host(e, h);
        }
    }
}

fn host(e: &mut Enc, h: &HostReport) {
    e.opt_str(&h.identity.hostname);
    e.opt_str(&h.identity.machine_id);
    e.opt_str(&h.identity.smbios_uuid);
    e.str(&h.generated_at);
    e.opt_u64(h.epoch.map(|t| t as u64));
    let s = &h.summary;
    e.str(&s.profile);
    e.str(&s.tool_version);
    e.opt_str(&s.cpu);
    e.opt_str(&s.kernel);
    e.opt_f64(s.score);
    e.opt_f64(s.host_score);
    e.opt_f64(s.coverage);
    counts(e, &s.counts);
    e.len(s.blockers.len());
    for b in &s.blockers {
        e.str(b);
    }
    e.len(s.labels.len());
    for (k, v) in &s.labels {
        e.str(k);
        e.str(v);
    }
    e.u64(h.vm_count as u64);
    e.len(h.vms.len());
    for v in &h.vms {
        e.str(&v.name);
        e.u64(v.score.to_bits());
        e.opt_f64(v.coverage);
        e.opt_u64(v.vcpus.map(u64::from));
    }
    e.len(h.rules.len());
    for r in &h.rules {
        match &r.text {
            RuleText::Catalogue(i) => {
                e.u8(0);
                e.u32(u32::from(*i));
            }
            RuleText::Own(words) => {
                e.u8(1);
                for w in words.iter() {
                    e.str(w);
                }
            }
        }
        e.u8(severity_code(r.severity));
        for n in [r.fail, r.warn, r.unknown, r.pass] {
            e.u32(n);
        }
    }
}

/// Decode an entry of the file at `path`; the whole entry must be consumed.
pub fn decode(path: &Path, b: &[u8]) -> R<Outcome> {
    let mut d = Dec::new(b);
    let o = match d.u8()? {
        0 => {
            let kind = *SKIP_KINDS.get(usize::from(d.u8()?)).ok_or(Bad)?;
            Err(Skipped::new(path, kind, d.str()?))
        }
        1 => Ok(read_host(path, &mut d)?),
        _ => return Err(Bad),
    };
    if !d.is_empty() {
        return Err(Bad);
    }
    Ok(o)
}

fn read_host(path: &Path, d: &mut Dec) -> R<HostReport> {
    let identity = HostIdentity {
        hostname: d.opt_str()?,
        machine_id: d.opt_str()?,
        smbios_uuid: d.opt_str()?,
    };
    let generated_at = d.str()?;
    let epoch = d.opt_u64()?.map(|t| t as i64);
    let profile = d.str()?;
    let tool_version = d.str()?;
    let cpu = d.opt_str()?;
    let kernel = d.opt_str()?;
    let score = d.opt_f64()?;
    let host_score = d.opt_f64()?;
    let coverage = d.opt_f64()?;
    let counts = read_counts(d)?;
    let blockers = (0..d.count()?).map(|_| d.str()).collect::<R<Vec<_>>>()?;
    let mut labels = crate::labels::Labels::new();
    for _ in 0..d.count()? {
        let k = d.str()?;
        labels.insert(k, d.str()?);
    }
    let vm_count = usize::try_from(d.u64()?).map_err(|_| Bad)?;
    let vms = (0..d.count()?)
        .map(|_| {
            Ok(VmRow {
                name: d.str()?,
                score: f64::from_bits(d.u64()?),
                coverage: d.opt_f64()?,
                vcpus: d
                    .opt_u64()?
                    .map(u32::try_from)
                    .transpose()
                    .map_err(|_| Bad)?,
            })
        })
        .collect::<R<Vec<_>>>()?;
    let rules = (0..d.count()?)
        .map(|_| read_rule(d))
        .collect::<R<Vec<_>>>()?;
    Ok(HostReport {
        path: path.to_path_buf(),
        identity,
        generated_at,
        epoch,
        summary: HostSummary {
            profile,
            tool_version,
            cpu,
            kernel,
            score,
            host_score,
            coverage,
            counts,
            blockers,
            labels,
        },
        vm_count,
        vms,
        rules,
    })
}

fn read_rule(d: &mut Dec) -> R<RuleHit> {
    let text = match d.u8()? {
        0 => {
            let i = u16::try_from(d.u32()?).map_err(|_| Bad)?;
            if usize::from(i) >= crate::vocab::catalogue::catalogue().len() {
                return Err(Bad);
            }
            RuleText::Catalogue(i)
        }
        1 => RuleText::Own(Box::new([d.str()?, d.str()?, d.str()?])),
        _ => return Err(Bad),
    };
    let severity = *SEVERITIES.get(usize::from(d.u8()?)).ok_or(Bad)?;
    Ok(RuleHit {
        text,
        severity,
        fail: d.u32()?,
        warn: d.u32()?,
        unknown: d.u32()?,
        pass: d.u32()?,
    })
}
