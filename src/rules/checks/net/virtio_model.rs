//! qemu.net.virtio-model: guest NICs use virtio-net rather than an emulated model.

use super::{backend_of, model_of, Backend};
use crate::model::vm::is_emulated_nic_model;
use crate::rules::context::Ctx;
use crate::rules::facts::vm_args::argv_src;
use crate::rules::outcome::Outcome;
use crate::rules::units::NicUnit;

pub(super) fn virtio_model(_ctx: &Ctx, u: &NicUnit) -> Outcome {
    let (vm, nic, target) = (u.vm, u.nic, u.target.clone());
    let (model, defaulted) = model_of(vm, nic);
    let (backend, btype) = backend_of(nic);
    let obs = if defaulted {
        format!("model={model} (machine default)")
    } else {
        format!("model={model}")
    };
    let o = if backend == Backend::Vdpa {
        Outcome::na(
            target,
            "vhost-vdpa: the datapath is in hardware, there is no device model to tune",
        )
    } else if model.starts_with("virtio-net") {
        Outcome::pass(target, format!("paravirtual NIC {model}"))
    } else if backend == Backend::UserMode {
        Outcome::info(
            target,
            format!("emulated {model} on user-mode networking ({btype}): a management NIC, where the model hardly matters; use virtio-net for data traffic"),
        )
    } else if is_emulated_nic_model(&model) {
        Outcome::fail(
            target,
            format!("emulated NIC {model}: every packet traps into QEMU's device emulation; switch to virtio-net (the guest needs virtio_net)"),
        )
    } else {
        Outcome::unknown(
            target,
            format!("unrecognised NIC model {model}: cannot tell whether it is paravirtual"),
        )
    };
    o.ev(argv_src(vm), obs, "virtio-net-pci")
}
