//! qemu.net.multiqueue: virtio-net multiqueue is configured and used.

use super::{backend_of, is_virtio, model_of, not_virtio, Backend};
use crate::rules::context::Ctx;
use crate::rules::facts::vm_args::{argv_src, machine_at_least, opt_on_off};
use crate::rules::outcome::Outcome;
use crate::rules::units::NicUnit;

pub(super) fn multiqueue(ctx: &Ctx, u: &NicUnit) -> Outcome {
    let (vm, nic, target) = (u.vm, u.nic, u.target.clone());
    if !is_virtio(vm, nic) {
        return not_virtio(vm, nic, target);
    }
    let (backend, btype) = backend_of(nic);
    match backend {
        Backend::Vdpa => {
            return Outcome::na(
                target,
                "vhost-vdpa: queues are the hardware's, not configured here",
            )
        }
        Backend::UserMode => {
            return Outcome::na(
                target,
                format!(
                    "user-mode networking ({btype}) is single-queue by design (management NIC)"
                ),
            )
        }
        _ => {}
    }
    let src = argv_src(vm);
    let Some(vcpus) = crate::rules::facts::flags::vcpus(ctx, vm) else {
        return Outcome::unknown(target, "the VM's vCPU count is unknown");
    };
    if vcpus <= 1 {
        return Outcome::na(target, "single-vCPU VM: one queue pair is all it can use")
            .ev(src, "1 vCPU", "");
    }
    let q = nic.queues().unwrap_or(1);
    let obs = format!(
        "{q} queue pair{} (queues= or fds=/vhostfds= count), mq={}, {vcpus} vCPUs",
        if q == 1 { "" } else { "s" },
        opt_on_off(nic.mq)
    );
    let want = format!("{} queue pairs with mq=on", vcpus);
    if q <= 1 {
        let o = if vcpus >= 4 {
            Outcome::warn(
                target,
                format!("a single queue pair for {vcpus} vCPUs: one vCPU (and one vhost worker) handles all of the NIC's traffic"),
            )
        } else {
            Outcome::info(
                target,
                format!("a single queue pair on a {vcpus}-vCPU VM: multiqueue would help little"),
            )
        };
        return o.ev(src, obs, want);
    }
    if nic.mq != Some(true) {
        return Outcome::warn(
            target,
            format!(
                "the backend has {q} queue pairs but the device lacks mq=on: the guest sees one"
            ),
        )
        .ev(src, obs, want);
    }
    if q > vcpus {
        return Outcome::warn(
            target,
            format!("{q} queue pairs for {vcpus} vCPUs: the guest uses at most {vcpus}, the rest cost vectors and host threads"),
        )
        .ev(src, obs, want);
    }
    // MSI-X: 2N+2 vectors; machine types ≤ 5.2 default to 3 unless vectors= is given.
    let need = q.saturating_mul(2).saturating_add(2);
    let pci = model_of(vm, nic).0.contains("-pci");
    if pci {
        match nic.vectors {
            Some(v) if v < need => {
                return Outcome::warn(
                    target,
                    format!("vectors={v} is below the {need} MSI-X vectors {q} queue pairs need: queues share interrupts"),
                )
                .ev(src, format!("{obs}, vectors={v}"), format!("vectors={need}"))
            }
            None => {
                let (recent, what) = machine_at_least(&vm.model.machine, (6, 0));
                if recent == Some(false) {
                    return Outcome::warn(
                        target,
                        format!("no vectors= on {what} (≤ 5.2 defaults to 3 MSI-X vectors): {q} queue pairs need {need}"),
                    )
                    .ev(src, format!("{obs}, vectors unset"), format!("vectors={need}"));
                }
            }
            _ => {}
        }
    }
    Outcome::pass(
        target,
        format!("{q} queue pairs with mq=on for {vcpus} vCPUs (the guest's use of all of them is visible only inside it)"),
    )
    .ev(src, obs, want)
}
