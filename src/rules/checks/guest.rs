//! Guest kernel settings of guide §3.4: cpuidle-haltpoll, its governor parameters, no `idle=`,
//! and `rq_affinity` on multi-queue virtio disks.
//!
//! Two situations:
//! * on a hypervisor, per VM (`vm:NAME`): there is no guest channel, so the guest side is
//!   `unknown` ("run kvmaudit inside the guest"); what the host side can already decide is
//!   decided (a dedicated VM without `kvm-hint-dedicated=on` cannot load the driver), and VMs
//!   whose vCPUs are not dedicated are not applicable;
//! * inside a guest (`nested`), on target `host`, from the guest's own files and CPUID.

use super::CheckFn;
use crate::model::host::Vm;
use crate::model::vm::{DiskBus, KvmUse};
use crate::parse::sysfs;
use crate::report::{Profile, Status};
use crate::rules::context::{Ctx, Got};
use crate::rules::facts::vm_args::argv_src;
use crate::rules::outcome::Outcome;

pub const CHECKS: &[(&str, CheckFn)] = &[
    ("guest.haltpoll.driver", haltpoll_driver),
    ("guest.haltpoll.poll-ns", haltpoll_poll_ns),
    ("guest.cmdline.no-idle", no_idle),
    ("guest.blk.rq-affinity", rq_affinity),
];

const NO_CHANNEL: &str = "no guest channel: run kvmaudit inside the guest";
const CPUIDLE: &str = "/sys/devices/system/cpu/cpuidle";

fn in_guest(ctx: &Ctx) -> bool {
    ctx.flags.nested == Some(true)
}

// ---------------------------------------------------------------------------------------------
// Hypervisor side

/// Whether a VM is a candidate for guest halt polling: `Err(outcome)` when it is not (or cannot
/// be told), with the outcome to report.
fn vm_dedicated(ctx: &Ctx, vm: &Vm) -> Result<(), Outcome> {
    let t = ctx.vm_target(vm);
    if vm.model.is_kvm() == KvmUse::No {
        return Err(Outcome::na(
            t,
            "the VM does not run on KVM: guest halt polling is a KVM guest feature",
        ));
    }
    match ctx.dedicated(vm) {
        Some(true) => Ok(()),
        Some(false) => Err(Outcome::na(
            t,
            "the VM's vCPUs are not dedicated: guest-side halt polling would burn shared host CPU",
        )),
        None => Err(Outcome::unknown(
            t,
            format!("whether the VM's vCPUs are dedicated cannot be told, and {NO_CHANNEL}"),
        )),
    }
}

/// `-cpu ...,kvm-hint-dedicated=on` as written.
fn hint_on(vm: &Vm) -> bool {
    vm.model.cpu.as_ref().and_then(|c| c.kvm_hint_dedicated()) == Some(true)
}

fn hint_obs(vm: &Vm) -> String {
    match vm.model.cpu.as_ref() {
        Some(c) => format!(
            "-cpu {}: kvm-hint-dedicated={}",
            c.model,
            if hint_on(vm) { "on" } else { "off/unset" }
        ),
        None => "no -cpu option: kvm-hint-dedicated unset".into(),
    }
}

fn per_vm(ctx: &Ctx, f: impl Fn(&Ctx, &Vm) -> Outcome) -> Vec<Outcome> {
    ctx.host.vms.iter().map(|vm| f(ctx, vm)).collect()
}

// ---------------------------------------------------------------------------------------------
// Inside the guest

/// What the guest says about halt polling.
struct GuestIdle<'a> {
    driver: Got<'a>,
    governor: Got<'a>,
    governor_src: &'static str,
    /// CPUID.0x40000001:EDX[0] KVM_HINTS_REALTIME.
    hint: Option<bool>,
    /// `cpuidle_haltpoll.force=1` on the cmdline or as the loaded module's parameter.
    force: bool,
    /// A hypervisor other than KVM (no KVM leaves).
    other_hypervisor: Option<String>,
}

impl GuestIdle<'_> {
    fn active(&self) -> bool {
        self.driver.val().map(str::trim) == Some("haltpoll")
            && self.governor.val().map(str::trim) == Some("haltpoll")
    }
    /// The guest is meant to poll: the host marks its vCPUs dedicated, or the admin forces it.
    fn intended(&self) -> bool {
        self.hint == Some(true) || self.force
    }
}

fn guest_idle<'a>(ctx: &Ctx<'a>) -> GuestIdle<'a> {
    const RO: &str = "/sys/devices/system/cpu/cpuidle/current_governor_ro";
    const RW: &str = "/sys/devices/system/cpu/cpuidle/current_governor";
    let (governor_src, governor) = match ctx.get(RO) {
        g @ Got::Val(_) => (RO, g),
        _ => (RW, ctx.get(RW)),
    };
    let cmd_force = ctx
        .host
        .cmdline
        .as_ref()
        .and_then(|c| c.value("cpuidle_haltpoll.force"))
        .and_then(sysfs::bool_param)
        == Some(true);
    let param_force = ctx
        .module_param("cpuidle_haltpoll", "force")
        .val()
        .and_then(sysfs::bool_param)
        == Some(true);
    let cpu = &ctx.host.cpu;
    let other_hypervisor = match (&cpu.hypervisor_vendor, cpu.kvm_hint_realtime) {
        (Some(v), None) if v != "KVMKVMKVM" => Some(v.clone()),
        _ => None,
    };
    GuestIdle {
        driver: ctx.get("/sys/devices/system/cpu/cpuidle/current_driver"),
        governor,
        governor_src,
        hint: cpu.kvm_hint_realtime,
        force: cmd_force || param_force,
        other_hypervisor,
    }
}

fn hint_text(h: Option<bool>) -> &'static str {
    match h {
        Some(true) => "KVM_HINTS_REALTIME set",
        Some(false) => "KVM_HINTS_REALTIME clear",
        None => "KVM hint leaf not recorded",
    }
}

fn with_idle_evidence(o: Outcome, g: &GuestIdle) -> Outcome {
    o.ev(
        "/sys/devices/system/cpu/cpuidle/current_driver",
        g.driver.why(),
        "haltpoll",
    )
    .ev(g.governor_src, g.governor.why(), "haltpoll")
    .ev(
        "CPUID.0x40000001:EDX[0]",
        hint_text(g.hint),
        "set (dedicated vCPUs)",
    )
}

/// Inside the guest: `Err(outcome)` when guest halt polling does not apply (or cannot be told).
fn guest_applies(ctx: &Ctx, g: &GuestIdle) -> Result<(), Outcome> {
    if let Some(v) = &g.other_hypervisor {
        return Err(Outcome::na(
            "host",
            format!("the hypervisor is {v}, not KVM: cpuidle-haltpoll is a KVM guest driver"),
        ));
    }
    if g.intended() {
        return Ok(());
    }
    match g.hint {
        Some(false) if ctx.profile == Profile::Latency => Err(Outcome::fail(
            "host",
            "latency profile: every VM is meant to have dedicated vCPUs, but the host does not advertise them (KVM_HINTS_REALTIME clear): add kvm-hint-dedicated=on to the VM's -cpu on the host",
        )),
        Some(false) => Err(Outcome::na(
            "host",
            "the host does not mark this VM's vCPUs as dedicated (KVM_HINTS_REALTIME clear): guest halt polling does not apply (if they are dedicated, add kvm-hint-dedicated=on on the host)",
        )),
        _ => Err(Outcome::unknown(
            "host",
            "whether the host marks the vCPUs as dedicated is unknown (CPUID leaf 0x40000001 not recorded)",
        )),
    }
}

/// `idle=` on the running guest cmdline.
fn idle_param(ctx: &Ctx) -> Option<String> {
    let c = ctx.host.cmdline.as_ref()?;
    if !c.has("idle") {
        return None;
    }
    Some(format!("idle={}", c.value("idle").unwrap_or("")))
}

// ---------------------------------------------------------------------------------------------
// guest.haltpoll.driver

fn haltpoll_driver(ctx: &Ctx) -> Vec<Outcome> {
    if in_guest(ctx) {
        return vec![haltpoll_driver_guest(ctx)];
    }
    per_vm(ctx, |ctx, vm| {
        if let Err(o) = vm_dedicated(ctx, vm) {
            return o.ev(argv_src(vm), hint_obs(vm), "kvm-hint-dedicated=on");
        }
        let t = ctx.vm_target(vm);
        let o = if hint_on(vm) {
            Outcome::unknown(
                t,
                format!("host side ready (dedicated vCPUs, kvm-hint-dedicated=on); whether the guest runs cpuidle-haltpoll: {NO_CHANNEL}"),
            )
        } else {
            Outcome::fail(
                t,
                "the VM has dedicated vCPUs but its -cpu lacks kvm-hint-dedicated=on: the guest's cpuidle-haltpoll refuses to load without that hint (host-side part; cpuidle_haltpoll.force=1 in the guest is the fallback)",
            )
        };
        o.ev(argv_src(vm), hint_obs(vm), "kvm-hint-dedicated=on")
    })
}

fn haltpoll_driver_guest(ctx: &Ctx) -> Outcome {
    let g = guest_idle(ctx);
    if g.active() {
        return with_idle_evidence(
            Outcome::pass(
                "host",
                "cpuidle-haltpoll driver and haltpoll governor are active",
            ),
            &g,
        );
    }
    if let Err(o) = guest_applies(ctx, &g) {
        return with_idle_evidence(o, &g);
    }
    let o = match g.driver {
        Got::Val(d) if d.trim() == "haltpoll" => Outcome::warn(
            "host",
            format!(
                "the haltpoll driver is loaded but the governor is {}: echo haltpoll > {CPUIDLE}/current_governor",
                g.governor.why()
            ),
        ),
        Got::Val(d) => match idle_param(ctx) {
            Some(idle) => {
                let pending = idle_removed_persistently(ctx);
                Outcome::fail(
                    "host",
                    format!(
                        "cpuidle driver is {}: {idle} on the kernel command line makes cpuidle-haltpoll refuse to load (see guest.cmdline.no-idle){}",
                        d.trim(),
                        if pending {
                            "; the persistent command line no longer has it, a guest reboot applies that"
                        } else {
                            ""
                        }
                    ),
                )
                .pending(pending)
                .ev("/proc/cmdline", idle, "no idle=")
            }
            None => {
                let built = ctx
                    .host
                    .kconfig
                    .as_ref()
                    .and_then(|k| k.enabled("HALTPOLL_CPUIDLE"));
                let o = Outcome::fail(
                    "host",
                    format!(
                        "cpuidle driver is {}, not haltpoll, although the vCPUs are dedicated: {}",
                        d.trim(),
                        if built == Some(false) {
                            "the guest kernel is built without CONFIG_HALTPOLL_CPUIDLE"
                        } else {
                            "modprobe cpuidle-haltpoll"
                        }
                    ),
                );
                match built {
                    Some(b) => o.ev(
                        "kernel config CONFIG_HALTPOLL_CPUIDLE",
                        if b { "y/m" } else { "not set" },
                        "y or m",
                    ),
                    None => o,
                }
            }
        },
        Got::Absent => Outcome::fail(
            "host",
            "the guest kernel has no cpuidle framework (current_driver absent): it needs CONFIG_CPU_IDLE and CONFIG_HALTPOLL_CPUIDLE",
        ),
        other => Outcome::unknown(
            "host",
            format!("the cpuidle driver could not be read ({})", other.why()),
        ),
    };
    with_idle_evidence(o, &g)
}

/// The running cmdline has `idle=` and every persistent kernel cmdline found lacks it.
fn idle_removed_persistently(ctx: &Ctx) -> bool {
    let all = &ctx.persistent.cmdlines;
    !all.is_empty() && all.iter().all(|(_, c)| !c.has("idle"))
}

// ---------------------------------------------------------------------------------------------
// guest.haltpoll.poll-ns

const POLL_PARAMS: &[(&str, &str)] = &[
    ("guest_halt_poll_ns", "200000"),
    ("guest_halt_poll_grow", "2"),
    ("guest_halt_poll_grow_start", "50000"),
    ("guest_halt_poll_shrink", "2"),
    ("guest_halt_poll_allow_shrink", "Y"),
];

fn haltpoll_poll_ns(ctx: &Ctx) -> Vec<Outcome> {
    if in_guest(ctx) {
        let g = guest_idle(ctx);
        if !g.active() {
            return vec![with_idle_evidence(
                Outcome::na(
                    "host",
                    "the haltpoll governor is not active (see guest.haltpoll.driver): its parameters do not apply",
                ),
                &g,
            )];
        }
        let mut values = Vec::new();
        let mut o = Outcome::info("host", "");
        let mut unreadable = Vec::new();
        for (p, default) in POLL_PARAMS {
            let got = ctx.module_param("haltpoll", p);
            match got.val() {
                Some(v) => values.push(format!("{p}={}", v.trim())),
                None => unreadable.push(format!("{p} ({})", got.why())),
            }
            o = o.ev(
                format!("/sys/module/haltpoll/parameters/{p}"),
                got.why(),
                format!("default {default}"),
            );
        }
        o.message = if values.is_empty() {
            o.status = Status::Unknown;
            format!(
                "the haltpoll governor parameters could not be read: {}",
                unreadable.join(", ")
            )
        } else {
            format!(
                "haltpoll governor parameters: {} (workload-dependent; the guide's 50000 is an example, not a target)",
                values.join(", ")
            )
        };
        return vec![o];
    }
    per_vm(ctx, |ctx, vm| {
        if let Err(o) = vm_dedicated(ctx, vm) {
            return o;
        }
        let t = ctx.vm_target(vm);
        if !hint_on(vm) {
            return Outcome::na(
                t,
                "without kvm-hint-dedicated=on the guest's haltpoll driver does not load, so its parameters do not apply (see guest.haltpoll.driver)",
            )
            .ev(argv_src(vm), hint_obs(vm), "kvm-hint-dedicated=on");
        }
        Outcome::unknown(
            t,
            format!("the haltpoll governor parameters live in the guest; {NO_CHANNEL}"),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// guest.cmdline.no-idle

fn no_idle(ctx: &Ctx) -> Vec<Outcome> {
    if in_guest(ctx) {
        let g = guest_idle(ctx);
        let applies = g.active() || guest_applies(ctx, &g).is_ok();
        let not_applicable = g.other_hypervisor.is_some()
            || (!applies && g.hint == Some(false) && ctx.profile == Profile::Throughput);
        if not_applicable {
            return vec![Outcome::na(
                "host",
                "guest halt polling does not apply to this VM (see guest.haltpoll.driver), so idle= does not matter here",
            )
            .ev("CPUID.0x40000001:EDX[0]", hint_text(g.hint), "")];
        }
        let Some(c) = ctx.host.cmdline.as_ref() else {
            return vec![Outcome::unknown(
                "host",
                format!(
                    "/proc/cmdline could not be read ({})",
                    ctx.get("/proc/cmdline").why()
                ),
            )];
        };
        let o = match idle_param(ctx) {
            None => Outcome::pass("host", "no idle= on the guest kernel command line"),
            Some(idle) if !applies => Outcome::unknown(
                "host",
                format!("{idle} is set; whether it matters (dedicated vCPUs, haltpoll) is unknown: the KVM hint was not recorded"),
            ),
            Some(idle) => {
                let pending = idle_removed_persistently(ctx);
                Outcome::fail(
                    "host",
                    format!(
                        "{idle} on the guest kernel command line makes cpuidle-haltpoll refuse to initialise{}",
                        if pending {
                            "; the persistent command line no longer has it, a guest reboot applies that"
                        } else {
                            ""
                        }
                    ),
                )
                .pending(pending)
            }
        };
        let shown = c
            .params
            .iter()
            .find(|p| p.name == "idle")
            .map(|p| format!("idle={}", p.value.as_deref().unwrap_or("")))
            .unwrap_or_else(|| "no idle=".into());
        return vec![o.ev("/proc/cmdline", shown, "no idle=")];
    }
    per_vm(ctx, |ctx, vm| {
        if let Err(o) = vm_dedicated(ctx, vm) {
            return o;
        }
        Outcome::unknown(
            ctx.vm_target(vm),
            format!("the guest kernel command line is read inside the guest; {NO_CHANNEL}"),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// guest.blk.rq-affinity

fn rq_affinity(ctx: &Ctx) -> Vec<Outcome> {
    if in_guest(ctx) {
        return vec![rq_affinity_guest(ctx)];
    }
    per_vm(ctx, |ctx, vm| {
        let t = ctx.vm_target(vm);
        let vcpus = crate::rules::facts::flags::vcpus(ctx, vm);
        if vcpus == Some(1) {
            return Outcome::na(t, "single-vCPU VM: completion steering has nowhere to go");
        }
        let virtio_disks = vm.model.disks.iter().any(|d| {
            matches!(d.bus, DiskBus::VirtioBlk | DiskBus::VirtioScsi) && !d.cdrom && !d.read_only
        });
        if !virtio_disks {
            return Outcome::na(t, "the VM has no virtio data disks");
        }
        Outcome::unknown(
            t,
            format!("rq_affinity is a guest block-queue setting; {NO_CHANNEL}"),
        )
    })
}

fn rq_affinity_guest(ctx: &Ctx) -> Outcome {
    let vcpus = ctx.host.topology.online.as_ref().map(|s| s.len() as u32);
    if vcpus == Some(1) {
        return Outcome::na(
            "host",
            "single-vCPU guest: completion steering has nowhere to go",
        );
    }
    let disks: Vec<&String> = match ctx.dir("/sys/block") {
        Ok(names) => names.iter().filter(|n| n.starts_with("vd")).collect(),
        Err(None) => Vec::new(),
        Err(Some(e)) => {
            return Outcome::unknown(
                "host",
                format!("/sys/block could not be read ({})", e.describe()),
            )
        }
    };
    if disks.is_empty() {
        return Outcome::na("host", "no virtio-blk disks (vd*) in this guest");
    }
    // Worst first: warn > unknown > pass > info.
    let rank = |s: Status| match s {
        Status::Warn => 3,
        Status::Unknown => 2,
        Status::Pass => 1,
        _ => 0,
    };
    let mut worst = (Status::Info, String::new());
    let mut evidence = Vec::new();
    for d in disks {
        let path = format!("/sys/block/{d}/queue/rq_affinity");
        let got = ctx.get(&path);
        let queues = ctx
            .dir(&format!("/sys/block/{d}/mq"))
            .ok()
            .map(|l| l.len() as u32);
        let q_txt = queues.map_or("queue count unknown".to_string(), |q| {
            format!("{q} hardware queue(s)")
        });
        let (st, msg) = match got.val().map(str::trim) {
            Some("2") => (Status::Pass, format!("{d}: rq_affinity=2")),
            Some("1") => match (queues, vcpus) {
                (Some(q), Some(v)) if q >= v => (
                    Status::Info,
                    format!("{d}: rq_affinity=1 with one queue per vCPU ({q}): completions already land near the submitter"),
                ),
                (Some(q), Some(v)) => (
                    Status::Warn,
                    format!("{d}: rq_affinity=1 with {q} queue(s) for {v} vCPUs: completions may concentrate; write 2"),
                ),
                _ => (
                    Status::Unknown,
                    format!("{d}: rq_affinity=1; queue or vCPU count unknown"),
                ),
            },
            Some(v) => (
                Status::Warn,
                format!("{d}: rq_affinity={v}: completions are not steered to the submitting CPU; write 2"),
            ),
            None => (
                Status::Unknown,
                format!("{d}: rq_affinity could not be read ({})", got.why()),
            ),
        };
        evidence.push((path, format!("{} ({q_txt})", got.why()), "2".to_string()));
        if rank(st) > rank(worst.0) || worst.1.is_empty() {
            worst = (st, msg);
        } else if rank(st) == rank(worst.0) {
            worst.1 = format!("{}; {msg}", worst.1);
        }
    }
    let mut o = Outcome::new("host", worst.0, worst.1);
    for (s, obs, exp) in evidence {
        o = o.ev(s, obs, exp);
    }
    o
}

#[cfg(test)]
mod tests {
    use crate::report::Profile::{Latency, Throughput};
    use crate::rules::testkit::{findings, status, SnapBuilder};
    use crate::snapshot::{CpuidDump, CpuidLeaf, Snapshot, Sourced};

    const ARGS: &str = "qemu-system-x86_64 -name guest=a,debug-threads=on -machine pc-q35-6.0 -accel kvm -smp 2 -m 4G -drive file=/a.img,if=none,id=d0 -device virtio-blk-pci,drive=d0,id=vd0";

    fn host_vm(cpu: &str, emu: &'static str) -> Snapshot {
        SnapBuilder::new()
            .topology(2, 4, 2)
            .vm(
                &format!("{ARGS} {cpu}"),
                &[
                    ("qemu-system-x86", emu, "0"),
                    ("CPU 0/KVM", "1", "0"),
                    ("CPU 1/KVM", "2", "0"),
                ],
            )
            .build()
    }

    /// A KVM guest's CPUID with the REALTIME hint set or clear.
    fn kvm_cpuid(hint: bool) -> Sourced<CpuidDump> {
        let leaf = |leaf, eax, ebx, ecx, edx| CpuidLeaf {
            leaf,
            subleaf: 0,
            eax,
            ebx,
            ecx,
            edx,
        };
        Sourced::value(
            "cpuid",
            CpuidDump {
                format: "live".into(),
                leaves: vec![
                    leaf(0, 0x1b, 0x756e6547, 0x6c65746e, 0x49656e69),
                    leaf(1, 0x606a6, 0, 1 << 31, 0),
                    leaf(0x4000_0000, 0x4000_0001, 0x4b4d564b, 0x564b4d56, 0x4d),
                    leaf(0x4000_0001, 0, 0, 0, u32::from(hint)),
                ],
            },
        )
    }

    fn guest(hint: bool, b: SnapBuilder) -> Snapshot {
        let mut s = b.icx("hypervisor").build();
        s.cpuid = kvm_cpuid(hint);
        s
    }

    const DRV: &str = "/sys/devices/system/cpu/cpuidle/current_driver";
    const GOV: &str = "/sys/devices/system/cpu/cpuidle/current_governor_ro";

    #[test]
    fn driver_on_the_hypervisor() {
        let r = "guest.haltpoll.driver";
        // Dedicated without the hint: the host-side part fails.
        let f = findings(&host_vm("-cpu host", "0"), Throughput, r);
        assert_eq!(f[0].status.as_str(), "fail");
        assert!(f[0].message.contains("kvm-hint-dedicated=on"));
        assert_eq!(
            status(
                &host_vm("-cpu host,kvm-hint-dedicated=on", "0"),
                Throughput,
                r,
                "vm:a"
            ),
            "unknown"
        );
        // Shared vCPUs: not applicable.
        assert_eq!(
            status(&host_vm("-cpu host", "0-3"), Throughput, r, "vm:a"),
            "not_applicable"
        );
        // argv only: unknown.
        let s = SnapBuilder::new().vm(ARGS, &[]).build();
        assert_eq!(status(&s, Throughput, r, "vm:a"), "unknown");
        // The other guest rules follow the same applicability.
        for rule in ["guest.haltpoll.poll-ns", "guest.cmdline.no-idle"] {
            assert_eq!(
                status(&host_vm("-cpu host", "0-3"), Throughput, rule, "vm:a"),
                "not_applicable",
                "{rule}"
            );
            assert_eq!(
                status(
                    &host_vm("-cpu host,kvm-hint-dedicated=on", "0"),
                    Throughput,
                    rule,
                    "vm:a"
                ),
                "unknown",
                "{rule}"
            );
        }
    }

    #[test]
    fn driver_inside_the_guest() {
        let r = "guest.haltpoll.driver";
        let on = guest(
            true,
            SnapBuilder::new()
                .file(DRV, "haltpoll")
                .file(GOV, "haltpoll"),
        );
        assert_eq!(status(&on, Throughput, r, "host"), "pass");
        let off = guest(
            true,
            SnapBuilder::new().file(DRV, "acpi_idle").file(GOV, "menu"),
        );
        assert_eq!(status(&off, Throughput, r, "host"), "fail");
        let nokconfig = guest(
            true,
            SnapBuilder::new()
                .file(DRV, "acpi_idle")
                .file(GOV, "menu")
                .kconfig("# CONFIG_HALTPOLL_CPUIDLE is not set\n"),
        );
        let f = findings(&nokconfig, Throughput, r);
        assert!(
            f[0].message.contains("CONFIG_HALTPOLL_CPUIDLE"),
            "{}",
            f[0].message
        );
        let idle = guest(
            true,
            SnapBuilder::new()
                .file(DRV, "none")
                .file(GOV, "menu")
                .file("/proc/cmdline", "root=/dev/vda1 idle=poll"),
        );
        let f = findings(&idle, Throughput, r);
        assert_eq!(f[0].status.as_str(), "fail");
        assert!(f[0].message.contains("idle=poll"));
        // No hint: not applicable under throughput, a failure under latency.
        let nohint = guest(
            false,
            SnapBuilder::new().file(DRV, "acpi_idle").file(GOV, "menu"),
        );
        assert_eq!(status(&nohint, Throughput, r, "host"), "not_applicable");
        assert_eq!(status(&nohint, Latency, r, "host"), "fail");
        // force=1 makes it applicable without the hint.
        let forced = guest(
            false,
            SnapBuilder::new()
                .file(DRV, "acpi_idle")
                .file(GOV, "menu")
                .file("/proc/cmdline", "cpuidle_haltpoll.force=1"),
        );
        assert_eq!(status(&forced, Throughput, r, "host"), "fail");
        // Unreadable driver → unknown.
        let denied = guest(true, SnapBuilder::new().denied(DRV));
        assert_eq!(status(&denied, Throughput, r, "host"), "unknown");
    }

    #[test]
    fn poll_ns_inside_the_guest() {
        let r = "guest.haltpoll.poll-ns";
        let p = "/sys/module/haltpoll/parameters";
        let on = guest(
            true,
            SnapBuilder::new()
                .file(DRV, "haltpoll")
                .file(GOV, "haltpoll")
                .file(&format!("{p}/guest_halt_poll_ns"), "50000")
                .file(&format!("{p}/guest_halt_poll_grow"), "2"),
        );
        let f = findings(&on, Throughput, r);
        assert_eq!(f[0].status.as_str(), "info");
        assert!(f[0].message.contains("guest_halt_poll_ns=50000"));
        let off = guest(
            true,
            SnapBuilder::new().file(DRV, "acpi_idle").file(GOV, "menu"),
        );
        assert_eq!(status(&off, Throughput, r, "host"), "not_applicable");
    }

    #[test]
    fn no_idle_inside_the_guest() {
        let r = "guest.cmdline.no-idle";
        let mk = |cmd: &str| {
            guest(
                true,
                SnapBuilder::new()
                    .file(DRV, "none")
                    .file(GOV, "menu")
                    .file("/proc/cmdline", cmd),
            )
        };
        assert_eq!(
            status(&mk("root=/dev/vda1 quiet"), Throughput, r, "host"),
            "pass"
        );
        assert_eq!(
            status(&mk("root=/dev/vda1 idle=halt"), Throughput, r, "host"),
            "fail"
        );
        // Fixed in GRUB, reboot pending.
        let mut s = guest(
            true,
            SnapBuilder::new()
                .file(DRV, "none")
                .file(GOV, "menu")
                .file("/proc/cmdline", "root=/dev/vda1 idle=poll")
                .file("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"root=/dev/vda1\""),
        );
        let f = findings(&s, Throughput, r);
        assert_eq!(f[0].status.as_str(), "fail");
        assert!(f[0].pending_reboot);
        // cmdline unreadable → unknown
        s.files.remove("/proc/cmdline");
        assert_eq!(status(&s, Throughput, r, "host"), "unknown");
        // not dedicated (hint clear), throughput → not applicable
        let nohint = guest(false, SnapBuilder::new().file("/proc/cmdline", "idle=poll"));
        assert_eq!(status(&nohint, Throughput, r, "host"), "not_applicable");
    }

    #[test]
    fn rq_affinity() {
        let r = "guest.blk.rq-affinity";
        let mk = |rq: &str, queues: &[&str]| {
            guest(
                true,
                SnapBuilder::new()
                    .file("/sys/devices/system/cpu/online", "0-3")
                    .dir("/sys/block", &["vda", "sr0"])
                    .file("/sys/block/vda/queue/rq_affinity", rq)
                    .dir("/sys/block/vda/mq", queues),
            )
        };
        assert_eq!(status(&mk("2", &["0"]), Throughput, r, "host"), "pass");
        assert_eq!(status(&mk("1", &["0"]), Throughput, r, "host"), "warn");
        assert_eq!(
            status(&mk("1", &["0", "1", "2", "3"]), Throughput, r, "host"),
            "info"
        );
        let none = guest(
            true,
            SnapBuilder::new()
                .file("/sys/devices/system/cpu/online", "0-3")
                .dir("/sys/block", &["sda"]),
        );
        assert_eq!(status(&none, Throughput, r, "host"), "not_applicable");
        // On the hypervisor: unknown per VM with virtio disks and > 1 vCPU.
        assert_eq!(
            status(&host_vm("-cpu host", "0"), Throughput, r, "vm:a"),
            "unknown"
        );
        let s = SnapBuilder::new()
            .vm(
                "qemu-system-x86_64 -name b -smp 1 -drive file=/a.img,if=virtio",
                &[],
            )
            .build();
        assert_eq!(status(&s, Throughput, r, "vm:b"), "not_applicable");
    }
}
