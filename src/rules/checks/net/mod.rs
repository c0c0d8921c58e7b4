//! Device model and virtio-net / vhost-net of guide §3.3.2–3.3.3, judged per guest NIC
//! (`vm:NAME/net:ID`), plus the host-wide vhost_net zero-copy parameter.
//!
//! Passthrough NICs (`vfio-pci`) are not NICs in the VM model; vDPA and vhost-user backends are
//! recorded and mostly not applicable, as the catalogue says.

use super::{Check, CheckFn};
use crate::model::host::Vm;
use crate::model::vm::{Machine, Nic};
use crate::report::target::Target;
use crate::rules::outcome::Outcome;

mod multiqueue;
mod packed;
mod poll_us;
mod vhost;
mod virtio_model;
mod zcopytx;

pub const CHECKS: &[(&str, CheckFn)] = &[
    (
        "qemu.net.virtio-model",
        Check::nic(virtio_model::virtio_model),
    ),
    ("qemu.net.vhost", Check::nic(vhost::vhost)),
    ("qemu.net.multiqueue", Check::nic(multiqueue::multiqueue)),
    ("qemu.net.packed", Check::nic(packed::packed)),
    ("host.vhost-net.zcopytx", Check::host(zcopytx::zcopytx)),
    ("qemu.net.poll-us", Check::nic(poll_us::poll_us)),
];

// ---------------------------------------------------------------------------------------------
// NIC classification

/// The backend families the rules tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// tap or bridge (qemu-bridge-helper): kernel vhost-net can serve it.
    Tap,
    VhostUser,
    Vdpa,
    /// slirp (`user`) or passt: management NICs in user-mode networking.
    UserMode,
    /// socket, stream, dgram, vde, l2tpv3, hubport, netmap, af-xdp, vmnet-*: no kernel vhost.
    Other,
    /// `netdev=` names nothing the model could resolve.
    Unresolved,
}

fn backend_of(nic: &Nic) -> (Backend, String) {
    let Some(b) = nic.backend.as_ref() else {
        return (Backend::Unresolved, "unresolved".into());
    };
    let target = b.backend_type.as_str();
    let kind = match target {
        "tap" | "bridge" => Backend::Tap,
        "vhost-user" => Backend::VhostUser,
        "vhost-vdpa" => Backend::Vdpa,
        "user" | "passt" => Backend::UserMode,
        _ => Backend::Other,
    };
    (kind, target.to_string())
}

/// QEMU's default NIC model when `-nic`/`-net nic` gives none.
fn default_model(m: &Machine) -> &'static str {
    let target = m.machine_type.as_deref().unwrap_or("pc");
    if target.starts_with("s390") {
        "virtio-net-ccw"
    } else if target.starts_with("virt") {
        "virtio-net-pci"
    } else if target == "microvm" {
        "virtio-net-device"
    } else if target.starts_with("pseries") {
        "spapr-vlan"
    } else if target.contains("q35") {
        "e1000e"
    } else {
        "e1000"
    }
}

/// The NIC model in effect and whether it was defaulted.
fn model_of(vm: &Vm, nic: &Nic) -> (String, bool) {
    match nic.model.as_deref() {
        Some(m) => (m.to_string(), false),
        None => (default_model(&vm.model.machine).to_string(), true),
    }
}

fn is_virtio(vm: &Vm, nic: &Nic) -> bool {
    model_of(vm, nic).0.starts_with("virtio-net")
}

/// Outcome for a NIC that is not virtio-net (rules other than virtio-model skip it).
fn not_virtio(vm: &Vm, nic: &Nic, target: Target) -> Outcome {
    let (m, _) = model_of(vm, nic);
    Outcome::na(
        target,
        format!("model {m} is not virtio-net (see qemu.net.virtio-model)"),
    )
}

#[cfg(test)]
mod tests;
