//! qemu.net.poll-us: vhost busy polling (`poll-us`) is sane.

use super::{backend_of, Backend};
use crate::rules::context::Ctx;
use crate::rules::facts::vm_args::{argv_src, on_off};
use crate::rules::outcome::Outcome;
use crate::rules::units::NicUnit;

pub(super) fn poll_us(ctx: &Ctx, u: &NicUnit) -> Outcome {
    let (vm, nic, target) = (u.vm, u.nic, u.target.clone());
    let (backend, btype) = backend_of(nic);
    if backend != Backend::Tap {
        return Outcome::na(
            target,
            format!("poll-us is a tap netdev option; this NIC's backend is {btype}"),
        );
    }
    let src = argv_src(vm);
    let vhost = nic.vhost() == Some(true);
    let Some(us) = nic.backend.as_ref().and_then(|b| b.poll_us) else {
        return Outcome::info(
            target,
            "poll-us not set: vhost does not busy-poll (the default)",
        )
        .ev(src, "poll-us unset", "");
    };
    let obs = format!("poll-us={us}, vhost={}", on_off(vhost));
    let want = "tens of µs, with vhost, on dedicated CPUs";
    let o = if us == 0 {
        Outcome::info(target, "poll-us=0: busy polling disabled")
    } else if !vhost {
        Outcome::warn(
            target,
            format!(
                "poll-us={us} without vhost has no effect (it sets the vhost busy-loop timeout)"
            ),
        )
    } else if us > 1000 {
        Outcome::warn(
            target,
            format!("poll-us={us}: {} ms of spinning per poll burns a host CPU (the guide's 50000 almost certainly meant 50 µs)", us / 1000),
        )
    } else if ctx.flags.cpu_overcommitted == Some(true) {
        Outcome::warn(
            target,
            format!("poll-us={us} on a host with overcommitted CPUs: busy polling takes CPU time from other vCPUs"),
        )
    } else {
        Outcome::info(target, format!("vhost busy-polls for up to {us} µs"))
    };
    let o = o.ev(src, obs, want);
    match ctx.flags.cpu_overcommitted {
        Some(c) => o.ev(
            "vCPU commitment (context flag cpu_overcommitted)",
            if c {
                "overcommitted"
            } else {
                "not overcommitted"
            },
            "",
        ),
        None => o,
    }
}
