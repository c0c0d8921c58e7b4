//! Synthetic but realistic reports: every rule of the embedded catalogue, in its order, a few VMs with
//! disks and NICs, statuses drawn from a seeded generator, scores computed by the real scoring
//! code. For renderer tests, the fleet benchmark and demos; never used by a scan.
#![doc(hidden)]

use crate::vocab::catalogue::{catalogue, RuleMeta, Scope};
use crate::vocab::host::{CpuBlock, HostBlock, KernelBlock, PlatformBlock};
use crate::vocab::scoring as score;
use crate::vocab::{
    Evidence, Finding, Profile, Remediation, Report, Score, Status, ToolInfo, VmEntry, VmScore,
    REPORT_SCHEMA_VERSION,
};

/// The per-device part of a VM rule's targets (`drive`, `net`, `dev`; `-`: the VM itself),
/// from the catalogue's naming: `qemu.blk.*` judges each drive, `qemu.net.*` each NIC, and a
/// `device-*` rule each assigned device.
fn per_device(rule: &RuleMeta) -> &'static str {
    let mut parts = rule.id.splitn(3, '.');
    let (family, name) = (parts.nth(1).unwrap_or(""), parts.next().unwrap_or(""));
    match (rule.scope, family) {
        (Scope::Vm, "blk") => "drive",
        (Scope::Vm, "net") => "net",
        (Scope::Vm, _) if name.starts_with("device") => "dev",
        _ => "-",
    }
}

/// A small deterministic generator (xorshift64*), so that a seed always gives the same report.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// 0..n
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    /// true with probability p (0–1).
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

fn status(rng: &mut Rng, quality: f64) -> Status {
    // quality near 1 → mostly pass.
    let x = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    if x < quality {
        Status::Pass
    } else {
        [
            Status::Fail,
            Status::Fail,
            Status::Warn,
            Status::Unknown,
            Status::NotApplicable,
            Status::Info,
        ][rng.below(6) as usize]
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub seed: u64,
    pub hostname: String,
    pub vms: usize,
    pub generated_at: String,
}

impl Spec {
    pub fn new(seed: u64, hostname: impl Into<String>) -> Spec {
        Spec {
            seed,
            hostname: hostname.into(),
            vms: 3,
            generated_at: "2026-11-26T12:00:00Z".into(),
        }
    }
}

/// One synthetic report: findings for every rule and target, then the VMs scored from them,
/// then the report around both. The generator is drawn from in that order, so a seed always
/// gives the same report.
pub fn report(spec: &Spec) -> Report {
    let mut rng = Rng::new(spec.seed);
    let quality = 0.45 + 0.5 * ((rng.below(1000) as f64) / 1000.0);
    let vm_names: Vec<String> = (0..spec.vms)
        .map(|i| format!("{}-vm{:02}", spec.hostname, i + 1))
        .collect();
    let mut results = Vec::new();
    for rule in catalogue() {
        for (target, vm_index) in sample_targets(&mut rng, rule, &vm_names) {
            results.push(sample_finding(&mut rng, rule, target, vm_index, quality));
        }
    }
    let host = score::score_unit(results.iter().filter(|f| f.vm_index.is_none()));
    let (vms, vm_scores) = sample_vms(&mut rng, &vm_names, &results);
    let all = score::score_unit(results.iter());
    let blockers = results
        .iter()
        .filter(|f| f.blocker)
        .map(|f| format!("{} {}", f.rule, f.target))
        .collect();
    Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool: ToolInfo {
            name: "kvmaudit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        generated_at: spec.generated_at.clone(),
        profile: Profile::Throughput,
        host: sample_host(spec),
        score: Score {
            value: score::overall(host.value, &vm_scores),
            max: 100.0,
            host: host.value,
            blockers,
            coverage: all.coverage.or(host.coverage),
            not_readable: None,
            not_evaluated: None,
            insufficient_evidence: score::insufficient_evidence(
                score::overall(host.value, &vm_scores),
                all.coverage.or(host.coverage),
            ),
            counts: score::counts(results.iter()),
        },
        vms,
        rule_totals: crate::vocab::RuleTotal::of(results.iter()),
        results,
        notes: Vec::new(),
        labels: Default::default(),
    }
}

/// A rule's targets: the host, or each VM (each of its drives, its NIC or an assigned device
/// for per-device rules).
fn sample_targets(
    rng: &mut Rng,
    rule: &RuleMeta,
    vm_names: &[String],
) -> Vec<(String, Option<usize>)> {
    let per = per_device(rule);
    if rule.scope.as_str() == "host" {
        return vec![("host".into(), None)];
    }
    let mut t = Vec::new();
    for (v, vm) in vm_names.iter().enumerate() {
        match per {
            "drive" => {
                for d in 0..=rng.below(2) {
                    t.push((format!("vm:{vm}/drive:libvirt-{}-format", d + 1), Some(v)));
                }
            }
            "net" => t.push((format!("vm:{vm}/net:hostnet0"), Some(v))),
            "dev" => t.push((format!("vm:{vm}/dev:0000:3b:00.{}", rng.below(4)), Some(v))),
            _ => t.push((format!("vm:{vm}"), Some(v))),
        }
    }
    t
}

/// One finding of `rule` on `target`, its status drawn with the host's `quality`.
fn sample_finding(
    rng: &mut Rng,
    rule: &'static RuleMeta,
    target: String,
    vm_index: Option<usize>,
    quality: f64,
) -> Finding {
    let (id, section, title) = (rule.id.as_str(), rule.section.as_str(), rule.title.as_str());
    let (scope, sev) = (rule.scope.as_str(), rule.severity);
    let st = status(rng, quality);
    let (observed, expected) = match st {
        Status::Pass => ("as recommended".to_string(), "as recommended".to_string()),
        Status::Unknown => ("unreadable (permission denied)".into(), "readable".into()),
        _ => (
            format!("value {}", rng.below(100)),
            "the guide's value".to_string(),
        ),
    };
    let blocker = id == "qemu.blk.cache" && st == Status::Fail && rng.chance(0.2);
    Finding {
        rule: id.into(),
        title: title.into(),
        section: section.into(),
        scope: scope.into(),
        target: target.clone(),
        vm_index,
        status: st,
        severity: sev,
        evidence: (0..1 + rng.below(3))
            .map(|k| Evidence {
                source: format!("/sys/kernel/{}/{k}", id.replace('.', "/")),
                observed: observed.clone(),
                expected: Some(expected.clone()),
            })
            .collect(),
        message: format!("{title}: {} on {target}", st.as_str()),
        data: Vec::new(),
        remediation: Remediation {
            summary: format!("Follow guide §{section} for {id}.").into(),
            reboot: section.starts_with("2.1"),
            automatable: scope == "host",
            mode: if scope == "host" { "yes" } else { "no" }.into(),
            disruption: if scope == "host" { "none" } else { "vm" }.into(),
        },
        pending_reboot: false,
        blocker,
        waiver: None,
    }
}

/// The VMs, each scored from its findings, with the (score, vCPUs) pairs the overall score
/// weighs.
fn sample_vms(
    rng: &mut Rng,
    vm_names: &[String],
    results: &[Finding],
) -> (Vec<VmEntry>, Vec<(Option<f64>, u32)>) {
    let mut vms = Vec::new();
    let mut vm_scores = Vec::new();
    for (i, name) in vm_names.iter().enumerate() {
        let s = score::score_unit(results.iter().filter(|f| f.vm_index == Some(i)));
        let vcpus = [2u32, 4, 8, 16][rng.below(4) as usize];
        vm_scores.push((s.value, vcpus));
        vms.push(VmEntry {
            name: name.clone(),
            label: None,
            pid: Some(4000 + i as u32),
            uuid: None,
            source: format!("/proc/{}/cmdline", 4000 + i),
            score: VmScore {
                value: s.value,
                coverage: s.coverage,
                insufficient_evidence: score::insufficient_evidence(s.value, s.coverage),
            },
            vcpus: Some(vcpus),
            memory_bytes: Some(u64::from(vcpus) << 31),
            machine: Some("pc-q35-8.2".into()),
            guest_numa_nodes: None,
            libvirt: false,
            state: None,
        });
    }
    (vms, vm_scores)
}

/// The host block of an Ice Lake-SP server (a Dell R750, two sockets).
fn sample_host(spec: &Spec) -> HostBlock {
    HostBlock {
        hostname: Some(spec.hostname.clone()),
        machine_id: None,
        smbios_uuid: None,
        source: "live".into(),
        sos: None,
        cpu: CpuBlock {
            vendor: Some("GenuineIntel".into()),
            family: Some(6),
            model: Some(106),
            stepping: Some(6),
            brand: Some("Intel(R) Xeon(R) Gold 6330 CPU @ 2.00GHz".into()),
            codename: Some("Ice Lake-SP".into()),
            vmx: Some(true),
            hypervisor: Some(false),
            sockets: Some(2),
            cores: Some(56),
            threads: Some(112),
        },
        platform: PlatformBlock {
            vendor: Some("Dell Inc.".into()),
            product: Some("PowerEdge R750".into()),
            bios_vendor: Some("Dell Inc.".into()),
            bios_version: Some("1.6.5".into()),
        },
        kernel: KernelBlock {
            release: Some("5.14.0-362.24.1.el9_3.x86_64".into()),
            cmdline: Some("BOOT_IMAGE=/vmlinuz ro intel_iommu=on iommu=pt".into()),
        },
        numa_nodes: Some(2),
        platform_note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_rule_is_reported_in_catalogue_order_with_its_own_texts() {
        let r = report(&Spec::new(1, "hv"));
        let ids: Vec<&str> = r.rule_totals.iter().map(|t| t.rule.as_str()).collect();
        let want: Vec<&str> = catalogue().iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, want);
        for f in &r.results {
            let m = crate::vocab::catalogue::find(&f.rule).unwrap();
            assert_eq!(
                (&*f.title, &*f.section),
                (m.title.as_str(), m.section.as_str())
            );
        }
    }

    #[test]
    fn device_rules_are_judged_per_drive_nic_or_device() {
        let kinds = |k: &str| -> Vec<&str> {
            catalogue()
                .iter()
                .filter(|m| per_device(m) == k)
                .map(|m| m.id.as_str())
                .collect()
        };
        assert_eq!(kinds("drive").len(), 6, "{:?}", kinds("drive"));
        assert_eq!(kinds("net").len(), 5, "{:?}", kinds("net"));
        assert_eq!(kinds("dev"), ["qemu.numa.device-locality"]);
        let r = report(&Spec::new(2, "hv"));
        assert!(r
            .results
            .iter()
            .filter(|f| f.rule == "qemu.blk.cache")
            .all(|f| f.target.contains("/drive:") && f.vm_index.is_some()));
    }
}
