//! Baseline and inventory (guide §1, §2, §3.1): which platform the rule set is judging, how much
//! of the host the VMs claim, the kernel and QEMU baselines, and whether each VM really runs on
//! KVM.

use super::{Check, CheckFn};
use crate::model::vm::KvmUse;
use crate::parse::cpulist;
use crate::rules::context::Ctx;
use crate::rules::facts::flags::{hugepage_pool_bytes, vcpus};
use crate::rules::facts::kernel::release_version;
use crate::rules::facts::machine::{machine_version, MachineVersion};
use crate::rules::facts::platform::{self, isolated_cpus};
use crate::rules::facts::vm_runtime::{self, RuntimeAccel};
use crate::rules::outcome::Outcome;
use crate::rules::units::VmUnit;
use std::collections::BTreeSet;

pub const CHECKS: &[(&str, CheckFn)] = &[
    ("base.platform.cpu", Check::host(platform_cpu)),
    ("base.capacity.commit", Check::host(capacity_commit)),
    ("base.kernel.version", Check::host(kernel_version)),
    ("base.qemu.version", Check::vm(qemu_version)),
    ("qemu.accel.kvm", Check::vm(accel_kvm)),
];

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / GIB)
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

// ---------------------------------------------------------------------------------------------
// base.platform.cpu

/// Identify the part by vendor/family/model (never the brand string) and say what that means
/// for the rest of the rule set.
fn platform_cpu(ctx: &Ctx) -> Vec<Outcome> {
    let cpu = &ctx.host.cpu;
    let (Some(vendor), Some(family), Some(model)) = (&cpu.vendor, cpu.family, cpu.model) else {
        let why = if ctx.host.cpu_notes.is_empty() {
            "neither CPUID nor /proc/cpuinfo was recorded".to_string()
        } else {
            ctx.host.cpu_notes.join("; ")
        };
        return vec![Outcome::unknown(
            "host",
            format!("the CPU could not be identified: {why}"),
        )];
    };
    let stepping = cpu
        .stepping
        .map_or_else(|| "?".to_string(), |s| s.to_string());
    let ident = format!("{vendor} family {family} model {model} (0x{model:X}) stepping {stepping}");
    let codename = cpu.codename.as_deref();
    let mut msg = match (vendor.as_str(), family, model) {
        ("GenuineIntel", 6, 0x6A) => format!(
            "{ident}: Ice Lake-SP, the platform the guide and this rule set are calibrated for"
        ),
        ("GenuineIntel", _, _) => format!(
            "{ident}{}: an Intel part other than Ice Lake-SP — the rules apply, but BIOS menu paths and labels differ",
            codename.map(|c| format!(" ({c})")).unwrap_or_default()
        ),
        ("AuthenticAMD", _, _) => format!(
            "{ident}{}: not the guide's platform — the Intel bios.* rules do not apply (use AMD's equivalents)",
            codename.map(|c| format!(" ({c})")).unwrap_or_default()
        ),
        _ => format!("{ident}: not the guide's platform; the Intel-specific rules do not apply"),
    };
    if cpu.hypervisor == Some(true) {
        msg.push_str(&format!(
            "; the hypervisor bit is set, so this system is itself a VM{}: bios.*, host.kvm.ple and host.kvm.exitless-timer do not apply and any VMs here are nested",
            cpu.hypervisor_vendor
                .as_deref()
                .map(|v| format!(" ({v})"))
                .unwrap_or_default()
        ));
    }
    let mut o = Outcome::info("host", msg)
        .ev(
            format!("CPU identity ({})", cpu.source),
            ident.clone(),
            "GenuineIntel family 6 model 106 (0x6A)",
        )
        .ev(
            "CPUID.1:ECX[31] hypervisor",
            yes_no(cpu.hypervisor),
            "no (bare metal)",
        );
    if let Some(b) = &cpu.brand {
        o = o.ev("model name", b.clone(), "");
    }
    if let Some(s) = ctx.host.topology.sockets {
        o = o.ev(platform::PACKAGE_ID_SOURCE, format!("{s} socket(s)"), "");
    }
    if let Some(p) = ctx.host.platform.as_ref() {
        if let Some(v) = p.processors.iter().find_map(|p| p.version.clone()) {
            o = o.ev("SMBIOS type 4 version", v, "");
        }
    }
    vec![o]
}

// ---------------------------------------------------------------------------------------------
// base.capacity.commit

/// Inventory only (info): vCPUs and guest RAM against what the host has, and the two
/// overcommit flags every conditional rule consumes.
fn capacity_commit(ctx: &Ctx) -> Vec<Outcome> {
    let online = ctx.host.topology.online.as_ref();
    let isolated = isolated_cpus(ctx);
    let usable = online.map(|o| {
        if isolated.is_empty() {
            o.len()
        } else {
            o.intersection(&isolated).count()
        }
    });
    let GuestTotals {
        vcpu_sum,
        vcpu_known,
        ram_sum,
        ram_known,
    } = guest_totals(ctx);
    let mem_total = ctx.host.meminfo.as_ref().and_then(|m| m.mem_total());
    let pools = hugepage_pool_bytes(ctx);
    let nvms = ctx.host.vms.len();

    let cpu_part = match (online, usable) {
        (Some(o), Some(u)) => {
            let hk = if isolated.is_empty() {
                String::new()
            } else {
                format!(" ({u} outside housekeeping)")
            };
            let ratio = if u > 0 && vcpu_known {
                format!(", ratio {:.2}:1", f64::from(vcpu_sum) / u as f64)
            } else {
                String::new()
            };
            format!(
                "{}{vcpu_sum} vCPUs on {} pCPUs{hk}{ratio}",
                if vcpu_known { "" } else { "at least " },
                o.len()
            )
        }
        _ => format!("{vcpu_sum} vCPUs; online pCPUs unknown"),
    };
    let mem_part = match mem_total {
        Some(t) if t > 0 => format!(
            "{}{} guest RAM of {} MemTotal ({:.0} %), huge page pools {}",
            if ram_known { "" } else { "at least " },
            gib(ram_sum),
            gib(t),
            100.0 * ram_sum as f64 / t as f64,
            pools.map_or_else(|| "unknown".to_string(), gib)
        ),
        _ => format!("{} guest RAM; MemTotal unknown", gib(ram_sum)),
    };
    let flags = format!(
        "CPU overcommitted: {}, memory overcommitted: {}",
        yes_no(ctx.flags.cpu_overcommitted),
        yes_no(ctx.flags.mem_overcommitted)
    );
    let msg = if nvms == 0 {
        format!(
            "no running VMs; {} pCPUs online, MemTotal {}",
            online.map_or_else(|| "unknown".to_string(), |o| o.len().to_string()),
            mem_total.map_or_else(|| "unknown".to_string(), gib)
        )
    } else {
        format!("{nvms} VM(s): {cpu_part}; {mem_part}; {flags}")
    };
    let o = capacity_evidence(ctx, Outcome::info("host", msg), &isolated);
    // The commitment as data: the fix planner reads it from a report (ple_gap=0 is refused on
    // an overcommitted host) instead of the message above.
    let commit = crate::report::Datum::CpuCommit {
        vcpus: vcpu_known.then_some(vcpu_sum),
        cpus: online.and_then(|o| u32::try_from(o.len()).ok()),
        overcommitted: ctx.flags.cpu_overcommitted,
    };
    vec![o.datum(commit)]
}

/// vCPUs and guest RAM over all VMs; `*_known` is false when some VM's could not be read
/// (the sums are then lower bounds).
struct GuestTotals {
    vcpu_sum: u32,
    vcpu_known: bool,
    ram_sum: u64,
    ram_known: bool,
}

fn guest_totals(ctx: &Ctx) -> GuestTotals {
    let mut t = GuestTotals {
        vcpu_sum: 0,
        vcpu_known: true,
        ram_sum: 0,
        ram_known: true,
    };
    for vm in &ctx.host.vms {
        match vcpus(ctx, vm) {
            Some(n) => t.vcpu_sum = t.vcpu_sum.saturating_add(n),
            None => t.vcpu_known = false,
        }
        let pieces = vm.model.guest_ram();
        let sized: Option<u64> = pieces
            .iter()
            .map(|p| p.size_bytes)
            .try_fold(0u64, |a, s| s.map(|s| a.saturating_add(s)));
        match sized.or(vm.model.memory.size_bytes) {
            Some(b) => t.ram_sum = t.ram_sum.saturating_add(b),
            None => t.ram_known = false,
        }
    }
    t
}

/// The rows of base.capacity.commit: online CPUs, MemTotal, isolated CPUs, each VM.
fn capacity_evidence(ctx: &Ctx, o: Outcome, isolated: &BTreeSet<u32>) -> Outcome {
    let online = ctx.host.topology.online.as_ref();
    let mem_total = ctx.host.meminfo.as_ref().and_then(|m| m.mem_total());
    let mut o = o
        .ev(
            platform::CPU_ONLINE,
            online.map_or_else(
                || platform::cpu_online_file(ctx).why(),
                |o| format!("{} CPUs ({})", o.len(), cpulist::format(o)),
            ),
            "",
        )
        .ev(
            platform::MEMTOTAL_SOURCE,
            mem_total.map_or_else(|| platform::meminfo_file(ctx).why(), gib),
            "",
        );
    if !isolated.is_empty() {
        o = o.ev(platform::ISOLATED_SOURCE, cpulist::format(isolated), "");
    }
    for vm in &ctx.host.vms {
        o = o.ev(
            vm.source.clone(),
            format!(
                "{}: {} vCPUs, {}",
                vm.name(),
                vcpus(ctx, vm).map_or_else(|| "?".to_string(), |n| n.to_string()),
                vm.model
                    .memory
                    .size_bytes
                    .map_or_else(|| "RAM unknown".to_string(), gib)
            ),
            "",
        );
    }
    o
}

// ---------------------------------------------------------------------------------------------
// base.kernel.version

/// Features the guide relies on, with the mainline release that brought them.
const KERNEL_FEATURES: &[((u32, u32), &str)] = &[
    ((5, 1), "io_uring (5.1)"),
    ((5, 2), "EPB in sysfs (5.2)"),
    ((5, 4), "guest haltpoll governor (5.4, guest side)"),
    ((5, 8), "KVM_CAP_HALT_POLL (5.8)"),
    ((5, 9), "cpufreq.default_governor= (5.9)"),
];

fn kernel_version(ctx: &Ctx) -> Vec<Outcome> {
    let src = platform::OSRELEASE;
    let Some(release) = ctx.host.kernel_release.as_deref() else {
        let why = platform::osrelease_file(ctx).why();
        return vec![
            Outcome::unknown("host", format!("kernel release not readable ({why})"))
                .ev(src, why, ">= 5.12"),
        ];
    };
    let Some(v) = release_version(release) else {
        return vec![Outcome::unknown(
            "host",
            format!("kernel release '{release}' has no major.minor version"),
        )
        .ev(src, release, ">= 5.12")];
    };
    let o = if v >= (5, 12) {
        Outcome::pass("host", format!("kernel {release} meets the 5.12 baseline"))
    } else {
        let missing: Vec<&str> = KERNEL_FEATURES
            .iter()
            .filter(|(min, _)| v < *min)
            .map(|(_, f)| *f)
            .collect();
        let backports = if release.contains(".el") {
            " (an enterprise kernel: most of these are backported; the individual rules probe the features themselves)"
        } else {
            " (the individual rules probe the features themselves)"
        };
        let list = if missing.is_empty() {
            "every feature the guide names is already in this release".to_string()
        } else {
            format!("by version it lacks {}", missing.join(", "))
        };
        Outcome::warn(
            "host",
            format!("kernel {release} is older than the 5.12 baseline: {list}{backports}"),
        )
    };
    vec![o.ev(src, release, ">= 5.12")]
}

// ---------------------------------------------------------------------------------------------
// base.qemu.version

/// The running QEMU's version is not in argv: a versioned machine type is a lower bound, and
/// `-realtime` (removed in 6.0) proves an older binary.
fn qemu_version(ctx: &Ctx, u: &VmUnit) -> Outcome {
    let (vm, target) = (u.vm, u.target.clone());
    let proc_ = ctx.process(vm);
    let deleted = proc_.is_some_and(|p| p.exe_deleted);
    let exe = proc_
        .and_then(|p| p.exe.as_ref())
        .and_then(|e| e.get().cloned())
        .unwrap_or_else(|| vm.model.binary.clone());
    let exe_obs = if deleted {
        format!("{exe} (deleted): replaced since the VM started, the running binary is older than the installed one")
    } else {
        exe.clone()
    };
    let exe_src = vm_runtime::exe_source(vm);
    let machine = vm.model.machine.machine_type.clone();
    let realtime = vm
        .model
        .overcommit
        .occurrences
        .iter()
        .any(|o| o.option == "realtime");
    let mver = machine
        .as_deref()
        .map_or(MachineVersion::Unversioned, machine_version);
    let ask = if deleted {
        "ask the running process: virsh qemu-monitor-command DOM '{\"execute\":\"query-version\"}' (or QMP query-version)"
    } else {
        "run the binary with --version, or QMP query-version"
    };
    let known = ctx.qemu_version(vm);
    let o = if realtime {
        Outcome::warn(
            &target,
            "argv uses -realtime, which QEMU removed in 6.0: the running binary is older than the 6.0 baseline (packed rings, io_uring and the 6.0 defaults may be missing)",
        )
    } else if let Some(k) = known.as_ref().filter(|k| k.major_minor < (6, 0)) {
        Outcome::warn(
            &target,
            format!(
                "QEMU {} (from {}) is older than the 6.0 baseline: packed rings, io_uring and the 6.0 defaults are missing",
                k.text, k.source
            ),
        )
    } else if let (Some(k), false) = (
        known.as_ref(),
        matches!(&mver, MachineVersion::AtLeast(v, _) if *v < (6, 0)),
    ) {
        Outcome::pass(
            &target,
            format!(
                "QEMU {} (from {}) is >= 6.0{}",
                k.text,
                k.source,
                if deleted {
                    "; the binary was replaced on disk since the VM started, the version is the running one's"
                } else {
                    ""
                }
            ),
        )
    } else {
        match &mver {
            MachineVersion::AtLeast(v, why) if *v >= (6, 0) => Outcome::pass(
                &target,
                format!(
                    "{why} (>= 6.0){}",
                    if deleted {
                        "; the binary was upgraded since the VM started, but the machine type still proves the baseline"
                    } else {
                        ""
                    }
                ),
            ),
            MachineVersion::AtLeast(v, why) => Outcome::warn(
                &target,
                format!(
                    "{why}, which does not show the binary is >= 6.0, and the VM keeps the pre-6.0 machine defaults (virtio-blk num-queues 1 before 5.2, fixed virtio-net vectors before 6.0) whatever the binary; raise the machine type (pc-q35-{}.{} or later) at the next restart",
                    v.0.max(6),
                    if v.0 >= 6 { v.1 } else { 0 }
                ),
            ),
            MachineVersion::Unversioned => Outcome::unknown(
                &target,
                format!(
                    "the QEMU version is not in argv and the machine type {} carries none; {ask}",
                    machine
                        .as_deref()
                        .map_or_else(|| "(binary default)".to_string(), |m| format!("'{m}'"))
                ),
            ),
        }
    };
    let o = match &known {
        Some(k) => o.ev(k.source.clone(), format!("QEMU {}", k.text), ">= 6.0"),
        None => o,
    };
    o.ev(exe_src, exe_obs, "")
        .ev(
            format!("{} -machine", vm.source),
            machine.unwrap_or_else(|| "not given (binary default)".into()),
            "a machine type of QEMU >= 6.0 (e.g. pc-q35-6.0)",
        )
        .ev(
            format!("{} -realtime", vm.source),
            if realtime { "present" } else { "absent" },
            "absent (removed in QEMU 6.0)",
        )
}

// ---------------------------------------------------------------------------------------------
// qemu.accel.kvm

fn accel_kvm(ctx: &Ctx, u: &VmUnit) -> Outcome {
    let (vm, target) = (u.vm, u.target.clone());
    let base = vm
        .model
        .binary
        .rsplit('/')
        .next()
        .unwrap_or(&vm.model.binary);
    if let Some(arch) = base.strip_prefix("qemu-system-") {
        if !matches!(arch, "x86_64" | "i386") {
            return Outcome::na(
                &target,
                format!("{base} emulates another architecture; KVM on this x86 host cannot accelerate it"),
            )
            .ev(format!("{} argv[0]", vm.source), vm.model.binary.clone(), "");
        }
    }
    let argv = vm.model.is_kvm();
    let accel_list: Vec<String> = vm
        .model
        .accel
        .list
        .iter()
        .map(|a| format!("{} (from {})", a.name, a.source))
        .collect();
    let argv_obs = if accel_list.is_empty() {
        format!("no accelerator given; binary {}", vm.model.binary)
    } else {
        accel_list.join(", ")
    };
    let argv_src = format!("{} accelerator options", vm.source);
    let o = match vm_runtime::accel(ctx, vm) {
        RuntimeAccel::Kvm(src, obs) => Outcome::pass(
            &target,
            format!("the VM runs on KVM (runtime proof: {obs})"),
        )
        .ev(src, obs, "anon_inode:kvm-vm / kvm-vcpu:N or 'CPU n/KVM'"),
        RuntimeAccel::Tcg(src, obs) => Outcome::fail(
            &target,
            "the VM runs under TCG emulation, not KVM: add -accel kvm (libvirt <domain type='kvm'>) and check bios.vtx",
        )
        .ev(src, obs, "'CPU n/KVM'"),
        RuntimeAccel::NoKvmFds(src) => Outcome::fail(
            &target,
            "the QEMU process holds no KVM fds, so it is not using KVM (TCG emulation): add -accel kvm and check bios.vtx",
        )
        .ev(src, "no anon_inode:kvm-vm fd", "anon_inode:kvm-vm"),
        RuntimeAccel::None(why) => {
            let ev_src = vm_runtime::fd_source(vm);
            let o = match argv {
                KvmUse::Yes => Outcome::pass(
                    &target,
                    "argv selects KVM with no fallback (a running QEMU could not be on anything else); runtime proof was not readable",
                ),
                KvmUse::No => Outcome::fail(
                    &target,
                    if vm.model.accel.specified {
                        "argv selects TCG (software emulation) before KVM: use -accel kvm (libvirt <domain type='kvm'>)"
                    } else {
                        "no accelerator on the command line: upstream qemu-system-* then defaults to TCG emulation; add -accel kvm"
                    },
                ),
                KvmUse::Maybe => Outcome::warn(
                    &target,
                    "argv allows a silent fallback to TCG (e.g. accel=kvm:tcg) and runtime proof is not readable; use -accel kvm alone",
                ),
                KvmUse::Unknown => Outcome::unknown(
                    &target,
                    format!(
                        "no accelerator on the command line and the binary's default is not known; runtime proof unavailable ({why})"
                    ),
                ),
            };
            o.ev(ev_src, why, "anon_inode:kvm-vm / kvm-vcpu:N")
        }
    };
    o.ev(argv_src, argv_obs, "-accel kvm (or -enable-kvm)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Profile::Throughput;
    use crate::rules::testkit::{findings, status, SnapBuilder};

    /// A /proc/meminfo copy with only some fields (a trimmed sosreport, an unusual kernel)
    /// still gives MemTotal: the file is read field by field.
    #[test]
    fn partial_meminfo_keeps_mem_total() {
        let s = SnapBuilder::new()
            .icx("vmx")
            .topology(1, 2, 1)
            .file(
                "/proc/meminfo",
                "MemTotal:       65842100 kB\nHugepagesize:       2048 kB\nDirectMap1G: x\n",
            )
            .build();
        let f = &findings(&s, Throughput, "base.capacity.commit")[0];
        let mem = f
            .evidence
            .iter()
            .find(|e| e.source == "/proc/meminfo MemTotal")
            .unwrap();
        assert_eq!(mem.observed, gib(65842100 * 1024), "{}", f.message);
    }

    #[test]
    fn platform_identity() {
        let icx = SnapBuilder::new().icx("vmx").topology(2, 4, 2).build();
        let f = findings(&icx, Throughput, "base.platform.cpu");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].status.as_str(), "info");
        assert!(f[0].message.contains("Ice Lake-SP"), "{}", f[0].message);
        assert!(f[0].evidence.iter().any(|e| e.observed == "2 socket(s)"));

        let amd = SnapBuilder::new()
            .cpuinfo("AuthenticAMD", 23, 49, "svm")
            .build();
        let f = findings(&amd, Throughput, "base.platform.cpu");
        assert!(f[0].message.contains("do not apply"), "{}", f[0].message);

        let guest = SnapBuilder::new().icx("vmx hypervisor").build();
        let f = findings(&guest, Throughput, "base.platform.cpu");
        assert!(f[0].message.contains("itself a VM"), "{}", f[0].message);

        let none = SnapBuilder::new().build();
        assert_eq!(
            status(&none, Throughput, "base.platform.cpu", "host"),
            "unknown"
        );
    }

    #[test]
    fn capacity_inventory() {
        let s = SnapBuilder::new()
            .topology(1, 4, 1)
            .file("/sys/devices/system/cpu/nohz_full", "1-3")
            .vm(
                "qemu-system-x86_64 -name guest=a -smp 6 -m 8G",
                &[("CPU 0/KVM", "0-3", "0")],
            )
            .build();
        let f = findings(&s, Throughput, "base.capacity.commit");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].status.as_str(), "info");
        assert!(
            f[0].message
                .contains("6 vCPUs on 4 pCPUs (3 outside housekeeping), ratio 2.00:1"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].message.contains("CPU overcommitted: yes"),
            "{}",
            f[0].message
        );
        assert_eq!(
            f[0].data,
            vec![crate::report::Datum::CpuCommit {
                vcpus: Some(6),
                cpus: Some(4),
                overcommitted: Some(true)
            }]
        );
        let empty = SnapBuilder::new().topology(1, 2, 1).build();
        let f = findings(&empty, Throughput, "base.capacity.commit");
        assert_eq!(
            f[0].data,
            vec![crate::report::Datum::CpuCommit {
                vcpus: Some(0),
                cpus: Some(2),
                overcommitted: Some(false)
            }]
        );
        assert!(
            f[0].message.starts_with("no running VMs"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn kernel_baseline() {
        let k = |r: &str| {
            SnapBuilder::new()
                .file("/proc/sys/kernel/osrelease", r)
                .build()
        };
        assert_eq!(
            status(
                &k("6.1.0-50-amd64"),
                Throughput,
                "base.kernel.version",
                "host"
            ),
            "pass"
        );
        assert_eq!(
            status(&k("5.12.0"), Throughput, "base.kernel.version", "host"),
            "pass"
        );
        let old = k("4.18.0-553.el8_10.x86_64");
        let f = findings(&old, Throughput, "base.kernel.version");
        assert_eq!(f[0].status.as_str(), "warn");
        assert!(f[0].message.contains("io_uring (5.1)"), "{}", f[0].message);
        assert!(f[0].message.contains("backported"), "{}", f[0].message);
        let s = SnapBuilder::new()
            .denied("/proc/sys/kernel/osrelease")
            .build();
        assert_eq!(
            status(&s, Throughput, "base.kernel.version", "host"),
            "unknown"
        );
        assert_eq!(release_version("5.14.0-362.24.1.el9_3"), Some((5, 14)));
        assert_eq!(release_version("garbage"), None);
    }

    #[test]
    fn machine_types() {
        use MachineVersion::*;
        assert!(matches!(machine_version("pc-q35-6.0"), AtLeast((6, 0), _)));
        assert!(matches!(
            machine_version("pc-i440fx-2.11"),
            AtLeast((2, 11), _)
        ));
        assert!(matches!(
            machine_version("pc-q35-rhel9.2.0"),
            AtLeast((7, 2), _)
        ));
        assert!(matches!(
            machine_version("pc-i440fx-rhel7.6.0"),
            AtLeast((2, 12), _)
        ));
        assert_eq!(machine_version("q35"), Unversioned);
        assert_eq!(machine_version("pc"), Unversioned);
        assert_eq!(machine_version("microvm"), Unversioned);
        assert_eq!(machine_version("pc-q35-x.y"), Unversioned);
    }

    #[test]
    fn qemu_baseline() {
        let vm = |argv: &str| SnapBuilder::new().vm(argv, &[]).build();
        let s = vm("qemu-system-x86_64 -name guest=a -machine pc-q35-9.2,usb=off");
        assert_eq!(status(&s, Throughput, "base.qemu.version", "vm:a"), "pass");
        let s = vm("qemu-system-x86_64 -name guest=a -M pc-q35-5.1");
        assert_eq!(status(&s, Throughput, "base.qemu.version", "vm:a"), "warn");
        let s = vm("qemu-system-x86_64 -name guest=a -M pc-q35-9.0 -realtime mlock=off");
        assert_eq!(status(&s, Throughput, "base.qemu.version", "vm:a"), "warn");
        let s = vm("qemu-system-x86_64 -name guest=a -M q35");
        assert_eq!(
            status(&s, Throughput, "base.qemu.version", "vm:a"),
            "unknown"
        );
        // A deleted exe does not change a versioned machine type's proof, and says so.
        let s = SnapBuilder::new()
            .vm("qemu-system-x86_64 -name guest=a -M pc", &[])
            .with_last_vm(|p| p.exe_deleted = true)
            .build();
        let f = findings(&s, Throughput, "base.qemu.version");
        assert_eq!(f[0].status.as_str(), "unknown");
        assert!(f[0].message.contains("query-version"), "{}", f[0].message);
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.observed.contains("(deleted)")));
        let none = SnapBuilder::new().build();
        assert_eq!(
            status(&none, Throughput, "base.qemu.version", "host"),
            "not_applicable"
        );
    }

    #[test]
    fn qemu_baseline_from_the_found_version() {
        let with = |argv: &str, v: &str| {
            SnapBuilder::new()
                .vm(argv, &[])
                .with_last_vm(|p| {
                    p.version = Some(crate::snapshot::Sourced::value(
                        "/proc/1/exe",
                        v.to_string(),
                    ))
                })
                .build()
        };
        // An unversioned machine type said nothing; the binary's version settles it.
        let s = with("qemu-system-x86_64 -name guest=a -M q35", "7.2.22");
        let f = findings(&s, Throughput, "base.qemu.version");
        assert_eq!(f[0].status.as_str(), "pass", "{}", f[0].message);
        assert!(f[0].message.contains("QEMU 7.2.22"), "{}", f[0].message);
        assert!(f[0].evidence.iter().any(|e| e.source == "/proc/1/exe"));
        let s = with("qemu-system-x86_64 -name guest=a -M q35", "5.2.0");
        assert_eq!(status(&s, Throughput, "base.qemu.version", "vm:a"), "warn");
        // An old machine type keeps its old defaults on a new binary.
        let s = with("qemu-system-x86_64 -name guest=a -M pc-q35-5.1", "7.2.22");
        assert_eq!(status(&s, Throughput, "base.qemu.version", "vm:a"), "warn");
        // Unparseable: as if unknown.
        let s = with("qemu-system-x86_64 -name guest=a -M q35", "x");
        assert_eq!(
            status(&s, Throughput, "base.qemu.version", "vm:a"),
            "unknown"
        );
    }

    #[test]
    fn accel() {
        let kvm_threads = [("CPU 0/KVM", "0", "0")];
        // Runtime proof beats a fallback-prone argv.
        let s = SnapBuilder::new()
            .vm(
                "qemu-system-x86_64 -name guest=a -machine pc,accel=kvm:tcg",
                &[],
            )
            .with_last_vm(|p| {
                p.fds = Some(crate::snapshot::Sourced::value(
                    "/proc/1000/fd",
                    vec!["anon_inode:kvm-vm".into(), "anon_inode:kvm-vcpu:0".into()],
                ))
            })
            .build();
        assert_eq!(status(&s, Throughput, "qemu.accel.kvm", "vm:a"), "pass");
        let s = SnapBuilder::new()
            .vm("qemu-system-x86_64 -name guest=a -accel kvm", &kvm_threads)
            .build();
        assert_eq!(status(&s, Throughput, "qemu.accel.kvm", "vm:a"), "pass");
        // Upstream binary, no accelerator: TCG, and the threads say so.
        let s = SnapBuilder::new()
            .vm(
                "qemu-system-x86_64 -name guest=a",
                &[("CPU 0/TCG", "0", "0")],
            )
            .build();
        assert_eq!(status(&s, Throughput, "qemu.accel.kvm", "vm:a"), "fail");
        let s = SnapBuilder::new()
            .vm("qemu-system-x86_64 -name guest=a -accel tcg", &[])
            .build();
        assert_eq!(status(&s, Throughput, "qemu.accel.kvm", "vm:a"), "fail");
        // Fallback possible and no runtime proof.
        let s = SnapBuilder::new()
            .vm(
                "qemu-system-x86_64 -name guest=a -machine q35,accel=kvm:tcg",
                &[],
            )
            .build();
        assert_eq!(status(&s, Throughput, "qemu.accel.kvm", "vm:a"), "warn");
        // Distribution wrapper defaults to KVM.
        let s = SnapBuilder::new()
            .vm("/usr/libexec/qemu-kvm -name guest=a", &[])
            .build();
        assert_eq!(status(&s, Throughput, "qemu.accel.kvm", "vm:a"), "pass");
        // fds readable and no KVM among them: not KVM, whatever argv says.
        let s = SnapBuilder::new()
            .vm("qemu-system-x86_64 -name guest=a -enable-kvm", &[])
            .with_last_vm(|p| {
                p.fds = Some(crate::snapshot::Sourced::value(
                    "/proc/1000/fd",
                    vec!["/var/lib/images/a.qcow2".into()],
                ))
            })
            .build();
        assert_eq!(status(&s, Throughput, "qemu.accel.kvm", "vm:a"), "fail");
        let s = SnapBuilder::new()
            .vm("/opt/bin/myvmm -name guest=a", &[])
            .build();
        assert_eq!(status(&s, Throughput, "qemu.accel.kvm", "vm:a"), "unknown");
        let s = SnapBuilder::new()
            .vm("qemu-system-aarch64 -name guest=a -M virt", &[])
            .build();
        assert_eq!(
            status(&s, Throughput, "qemu.accel.kvm", "vm:a"),
            "not_applicable"
        );
    }
}
