//! host.kvm.exitless-timer: LAPIC timer interrupts posted to the guest without a VM exit.
use super::{latency_scope, list, no_dedicated, persistent_param};
use crate::model::host::Vm;
use crate::parse::sysfs::bool_param;
use crate::report::{Profile, Status};
use crate::rules::context::{Ctx, Got};
use crate::rules::facts::kernel::kernel_version;
use crate::rules::facts::module_params::{module_loaded, param};
use crate::rules::facts::nohz::vcpu_affinity_source;
use crate::rules::facts::placement::nohz_full_set;
use crate::rules::facts::vmx::{vmx_flag, VMX_FLAGS};
use crate::rules::outcome::Outcome;
use std::collections::BTreeSet;

pub(super) fn exitless_timer(ctx: &Ctx) -> Vec<Outcome> {
    let vms = match latency_scope(ctx) {
        Ok(v) => v,
        Err(None) => return timer_not_applicable(ctx),
        Err(Some(why)) => return vec![Outcome::unknown("host", why)],
    };
    match module_loaded(ctx, "kvm") {
        Ok(true) => {}
        Ok(false) => return vec![Outcome::na("host", "kvm is not loaded")],
        Err(why) => return vec![Outcome::unknown("host", why)],
    }
    let nohz = nohz_full_set(ctx);
    let timer = TimerHost::read(ctx, &nohz);
    let host = timer.verdict(ctx, !vms.is_empty());
    let host_status = host.status;
    let mut out = vec![timer.evidence(host)];
    let judged: BTreeSet<usize> = vms.iter().map(|v| v.index).collect();
    for vm in &ctx.host.vms {
        if !judged.contains(&vm.index) {
            out.push(Outcome::na(
                ctx.vm_target(vm),
                "the VM has no dedicated CPUs",
            ));
            continue;
        }
        out.push(timer_vm(ctx, vm, host_status, &nohz, &timer));
    }
    out
}

/// No VM has dedicated CPUs: the host and every VM are not applicable.
pub(super) fn timer_not_applicable(ctx: &Ctx) -> Vec<Outcome> {
    let mut out = vec![Outcome::na(
        "host",
        format!(
            "{}: the exit-less timer matters for pinned, latency-critical vCPUs",
            no_dedicated(ctx)
        ),
    )];
    out.extend(
        ctx.host
            .vms
            .iter()
            .map(|v| Outcome::na(ctx.vm_target(v), "the VM has no dedicated CPUs")),
    );
    out
}

/// What the host offers for exit-less timer interrupts.
pub(super) struct TimerHost {
    pi_path: String,
    /// pi_inject_timer in effect, with its words for evidence.
    pi: Result<(bool, String), String>,
    apicv_path: String,
    apicv: Result<bool, String>,
    /// The `posted_intr` VMX flag.
    posted: Option<bool>,
    release: Option<String>,
    /// Whether KVM posts the timer only for VMs with cpu-pm=on (`None`: cannot tell).
    needs_cpu_pm: Option<bool>,
}

impl TimerHost {
    fn read(ctx: &Ctx, nohz: &Result<BTreeSet<u32>, String>) -> TimerHost {
        let pi_param = param(ctx, "kvm", "pi_inject_timer");
        let pi_path = pi_param.path;
        let pi: Result<(bool, String), String> = match pi_param.got {
            Got::Val(v) => {
                let v = v.trim();
                match v
                    .parse::<i32>()
                    .ok()
                    .or_else(|| bool_param(v).map(i32::from))
                {
                    Some(-1) => match nohz {
                        Ok(s) => Ok((
                            !s.is_empty(),
                            format!(
                                "-1 (auto: {})",
                                if s.is_empty() {
                                    "no nohz_full, so off"
                                } else {
                                    "nohz_full active, so on"
                                }
                            ),
                        )),
                        Err(e) => Err(e.clone()),
                    },
                    Some(n) => Ok((n > 0, v.to_string())),
                    None => Err(format!("{pi_path}: unexpected {v:?}")),
                }
            }
            Got::Absent => Ok((
                false,
                "absent (kernel before 5.6 has no posted timer)".into(),
            )),
            other => Err(format!("{pi_path}: {}", other.why())),
        };
        let apicv_param = if ctx.is_amd() {
            param(ctx, "kvm_amd", "avic")
        } else {
            param(ctx, "kvm_intel", "enable_apicv")
        };
        let apicv_path = apicv_param.path;
        let apicv: Result<bool, String> = match apicv_param.got {
            Got::Val(v) => bool_param(v).ok_or_else(|| format!("{apicv_path}: unexpected {v:?}")),
            other => Err(format!("{apicv_path}: {}", other.why())),
        };
        let release = ctx.host.kernel_release.clone();
        // The 2022 change to kvm_can_post_timer_interrupt() is in mainline 5.17 and was carried
        // into stable and enterprise kernels (RHEL 9's 5.14, Ubuntu's 5.15) without changing
        // their version, and no module parameter or kconfig symbol shows it. An older version
        // string therefore proves nothing: `None` (unknown) unless the kernel is 5.17 or newer.
        let needs_cpu_pm = release
            .as_deref()
            .and_then(kernel_version)
            .and_then(|v| (v >= (5, 17)).then_some(true));
        TimerHost {
            pi_path,
            pi,
            apicv_path,
            apicv,
            posted: vmx_flag(ctx, "posted_intr"),
            release,
            needs_cpu_pm,
        }
    }

    /// The host outcome with pi_inject_timer, APICv and posted_intr as evidence.
    fn evidence(&self, o: Outcome) -> Outcome {
        let mut o = o.ev(
            self.pi_path.clone(),
            match &self.pi {
                Ok((_, s)) => s.clone(),
                Err(e) => e.clone(),
            },
            "1",
        );
        o = o.ev(
            self.apicv_path.clone(),
            match &self.apicv {
                Ok(b) => if *b { "Y" } else { "N" }.to_string(),
                Err(e) => e.clone(),
            },
            "Y",
        );
        if let Some(p) = self.posted {
            o = o.ev(
                VMX_FLAGS,
                if p { "posted_intr" } else { "no posted_intr" },
                "posted_intr",
            );
        }
        o
    }

    /// The host's verdict: APICv on and pi_inject_timer in effect.
    fn verdict(&self, ctx: &Ctx, vms_in_scope: bool) -> Outcome {
        let apicv_off = self.apicv == Ok(false) || self.posted == Some(false);
        if apicv_off {
            return Outcome::fail(
                "host",
                "APICv / posted interrupts are off: timer interrupts cannot be delivered without a VM exit",
            );
        }
        if let Err(e) = &self.apicv {
            return Outcome::unknown("host", format!("APICv state unreadable ({e})"));
        }
        match &self.pi {
            Ok((true, _)) => Outcome::pass(
                "host",
                "KVM posts LAPIC timer interrupts (pi_inject_timer on, APICv on)",
            ),
            Ok((false, s)) => {
                let mut o = if ctx.profile == Profile::Latency || vms_in_scope {
                    Outcome::warn(
                        "host",
                        format!("pi_inject_timer is {s}: guest timers still cause VM exits (enable nohz_full or kvm.pi_inject_timer=1)"),
                    )
                } else {
                    Outcome::info("host", format!("pi_inject_timer is {s}"))
                };
                let cfg = ctx
                    .persistent
                    .module_param("kvm", "pi_inject_timer")
                    .filter(|(_, v)| v.trim() == "1")
                    .or_else(|| persistent_param(ctx, "nohz_full", None));
                if let Some((p, v)) = cfg {
                    o.message.push_str(&format!(
                        "; {p} already configures it ({v}): reboot or reload kvm"
                    ));
                    o = o.pending(true).ev(p, v, "");
                }
                o
            }
            Err(e) => Outcome::unknown("host", format!("pi_inject_timer unreadable ({e})")),
        }
    }
}

/// One VM with dedicated CPUs: the host posts the timer, its vCPUs sit on nohz_full CPUs
/// and (on kernels that need it) it runs with cpu-pm=on.
pub(super) fn timer_vm(
    ctx: &Ctx,
    vm: &Vm,
    host_status: Status,
    nohz: &Result<BTreeSet<u32>, String>,
    timer: &TimerHost,
) -> Outcome {
    let cpu_pm = ctx.cpu_pm_on(vm);
    let vcpus: Option<Vec<BTreeSet<u32>>> = ctx
        .facts(vm)
        .threads
        .as_ref()
        .map(|t| t.vcpus.values().cloned().collect())
        .filter(|v: &Vec<_>| !v.is_empty());
    let on_nohz: Result<bool, String> = match (&vcpus, nohz) {
        (Some(sets), Ok(n)) => {
            Ok(!n.is_empty() && sets.iter().all(|s| !s.is_empty() && s.is_subset(n)))
        }
        (None, _) => Err("vCPU thread affinity unreadable".into()),
        (_, Err(e)) => Err(e.clone()),
    };
    let union: BTreeSet<u32> = vcpus.iter().flatten().flatten().copied().collect();
    let mut problems = Vec::new();
    let mut status = Status::Pass;
    if host_status == Status::Fail {
        status = Status::Fail;
        problems.push("the host has APICv / posted interrupts off".to_string());
    } else if host_status == Status::Warn {
        status = Status::Warn;
        problems.push("the host does not post timer interrupts (pi_inject_timer off)".to_string());
    }
    match &on_nohz {
        Ok(true) => {}
        Ok(false) => {
            if status == Status::Pass {
                status = Status::Warn;
            }
            problems.push(format!(
                "its vCPUs (CPUs {}) are not all on nohz_full CPUs",
                list(&union)
            ));
        }
        Err(e) => {
            if status == Status::Pass {
                status = Status::Unknown;
            }
            problems.push(e.clone());
        }
    }
    let release = timer.release.as_deref();
    if !cpu_pm && timer.needs_cpu_pm == Some(true) {
        if matches!(status, Status::Pass | Status::Unknown) {
            status = Status::Warn;
        }
        problems.push(format!(
            "it runs without -overcommit cpu-pm=on, and since Linux 5.17 (and stable backports; host kernel {}) KVM posts the timer only for VMs with HLT/MWAIT exits disabled",
            release.unwrap_or("unknown")
        ));
    } else if !cpu_pm {
        if status == Status::Pass {
            status = Status::Unknown;
        }
        problems.push(format!(
            "it runs without -overcommit cpu-pm=on, and whether host kernel {} carries the 5.17 change that posts the timer only for VMs with HLT/MWAIT exits disabled (stable and enterprise kernels backport it under an older version) is not visible: add cpu-pm=on to be sure",
            release.unwrap_or("(release unknown)")
        ));
    }
    let msg = if problems.is_empty() {
        format!(
            "timer interrupts are posted without VM exits: vCPUs on nohz_full CPUs{}",
            if cpu_pm { " and cpu-pm=on" } else { "" }
        )
    } else {
        format!("the LAPIC timer is not exit-less: {}", problems.join("; "))
    };
    Outcome::new(ctx.vm_target(vm), status, msg)
        .ev(
            vcpu_affinity_source(vm),
            list(&union),
            match nohz {
                Ok(n) => format!("⊆ nohz_full {}", list(n)),
                Err(_) => "⊆ nohz_full CPUs".into(),
            },
        )
        .ev(
            format!("{} -overcommit", vm.source),
            ctx.cpu_pm_words(vm),
            if timer.needs_cpu_pm == Some(false) {
                ""
            } else {
                "cpu-pm=on"
            },
        )
}
