//! Whether host-side tuning is this system's own to judge.

use crate::rules::context::Ctx;
use crate::rules::outcome::Outcome;

/// A kvmaudit run inside a VM that hosts no VMs of its own: host-side memory tuning is the
/// business of the hypervisor underneath.
pub(crate) fn guest_without_vms(ctx: &Ctx) -> Option<Outcome> {
    if ctx.flags.nested == Some(true)
        && ctx.host.vms.is_empty()
        && ctx.dir_has("/dev", "kvm") != Some(true)
    {
        return Some(Outcome::na(
            "host",
            "kvmaudit runs inside a VM (hypervisor bit set) that hosts no VMs: host memory tuning belongs to the hypervisor underneath",
        ));
    }
    // Without CPUID or /proc/cpuinfo the hypervisor bit is unknown: on a system that hosts no
    // VM this may be a guest, whose host memory tuning is not its own to judge.
    if ctx.flags.nested.is_none()
        && ctx.host.vms.is_empty()
        && ctx.dir_has("/dev", "kvm") != Some(true)
    {
        return Some(Outcome::unknown(
            "host",
            "no VM runs here and neither CPUID nor /proc/cpuinfo says whether this is bare metal or a VM: host memory tuning cannot be judged",
        ));
    }
    None
}
