//! What a guest says about its own halt polling, when kvmaudit runs inside it.

use crate::report::Profile;
use crate::rules::context::Ctx;
pub(super) use crate::rules::facts::guest_side::{guest_idle, GuestIdle, CPUIDLE_DRIVER};
use crate::rules::outcome::Outcome;

pub(super) fn hint_text(h: Option<bool>) -> &'static str {
    match h {
        Some(true) => "KVM_HINTS_REALTIME set",
        Some(false) => "KVM_HINTS_REALTIME clear",
        None => "KVM hint leaf not recorded",
    }
}

pub(super) fn with_idle_evidence(o: Outcome, g: &GuestIdle) -> Outcome {
    o.ev(CPUIDLE_DRIVER, g.driver.why(), "haltpoll")
        .ev(g.governor_src, g.governor.why(), "haltpoll")
        .ev(
            "CPUID.0x40000001:EDX[0]",
            hint_text(g.hint),
            "set (dedicated vCPUs)",
        )
}

/// Inside the guest: `Err(outcome)` when guest halt polling does not apply (or cannot be told).
pub(super) fn guest_applies(ctx: &Ctx, g: &GuestIdle) -> Result<(), Outcome> {
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
pub(super) fn idle_param(ctx: &Ctx) -> Option<String> {
    let c = ctx.host.cmdline.as_ref()?;
    if !c.has("idle") {
        return None;
    }
    Some(format!("idle={}", c.value("idle").unwrap_or("")))
}
/// The running cmdline has `idle=` and every persistent kernel cmdline found lacks it.
pub(super) fn idle_removed_persistently(ctx: &Ctx) -> bool {
    let all = &ctx.persistent.cmdlines;
    !all.is_empty() && all.iter().all(|(_, c)| !c.has("idle"))
}
