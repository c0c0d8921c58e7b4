//! Automatic NUMA balancing: the running `kernel.numa_balancing` sysctl, the command line's
//! `numa_balancing=` and the balancing counters of `/proc/vmstat`.

use crate::parse::vmstat;
use crate::rules::context::{Ctx, Got};

pub(crate) const SYSCTL: &str = "/proc/sys/kernel/numa_balancing";
/// A sysctl every kernel has: read, it shows the tree holds the kernel's sysctls.
const OSRELEASE: &str = "/proc/sys/kernel/osrelease";
const VMSTAT: &str = "/proc/vmstat";

/// Whether balancing is on, with the words for evidence, or why that cannot be told.
pub(crate) fn state(ctx: &Ctx) -> Result<(bool, String), String> {
    match ctx.get(SYSCTL) {
        Got::Val(v) => match v.trim().parse::<u32>() {
            Ok(n) => Ok((n & 1 == 1, n.to_string())),
            Err(_) => Err(format!("{SYSCTL}: unexpected {v:?}")),
        },
        // Only where the kernel's other sysctls were read is the file's absence the kernel's.
        Got::Absent if matches!(ctx.get(OSRELEASE), Got::Val(_)) => {
            Ok((false, "absent (kernel without NUMA balancing)".to_string()))
        }
        Got::Absent => Err(format!(
            "{SYSCTL} is not in this tree (nor are the kernel's other sysctls)"
        )),
        other => Err(format!("{SYSCTL}: {}", other.why())),
    }
}

/// The balancing counters of `/proc/vmstat` that were read, as (evidence label, value).
pub(crate) fn counters(ctx: &Ctx) -> Vec<(String, String)> {
    let Some(text) = ctx.text(VMSTAT) else {
        return Vec::new();
    };
    ["numa_hint_faults", "numa_pages_migrated"]
        .into_iter()
        .filter_map(|k| vmstat::value(text, k).map(|v| (format!("{VMSTAT} {k}"), v.to_string())))
        .collect()
}
