//! qemu.overcommit.cpu-pm: `-overcommit cpu-pm=on` exactly when the VM's CPUs are dedicated.

use super::{dedication, dedication_unknown, depends, occurrences};
use crate::model::host::Vm;
use crate::model::vm::KvmUse;
use crate::report::target::Target;
use crate::report::Profile;
use crate::rules::context::{Ctx, OvercommitValue};
use crate::rules::facts::vm_args::{argv_src, on_off};
use crate::rules::outcome::Outcome;
use crate::rules::units::VmUnit;

pub(super) fn cpu_pm(ctx: &Ctx, u: &VmUnit) -> Outcome {
    let (vm, target) = (u.vm, u.target.clone());
    let oc = &vm.model.overcommit;
    let argv_obs = occurrences(oc);
    let want = "-overcommit cpu-pm=on on dedicated vCPUs only";
    if vm.model.is_kvm() == KvmUse::No {
        return Outcome::na(
            target,
            "the VM does not run on KVM: cpu-pm only changes KVM exits",
        )
        .ev(argv_src(vm), argv_obs, "");
    }
    let o = match ctx.cpu_pm(vm) {
        OvercommitValue::Known(on) => cpu_pm_verdict(ctx, vm, &target, on),
        OvercommitValue::Depends { merged, before_9_1 } => {
            let new = cpu_pm_verdict(ctx, vm, &target, merged);
            let old = cpu_pm_verdict(ctx, vm, &target, before_9_1);
            depends(
                vm,
                &target,
                "cpu-pm",
                on_off(merged),
                on_off(before_9_1),
                new,
                old,
            )
        }
    };
    let (src, obs) = dedication(ctx, vm);
    // The effective value as data (the reading the message describes) for the fix planner.
    let (OvercommitValue::Known(on) | OvercommitValue::Depends { merged: on, .. }) = ctx.cpu_pm(vm);
    let value = crate::report::Datum::OvercommitOption {
        key: "cpu-pm".into(),
        value: on_off(on).into(),
    };
    o.ev(argv_src(vm), argv_obs, want)
        .ev(src, obs, "dedicated")
        .datum(value)
}

fn cpu_pm_verdict(ctx: &Ctx, vm: &Vm, target: &Target, on: bool) -> Outcome {
    let ded = ctx.dedicated(vm);
    let latency = ctx.profile == Profile::Latency;
    let why = dedication_unknown(ctx, vm);
    match (on, ded) {
        (true, Some(true)) => Outcome::pass(
            target,
            "cpu-pm=on on dedicated vCPUs: the guest idles in its own C-states without HLT/MWAIT/PAUSE exits",
        ),
        (true, Some(false)) => Outcome::fail(
            target,
            "cpu-pm=on although the VM's pCPUs are shared with other vCPUs or emulator threads: idle vCPUs keep their pCPUs and steal time unpredictably",
        ),
        (true, None) => Outcome::unknown(
            target,
            format!("cpu-pm=on is set; whether the vCPUs are dedicated, as it requires, cannot be told ({why})"),
        ),
        (false, Some(true)) if latency => Outcome::fail(
            target,
            "latency profile: the VM has dedicated vCPUs but no -overcommit cpu-pm=on, so every guest idle is a VM exit (and the posted timer stays off)",
        ),
        (false, Some(true)) => Outcome::warn(
            target,
            "dedicated vCPUs without -overcommit cpu-pm=on: an optional latency gain is left out",
        ),
        (false, ded) if latency => Outcome::fail(
            target,
            format!(
                "latency profile: every VM is meant to have dedicated vCPUs with -overcommit cpu-pm=on; this one has no cpu-pm=on{}",
                match ded {
                    Some(false) => " and its vCPUs are not dedicated",
                    _ => "",
                }
            ),
        ),
        (false, Some(false)) => Outcome::na(
            target,
            "the vCPUs are not dedicated: cpu-pm=on must stay off, as it is",
        ),
        (false, None) => Outcome::unknown(
            target,
            format!("cpu-pm=on is not set; whether the vCPUs are dedicated (and it would help) cannot be told ({why})"),
        ),
    }
}
