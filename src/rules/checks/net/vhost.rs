//! qemu.net.vhost: virtio-net NICs use the in-kernel vhost-net backend.

use super::{backend_of, is_virtio, not_virtio, Backend};
use crate::model::host::Vm;
use crate::rules::context::Ctx;
use crate::rules::facts::vm_args::{argv_src, fd_view, FdView};
use crate::rules::outcome::Outcome;
use crate::rules::units::NicUnit;

/// Runtime proof of kernel vhost for the process: `/dev/vhost-net` open, or a vhost worker
/// task `vhost-<pid>` among its threads (Linux ≥ 6.4; older kernels run the worker as a kernel
/// thread outside the process, which the snapshot does not list).
enum VhostProof {
    Present(String, String),
    Absent(String),
    Unavailable(String),
}

fn vhost_proof(ctx: &Ctx, vm: &Vm) -> VhostProof {
    let proc_ = ctx.process(vm);
    let pid = proc_.and_then(|p| p.pid);
    if let (Some(p), Some(pid)) = (proc_, pid) {
        let name = format!("vhost-{pid}");
        let worker = p
            .threads
            .as_ref()
            .and_then(|target| target.get())
            .is_some_and(|l| l.iter().any(|th| th.comm == name));
        if worker {
            return VhostProof::Present(
                format!("/proc/{pid}/task/*/status"),
                format!("vhost worker task {name}"),
            );
        }
    }
    match fd_view(ctx, vm) {
        FdView::Listed(fds, path) => {
            if fds.iter().any(|f| f == "/dev/vhost-net") {
                VhostProof::Present(path, "/dev/vhost-net open".into())
            } else {
                VhostProof::Absent(path)
            }
        }
        FdView::Unreadable(why) => VhostProof::Unavailable(why),
        FdView::NoProcess => VhostProof::Unavailable("no running process (argv only)".into()),
    }
}

pub(super) fn vhost(ctx: &Ctx, u: &NicUnit) -> Outcome {
    let (vm, nic, target) = (u.vm, u.nic, u.target.clone());
    if !is_virtio(vm, nic) {
        return not_virtio(vm, nic, target);
    }
    let (backend, btype) = backend_of(nic);
    let src = argv_src(vm);
    let obs = |s: &str| format!("netdev type={btype}, {s}");
    match backend {
        Backend::VhostUser => {
            return Outcome::na(
                target,
                "vhost-user backend: the datapath lives in a userspace switch (DPDK/OVS-DPDK); kernel vhost-net does not apply",
            )
            .ev(src, obs("vhost-user"), "")
        }
        Backend::Vdpa => {
            return Outcome::na(target, "vhost-vdpa backend: the datapath is offloaded; kernel vhost-net does not apply")
                .ev(src, obs("vhost-vdpa"), "")
        }
        Backend::UserMode => {
            return Outcome::info(
                target,
                format!("user-mode networking ({btype}): a management NIC without kernel vhost; carry data traffic over a tap NIC with vhost"),
            )
            .ev(src, obs("no vhost"), "")
        }
        Backend::Other => {
            return Outcome::na(
                target,
                format!("backend {btype} cannot use kernel vhost-net (it serves tap/macvtap backends)"),
            )
            .ev(src, obs("no vhost"), "")
        }
        Backend::Unresolved => {
            return Outcome::unknown(target, "the NIC's backend could not be resolved")
                .ev(src, "netdev not found", "tap with vhost=on")
        }
        Backend::Tap => {}
    }
    let want = "vhost=on (or vhostfd=) with /dev/vhost-net open";
    if nic.vhost() != Some(true) {
        return Outcome::fail(
            target,
            "the virtio-net datapath runs in QEMU userspace: the tap backend has no vhost=on (QEMU's default is off)",
        )
        .ev(src, obs("vhost off"), want);
    }
    let argv_obs = obs("vhost=on/vhostfd");
    match vhost_proof(ctx, vm) {
        VhostProof::Present(path, what) => Outcome::pass(
            target,
            format!("kernel vhost-net serves the NIC ({what})"),
        )
        .ev(src, argv_obs, want)
        .ev(path, what, "/dev/vhost-net"),
        VhostProof::Absent(path) => Outcome::fail(
            target,
            "vhost is requested, yet the process holds no /dev/vhost-net and runs no vhost worker: the datapath is in userspace",
        )
        .ev(src, argv_obs, want)
        .ev(path, "no /dev/vhost-net", "/dev/vhost-net"),
        // QEMU refuses to create a tap netdev whose requested vhost it cannot set up
        // ("vhost-net requested but could not be initialized"), so the request is
        // sound evidence when the fd table cannot be read.
        VhostProof::Unavailable(why) => Outcome::pass(
            target,
            format!("vhost is requested on the command line (vhost=on or vhostfd=), and QEMU refuses to start a tap whose vhost-net it cannot set up (derived: {why})"),
        )
        .ev(src, argv_obs, want),
    }
}
