//! qemu.overcommit.mem-lock: `-overcommit mem-lock=on` against host memory overcommit.

use super::{depends, mem_lock_str, occurrences};
use crate::model::host::Vm;
use crate::model::vm::MemLock;
use crate::report::target::Target;
use crate::report::Profile;
use crate::rules::context::{Ctx, OvercommitValue};
use crate::rules::facts::vm_args::argv_src;
use crate::rules::outcome::Outcome;
use crate::rules::units::VmUnit;

pub(super) fn mem_lock(ctx: &Ctx, u: &VmUnit) -> Outcome {
    let (vm, target) = (u.vm, u.target.clone());
    let oc = &vm.model.overcommit;
    let eff = oc.mem_lock.unwrap_or(MemLock::Off);
    let default = if oc.mem_lock.is_none() {
        " (QEMU default)"
    } else {
        ""
    };
    let argv_obs = format!(
        "mem-lock={}{default}: {}",
        mem_lock_str(eff),
        occurrences(oc)
    );
    let legacy = oc.occurrences.iter().any(|o| o.option == "realtime");
    let mo = ctx.flags.mem_overcommitted;
    let o = match ctx.mem_lock(vm) {
        OvercommitValue::Known(m) => mem_lock_verdict(ctx, &target, m),
        OvercommitValue::Depends { merged, before_9_1 } => depends(
            vm,
            &target,
            "mem-lock",
            mem_lock_str(merged),
            mem_lock_str(before_9_1),
            mem_lock_verdict(ctx, &target, merged),
            mem_lock_verdict(ctx, &target, before_9_1),
        ),
    };
    // The effective value as data (the reading the message describes) for the fix planner.
    let (OvercommitValue::Known(m) | OvercommitValue::Depends { merged: m, .. }) = ctx.mem_lock(vm);
    let value = crate::report::Datum::OvercommitOption {
        key: "mem-lock".into(),
        value: mem_lock_str(m).into(),
    };
    mem_lock_evidence(ctx, vm, o.datum(value), legacy, argv_obs, mo)
}

fn mem_lock_verdict(ctx: &Ctx, target: &Target, eff: MemLock) -> Outcome {
    let on = matches!(eff, MemLock::On | MemLock::OnFault);
    let latency = ctx.profile == Profile::Latency;
    match (on, ctx.flags.mem_overcommitted) {
        (true, Some(false)) => Outcome::pass(
            target,
            format!(
                "guest memory is locked (mem-lock={}) and the host's memory is not overcommitted",
                mem_lock_str(eff)
            ),
        ),
        (true, Some(true)) => Outcome::fail(
            target,
            "mem-lock is on while the host's memory is overcommitted: locked guest RAM cannot be reclaimed, risking OOM for the host and other VMs",
        ),
        (true, None) => Outcome::unknown(
            target,
            "mem-lock is on; whether the host's memory is overcommitted (which would make it dangerous) cannot be told",
        ),
        (false, Some(false)) if latency => Outcome::fail(
            target,
            "latency profile: guest memory is not locked (mem-lock off) although the host's memory is not overcommitted",
        ),
        (false, Some(false)) => Outcome::warn(
            target,
            "mem-lock is off while the host's memory is not overcommitted: locking it is an optional latency gain",
        ),
        (false, Some(true)) => Outcome::na(
            target,
            "the host's memory is overcommitted: mem-lock must stay off, as it is",
        ),
        (false, None) => Outcome::unknown(
            target,
            "mem-lock is off; whether the host's memory is overcommitted (and locking would be safe) cannot be told",
        ),
    }
}

fn mem_lock_evidence(
    ctx: &Ctx,
    vm: &Vm,
    o: Outcome,
    legacy: bool,
    argv_obs: String,
    mo: Option<bool>,
) -> Outcome {
    let o = if legacy {
        let msg = format!(
            "{} (-realtime mlock= was removed in QEMU 6.0: use -overcommit mem-lock=)",
            o.message
        );
        Outcome { message: msg, ..o }
    } else {
        o
    };
    let mut o = o
        .ev(
            argv_src(vm),
            argv_obs,
            "-overcommit mem-lock=on without memory overcommit",
        )
        .ev(
            "/proc/meminfo MemTotal vs Σ guest RAM + huge page pools + 10 % reserve",
            match mo {
                Some(true) => "overcommitted".to_string(),
                Some(false) => format!(
                    "not overcommitted{}",
                    ctx.host
                        .meminfo
                        .as_ref()
                        .and_then(|m| m.mem_total())
                        .map(|target| format!(" (MemTotal {} MiB)", target / (1024 * 1024)))
                        .unwrap_or_default()
                ),
                None => "unknown (/proc/meminfo or a VM's memory size not readable)".into(),
            },
            "not overcommitted",
        );
    if let Some((pid, kb)) = ctx.process(vm).and_then(|p| {
        let s = p.status.as_ref()?.get()?;
        Some((p.pid?, s.vm_lck_kb?))
    }) {
        o = o.ev(
            format!("/proc/{pid}/status VmLck"),
            format!("{kb} kB (also counts VFIO-pinned memory)"),
            "",
        );
    }
    o
}
