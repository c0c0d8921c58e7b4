//! guest.haltpoll.poll-ns: the haltpoll governor parameters.

use super::hypervisor_side::{hint_obs, hint_on, vm_dedicated};
use super::inside_guest::{guest_idle, with_idle_evidence};
use super::{in_guest, NO_CHANNEL};
use crate::report::Status;
use crate::rules::context::Ctx;
use crate::rules::facts::guest_side::haltpoll_param;
use crate::rules::facts::vm_args::argv_src;
use crate::rules::outcome::Outcome;
use crate::rules::units::VmUnit;

const POLL_PARAMS: &[(&str, &str)] = &[
    ("guest_halt_poll_ns", "200000"),
    ("guest_halt_poll_grow", "2"),
    ("guest_halt_poll_grow_start", "50000"),
    ("guest_halt_poll_shrink", "2"),
    ("guest_halt_poll_allow_shrink", "Y"),
];

/// Run inside a guest, the guest itself is judged (target `host`); on the hypervisor, each VM.
pub(super) fn haltpoll_poll_ns_inside(ctx: &Ctx) -> Option<Vec<Outcome>> {
    in_guest(ctx).then(|| haltpoll_poll_ns_of_this_guest(ctx))
}

fn haltpoll_poll_ns_of_this_guest(ctx: &Ctx) -> Vec<Outcome> {
    let g = guest_idle(ctx);
    if !g.active() {
        return vec![with_idle_evidence(
            Outcome::na(
                "host",
                "the haltpoll governor is not active (see guest.haltpoll.driver): its parameters do not apply",
            ),
            &g,
        )];
    }
    let mut values = Vec::new();
    let mut o = Outcome::info("host", "");
    let mut unreadable = Vec::new();
    for (p, default) in POLL_PARAMS {
        let param = haltpoll_param(ctx, p);
        let got = param.got;
        match got.val() {
            Some(v) => values.push(format!("{p}={}", v.trim())),
            None => unreadable.push(format!("{p} ({})", got.why())),
        }
        o = o.ev(param.source, got.why(), format!("default {default}"));
    }
    o.message = if values.is_empty() {
        o.status = Status::Unknown;
        format!(
            "the haltpoll governor parameters could not be read: {}",
            unreadable.join(", ")
        )
    } else {
        format!(
            "haltpoll governor parameters: {} (workload-dependent; the guide's 50000 is an example, not a target)",
            values.join(", ")
        )
    };
    vec![o]
}

pub(super) fn haltpoll_poll_ns(ctx: &Ctx, u: &VmUnit) -> Outcome {
    let vm = u.vm;
    if let Err(o) = vm_dedicated(ctx, vm) {
        return o;
    }
    let target = u.target.clone();
    if !hint_on(vm) {
        return Outcome::na(
            target,
            "without kvm-hint-dedicated=on the guest's haltpoll driver does not load, so its parameters do not apply (see guest.haltpoll.driver)",
        )
        .ev(argv_src(vm), hint_obs(vm), "kvm-hint-dedicated=on");
    }
    Outcome::unknown(
        target,
        format!("the haltpoll governor parameters live in the guest; {NO_CHANNEL}"),
    )
}
