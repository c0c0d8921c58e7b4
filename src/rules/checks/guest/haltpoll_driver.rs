//! guest.haltpoll.driver: the guest runs cpuidle-haltpoll.

use super::hypervisor_side::{hint_obs, hint_on, vm_dedicated};
use super::inside_guest::{
    guest_applies, guest_idle, idle_param, idle_removed_persistently, with_idle_evidence,
};
use super::{in_guest, CPUIDLE, NO_CHANNEL};
use crate::rules::context::{Ctx, Got};
use crate::rules::facts::vm_args::argv_src;
use crate::rules::outcome::Outcome;
use crate::rules::units::VmUnit;

/// Run inside a guest, the guest itself is judged (target `host`); on the hypervisor, each VM.
pub(super) fn haltpoll_driver_inside(ctx: &Ctx) -> Option<Vec<Outcome>> {
    in_guest(ctx).then(|| haltpoll_driver_of_this_guest(ctx))
}

fn haltpoll_driver_of_this_guest(ctx: &Ctx) -> Vec<Outcome> {
    vec![haltpoll_driver_guest(ctx)]
}

pub(super) fn haltpoll_driver(ctx: &Ctx, u: &VmUnit) -> Outcome {
    let vm = u.vm;
    if let Err(o) = vm_dedicated(ctx, vm) {
        return o.ev(argv_src(vm), hint_obs(vm), "kvm-hint-dedicated=on");
    }
    let target = u.target.clone();
    let o = if hint_on(vm) {
        Outcome::unknown(
            target,
            format!("host side ready (dedicated vCPUs, kvm-hint-dedicated=on); whether the guest runs cpuidle-haltpoll: {NO_CHANNEL}"),
        )
    } else {
        Outcome::fail(
            target,
            "the VM has dedicated vCPUs but its -cpu lacks kvm-hint-dedicated=on: the guest's cpuidle-haltpoll refuses to load without that hint (host-side part; cpuidle_haltpoll.force=1 in the guest is the fallback)",
        )
    };
    o.ev(argv_src(vm), hint_obs(vm), "kvm-hint-dedicated=on")
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
