//! `<cputune>` pinning: what libvirt applies to threads after QEMU starts, so argv never
//! shows it. A status XML carries it for a running domain; a definition for the next start.

use super::tree::Element;
use std::collections::{BTreeMap, BTreeSet};

/// Pinning as host CPU sets (expanded from libvirt's cpusets, `^N` exclusions applied).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuTune {
    /// vCPU index → host CPUs (`<vcpupin vcpu= cpuset=>`).
    pub vcpupin: BTreeMap<u32, BTreeSet<u32>>,
    /// `<emulatorpin cpuset=>`.
    pub emulatorpin: Option<BTreeSet<u32>>,
    /// IOThread id → host CPUs (`<iothreadpin iothread= cpuset=>`).
    pub iothreadpin: BTreeMap<u32, BTreeSet<u32>>,
    /// `<vcpu cpuset=>`: the default for vCPUs without a vcpupin (and the emulator).
    pub vcpu_default: Option<BTreeSet<u32>>,
}

/// Largest CPU number accepted in a cpuset (Linux's NR_CPUS maximum is 8192).
const MAX_CPU: u32 = 8191;

impl CpuTune {
    pub fn from_domain(dom: &Element) -> CpuTune {
        let mut t = CpuTune {
            vcpu_default: dom
                .child("vcpu")
                .and_then(|v| v.attr("cpuset"))
                .and_then(cpuset),
            ..CpuTune::default()
        };
        let Some(ct) = dom.child("cputune") else {
            return t;
        };
        for p in ct.all("vcpupin") {
            if let (Some(v), Some(s)) = (
                p.attr("vcpu").and_then(|v| v.parse().ok()),
                p.attr("cpuset").and_then(cpuset),
            ) {
                t.vcpupin.insert(v, s);
            }
        }
        for p in ct.all("iothreadpin") {
            if let (Some(v), Some(s)) = (
                p.attr("iothread").and_then(|v| v.parse().ok()),
                p.attr("cpuset").and_then(cpuset),
            ) {
                t.iothreadpin.insert(v, s);
            }
        }
        t.emulatorpin = ct
            .child("emulatorpin")
            .and_then(|e| e.attr("cpuset"))
            .and_then(cpuset);
        t
    }

    pub fn is_empty(&self) -> bool {
        self.vcpupin.is_empty()
            && self.emulatorpin.is_none()
            && self.iothreadpin.is_empty()
            && self.vcpu_default.is_none()
    }
}

/// libvirt's cpuset syntax: `0-3,^2,8`. `None` when any part is unreadable or too large.
pub fn cpuset(s: &str) -> Option<BTreeSet<u32>> {
    let mut set = BTreeSet::new();
    let mut minus = BTreeSet::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (neg, part) = match part.strip_prefix('^') {
            Some(p) => (true, p),
            None => (false, part),
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?),
            None => {
                let x = part.parse::<u32>().ok()?;
                (x, x)
            }
        };
        if a > b || b > MAX_CPU {
            return None;
        }
        if neg {
            minus.extend(a..=b);
        } else {
            set.extend(a..=b);
        }
    }
    let out: BTreeSet<u32> = set.difference(&minus).copied().collect();
    (!out.is_empty()).then_some(out)
}
