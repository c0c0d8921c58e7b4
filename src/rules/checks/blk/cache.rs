//! qemu.blk.cache: `cache=none` (O_DIRECT) for local disks, checked against the file
//! descriptors QEMU really opened.
use super::{network_protocol, not_data};
use crate::model::host::Vm;
use crate::model::vm::{CacheMode, Disk, DiskBus};
use crate::report::Status;
use crate::rules::context::Ctx;
use crate::rules::facts::vm_args::{argv_src, opt_on_off};
use crate::rules::outcome::Outcome;
use crate::rules::units::DriveUnit;

pub(super) fn cache_name(m: CacheMode) -> &'static str {
    match m {
        CacheMode::None => "none",
        CacheMode::Directsync => "directsync",
        CacheMode::Writeback => "writeback",
        CacheMode::Writethrough => "writethrough",
        CacheMode::Unsafe => "unsafe",
    }
}

pub(super) fn cache(ctx: &Ctx, u: &DriveUnit) -> Outcome {
    let (vm, disk, target) = (u.vm, u.disk, u.target.clone());
    if let Some(why) = not_data(disk) {
        return Outcome::na(target, format!("the disk is {why}"));
    }
    if disk.bus == DiskBus::VhostUserBlk {
        return Outcome::na(
            target,
            "vhost-user-blk: the external backend does the I/O, QEMU's cache mode does not apply",
        );
    }
    if let Some(p) = network_protocol(disk) {
        return Outcome::na(
            target,
            format!(
                "network protocol {p} brings its own caching; host page-cache modes do not apply"
            ),
        );
    }
    let observed = format!(
        "cache.direct={}, cache.no-flush={}, write-cache={}{}",
        opt_on_off(disk.cache_direct),
        opt_on_off(disk.cache_no_flush),
        opt_on_off(disk.write_cache),
        disk.cache_mode
            .map(|m| format!(" → cache={}", cache_name(m)))
            .unwrap_or_default()
    );
    // QEMU's userspace NVMe driver owns the controller through VFIO: I/O never goes
    // through the host page cache, whatever cache.direct says; only ignored flushes
    // (cache.no-flush) still matter.
    let userspace_nvme =
        disk.protocol.as_deref() == Some("nvme") && disk.cache_mode != Some(CacheMode::Unsafe);
    let o = match disk.cache_mode {
        _ if userspace_nvme => Outcome::pass(
            target,
            "QEMU's userspace NVMe driver (\"driver\":\"nvme\") drives the controller through VFIO: no host page cache is involved, guest flushes are honoured",
        ),
        Some(CacheMode::None) => Outcome::pass(
            target,
            "cache=none: O_DIRECT on the host, guest flushes honoured",
        ),
        Some(CacheMode::Directsync) => Outcome::pass(
            target,
            "cache=directsync: O_DIRECT with a write-through cache the guest sees (acceptable where write-through is required)",
        ),
        Some(m @ (CacheMode::Writeback | CacheMode::Writethrough)) => Outcome::warn(
            target,
            format!(
                "cache={}: the host page cache double-caches guest data, adds copies and memory pressure; use cache=none",
                cache_name(m)
            ),
        ),
        Some(CacheMode::Unsafe) => Outcome::fail(
            target,
            "cache=unsafe: guest flushes are ignored, a host crash loses or corrupts acknowledged writes (waive only for scratch disks)",
        )
        .blocker(),
        None => Outcome::unknown(
            target,
            "the cache mode could not be derived from the command line (backend chain not resolved)",
        ),
    };
    let o = o.ev(
        argv_src(vm),
        observed,
        "cache=none (direct on, no-flush off)",
    );
    runtime_o_direct(ctx, vm, disk, o)
}

/// Runtime beats argv: the image's fd flags (`/proc/PID/fdinfo`, root only) show whether QEMU
/// really opened it with O_DIRECT. Only a contradiction changes the verdict.
pub(super) fn runtime_o_direct(ctx: &Ctx, vm: &Vm, disk: &Disk, o: Outcome) -> Outcome {
    let Some(path) = disk.path.as_deref() else {
        return o;
    };
    let Some(info) = ctx.process(vm).and_then(|p| p.fdinfo.as_ref()) else {
        return o;
    };
    let Some(list) = info.get() else {
        return o;
    };
    let flags: Vec<bool> = list
        .iter()
        .filter(|f| f.target == path)
        .filter_map(|f| f.o_direct())
        .collect();
    if flags.is_empty() {
        return o;
    }
    let direct = flags.iter().any(|b| *b);
    let o = o.ev(
        info.path.clone(),
        format!(
            "{path} open {} O_DIRECT",
            if direct { "with" } else { "without" }
        ),
        "O_DIRECT (040000) in flags",
    );
    if !direct && disk.cache_direct == Some(true) && o.status == Status::Pass {
        let message = format!(
            "the command line asks for O_DIRECT, but QEMU holds {path} open without it: the host page cache is in use"
        );
        return Outcome {
            status: Status::Warn,
            message,
            ..o
        };
    }
    o
}
