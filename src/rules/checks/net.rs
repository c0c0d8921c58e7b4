//! Device model and virtio-net / vhost-net of guide §3.3.2–3.3.3, judged per guest NIC
//! (`vm:NAME/net:ID`), plus the host-wide vhost_net zero-copy parameter.
//!
//! Passthrough NICs (`vfio-pci`) are not NICs in the VM model; vDPA and vhost-user backends are
//! recorded and mostly not applicable, as the catalogue says.

use super::CheckFn;
use crate::model::host::Vm;
use crate::model::vm::{is_emulated_nic_model, Machine, Nic};
use crate::report::target::Target;
use crate::rules::context::{Ctx, Got};
use crate::rules::facts::vm_args::{
    argv_src, fd_view, machine_at_least, on_off, opt_on_off, vm_without, FdView,
};
use crate::rules::outcome::Outcome;

pub const CHECKS: &[(&str, CheckFn)] = &[
    ("qemu.net.virtio-model", virtio_model),
    ("qemu.net.vhost", vhost),
    ("qemu.net.multiqueue", multiqueue),
    ("qemu.net.packed", packed),
    ("host.vhost-net.zcopytx", zcopytx),
    ("qemu.net.poll-us", poll_us),
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

fn backend_of(n: &Nic) -> (Backend, String) {
    let Some(b) = n.backend.as_ref() else {
        return (Backend::Unresolved, "unresolved".into());
    };
    let t = b.backend_type.as_str();
    let kind = match t {
        "tap" | "bridge" => Backend::Tap,
        "vhost-user" => Backend::VhostUser,
        "vhost-vdpa" => Backend::Vdpa,
        "user" | "passt" => Backend::UserMode,
        _ => Backend::Other,
    };
    (kind, t.to_string())
}

/// QEMU's default NIC model when `-nic`/`-net nic` gives none.
fn default_model(m: &Machine) -> &'static str {
    let t = m.machine_type.as_deref().unwrap_or("pc");
    if t.starts_with("s390") {
        "virtio-net-ccw"
    } else if t.starts_with("virt") {
        "virtio-net-pci"
    } else if t == "microvm" {
        "virtio-net-device"
    } else if t.starts_with("pseries") {
        "spapr-vlan"
    } else if t.contains("q35") {
        "e1000e"
    } else {
        "e1000"
    }
}

/// The NIC model in effect and whether it was defaulted.
fn model_of(vm: &Vm, n: &Nic) -> (String, bool) {
    match n.model.as_deref() {
        Some(m) => (m.to_string(), false),
        None => (default_model(&vm.model.machine).to_string(), true),
    }
}

fn is_virtio(vm: &Vm, n: &Nic) -> bool {
    model_of(vm, n).0.starts_with("virtio-net")
}

/// Targets of a VM's NICs, parallel to `vm.model.nics`: the device id, else the position
/// (`nic1`). Public so that tests name NICs exactly as the rules do.
pub fn nic_targets(ctx: &Ctx, vm: &Vm) -> Vec<Target> {
    vm.model
        .nics
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let id = n.id.clone().unwrap_or_else(|| format!("nic{i}"));
            ctx.vm_target(vm).child(&format!("net:{id}"))
        })
        .collect()
}

/// Run `judge` on every NIC of every VM; VMs without NICs get one not-applicable outcome.
fn per_nic(ctx: &Ctx, judge: impl Fn(&Ctx, &Vm, &Nic, Target) -> Outcome) -> Vec<Outcome> {
    let mut out = Vec::new();
    for vm in &ctx.host.vms {
        if vm.model.nics.is_empty() {
            out.push(vm_without(ctx, vm, "emulated or paravirtual NICs"));
            continue;
        }
        for (n, t) in vm.model.nics.iter().zip(nic_targets(ctx, vm)) {
            out.push(judge(ctx, vm, n, t));
        }
    }
    out
}

/// Outcome for a NIC that is not virtio-net (rules other than virtio-model skip it).
fn not_virtio(vm: &Vm, n: &Nic, t: Target) -> Outcome {
    let (m, _) = model_of(vm, n);
    Outcome::na(
        t,
        format!("model {m} is not virtio-net (see qemu.net.virtio-model)"),
    )
}

// ---------------------------------------------------------------------------------------------
// qemu.net.virtio-model

fn virtio_model(ctx: &Ctx) -> Vec<Outcome> {
    per_nic(ctx, |_, vm, n, t| {
        let (model, defaulted) = model_of(vm, n);
        let (backend, btype) = backend_of(n);
        let obs = if defaulted {
            format!("model={model} (machine default)")
        } else {
            format!("model={model}")
        };
        let o = if backend == Backend::Vdpa {
            Outcome::na(
                t,
                "vhost-vdpa: the datapath is in hardware, there is no device model to tune",
            )
        } else if model.starts_with("virtio-net") {
            Outcome::pass(t, format!("paravirtual NIC {model}"))
        } else if backend == Backend::UserMode {
            Outcome::info(
                t,
                format!("emulated {model} on user-mode networking ({btype}): a management NIC, where the model hardly matters; use virtio-net for data traffic"),
            )
        } else if is_emulated_nic_model(&model) {
            Outcome::fail(
                t,
                format!("emulated NIC {model}: every packet traps into QEMU's device emulation; switch to virtio-net (the guest needs virtio_net)"),
            )
        } else {
            Outcome::unknown(
                t,
                format!("unrecognised NIC model {model}: cannot tell whether it is paravirtual"),
            )
        };
        o.ev(argv_src(vm), obs, "virtio-net-pci")
    })
}

// ---------------------------------------------------------------------------------------------
// qemu.net.vhost

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
            .and_then(|t| t.get())
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

fn vhost(ctx: &Ctx) -> Vec<Outcome> {
    per_nic(ctx, |ctx, vm, n, t| {
        if !is_virtio(vm, n) {
            return not_virtio(vm, n, t);
        }
        let (backend, btype) = backend_of(n);
        let src = argv_src(vm);
        let obs = |s: &str| format!("netdev type={btype}, {s}");
        match backend {
            Backend::VhostUser => {
                return Outcome::na(
                    t,
                    "vhost-user backend: the datapath lives in a userspace switch (DPDK/OVS-DPDK); kernel vhost-net does not apply",
                )
                .ev(src, obs("vhost-user"), "")
            }
            Backend::Vdpa => {
                return Outcome::na(t, "vhost-vdpa backend: the datapath is offloaded; kernel vhost-net does not apply")
                    .ev(src, obs("vhost-vdpa"), "")
            }
            Backend::UserMode => {
                return Outcome::info(
                    t,
                    format!("user-mode networking ({btype}): a management NIC without kernel vhost; carry data traffic over a tap NIC with vhost"),
                )
                .ev(src, obs("no vhost"), "")
            }
            Backend::Other => {
                return Outcome::na(
                    t,
                    format!("backend {btype} cannot use kernel vhost-net (it serves tap/macvtap backends)"),
                )
                .ev(src, obs("no vhost"), "")
            }
            Backend::Unresolved => {
                return Outcome::unknown(t, "the NIC's backend could not be resolved")
                    .ev(src, "netdev not found", "tap with vhost=on")
            }
            Backend::Tap => {}
        }
        let want = "vhost=on (or vhostfd=) with /dev/vhost-net open";
        if n.vhost() != Some(true) {
            return Outcome::fail(
                t,
                "the virtio-net datapath runs in QEMU userspace: the tap backend has no vhost=on (QEMU's default is off)",
            )
            .ev(src, obs("vhost off"), want);
        }
        let argv_obs = obs("vhost=on/vhostfd");
        match vhost_proof(ctx, vm) {
            VhostProof::Present(path, what) => Outcome::pass(
                t,
                format!("kernel vhost-net serves the NIC ({what})"),
            )
            .ev(src, argv_obs, want)
            .ev(path, what, "/dev/vhost-net"),
            VhostProof::Absent(path) => Outcome::fail(
                t,
                "vhost is requested, yet the process holds no /dev/vhost-net and runs no vhost worker: the datapath is in userspace",
            )
            .ev(src, argv_obs, want)
            .ev(path, "no /dev/vhost-net", "/dev/vhost-net"),
            // QEMU refuses to create a tap netdev whose requested vhost it cannot set up
            // ("vhost-net requested but could not be initialized"), so the request is
            // sound evidence when the fd table cannot be read.
            VhostProof::Unavailable(why) => Outcome::pass(
                t,
                format!("vhost is requested on the command line (vhost=on or vhostfd=), and QEMU refuses to start a tap whose vhost-net it cannot set up (derived: {why})"),
            )
            .ev(src, argv_obs, want),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// qemu.net.multiqueue

fn multiqueue(ctx: &Ctx) -> Vec<Outcome> {
    per_nic(ctx, |ctx, vm, n, t| {
        if !is_virtio(vm, n) {
            return not_virtio(vm, n, t);
        }
        let (backend, btype) = backend_of(n);
        match backend {
            Backend::Vdpa => {
                return Outcome::na(
                    t,
                    "vhost-vdpa: queues are the hardware's, not configured here",
                )
            }
            Backend::UserMode => {
                return Outcome::na(
                    t,
                    format!(
                        "user-mode networking ({btype}) is single-queue by design (management NIC)"
                    ),
                )
            }
            _ => {}
        }
        let src = argv_src(vm);
        let Some(vcpus) = crate::rules::facts::flags::vcpus(ctx, vm) else {
            return Outcome::unknown(t, "the VM's vCPU count is unknown");
        };
        if vcpus <= 1 {
            return Outcome::na(t, "single-vCPU VM: one queue pair is all it can use")
                .ev(src, "1 vCPU", "");
        }
        let q = n.queues().unwrap_or(1);
        let obs = format!(
            "{q} queue pair{} (queues= or fds=/vhostfds= count), mq={}, {vcpus} vCPUs",
            if q == 1 { "" } else { "s" },
            opt_on_off(n.mq)
        );
        let want = format!("{} queue pairs with mq=on", vcpus);
        if q <= 1 {
            let o = if vcpus >= 4 {
                Outcome::warn(
                    t,
                    format!("a single queue pair for {vcpus} vCPUs: one vCPU (and one vhost worker) handles all of the NIC's traffic"),
                )
            } else {
                Outcome::info(
                    t,
                    format!(
                        "a single queue pair on a {vcpus}-vCPU VM: multiqueue would help little"
                    ),
                )
            };
            return o.ev(src, obs, want);
        }
        if n.mq != Some(true) {
            return Outcome::warn(
                t,
                format!("the backend has {q} queue pairs but the device lacks mq=on: the guest sees one"),
            )
            .ev(src, obs, want);
        }
        if q > vcpus {
            return Outcome::warn(
                t,
                format!("{q} queue pairs for {vcpus} vCPUs: the guest uses at most {vcpus}, the rest cost vectors and host threads"),
            )
            .ev(src, obs, want);
        }
        // MSI-X: 2N+2 vectors; machine types ≤ 5.2 default to 3 unless vectors= is given.
        let need = q.saturating_mul(2).saturating_add(2);
        let pci = model_of(vm, n).0.contains("-pci");
        if pci {
            match n.vectors {
                Some(v) if v < need => {
                    return Outcome::warn(
                        t,
                        format!("vectors={v} is below the {need} MSI-X vectors {q} queue pairs need: queues share interrupts"),
                    )
                    .ev(src, format!("{obs}, vectors={v}"), format!("vectors={need}"))
                }
                None => {
                    let (recent, what) = machine_at_least(&vm.model.machine, (6, 0));
                    if recent == Some(false) {
                        return Outcome::warn(
                            t,
                            format!("no vectors= on {what} (≤ 5.2 defaults to 3 MSI-X vectors): {q} queue pairs need {need}"),
                        )
                        .ev(src, format!("{obs}, vectors unset"), format!("vectors={need}"));
                    }
                }
                _ => {}
            }
        }
        Outcome::pass(
            t,
            format!("{q} queue pairs with mq=on for {vcpus} vCPUs (the guest's use of all of them is visible only inside it)"),
        )
        .ev(src, obs, want)
    })
}

// ---------------------------------------------------------------------------------------------
// qemu.net.packed

fn packed(ctx: &Ctx) -> Vec<Outcome> {
    per_nic(ctx, |_, vm, n, t| {
        if !is_virtio(vm, n) {
            return not_virtio(vm, n, t);
        }
        let src = argv_src(vm);
        let kernel_vhost = backend_of(n).0 == Backend::Tap && n.vhost() == Some(true);
        match n.packed {
            Some(true) if kernel_vhost => Outcome::warn(
                t,
                "packed=on with kernel vhost-net: vhost-net does not implement packed rings, so QEMU masks the feature and the ring stays split (keep vhost, it is the bigger win)",
            )
            .ev(src, "packed=on, vhost=on", "packed ring negotiated"),
            Some(true) => Outcome::unknown(
                t,
                "packed=on is requested; whether the guest negotiated it (feature bit 34) is visible only inside the guest: run kvmaudit there",
            )
            .ev(src, "packed=on", "packed ring negotiated")
            .ev(
                "guest /sys/bus/virtio/devices/virtio*/features",
                "no guest channel",
                "character 35 (bit 34) = 1",
            ),
            other => Outcome::info(
                t,
                "packed virtqueue not requested (split ring): optional, and no gain with kernel vhost-net",
            )
            .ev(src, format!("packed={}", opt_on_off(other)), "packed=on (optional)"),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// host.vhost-net.zcopytx

fn zcopytx(ctx: &Ctx) -> Vec<Outcome> {
    let path = "/sys/module/vhost_net/parameters/experimental_zcopytx";
    let t = "host";
    let configured = ctx
        .persistent
        .module_param("vhost_net", "experimental_zcopytx");
    let loaded = ctx.module_present("vhost_net");
    let got = ctx.module_param("vhost_net", "experimental_zcopytx");
    let o = match (got, loaded) {
        (Got::Val(v), _) => {
            let on = matches!(v.trim(), "1" | "Y" | "y");
            let mut msg = format!(
                "experimental_zcopytx={} ({}): zero-copy transmit is experimental, engages only for large packets on SOCK_ZEROCOPY sockets and is off upstream by default",
                v.trim(),
                if on { "on" } else { "off" }
            );
            let mut pending = false;
            if let Some((src, val)) = &configured {
                let cfg_on = matches!(val.trim(), "1" | "Y" | "y");
                if cfg_on != on {
                    pending = true;
                    msg.push_str(&format!(
                        "; {src} sets {val}, applied at the next vhost_net load (all vhost VMs stopped) or reboot"
                    ));
                }
            }
            Outcome::info(t, msg)
                .ev(path, v.trim(), "")
                .pending(pending)
        }
        (_, Some(false)) => Outcome::na(
            t,
            "vhost_net is not loaded: no VM uses kernel vhost on this host",
        )
        .ev("/sys/module/vhost_net", "absent", ""),
        (g, _) => Outcome::unknown(
            t,
            format!("the vhost_net parameter could not be read ({})", g.why()),
        )
        .ev(path, g.why(), ""),
    };
    let o = match configured {
        Some((src, val)) => o.ev(src, format!("experimental_zcopytx={val}"), ""),
        None => o,
    };
    vec![o]
}

// ---------------------------------------------------------------------------------------------
// qemu.net.poll-us

fn poll_us(ctx: &Ctx) -> Vec<Outcome> {
    per_nic(ctx, |ctx, vm, n, t| {
        let (backend, btype) = backend_of(n);
        if backend != Backend::Tap {
            return Outcome::na(
                t,
                format!("poll-us is a tap netdev option; this NIC's backend is {btype}"),
            );
        }
        let src = argv_src(vm);
        let vhost = n.vhost() == Some(true);
        let Some(us) = n.backend.as_ref().and_then(|b| b.poll_us) else {
            return Outcome::info(t, "poll-us not set: vhost does not busy-poll (the default)").ev(
                src,
                "poll-us unset",
                "",
            );
        };
        let obs = format!("poll-us={us}, vhost={}", on_off(vhost));
        let want = "tens of µs, with vhost, on dedicated CPUs";
        let o = if us == 0 {
            Outcome::info(t, "poll-us=0: busy polling disabled")
        } else if !vhost {
            Outcome::warn(
                t,
                format!("poll-us={us} without vhost has no effect (it sets the vhost busy-loop timeout)"),
            )
        } else if us > 1000 {
            Outcome::warn(
                t,
                format!("poll-us={us}: {} ms of spinning per poll burns a host CPU (the guide's 50000 almost certainly meant 50 µs)", us / 1000),
            )
        } else if ctx.flags.cpu_overcommitted == Some(true) {
            Outcome::warn(
                t,
                format!("poll-us={us} on a host with overcommitted CPUs: busy polling takes CPU time from other vCPUs"),
            )
        } else {
            Outcome::info(t, format!("vhost busy-polls for up to {us} µs"))
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
    })
}

#[cfg(test)]
mod tests {
    use crate::report::Profile::Throughput;
    use crate::rules::testkit::{findings, status, SnapBuilder};
    use crate::snapshot::{ReadError, ReadErrorKind, Snapshot, Sourced};

    const Q: &str = "qemu-system-x86_64 -name guest=g,debug-threads=on -machine pc-q35-6.0 -accel kvm -smp 4 -m 4G";

    fn snap(s: &str) -> Snapshot {
        SnapBuilder::new().vm(s, &[]).build()
    }

    fn snap_fds(s: &str, fds: Option<&[&str]>) -> Snapshot {
        SnapBuilder::new()
            .vm(s, &[])
            .with_last_vm(|p| {
                p.fds = Some(match fds {
                    Some(v) => {
                        Sourced::value("/proc/1000/fd", v.iter().map(|x| x.to_string()).collect())
                    }
                    None => Sourced::error(
                        "/proc/1000/fd",
                        ReadError::new(ReadErrorKind::PermissionDenied, "Permission denied"),
                    ),
                })
            })
            .build()
    }

    #[test]
    fn model() {
        let r = "qemu.net.virtio-model";
        let s = snap(&format!(
            "{Q} -netdev tap,id=n0,vhost=on -device virtio-net-pci,netdev=n0,id=net0 \
             -netdev tap,id=n1 -device e1000,netdev=n1,id=net1 \
             -netdev user,id=n2 -device rtl8139,netdev=n2,id=net2 \
             -netdev vhost-vdpa,id=n3,vhostdev=/dev/vhost-vdpa-0 -device virtio-net-pci,netdev=n3,id=net3"
        ));
        assert_eq!(status(&s, Throughput, r, "vm:g/net:net0"), "pass");
        assert_eq!(status(&s, Throughput, r, "vm:g/net:net1"), "fail");
        assert_eq!(status(&s, Throughput, r, "vm:g/net:net2"), "info");
        assert_eq!(status(&s, Throughput, r, "vm:g/net:net3"), "not_applicable");
        // -nic without model= on q35 is an emulated e1000e.
        let s = snap(&format!("{Q} -nic tap,id=n0"));
        let f = findings(&s, Throughput, r);
        assert_eq!(f[0].status.as_str(), "fail");
        assert!(f[0].evidence[0]
            .observed
            .contains("e1000e (machine default)"));
        let s = snap(Q);
        assert_eq!(status(&s, Throughput, r, "vm:g"), "not_applicable");
    }

    #[test]
    fn vhost_runtime_beats_argv() {
        let r = "qemu.net.vhost";
        let t = "vm:g/net:net0";
        let on = format!("{Q} -netdev tap,id=n0,vhost=on -device virtio-net-pci,netdev=n0,id=net0");
        let off = format!("{Q} -netdev tap,id=n0 -device virtio-net-pci,netdev=n0,id=net0");
        assert_eq!(status(&snap(&off), Throughput, r, t), "fail");
        assert_eq!(
            status(
                &snap_fds(&on, Some(&["/dev/vhost-net", "anon_inode:kvm-vm"])),
                Throughput,
                r,
                t
            ),
            "pass"
        );
        assert_eq!(
            status(
                &snap_fds(&on, Some(&["anon_inode:kvm-vm"])),
                Throughput,
                r,
                t
            ),
            "fail"
        );
        // fds unreadable or no process: the request is derived evidence (QEMU refuses to
        // start without the vhost it was asked for)
        let f = findings(&snap_fds(&on, None), Throughput, r);
        assert_eq!(f[0].status.as_str(), "pass");
        assert!(f[0].message.contains("derived"), "{}", f[0].message);
        assert_eq!(status(&snap(&on), Throughput, r, t), "pass");
        // A vhost worker task of the process is proof even when fds are unreadable.
        let s = SnapBuilder::new()
            .vm(
                &on,
                &[("qemu-system-x86", "0-3", "0"), ("vhost-1000", "0-3", "0")],
            )
            .build();
        assert_eq!(status(&s, Throughput, r, t), "pass");
        // libvirt hands over vhostfd: that is vhost=on.
        let s = snap_fds(
            &format!(
                "{Q} -netdev tap,fd=3,id=n0,vhostfd=44 -device virtio-net-pci,netdev=n0,id=net0"
            ),
            Some(&["/dev/vhost-net"]),
        );
        assert_eq!(status(&s, Throughput, r, t), "pass");
        // vhost-user → not applicable; user → info; emulated model → not applicable
        let s = snap(&format!(
            "{Q} -chardev socket,id=c0,path=/run/vu.sock -netdev vhost-user,id=n0,chardev=c0 -device virtio-net-pci,netdev=n0,id=net0 \
             -netdev user,id=n1 -device virtio-net-pci,netdev=n1,id=net1 -netdev tap,id=n2 -device e1000,netdev=n2,id=net2"
        ));
        assert_eq!(status(&s, Throughput, r, t), "not_applicable");
        assert_eq!(status(&s, Throughput, r, "vm:g/net:net1"), "info");
        assert_eq!(status(&s, Throughput, r, "vm:g/net:net2"), "not_applicable");
    }

    #[test]
    fn multiqueue() {
        let r = "qemu.net.multiqueue";
        let t = "vm:g/net:net0";
        let mk = |smp: &str, netdev: &str, dev: &str| {
            snap(&format!(
                "qemu-system-x86_64 -name guest=g -machine pc-q35-6.0 -smp {smp} -netdev tap,id=n0,vhost=on{netdev} -device virtio-net-pci,netdev=n0,id=net0{dev}"
            ))
        };
        assert_eq!(
            status(&mk("4", ",queues=4", ",mq=on"), Throughput, r, t),
            "pass"
        );
        // libvirt passes fds, never queues=
        assert_eq!(
            status(
                &mk("4", ",fds=3:4:5:6,vhostfds=7:8:9:10", ",mq=on,vectors=10"),
                Throughput,
                r,
                t
            ),
            "pass"
        );
        assert_eq!(status(&mk("4", ",queues=4", ""), Throughput, r, t), "warn");
        assert_eq!(
            status(&mk("4", ",queues=8", ",mq=on"), Throughput, r, t),
            "warn"
        );
        assert_eq!(
            status(&mk("4", ",queues=4", ",mq=on,vectors=3"), Throughput, r, t),
            "warn"
        );
        let f = findings(&mk("4", "", ""), Throughput, r);
        assert_eq!(f[0].status.as_str(), "warn");
        assert!(f[0].evidence[0].observed.starts_with("1 queue pair "));
        assert_eq!(status(&mk("2", "", ""), Throughput, r, t), "info");
        assert_eq!(status(&mk("1", "", ""), Throughput, r, t), "not_applicable");
        // Old machine type without vectors=: only 3 MSI-X vectors.
        let s = snap("qemu-system-x86_64 -name guest=g -machine pc-q35-5.2 -smp 4 -netdev tap,id=n0,vhost=on,queues=4 -device virtio-net-pci,netdev=n0,id=net0,mq=on");
        assert_eq!(status(&s, Throughput, r, t), "warn");
    }

    #[test]
    fn packed_ring() {
        let r = "qemu.net.packed";
        let t = "vm:g/net:net0";
        let mk = |netdev: &str, dev: &str| {
            snap(&format!(
                "{Q} -netdev {netdev} -device virtio-net-pci,netdev=n0,id=net0{dev}"
            ))
        };
        assert_eq!(
            status(&mk("tap,id=n0,vhost=on", ",packed=on"), Throughput, r, t),
            "warn"
        );
        assert_eq!(
            status(&mk("tap,id=n0", ",packed=on"), Throughput, r, t),
            "unknown"
        );
        assert_eq!(
            status(&mk("tap,id=n0,vhost=on", ""), Throughput, r, t),
            "info"
        );
        let s = snap(&format!(
            "{Q} -netdev tap,id=n0 -device e1000,netdev=n0,id=net0"
        ));
        assert_eq!(status(&s, Throughput, r, t), "not_applicable");
    }

    #[test]
    fn zcopytx() {
        let r = "host.vhost-net.zcopytx";
        let p = "/sys/module/vhost_net/parameters/experimental_zcopytx";
        let s = SnapBuilder::new()
            .dir("/sys/module", &["vhost", "vhost_net"])
            .file(p, "0")
            .build();
        let f = findings(&s, Throughput, r);
        assert_eq!(f[0].status.as_str(), "info");
        assert_eq!(
            f[0].evidence[0].source, p,
            "the real path, not /sys/modules"
        );
        assert!(!f[0].pending_reboot);
        let s = SnapBuilder::new()
            .dir("/sys/module", &["vhost", "vhost_net"])
            .file(p, "0")
            .file(
                "/etc/modprobe.d/vhost-net.conf",
                "options vhost_net experimental_zcopytx=1",
            )
            .build();
        assert!(findings(&s, Throughput, r)[0].pending_reboot);
        let s = SnapBuilder::new().dir("/sys/module", &["kvm"]).build();
        assert_eq!(status(&s, Throughput, r, "host"), "not_applicable");
        let s = SnapBuilder::new()
            .dir("/sys/module", &["vhost_net"])
            .denied(p)
            .build();
        assert_eq!(status(&s, Throughput, r, "host"), "unknown");
    }

    #[test]
    fn poll_us() {
        let r = "qemu.net.poll-us";
        let t = "vm:g/net:net0";
        let mk = |netdev: &str| {
            snap(&format!(
                "{Q} -netdev tap,id=n0{netdev} -device virtio-net-pci,netdev=n0,id=net0"
            ))
        };
        assert_eq!(status(&mk(",vhost=on"), Throughput, r, t), "info");
        assert_eq!(
            status(&mk(",vhost=on,poll-us=50"), Throughput, r, t),
            "info"
        );
        let f = findings(&mk(",vhost=on,poll-us=50000"), Throughput, r);
        assert_eq!(f[0].status.as_str(), "warn");
        assert!(f[0].message.contains("50 µs"));
        assert_eq!(status(&mk(",poll-us=50"), Throughput, r, t), "warn");
        // Overcommitted: two 4-vCPU VMs on a 4-CPU host.
        let a = format!(
            "{Q} -netdev tap,id=n0,vhost=on,poll-us=50 -device virtio-net-pci,netdev=n0,id=net0"
        );
        let s = SnapBuilder::new()
            .topology(1, 4, 1)
            .vm(&a, &[])
            .vm("qemu-system-x86_64 -name guest=h -smp 4", &[])
            .build();
        assert_eq!(status(&s, Throughput, r, t), "warn");
        let s = snap(&format!(
            "{Q} -netdev user,id=n0 -device virtio-net-pci,netdev=n0,id=net0"
        ));
        assert_eq!(status(&s, Throughput, r, t), "not_applicable");
    }
}
