//! The CPU latency PM QoS limit that keeps the idle governor out of deep states: the global
//! request (`/dev/cpu_dma_latency`, decimal µs after collection) and each CPU's
//! `power/pm_qos_resume_latency_us`.

use super::cpuidle::CPU_DIR;
use crate::rules::context::{Ctx, Got};

pub(crate) const CPU_DMA_LATENCY: &str = "/dev/cpu_dma_latency";
/// At or above this the global request is the kernel's "no constraint" default.
pub(crate) const QOS_NO_CONSTRAINT_US: i64 = 2_000_000_000;
/// What the PM QoS evidence row names as its source.
pub(crate) const SOURCE: &str = "/dev/cpu_dma_latency (CPU latency QoS), /sys/devices/system/cpu/cpu*/power/pm_qos_resume_latency_us";

/// The global request as read.
pub(crate) fn global<'a>(ctx: &Ctx<'a>) -> Got<'a> {
    ctx.get(CPU_DMA_LATENCY)
}

/// The CPU latency limit the idle governor applies on one CPU (µs): the smaller of the
/// global request and the CPU's `power/pm_qos_resume_latency_us`. `Ok(None)` = no limit.
/// `per_cpu_recorded`: some CPU's file was recorded ([`any_resume_latency`]).
pub(crate) fn qos_limit(
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
    let path = format!("{CPU_DIR}/cpu{cpu}/power/pm_qos_resume_latency_us");
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
pub(crate) fn any_resume_latency(ctx: &Ctx) -> bool {
    let prefix = format!("{CPU_DIR}/cpu");
    ctx.snap
        .files
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .any(|(k, f)| k.ends_with("/power/pm_qos_resume_latency_us") && f.value().is_some())
}
