//! The CPU latency PM QoS limit that keeps the idle governor out of deep states.

use super::readers::CPU;
use crate::rules::context::{Ctx, Got};

/// The global CPU latency QoS request, as read from the device (decimal µs after
/// collection). At or above this it is the kernel's "no constraint" default.
pub(super) const CPU_DMA_LATENCY: &str = "/dev/cpu_dma_latency";
pub(super) const QOS_NO_CONSTRAINT_US: i64 = 2_000_000_000;

/// The CPU latency limit the idle governor applies on one CPU (µs): the smaller of the
/// global request and the CPU's `power/pm_qos_resume_latency_us`. `Ok(None)` = no limit.
/// `per_cpu_recorded`: some CPU's file was recorded ([`any_resume_latency`]).
pub(super) fn qos_limit(
    ctx: &Ctx,
    cpu: u32,
    per_cpu_recorded: bool,
) -> Result<Option<u64>, String> {
    let global = match ctx.get(CPU_DMA_LATENCY) {
        Got::Val(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= QOS_NO_CONSTRAINT_US => None,
            Ok(n) => Some(u64::try_from(n.max(0)).unwrap_or(0)),
            Err(_) => return Err(format!("{CPU_DMA_LATENCY}: unexpected {v:?}")),
        },
        other => return Err(format!("{CPU_DMA_LATENCY}: {}", other.why())),
    };
    let path = format!("{CPU}/cpu{cpu}/power/pm_qos_resume_latency_us");
    let per_cpu = match ctx.get(&path) {
        // Missing for this CPU while other CPUs have it: a copy that lost it.
        Got::Absent | Got::NotCollected if per_cpu_recorded => {
            return Err(format!("{path}: absent while other CPUs have it"))
        }
        // No CPU has one (a kernel before 4.16, or a copy without them): no per-CPU limit.
        Got::Absent | Got::NotCollected => None,
        Got::Val(v) => match crate::parse::sysfs::resume_latency_us(v) {
            Some(l) => l,
            None => return Err(format!("{path}: unexpected {v:?}")),
        },
        Got::Unreadable(e) => return Err(format!("{path}: {}", e.describe())),
    };
    Ok(match (global, per_cpu) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// Whether any CPU's `power/pm_qos_resume_latency_us` was recorded.
pub(super) fn any_resume_latency(ctx: &Ctx) -> bool {
    let prefix = format!("{CPU}/cpu");
    ctx.snap
        .files
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .any(|(k, f)| k.ends_with("/power/pm_qos_resume_latency_us") && f.value().is_some())
}
