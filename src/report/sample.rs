//! Synthetic but realistic reports: every rule of the catalogue's master index, a few VMs with
//! disks and NICs, statuses drawn from a seeded generator, scores computed by the real scoring
//! code. For renderer tests, the fleet benchmark and demos; never used by a scan.
#![doc(hidden)]

use super::host_block::{CpuBlock, HostBlock, KernelBlock, PlatformBlock};
use super::{
    Evidence, Finding, Profile, Remediation, Report, Score, Severity, Status, ToolInfo, VmEntry,
    VmScore, REPORT_SCHEMA_VERSION,
};
use crate::rules::score;

/// (id, guide section, scope, per-device kind or "-", severity, title): catalogue §4.
pub const RULES: &[(&str, &str, &str, &str, Severity, &str)] = &[
    (
        "base.platform.cpu",
        "1, 2",
        "host",
        "-",
        Severity::Info,
        "Platform is Ice Lake-SP (rule set calibrated for it)",
    ),
    (
        "base.capacity.commit",
        "2",
        "host",
        "-",
        Severity::Info,
        "vCPU / RAM commitment inventory (drives applicability)",
    ),
    (
        "base.kernel.version",
        "3.1",
        "host",
        "-",
        Severity::Low,
        "Host kernel ≥ 5.12 baseline",
    ),
    (
        "base.qemu.version",
        "3.1",
        "vm",
        "-",
        Severity::Low,
        "Running QEMU ≥ 6.0 baseline",
    ),
    (
        "qemu.accel.kvm",
        "3.1",
        "vm",
        "-",
        Severity::High,
        "VM really runs on KVM (not TCG)",
    ),
    (
        "bios.vtx",
        "2.1",
        "host",
        "-",
        Severity::High,
        "Intel VT-x enabled and usable",
    ),
    (
        "bios.vtd",
        "2.1",
        "host",
        "-",
        Severity::Medium,
        "Intel VT-d enabled in firmware (DMAR present)",
    ),
    (
        "host.iommu.enabled",
        "2.1, 5",
        "host",
        "-",
        Severity::Medium,
        "Kernel DMA remapping active (needed for VFIO/QAT)",
    ),
    (
        "bios.ht",
        "2.1",
        "host",
        "-",
        Severity::Low,
        "Hyper-Threading enabled",
    ),
    (
        "bios.numa",
        "2.1",
        "host",
        "-",
        Severity::Medium,
        "NUMA optimized (SRAT exposed, no socket interleave); SNC noted",
    ),
    (
        "bios.power-policy",
        "2.1",
        "host",
        "-",
        Severity::Low,
        "CPU Power & Performance Policy = Performance (EPB/EPP)",
    ),
    (
        "bios.eist",
        "2.1",
        "host",
        "-",
        Severity::Medium,
        "Enhanced Intel SpeedStep enabled",
    ),
    (
        "bios.turbo",
        "2.1",
        "host",
        "-",
        Severity::Medium,
        "Turbo Boost enabled (firmware and OS)",
    ),
    (
        "bios.eet",
        "2.1",
        "host",
        "-",
        Severity::Low,
        "Energy Efficient Turbo disabled",
    ),
    (
        "bios.hwp-native",
        "2.1",
        "host",
        "-",
        Severity::Low,
        "Hardware P-states in Native mode",
    ),
    (
        "bios.c1e",
        "2.1",
        "host",
        "-",
        Severity::Low,
        "C1E disabled",
    ),
    (
        "bios.c6",
        "2.1",
        "host",
        "-",
        Severity::Low,
        "Processor (core) C6 disabled",
    ),
    (
        "hw.qat.pcie-link",
        "5",
        "host",
        "-",
        Severity::Low,
        "QAT card negotiated its full PCIe speed/width",
    ),
    (
        "host.numa.balancing",
        "3.2.1",
        "host",
        "-",
        Severity::Medium,
        "Automatic NUMA balancing vs manual placement",
    ),
    (
        "qemu.numa.vm-placement",
        "3.2.1",
        "vm",
        "-",
        Severity::Medium,
        "VM CPUs and memory confined to one host node",
    ),
    (
        "qemu.numa.memory-locality",
        "3.2.1",
        "vm",
        "-",
        Severity::Medium,
        "Measured guest-RAM locality",
    ),
    (
        "qemu.numa.device-locality",
        "3.2.1",
        "vm",
        "dev",
        Severity::Medium,
        "VM node = NUMA node of its NIC / disk / VFIO devices",
    ),
    (
        "host.irq.affinity",
        "3.2.1",
        "host",
        "-",
        Severity::Low,
        "IRQs of VM-used devices on the VM's node",
    ),
    (
        "host.cpufreq.governor",
        "3.2.2",
        "host",
        "-",
        Severity::Medium,
        "Scaling governor = performance",
    ),
    (
        "host.hugepages.pool",
        "3.2.3",
        "host",
        "-",
        Severity::Medium,
        "Static 1G/2M pools reserved per node and sufficient",
    ),
    (
        "host.hugepages.mount",
        "3.2.3",
        "host",
        "-",
        Severity::Low,
        "hugetlbfs mounted for every page size in use",
    ),
    (
        "qemu.mem.hugepages",
        "3.2.3",
        "vm",
        "-",
        Severity::Medium,
        "Guest RAM actually backed by huge pages",
    ),
    (
        "host.thp",
        "3.2.3",
        "host",
        "-",
        Severity::Medium,
        "Transparent Huge Pages usable by QEMU",
    ),
    (
        "host.idle.poll",
        "3.2.4",
        "host",
        "-",
        Severity::Info,
        "`idle=poll` (optional latency trade-off)",
    ),
    (
        "host.kvm.ple",
        "3.2.4",
        "host",
        "-",
        Severity::Low,
        "Pause-Loop Exiting off for dedicated-CPU hosts",
    ),
    (
        "host.ksm.state",
        "3.2.5",
        "host",
        "-",
        Severity::Info,
        "KSM running state matches memory-overcommit policy",
    ),
    (
        "host.ksm.tuning",
        "3.2.5",
        "host",
        "-",
        Severity::Info,
        "KSM sysfs controls and ksmtuned",
    ),
    (
        "qemu.mem.merge",
        "3.2.5",
        "vm",
        "-",
        Severity::Info,
        "Per-VM KSM opt-in/out (mem-merge / merge=)",
    ),
    (
        "host.kvm.halt-poll",
        "3.2.6",
        "host",
        "-",
        Severity::Info,
        "KVM halt-polling parameters",
    ),
    (
        "host.nohz-full.housekeeping",
        "3.2.7",
        "host",
        "-",
        Severity::Low,
        "nohz_full with ≥1 housekeeping CPU per NUMA node",
    ),
    (
        "host.kvm.exitless-timer",
        "3.2.7",
        "host",
        "-",
        Severity::Low,
        "Posted (exit-less) LAPIC timer actually effective",
    ),
    (
        "qemu.overcommit.cpu-pm",
        "3.3.1",
        "vm",
        "-",
        Severity::Low,
        "`-overcommit cpu-pm=on` only for dedicated vCPUs",
    ),
    (
        "qemu.overcommit.mem-lock",
        "3.3.1",
        "vm",
        "-",
        Severity::Low,
        "`-overcommit mem-lock=on` only without memory overcommit",
    ),
    (
        "qemu.net.virtio-model",
        "3.3.2, 3.3.3",
        "vm",
        "net",
        Severity::Medium,
        "Guest NICs are virtio-net",
    ),
    (
        "qemu.net.vhost",
        "3.3.3",
        "vm",
        "net",
        Severity::High,
        "vhost-net kernel backend in use",
    ),
    (
        "qemu.net.multiqueue",
        "3.3.3",
        "vm",
        "net",
        Severity::Medium,
        "virtio-net multiqueue configured and used",
    ),
    (
        "qemu.net.packed",
        "3.3.3",
        "vm",
        "net",
        Severity::Low,
        "Packed virtqueue negotiated on NICs",
    ),
    (
        "host.vhost-net.zcopytx",
        "3.3.3",
        "host",
        "-",
        Severity::Info,
        "vhost_net experimental_zcopytx",
    ),
    (
        "qemu.net.poll-us",
        "3.3.3",
        "vm",
        "net",
        Severity::Info,
        "vhost busy-poll (`poll-us`) sane",
    ),
    (
        "qemu.blk.virtio-bus",
        "3.3.4",
        "vm",
        "drive",
        Severity::Medium,
        "Data disks use virtio-blk",
    ),
    (
        "qemu.blk.cache",
        "3.3.4",
        "vm",
        "drive",
        Severity::Medium,
        "Cache mode none (no host page cache)",
    ),
    (
        "qemu.blk.aio",
        "3.3.4",
        "vm",
        "drive",
        Severity::Medium,
        "aio=native or io_uring (effective)",
    ),
    (
        "qemu.blk.num-queues",
        "3.3.4",
        "vm",
        "drive",
        Severity::Low,
        "virtio-blk multi-queue",
    ),
    (
        "qemu.blk.packed",
        "3.3.4",
        "vm",
        "drive",
        Severity::Low,
        "Packed virtqueue negotiated on disks",
    ),
    (
        "qemu.blk.iothread",
        "3.3.4",
        "vm",
        "drive",
        Severity::Medium,
        "Dedicated (pinned) IOThread per busy disk",
    ),
    (
        "guest.haltpoll.driver",
        "3.4.1",
        "guest",
        "-",
        Severity::Low,
        "cpuidle-haltpoll driver + haltpoll governor active",
    ),
    (
        "guest.haltpoll.poll-ns",
        "3.4.1",
        "guest",
        "-",
        Severity::Info,
        "guest_halt_poll_ns and friends",
    ),
    (
        "guest.cmdline.no-idle",
        "3.4.1",
        "guest",
        "-",
        Severity::Low,
        "No `idle=` on the guest command line",
    ),
    (
        "guest.blk.rq-affinity",
        "3.4.2",
        "guest",
        "-",
        Severity::Low,
        "rq_affinity = 2 on multi-queue virtio disks",
    ),
    (
        "host.pmem.kconfig",
        "4",
        "host",
        "-",
        Severity::Low,
        "Kernel built with the PMem/DAX stack (corrected list)",
    ),
    (
        "host.pmem.appdirect",
        "4.1",
        "host",
        "-",
        Severity::Medium,
        "PMem provisioned in App Direct mode",
    ),
    (
        "host.pmem.devdax",
        "4.2",
        "host",
        "-",
        Severity::Medium,
        "devdax namespace(s) exist for VMs",
    ),
    (
        "qemu.pmem.nvdimm",
        "4.2",
        "vm",
        "-",
        Severity::Medium,
        "VM exposes a vNVDIMM backed by /dev/daxX.Y correctly",
    ),
    (
        "guest.pmem.visible",
        "4.2",
        "guest",
        "-",
        Severity::Info,
        "Guest sees /dev/pmem* and mounts with DAX",
    ),
    (
        "host.qat.sriov",
        "5",
        "host",
        "-",
        Severity::Medium,
        "QAT PF has SR-IOV VFs",
    ),
    (
        "host.qat.vfio-bind",
        "5",
        "host",
        "-",
        Severity::Medium,
        "QAT VFs bound to vfio-pci with viable IOMMU groups",
    ),
    (
        "qemu.qat.passthrough",
        "5",
        "vm",
        "-",
        Severity::Medium,
        "QAT VF assigned to VM via vfio-pci, node-local",
    ),
];

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

/// One synthetic report.
pub fn report(spec: &Spec) -> Report {
    let mut rng = Rng::new(spec.seed);
    let quality = 0.45 + 0.5 * ((rng.below(1000) as f64) / 1000.0);
    let vm_names: Vec<String> = (0..spec.vms)
        .map(|i| format!("{}-vm{:02}", spec.hostname, i + 1))
        .collect();
    let mut results = Vec::new();
    for &(id, section, scope, per, sev, title) in RULES {
        let targets: Vec<(String, Option<usize>)> = if scope == "host" {
            vec![("host".into(), None)]
        } else {
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
        };
        for (target, vm_index) in targets {
            let st = status(&mut rng, quality);
            let (observed, expected) = match st {
                Status::Pass => ("as recommended".to_string(), "as recommended".to_string()),
                Status::Unknown => ("unreadable (permission denied)".into(), "readable".into()),
                _ => (
                    format!("value {}", rng.below(100)),
                    "the guide's value".to_string(),
                ),
            };
            let blocker = id == "qemu.blk.cache" && st == Status::Fail && rng.chance(0.2);
            results.push(Finding {
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
            });
        }
    }
    let host = score::score_unit(results.iter().filter(|f| f.vm_index.is_none()));
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
        });
    }
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
        host: HostBlock {
            hostname: Some(spec.hostname.clone()),
            machine_id: None,
            smbios_uuid: None,
            source: "live".into(),
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
        },
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
        rule_totals: crate::report::RuleTotal::of(results.iter()),
        results,
        notes: Vec::new(),
        labels: Default::default(),
    }
}
