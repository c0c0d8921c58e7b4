//! Guest kernel settings of guide §3.4: cpuidle-haltpoll, its governor parameters, no `idle=`,
//! and `rq_affinity` on multi-queue virtio disks.
//!
//! Two situations:
//! * on a hypervisor, per VM (`vm:NAME`): there is no guest channel, so the guest side is
//!   `unknown` ("run kvmaudit inside the guest"); what the host side can already decide is
//!   decided (a dedicated VM without `kvm-hint-dedicated=on` cannot load the driver), and VMs
//!   whose vCPUs are not dedicated are not applicable;
//! * inside a guest (`nested`), on target `host`, from the guest's own files and CPUID.

use super::{Check, CheckFn};
use crate::rules::context::Ctx;

mod haltpoll_driver;
mod hypervisor_side;
mod inside_guest;
mod no_idle;
mod poll_ns;
mod rq_affinity;

pub const CHECKS: &[(&str, CheckFn)] = &[
    (
        "guest.haltpoll.driver",
        Check::vm(haltpoll_driver::haltpoll_driver).unless(haltpoll_driver::haltpoll_driver_inside),
    ),
    (
        "guest.haltpoll.poll-ns",
        Check::vm(poll_ns::haltpoll_poll_ns).unless(poll_ns::haltpoll_poll_ns_inside),
    ),
    (
        "guest.cmdline.no-idle",
        Check::vm(no_idle::no_idle).unless(no_idle::no_idle_inside),
    ),
    (
        "guest.blk.rq-affinity",
        Check::vm(rq_affinity::rq_affinity).unless(rq_affinity::rq_affinity_inside),
    ),
];

const NO_CHANNEL: &str = "no guest channel: run kvmaudit inside the guest";
const CPUIDLE: &str = "/sys/devices/system/cpu/cpuidle";

fn in_guest(ctx: &Ctx) -> bool {
    ctx.flags.nested == Some(true)
}

#[cfg(test)]
mod tests;
