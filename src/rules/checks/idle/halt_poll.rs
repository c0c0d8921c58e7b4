//! host.kvm.halt-poll: KVM halt polling (`halt_poll_ns`) against CPU overcommit.
use crate::rules::context::{Ctx, Got};
use crate::rules::outcome::Outcome;

pub(super) fn halt_poll(ctx: &Ctx) -> Vec<Outcome> {
    match ctx.module_present("kvm") {
        Some(true) => {}
        Some(false) => return vec![Outcome::na("host", "kvm is not loaded")],
        None => return vec![Outcome::unknown("host", "/sys/module unreadable")],
    }
    let p = "/sys/module/kvm/parameters/halt_poll_ns";
    let ns: u64 = match ctx.get(p) {
        Got::Val(v) => match v.trim().parse() {
            Ok(n) => n,
            Err(_) => return vec![Outcome::unknown("host", format!("{p}: unexpected {v:?}"))],
        },
        other => return vec![Outcome::unknown("host", format!("{p}: {}", other.why()))],
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
    .ev(p, ns.to_string(), "workload dependent (default 200000)");
    for f in [
        "halt_poll_ns_grow",
        "halt_poll_ns_grow_start",
        "halt_poll_ns_shrink",
    ] {
        if let Some(v) = ctx.module_param("kvm", f).val() {
            o = o.ev(
                format!("/sys/module/kvm/parameters/{f}"),
                v.trim().to_string(),
                "",
            );
        }
    }
    if let Some((f, v)) = configured {
        o = o.ev(f, format!("halt_poll_ns={v}"), "");
    }
    vec![o]
}
