//! host.kvm.halt-poll: KVM halt polling (`halt_poll_ns`) against CPU overcommit.
use crate::rules::context::Ctx;
use crate::rules::facts::module_params::{module_loaded, param, HALT_POLL_TUNING};
use crate::rules::outcome::Outcome;

pub(super) fn halt_poll(ctx: &Ctx) -> Vec<Outcome> {
    match module_loaded(ctx, "kvm") {
        Ok(true) => {}
        Ok(false) => return vec![Outcome::na("host", "kvm is not loaded")],
        Err(why) => return vec![Outcome::unknown("host", why)],
    }
    let halt_poll_ns = param(ctx, "kvm", "halt_poll_ns");
    let ns: u64 = match halt_poll_ns.number() {
        Ok(n) => n,
        Err(why) => return vec![Outcome::unknown("host", why)],
    };
    let mut notes = Vec::new();
    let cpu_pm = ctx.cpu_pm_vm_names();
    if !cpu_pm.is_empty() {
        notes.push(format!(
            "{} run with cpu-pm=on and never exit on HLT, so host polling does not apply to them",
            cpu_pm.join(", ")
        ));
    }
    let haltpoll: Vec<String> = ctx
        .host
        .vms
        .iter()
        .filter(|v| {
            v.model.cpu.as_ref().and_then(|c| c.kvm_hint_dedicated()) == Some(true)
                && !ctx.cpu_pm_on(v)
        })
        .map(|v| v.name())
        .collect();
    if !haltpoll.is_empty() {
        notes.push(format!(
            "{} get the dedicated hint: a guest running cpuidle-haltpoll switches host polling off for its vCPUs",
            haltpoll.join(", ")
        ));
    }
    if ctx.flags.cpu_overcommitted == Some(true) && ns > 200_000 {
        notes.push("vCPUs share pCPUs here: polling longer than the 200 µs default burns CPU other vCPUs need".into());
    } else if ctx.flags.cpu_overcommitted == Some(true) && ns > 0 {
        notes.push("vCPUs share pCPUs here: polling burns CPU other vCPUs could use; consider a smaller value".into());
    }
    let configured = ctx.persistent.module_param("kvm", "halt_poll_ns");
    if let Some((f, v)) = &configured {
        if v.trim() != ns.to_string() {
            notes.push(format!(
                "{f} sets halt_poll_ns={v}, applied at the next kvm load"
            ));
        }
    }
    let mut o = Outcome::info(
        "host",
        format!(
            "halt_poll_ns {ns}{}{}",
            if ns == 200_000 {
                " (x86 default)"
            } else if ns == 0 {
                " (polling off)"
            } else {
                ""
            },
            if notes.is_empty() {
                String::new()
            } else {
                format!("; {}", notes.join("; "))
            }
        ),
    )
    .ev(
        halt_poll_ns.path,
        ns.to_string(),
        "workload dependent (default 200000)",
    );
    for f in HALT_POLL_TUNING {
        let tuning = param(ctx, "kvm", f);
        if let Some(v) = tuning.value() {
            o = o.ev(tuning.path, v, "");
        }
    }
    if let Some((f, v)) = configured {
        o = o.ev(f, format!("halt_poll_ns={v}"), "");
    }
    vec![o]
}
