//! Host resource overcommit hints of guide §3.3.1: `-overcommit cpu-pm=on` and `mem-lock=on`,
//! judged against whether the VM's CPUs are dedicated and the host's memory is overcommitted.
//! Every `-overcommit` occurrence (and the legacy `-realtime mlock=`) counts: the VM model
//! merges them key by key (libvirt writes `mem-lock=off`, a passthrough adds `cpu-pm=on`).

use super::CheckFn;
use crate::model::host::Vm;
use crate::model::vm::{KvmUse, MemLock, Overcommit};
use crate::report::target::Target;
use crate::report::Profile;
use crate::rules::context::{Ctx, OvercommitValue};
use crate::rules::facts::vm_args::{argv_src, on_off};
use crate::rules::outcome::Outcome;

pub const CHECKS: &[(&str, CheckFn)] = &[
    ("qemu.overcommit.cpu-pm", cpu_pm),
    ("qemu.overcommit.mem-lock", mem_lock),
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

// ---------------------------------------------------------------------------------------------
// qemu.overcommit.cpu-pm

fn cpu_pm(ctx: &Ctx) -> Vec<Outcome> {
    ctx.host.vms.iter().map(|vm| cpu_pm_vm(ctx, vm)).collect()
}

fn cpu_pm_vm(ctx: &Ctx, vm: &Vm) -> Outcome {
    let t = ctx.vm_target(vm);
    let oc = &vm.model.overcommit;
    let argv_obs = occurrences(oc);
    let want = "-overcommit cpu-pm=on on dedicated vCPUs only";
    if vm.model.is_kvm() == KvmUse::No {
        return Outcome::na(
            t,
            "the VM does not run on KVM: cpu-pm only changes KVM exits",
        )
        .ev(argv_src(vm), argv_obs, "");
    }
    let o = match ctx.cpu_pm(vm) {
        OvercommitValue::Known(on) => cpu_pm_verdict(ctx, vm, &t, on),
        OvercommitValue::Depends { merged, before_9_1 } => {
            let new = cpu_pm_verdict(ctx, vm, &t, merged);
            let old = cpu_pm_verdict(ctx, vm, &t, before_9_1);
            depends(
                vm,
                &t,
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

fn cpu_pm_verdict(ctx: &Ctx, vm: &Vm, t: &Target, on: bool) -> Outcome {
    let ded = ctx.dedicated(vm);
    let latency = ctx.profile == Profile::Latency;
    let why = dedication_unknown(ctx, vm);
    match (on, ded) {
        (true, Some(true)) => Outcome::pass(
            t,
            "cpu-pm=on on dedicated vCPUs: the guest idles in its own C-states without HLT/MWAIT/PAUSE exits",
        ),
        (true, Some(false)) => Outcome::fail(
            t,
            "cpu-pm=on although the VM's pCPUs are shared with other vCPUs or emulator threads: idle vCPUs keep their pCPUs and steal time unpredictably",
        ),
        (true, None) => Outcome::unknown(
            t,
            format!("cpu-pm=on is set; whether the vCPUs are dedicated, as it requires, cannot be told ({why})"),
        ),
        (false, Some(true)) if latency => Outcome::fail(
            t,
            "latency profile: the VM has dedicated vCPUs but no -overcommit cpu-pm=on, so every guest idle is a VM exit (and the posted timer stays off)",
        ),
        (false, Some(true)) => Outcome::warn(
            t,
            "dedicated vCPUs without -overcommit cpu-pm=on: an optional latency gain is left out",
        ),
        (false, ded) if latency => Outcome::fail(
            t,
            format!(
                "latency profile: every VM is meant to have dedicated vCPUs with -overcommit cpu-pm=on; this one has no cpu-pm=on{}",
                match ded {
                    Some(false) => " and its vCPUs are not dedicated",
                    _ => "",
                }
            ),
        ),
        (false, Some(false)) => Outcome::na(
            t,
            "the vCPUs are not dedicated: cpu-pm=on must stay off, as it is",
        ),
        (false, None) => Outcome::unknown(
            t,
            format!("cpu-pm=on is not set; whether the vCPUs are dedicated (and it would help) cannot be told ({why})"),
        ),
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

// ---------------------------------------------------------------------------------------------
// qemu.overcommit.mem-lock

fn mem_lock(ctx: &Ctx) -> Vec<Outcome> {
    ctx.host.vms.iter().map(|vm| mem_lock_vm(ctx, vm)).collect()
}

fn mem_lock_vm(ctx: &Ctx, vm: &Vm) -> Outcome {
    let t = ctx.vm_target(vm);
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
        OvercommitValue::Known(m) => mem_lock_verdict(ctx, &t, m),
        OvercommitValue::Depends { merged, before_9_1 } => depends(
            vm,
            &t,
            "mem-lock",
            mem_lock_str(merged),
            mem_lock_str(before_9_1),
            mem_lock_verdict(ctx, &t, merged),
            mem_lock_verdict(ctx, &t, before_9_1),
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

fn mem_lock_verdict(ctx: &Ctx, t: &Target, eff: MemLock) -> Outcome {
    let on = matches!(eff, MemLock::On | MemLock::OnFault);
    let latency = ctx.profile == Profile::Latency;
    match (on, ctx.flags.mem_overcommitted) {
        (true, Some(false)) => Outcome::pass(
            t,
            format!(
                "guest memory is locked (mem-lock={}) and the host's memory is not overcommitted",
                mem_lock_str(eff)
            ),
        ),
        (true, Some(true)) => Outcome::fail(
            t,
            "mem-lock is on while the host's memory is overcommitted: locked guest RAM cannot be reclaimed, risking OOM for the host and other VMs",
        ),
        (true, None) => Outcome::unknown(
            t,
            "mem-lock is on; whether the host's memory is overcommitted (which would make it dangerous) cannot be told",
        ),
        (false, Some(false)) if latency => Outcome::fail(
            t,
            "latency profile: guest memory is not locked (mem-lock off) although the host's memory is not overcommitted",
        ),
        (false, Some(false)) => Outcome::warn(
            t,
            "mem-lock is off while the host's memory is not overcommitted: locking it is an optional latency gain",
        ),
        (false, Some(true)) => Outcome::na(
            t,
            "the host's memory is overcommitted: mem-lock must stay off, as it is",
        ),
        (false, None) => Outcome::unknown(
            t,
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
                        .map(|t| format!(" (MemTotal {} MiB)", t / (1024 * 1024)))
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

#[cfg(test)]
mod tests {
    use crate::report::Profile::{Latency, Throughput};
    use crate::rules::testkit::{findings, status, SnapBuilder};

    const ARGS: &str = "qemu-system-x86_64 -name guest=a,debug-threads=on -machine pc-q35-6.0 -accel kvm -smp 2 -m 4G";

    /// Host of 2 nodes × 4 cores × 2 threads; VM a with two vCPUs on CPUs 1 and 2 and its
    /// emulator thread on `emu`.
    fn host(extra: &str, emu: &'static str) -> crate::snapshot::Snapshot {
        SnapBuilder::new()
            .topology(2, 4, 2)
            .vm(
                &format!("{ARGS} {extra}"),
                &[
                    ("qemu-system-x86", emu, "0"),
                    ("CPU 0/KVM", "1", "0"),
                    ("CPU 1/KVM", "2", "0"),
                ],
            )
            .build()
    }

    #[test]
    fn cpu_pm() {
        let r = "qemu.overcommit.cpu-pm";
        // Dedicated: pass with cpu-pm=on, warn (fail under latency) without.
        assert_eq!(
            status(&host("-overcommit cpu-pm=on", "0"), Throughput, r, "vm:a"),
            "pass"
        );
        assert_eq!(status(&host("", "0"), Throughput, r, "vm:a"), "warn");
        assert_eq!(status(&host("", "0"), Latency, r, "vm:a"), "fail");
        // Shared (the emulator thread may run on vCPU CPUs): cpu-pm=on fails, off is NA.
        assert_eq!(
            status(&host("-overcommit cpu-pm=on", "0-3"), Throughput, r, "vm:a"),
            "fail"
        );
        assert_eq!(
            status(&host("", "0-3"), Throughput, r, "vm:a"),
            "not_applicable"
        );
        assert_eq!(status(&host("", "0-3"), Latency, r, "vm:a"), "fail");
        // All occurrences count: libvirt's mem-lock=off plus a passthrough cpu-pm=on.
        let s = host("-overcommit mem-lock=off -overcommit cpu-pm=on", "0");
        let f = findings(&s, Throughput, r);
        assert_eq!(f[0].status.as_str(), "pass");
        assert!(f[0].evidence[0]
            .observed
            .contains("-overcommit mem-lock=off; -overcommit cpu-pm=on"));
        // Earlier occurrence only: on for QEMU >= 9.1, reset to off by older QEMU, and
        // pc-q35-6.0 does not tell which: not a pass, and the reset is named.
        let s = host("-overcommit cpu-pm=on -overcommit mem-lock=off", "0");
        let f = findings(&s, Throughput, r);
        assert_eq!(f[0].status.as_str(), "unknown");
        assert!(
            f[0].message.contains(
                "QEMU < 9.1 resets it to off at the last option (-overcommit mem-lock=off)"
            ),
            "{}",
            f[0].message
        );
        // A 9.1+ machine type proves the merging QEMU.
        let s = host(
            "-overcommit cpu-pm=on -overcommit mem-lock=off -machine pc-q35-9.2",
            "0",
        );
        let f = findings(&s, Throughput, r);
        assert_eq!(f[0].status.as_str(), "pass");
        assert!(!f[0].message.contains("9.1"), "{}", f[0].message);
        // argv only: dedication unknown.
        let s = SnapBuilder::new()
            .vm_argv(&["qemu-system-x86_64", "-accel", "kvm", "-name", "a"], &[])
            .build();
        assert_eq!(status(&s, Throughput, r, "vm:a"), "unknown");
        // TCG: not applicable.
        let s = SnapBuilder::new()
            .vm(
                "qemu-system-x86_64 -name a -accel tcg -overcommit cpu-pm=on",
                &[],
            )
            .build();
        assert_eq!(status(&s, Throughput, r, "vm:a"), "not_applicable");
    }

    #[test]
    fn mem_lock() {
        let r = "qemu.overcommit.mem-lock";
        // The test host has 2 × 252 GiB: a 4 GiB VM does not overcommit it.
        let f = findings(&host("-overcommit mem-lock=on", "0"), Throughput, r);
        assert_eq!(f[0].status.as_str(), "pass");
        assert!(f[0].evidence[0].observed.starts_with("mem-lock=on"));
        assert_eq!(
            status(
                &host("-overcommit mem-lock=off", "0"),
                Throughput,
                r,
                "vm:a"
            ),
            "warn"
        );
        assert_eq!(status(&host("", "0"), Latency, r, "vm:a"), "fail");
        // Later occurrences win per key; -realtime mlock=on is the legacy spelling.
        assert_eq!(
            status(
                &host("-overcommit mem-lock=off -overcommit mem-lock=on", "0"),
                Throughput,
                r,
                "vm:a"
            ),
            "pass"
        );
        // libvirt's mem-lock=on followed by the passthrough cpu-pm=on: QEMU < 9.1 resets
        // mem-lock to off, and pc-q35-6.0 allows such a QEMU (issue 12 item 6).
        let f = findings(
            &host("-overcommit mem-lock=on -overcommit cpu-pm=on", "0"),
            Throughput,
            r,
        );
        assert_eq!(f[0].status.as_str(), "unknown");
        assert!(
            f[0].message.starts_with("mem-lock=on on QEMU >= 9.1, but QEMU < 9.1 resets it to off at the last option (-overcommit cpu-pm=on)"),
            "{}",
            f[0].message
        );
        // With a 9.1+ machine type the merge is right.
        assert_eq!(
            status(
                &host(
                    "-overcommit mem-lock=on -overcommit cpu-pm=on -machine pc-q35-9.1",
                    "0"
                ),
                Throughput,
                r,
                "vm:a"
            ),
            "pass"
        );
        let f = findings(&host("-realtime mlock=on", "0"), Throughput, r);
        assert_eq!(f[0].status.as_str(), "pass");
        assert!(f[0].message.contains("-realtime"));
        // A 600 GiB VM overcommits the 504 GiB host: mem-lock=on fails, off is NA.
        let big = |oc: &str| {
            SnapBuilder::new()
                .topology(2, 4, 2)
                .vm(
                    &format!("qemu-system-x86_64 -name a -accel kvm -m 600G {oc}"),
                    &[],
                )
                .build()
        };
        assert_eq!(
            status(&big("-overcommit mem-lock=on"), Throughput, r, "vm:a"),
            "fail"
        );
        assert_eq!(
            status(&big("-overcommit mem-lock=off"), Throughput, r, "vm:a"),
            "not_applicable"
        );
        // No /proc/meminfo: unknown, never pass or fail.
        let s = SnapBuilder::new()
            .vm(
                "qemu-system-x86_64 -name a -m 4G -overcommit mem-lock=on",
                &[],
            )
            .build();
        assert_eq!(status(&s, Throughput, r, "vm:a"), "unknown");
    }
}
