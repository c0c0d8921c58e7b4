//! host.kvm.ple: pause-loop exiting (`ple_gap`) off for dedicated, non-overcommitted vCPUs.
use super::{latency_scope, no_dedicated};
use crate::model::host::Vm;
use crate::report::Profile;
use crate::rules::context::Ctx;
use crate::rules::facts::module_params::{module_loaded, param};
use crate::rules::facts::vmx::{vmx_flag, VMX_FLAGS};
use crate::rules::outcome::Outcome;

pub(super) fn kvm_ple(ctx: &Ctx) -> Vec<Outcome> {
    if let Err(o) = ple_applies(ctx) {
        return vec![o];
    }
    let gap_param = param(ctx, "kvm_intel", "ple_gap");
    let gap = match gap_param.number() {
        Ok(g) => g,
        Err(why) => return vec![Outcome::unknown("host", why)],
    };
    let window = param(ctx, "kvm_intel", "ple_window");
    let window_value = window.value();
    let ple_hw = vmx_flag(ctx, "ple");
    let configured = ctx.persistent.module_param("kvm_intel", "ple_gap");
    let ev = |o: Outcome| {
        let mut o = o.ev(
            gap_param.path.clone(),
            gap.to_string(),
            "0 for dedicated-CPU VMs, > 0 on shared hosts",
        );
        if let Some(w) = &window_value {
            o = o.ev(window.path.clone(), w.clone(), "");
        }
        if let Some(h) = ple_hw {
            o = o.ev(VMX_FLAGS, if h { "ple" } else { "no ple" }, "");
        }
        if let Some((p, v)) = &configured {
            o = o.ev(p.clone(), format!("ple_gap={v}"), "");
        }
        o
    };
    if gap == 0 && ple_hw == Some(false) {
        return vec![ev(Outcome::info(
            "host",
            "the CPU has no Pause-Loop Exiting (no ple vmx flag): KVM forced ple_gap to 0 and no VM takes PAUSE exits",
        ))];
    }
    if gap == 0 && ctx.flags.cpu_overcommitted == Some(true) {
        return vec![ev(Outcome::warn(
            "host",
            "ple_gap=0 on a host whose vCPUs share pCPUs: a spinning vCPU can no longer yield to a preempted lock holder",
        ))];
    }
    let vms = match latency_scope(ctx) {
        Ok(v) => v,
        Err(None) => {
            let mut msg = format!(
                "{}: the default PLE (yielding spinning vCPUs) suits shared vCPUs",
                no_dedicated(ctx)
            );
            if let Some((p, v)) = configured
                .as_ref()
                .filter(|(_, v)| v.trim() == "0" && gap > 0)
            {
                msg.push_str(&format!(
                    "; note {p} sets ple_gap={v}, which would hurt this shared host after the next kvm_intel reload"
                ));
            }
            return vec![ev(Outcome::na("host", msg))];
        }
        Err(Some(why)) => return vec![ev(Outcome::unknown("host", why))],
    };
    vec![ev(dedicated_verdict(ctx, &vms, gap, configured.as_ref()))]
}

/// Intel with kvm_intel loaded, or the outcome that says why PLE is not judged.
fn ple_applies(ctx: &Ctx) -> Result<(), Outcome> {
    if ctx.is_amd() {
        let pf = param(ctx, "kvm_amd", "pause_filter_count")
            .value()
            .map(|v| format!(" (kvm_amd pause_filter_count={v})"))
            .unwrap_or_default();
        return Err(Outcome::na(
            "host",
            format!("AMD CPU: kvm_amd has no ple_gap; its equivalent is pause_filter_count / pause_filter_thresh{pf}, and -overcommit cpu-pm=on disables PAUSE exits per VM"),
        ));
    }
    if !ctx.is_intel() {
        return Err(Outcome::unknown("host", "CPU vendor unknown"));
    }
    match module_loaded(ctx, "kvm_intel") {
        Ok(true) => Ok(()),
        Ok(false) => Err(Outcome::na(
            "host",
            "kvm_intel is not loaded: no KVM guests",
        )),
        Err(why) => Err(Outcome::unknown("host", why)),
    }
}

/// The latency-scope VMs (dedicated CPUs) and PAUSE exiting: off by ple_gap=0 or per VM by
/// cpu-pm=on.
fn dedicated_verdict(
    ctx: &Ctx,
    vms: &[&Vm],
    gap: u64,
    configured: Option<&(String, String)>,
) -> Outcome {
    let exiting: Vec<String> = vms
        .iter()
        .filter(|v| gap > 0 && !ctx.cpu_pm_on(v))
        .map(|v| v.name())
        .collect();
    if exiting.is_empty() {
        let how = if gap == 0 {
            "ple_gap=0 disables PAUSE exiting for every VM".to_string()
        } else if vms.is_empty() {
            "no VM runs".to_string()
        } else {
            format!(
                "{} run with -overcommit cpu-pm=on (PAUSE exits disabled per VM; ple_gap {gap} stays for shared VMs)",
                vms.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")
            )
        };
        if vms.is_empty() && gap > 0 {
            return Outcome::warn(
                "host",
                "the latency profile expects PAUSE exits off (ple_gap=0, or cpu-pm=on per VM)",
            );
        }
        return Outcome::pass(
            "host",
            format!("dedicated-CPU VMs take no PAUSE exits: {how}"),
        );
    }
    let pending = configured.is_some_and(|(_, v)| v.trim() == "0");
    let mut msg = format!(
        "{} {} dedicated pCPUs but still take PAUSE exits (ple_gap {gap}): set ple_gap=0 or add -overcommit cpu-pm=on",
        exiting.join(", "),
        if exiting.len() == 1 { "has" } else { "have" }
    );
    let reset: Vec<String> = vms
        .iter()
        .filter(|v| !ctx.cpu_pm_on(v) && ctx.cpu_pm(v).known().is_none())
        .map(|v| v.name())
        .collect();
    if !reset.is_empty() {
        msg.push_str(&format!(
            "; the cpu-pm=on of {} counts only on QEMU >= 9.1 (QEMU < 9.1 resets it at a later -overcommit, and the machine type allows such a QEMU)",
            reset.join(", ")
        ));
    }
    let mut o = if ctx.profile == Profile::Latency {
        Outcome::warn("host", msg)
    } else {
        Outcome::info(
            "host",
            format!("{msg} (optional under the throughput profile)"),
        )
    };
    if pending {
        if let Some((p, _)) = configured {
            o.message.push_str(&format!(
                "; {p} already sets ple_gap=0: it applies once every VM is stopped and kvm_intel is reloaded"
            ));
        }
        o = o.pending(true);
    }
    o
}
