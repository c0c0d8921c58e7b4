//! Host resource overcommit hints of guide §3.3.1: `-overcommit cpu-pm=on` and `mem-lock=on`,
//! judged against whether the VM's CPUs are dedicated and the host's memory is overcommitted.
//! Every `-overcommit` occurrence (and the legacy `-realtime mlock=`) counts: the VM model
//! merges them key by key (libvirt writes `mem-lock=off`, a passthrough adds `cpu-pm=on`).

use super::{Check, CheckFn};
use crate::model::host::Vm;
use crate::model::vm::{MemLock, Overcommit};
use crate::report::target::Target;
use crate::rules::context::Ctx;
use crate::rules::facts::vm_args::on_off;
use crate::rules::outcome::Outcome;

mod cpu_pm;
mod mem_lock;

pub const CHECKS: &[(&str, CheckFn)] = &[
    ("qemu.overcommit.cpu-pm", Check::vm(cpu_pm::cpu_pm)),
    ("qemu.overcommit.mem-lock", Check::vm(mem_lock::mem_lock)),
];

fn mem_lock_str(m: MemLock) -> &'static str {
    match m {
        MemLock::On => "on",
        MemLock::Off => "off",
        MemLock::OnFault => "on-fault",
    }
}

/// Every occurrence as written: `-overcommit mem-lock=off; -overcommit cpu-pm=on`.
fn occurrences(oc: &Overcommit) -> String {
    if oc.occurrences.is_empty() {
        return "no -overcommit option".into();
    }
    oc.occurrences
        .iter()
        .map(|o| {
            let mut keys = Vec::new();
            if let Some(m) = o.mem_lock {
                let k = if o.option == "realtime" {
                    "mlock"
                } else {
                    "mem-lock"
                };
                keys.push(format!("{k}={}", mem_lock_str(m)));
            }
            if let Some(c) = o.cpu_pm {
                keys.push(format!("cpu-pm={}", on_off(c)));
            }
            if keys.is_empty() {
                format!("-{} (no keys)", o.option)
            } else {
                format!("-{} {}", o.option, keys.join(","))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Source and observation for `cpu_dedicated(vm)`.
fn dedication(ctx: &Ctx, vm: &Vm) -> (String, String) {
    let pid = ctx.process(vm).and_then(|p| p.pid);
    let src = match pid {
        Some(pid) => format!("/proc/{pid}/task/*/status Cpus_allowed_list"),
        None => "vCPU thread affinity".into(),
    };
    let obs = match ctx.dedicated(vm) {
        Some(true) => {
            "dedicated: each vCPU pinned to its own pCPU, no other thread may run there".into()
        }
        Some(false) => "shared: the vCPUs' pCPUs are not exclusive to them".into(),
        None => format!("unknown: {}", dedication_unknown(ctx, vm)),
    };
    (src, obs)
}

/// Why dedication could not be decided.
fn dedication_unknown(ctx: &Ctx, vm: &Vm) -> &'static str {
    match ctx.facts(vm).threads.as_ref() {
        None if ctx.process(vm).and_then(|p| p.pid).is_none() => {
            "no running process (argv only), so no thread affinity"
        }
        None => "the process's threads could not be read",
        Some(t) if t.vcpus.is_empty() => {
            "no \"CPU n/KVM\" threads found (they are named only with -name debug-threads=on)"
        }
        Some(_) => "another VM's thread affinity could not be read",
    }
}
/// The verdict when a key's value depends on whether QEMU is older than 9.1 (see
/// [`OvercommitValue`]): the verdict both readings agree on, else unknown; either way the
/// reset is named.
fn depends(
    vm: &Vm,
    t: &Target,
    key: &str,
    merged: &str,
    before_9_1: &str,
    new: Outcome,
    old: Outcome,
) -> Outcome {
    let machine = vm
        .model
        .machine
        .machine_type
        .as_deref()
        .map_or("no machine type".to_string(), |m| {
            format!("machine type {m}")
        });
    let last = vm
        .model
        .overcommit
        .occurrences
        .iter()
        .rev()
        .find(|o| o.option == "overcommit")
        .map(|o| {
            occurrences(&Overcommit {
                occurrences: vec![o.clone()],
                ..Overcommit::default()
            })
        })
        .unwrap_or_default();
    let reset = format!(
        "{key}={merged} on QEMU >= 9.1, but QEMU < 9.1 resets it to {before_9_1} at the last option ({last}), which does not name it, and {machine} does not prove QEMU >= 9.1"
    );
    if new.status == old.status {
        let msg = format!("{} ({reset})", new.message);
        Outcome {
            message: msg,
            ..new
        }
    } else {
        Outcome::unknown(
            t,
            format!(
                "{reset}: {} if it is 9.1 or later, {} if older (check with QMP query-version)",
                new.status.as_str(),
                old.status.as_str()
            ),
        )
    }
}

#[cfg(test)]
mod tests;
