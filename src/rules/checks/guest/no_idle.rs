//! guest.cmdline.no-idle: no `idle=` on the guest kernel cmdline.

use super::hypervisor_side::vm_dedicated;
use super::inside_guest::{
    guest_applies, guest_idle, hint_text, idle_param, idle_removed_persistently,
};
use super::{in_guest, NO_CHANNEL};
use crate::report::Profile;
use crate::rules::context::Ctx;
use crate::rules::facts::boot_cmdline;
use crate::rules::outcome::Outcome;
use crate::rules::units::VmUnit;

/// Run inside a guest, the guest itself is judged (target `host`); on the hypervisor, each VM.
pub(super) fn no_idle_inside(ctx: &Ctx) -> Option<Vec<Outcome>> {
    in_guest(ctx).then(|| no_idle_of_this_guest(ctx))
}

fn no_idle_of_this_guest(ctx: &Ctx) -> Vec<Outcome> {
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
                boot_cmdline::why_missing(ctx)
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
    vec![o.ev("/proc/cmdline", shown, "no idle=")]
}

pub(super) fn no_idle(ctx: &Ctx, u: &VmUnit) -> Outcome {
    let vm = u.vm;
    if let Err(o) = vm_dedicated(ctx, vm) {
        return o;
    }
    Outcome::unknown(
        u.target.clone(),
        format!("the guest kernel command line is read inside the guest; {NO_CHANNEL}"),
    )
}
