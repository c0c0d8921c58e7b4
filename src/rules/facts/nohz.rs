//! Tickless CPUs: the `nohz_full` set the running kernel applies (sysfs), what the running
//! command line asked for, and how evidence names the vCPU thread affinity judged against it.

use crate::model::host::Vm;
use crate::parse::cpulist;
use crate::rules::context::{Ctx, Got};
use crate::rules::facts::boot_cmdline::running_value;
use std::collections::BTreeSet;

/// The kernel's `nohz_full` CPU list.
pub(crate) const NOHZ_FULL: &str = "/sys/devices/system/cpu/nohz_full";

/// The `nohz_full` CPUs the running kernel applies.
#[derive(Debug, Clone)]
pub(crate) struct NohzFull {
    pub path: &'static str,
    /// Empty when the kernel has none (or was built without NO_HZ_FULL).
    pub active: BTreeSet<u32>,
    /// What the file holds, in words for evidence.
    pub observed: String,
}

/// The active `nohz_full` set, or the words of an unknown verdict (unreadable, or not a CPU
/// list). A missing file is a kernel without NO_HZ_FULL: no tickless CPUs.
pub(crate) fn nohz_full(ctx: &Ctx) -> Result<NohzFull, String> {
    let (active, observed) = match ctx.get(NOHZ_FULL) {
        Got::Val(v) => match cpulist::parse(v) {
            Ok(s) => (s, v.trim().to_string()),
            Err(_) => return Err(format!("{NOHZ_FULL}: unexpected {v:?}")),
        },
        Got::Absent => (
            BTreeSet::new(),
            "absent (kernel without NO_HZ_FULL)".to_string(),
        ),
        other => return Err(format!("{NOHZ_FULL}: {}", other.why())),
    };
    Ok(NohzFull {
        path: NOHZ_FULL,
        active,
        observed,
    })
}

/// `nohz_full=` of the running command line.
pub(crate) fn requested(ctx: &Ctx) -> Option<String> {
    running_value(ctx, "nohz_full").map(str::to_string)
}

/// How evidence names the CPU affinity of a VM's vCPU threads.
pub(crate) fn vcpu_affinity_source(vm: &Vm) -> String {
    format!(
        "/proc/{}/task/*/status Cpus_allowed_list",
        vm.pid.map_or("PID".into(), |p| p.to_string())
    )
}
