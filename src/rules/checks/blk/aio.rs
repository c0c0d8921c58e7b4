//! qemu.blk.aio: `aio=native` or `io_uring` with O_DIRECT.
use super::{network_protocol, not_data};
use crate::model::host::Vm;
use crate::model::vm::{Aio, Disk, DiskBus};
use crate::report::target::Target;
use crate::rules::context::Ctx;
use crate::rules::facts::host_aio;
use crate::rules::facts::vm_args::{argv_src, fd_view, opt_on_off, FdView};
use crate::rules::outcome::Outcome;
use crate::rules::units::DriveUnit;

/// What the snapshot says about io_uring being usable by QEMU at all.
pub(super) fn io_uring_disabled(ctx: &Ctx) -> Option<&'static str> {
    host_aio::io_uring_disabled(ctx)
        .then_some("io_uring is disabled system-wide (kernel.io_uring_disabled=2)")
}

pub(super) fn aio(ctx: &Ctx, u: &DriveUnit) -> Outcome {
    let (vm, disk, target) = (u.vm, u.disk, u.target.clone());
    if let Some(why) = not_data(disk) {
        return Outcome::na(target, format!("the disk is {why}"));
    }
    if disk.bus == DiskBus::VhostUserBlk {
        return Outcome::na(
            target,
            "vhost-user-blk: the external backend submits the I/O, QEMU's aio= does not apply",
        );
    }
    let Some(engine) = &disk.aio else {
        return match (network_protocol(disk), disk.protocol.as_deref()) {
            (Some(p), _) => Outcome::na(
                target,
                format!("network protocol {p} has its own submission path; aio= applies to file/host_device backends"),
            ),
            (None, Some(p)) => Outcome::na(
                target,
                format!("protocol driver {p} has no aio= option (it applies to file/host_device backends)"),
            ),
            (None, None) => Outcome::unknown(
                target,
                "the disk's backend chain could not be resolved: aio engine unknown",
            ),
        };
    };
    let src = argv_src(vm);
    match engine {
        Aio::Threads => Outcome::warn(
            target,
            "aio=threads: requests go through QEMU's thread pool; native (with cache=none) or io_uring submits directly (threads is acceptable only when QEMU's CPU time is the bottleneck)",
        )
        .ev(src, "aio=threads", "aio=native or aio=io_uring"),
        Aio::IoUring => aio_io_uring(ctx, vm, target, src),
        Aio::Native => aio_native(ctx, vm, disk, target, src),
        Aio::Other(s) => Outcome::unknown(target, format!("unrecognised aio engine {s:?}"))
            .ev(src, format!("aio={s}"), "aio=native or aio=io_uring"),
    }
}

/// io_uring: the ring shows up as an `anon_inode:[io_uring]` fd of the process.
pub(super) fn aio_io_uring(ctx: &Ctx, vm: &Vm, target: Target, src: String) -> Outcome {
    let want = "aio=native or aio=io_uring";
    let base = |o: Outcome| o.ev(src.clone(), "aio=io_uring", want);
    if let Some(why) = io_uring_disabled(ctx) {
        return base(Outcome::warn(
            target,
            format!("aio=io_uring is requested but {why}: QEMU ≥ 8.2 falls back to threads"),
        ))
        .ev(host_aio::IO_URING_DISABLED, "2", "0");
    }
    match fd_view(ctx, vm) {
        FdView::Listed(fds, path) => {
            let ring = fds.iter().any(|f| f == "anon_inode:[io_uring]");
            let o = if ring {
                Outcome::pass(
                    target,
                    "aio=io_uring is in effect: the process holds an io_uring instance",
                )
            } else {
                Outcome::warn(
                    target,
                    "aio=io_uring is requested but the process holds no io_uring fd: QEMU fell back to threads (liburing missing, kernel or seccomp/LSM policy)",
                )
            };
            base(o).ev(
                path,
                if ring {
                    "anon_inode:[io_uring] present"
                } else {
                    "no anon_inode:[io_uring]"
                },
                "anon_inode:[io_uring]",
            )
        }
        FdView::Unreadable(why) => base(Outcome::unknown(
            target,
            format!("aio=io_uring is requested; whether it is in effect needs the process's fds ({why}): run as root"),
        )),
        FdView::NoProcess => base(Outcome::warn(
            target,
            "aio=io_uring is requested but not proven: without a running process there is no runtime evidence (QEMU ≥ 8.2 silently falls back to threads)",
        )),
    }
}

/// native: the proof is the process's Linux AIO rings (`/[aio] (deleted)` mappings in
/// /proc/PID/maps, root only). Without it, `/proc/sys/fs/aio-nr` (host-wide AIO contexts, any
/// user) can only disprove native (zero); non-zero may be any other process's contexts, and
/// passing on it would give an unprivileged scan a better verdict than root gets for a VM that
/// fell back to threads: unknown. An argv-only VM is not known to run on the scanned host: not
/// proven.
pub(super) fn aio_native(ctx: &Ctx, vm: &Vm, disk: &Disk, target: Target, src: String) -> Outcome {
    let want = "aio=native or aio=io_uring";
    let obs = format!("aio=native, cache.direct={}", opt_on_off(disk.cache_direct));
    if disk.cache_direct != Some(true) {
        return Outcome::warn(
            target,
            "aio=native without cache.direct=on: current QEMU refuses it and older releases fell back to threads; add cache=none",
        )
        .ev(src, obs, "aio=native with cache.direct=on");
    }
    let Some(p) = ctx.process(vm).filter(|p| p.pid.is_some()) else {
        return Outcome::warn(
            target,
            "aio=native is requested but not proven: without a running process there is no runtime evidence (QEMU ≥ 8.2 silently falls back to threads)",
        )
        .ev(src, obs, want);
    };
    if let Some(rings) = &p.aio_rings {
        if let Some(n) = rings.get() {
            let o = if *n > 0 {
                Outcome::pass(
                    target,
                    format!("aio=native is in effect: the process maps {n} Linux AIO ring(s)"),
                )
            } else {
                Outcome::warn(
                    target,
                    "aio=native is requested but the process maps no Linux AIO ring: QEMU fell back to threads",
                )
            };
            return o.ev(src, obs, want).ev(
                rings.path.clone(),
                format!("{n} /[aio] mapping(s)"),
                "> 0",
            );
        }
    }
    let rings_why = match &p.aio_rings {
        Some(s) => s
            .fact
            .error()
            .map(|e| format!("{}: {}", s.path, e.describe()))
            .unwrap_or_default(),
        None => "/proc/PID/maps was not collected".into(),
    };
    let nr = host_aio::aio_contexts(ctx);
    let o = match nr.val().and_then(|v| v.trim().parse::<u64>().ok()) {
        Some(0) => Outcome::warn(
            target,
            "aio=native is requested but no Linux AIO context exists on the host (fs.aio-nr = 0): QEMU fell back to threads",
        ),
        Some(n) => Outcome::unknown(
            target,
            format!("aio=native is requested with O_DIRECT, but whether QEMU fell back to threads shows only in the process's own AIO rings, which are not readable ({rings_why}); the host-wide fs.aio-nr = {n} may be other processes' contexts"),
        ),
        None => Outcome::unknown(
            target,
            format!("aio=native is requested; neither the process's AIO rings ({rings_why}) nor fs.aio-nr ({}) could be read", nr.why()),
        ),
    };
    o.ev(src, obs, want).ev(host_aio::AIO_NR, nr.why(), "> 0")
}
