//! What a guest says about its own halt polling, when kvmaudit runs inside it.

use crate::parse::sysfs;
use crate::report::Profile;
use crate::rules::context::{Ctx, Got};
use crate::rules::outcome::Outcome;

/// What the guest says about halt polling.
pub(super) struct GuestIdle<'a> {
    pub(super) driver: Got<'a>,
    pub(super) governor: Got<'a>,
    pub(super) governor_src: &'static str,
    /// CPUID.0x40000001:EDX[0] KVM_HINTS_REALTIME.
    pub(super) hint: Option<bool>,
    /// `cpuidle_haltpoll.force=1` on the cmdline or as the loaded module's parameter.
    pub(super) force: bool,
    /// A hypervisor other than KVM (no KVM leaves).
    pub(super) other_hypervisor: Option<String>,
}

impl GuestIdle<'_> {
    pub(super) fn active(&self) -> bool {
        self.driver.val().map(str::trim) == Some("haltpoll")
            && self.governor.val().map(str::trim) == Some("haltpoll")
    }
    /// The guest is meant to poll: the host marks its vCPUs dedicated, or the admin forces it.
    pub(super) fn intended(&self) -> bool {
        self.hint == Some(true) || self.force
    }
}

pub(super) fn guest_idle<'a>(ctx: &Ctx<'a>) -> GuestIdle<'a> {
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

pub(super) fn hint_text(h: Option<bool>) -> &'static str {
    match h {
        Some(true) => "KVM_HINTS_REALTIME set",
        Some(false) => "KVM_HINTS_REALTIME clear",
        None => "KVM hint leaf not recorded",
    }
}

pub(super) fn with_idle_evidence(o: Outcome, g: &GuestIdle) -> Outcome {
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
