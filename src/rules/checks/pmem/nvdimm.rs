//! qemu.pmem.nvdimm: each vNVDIMM is wired to device-DAX with share=on and matching alignment.

use super::{dax_name, need_pmem};
use crate::model::host::Vm;
use crate::model::vm::{BackendKind, MemoryBackend, MemoryDevice};
use crate::parse::mounts::Mount;
use crate::report::target::Target;
use crate::report::Status;
use crate::rules::context::Ctx;
use crate::rules::facts::mounts::{host_mounts, mount_of};
use crate::rules::facts::placement::{home_node, Home};
use crate::rules::facts::pmem::{dax_device_exists, dax_geometry, region_numa_node, DAX};
use crate::rules::facts::units::human;
use crate::rules::outcome::Outcome;
use crate::rules::units::VmUnit;

const LABEL_MIN: u64 = 128 * 1024;

pub(super) fn pmem_nvdimm(ctx: &Ctx, u: &VmUnit) -> Outcome {
    let vm = u.vm;
    let target = u.target.clone();
    let nvdimms: Vec<_> = vm.model.nvdimms().collect();
    if let Err(mut o) = need_pmem(ctx, &target) {
        if !nvdimms.is_empty() && o.status == Status::NotApplicable {
            o.message
                .push_str(": the VM's vNVDIMM is emulated on ordinary storage or RAM");
        }
        return o;
    }
    if nvdimms.is_empty() {
        return Outcome::na(target, "the VM has no nvdimm device");
    }
    nvdimm_verdict(ctx, vm, target, &nvdimms)
}

/// What the checks of one VM's vNVDIMMs found, in the order they are reported.
#[derive(Default)]
struct Wiring {
    fails: Vec<String>,
    warns: Vec<String>,
    /// (source, observed, expected), in evidence order.
    ev: Vec<(String, String, String)>,
}

impl Wiring {
    fn ev(&mut self, source: String, observed: String, expected: String) {
        self.ev.push((source, observed, expected));
    }
}

/// Gather (machine flag, then device by device), then decide.
fn nvdimm_verdict(ctx: &Ctx, vm: &Vm, target: Target, nvdimms: &[&MemoryDevice]) -> Outcome {
    let mut w = Wiring::default();
    machine_flag(vm, &mut w);
    let home = home_node(ctx, vm);
    let mounts = host_mounts(ctx).ok();
    for (i, d) in nvdimms.iter().enumerate() {
        let id = d.id.clone().unwrap_or_else(|| format!("nvdimm{i}"));
        device(ctx, vm, d, &id, home.as_ref(), mounts, &mut w);
    }
    decide(w, target, nvdimms.len())
}

/// `-machine nvdimm=on`: without it QEMU exposes no NFIT to the guest.
fn machine_flag(vm: &Vm, w: &mut Wiring) {
    match vm.model.machine.nvdimm {
        Some(true) => {}
        _ => w.fails.push("-machine nvdimm=on is missing".to_string()),
    }
    w.ev(
        format!("{} -machine", vm.source),
        format!(
            "nvdimm={}",
            match vm.model.machine.nvdimm {
                Some(true) => "on",
                Some(false) => "off",
                None => "unset",
            }
        ),
        "nvdimm=on".into(),
    );
}

/// One `-device nvdimm`: its label area, its memory backend, then what the backend sits on.
fn device(
    ctx: &Ctx,
    vm: &Vm,
    d: &MemoryDevice,
    id: &str,
    home: Option<&Home>,
    mounts: Option<&[Mount]>,
    w: &mut Wiring,
) {
    if let Some(l) = d.label_size_bytes {
        if l < LABEL_MIN {
            w.fails
                .push(format!("{id}: label-size {} is below 128 KiB", human(l)));
        }
    }
    let Some(b) = &d.backend else {
        w.fails.push(format!(
            "{id}: memdev {} names no memory backend",
            d.memdev.as_deref().unwrap_or("(none)")
        ));
        return;
    };
    let path = b.mem_path.as_deref().unwrap_or("");
    w.ev(
        format!("{} {} backend {}", vm.source, id, b.id),
        format!(
            "{} mem-path={} share={} size={} align={}{}",
            b.qom_type,
            if path.is_empty() { "(none)" } else { path },
            match b.share {
                Some(true) => "on",
                Some(false) => "off",
                None => "unset",
            },
            b.size_bytes.map(human).unwrap_or_else(|| "?".into()),
            b.align_bytes.map(human).unwrap_or_else(|| "unset".into()),
            d.label_size_bytes
                .map(|l| format!(" label-size={}", human(l)))
                .unwrap_or_default()
        ),
        "memory-backend-file on /dev/daxX.Y, share=on, align ≥ the device's".into(),
    );
    if b.kind != BackendKind::File {
        w.fails.push(format!(
            "{id}: backend {} is {} rather than a file on PMem",
            b.id, b.qom_type
        ));
        return;
    }
    match dax_name(path) {
        Some(dax) => devdax_backend(ctx, id, b, path, dax, home, w),
        None => file_backend(id, b, path, mounts, w),
    }
}

/// A backend on `/dev/daxX.Y`: the device exists, the mapping is shared, alignment and size fit
/// the device, and the device's region is on the VM's node.
fn devdax_backend(
    ctx: &Ctx,
    id: &str,
    b: &MemoryBackend,
    path: &str,
    dax: &str,
    home: Option<&Home>,
    w: &mut Wiring,
) {
    if !dax_device_exists(ctx, dax) {
        w.fails
            .push(format!("{id}: {path} does not exist on the host"));
        return;
    }
    if b.share != Some(true) {
        w.fails.push(format!(
            "{id}: share=on is missing (device-DAX refuses private mappings)"
        ));
    }
    let (dev_size, dev_align) = dax_geometry(ctx, dax);
    match (b.align_bytes, dev_align) {
        (Some(a), Some(da)) if a < da => w.fails.push(format!(
            "{id}: align {} is below {dax}'s alignment {}",
            human(a),
            human(da)
        )),
        (None, Some(da)) if da > 4096 => w.warns.push(format!(
            "{id}: align is not set while {dax} is aligned to {} (set align={})",
            human(da),
            human(da)
        )),
        _ => {}
    }
    let align = b.align_bytes.or(dev_align).filter(|a| *a > 0);
    if let (Some(size), Some(a)) = (b.size_bytes, align) {
        if size % a != 0 {
            w.fails.push(format!(
                "{id}: size {} is not a multiple of the alignment {}",
                human(size),
                human(a)
            ));
        }
    }
    if let (Some(size), Some(ds)) = (b.size_bytes, dev_size) {
        if size > ds {
            w.fails.push(format!(
                "{id}: size {} exceeds {dax}'s {}",
                human(size),
                human(ds)
            ));
        }
    }
    if let (Some(ds), Some(da)) = (dev_size, dev_align) {
        w.ev(
            format!("{DAX}/{dax}"),
            format!("size {} align {}", human(ds), human(da)),
            String::new(),
        );
    }
    dax_locality(ctx, id, dax, home, w);
}

/// The region holding `dax` against the node the VM runs on; daxX.Y lives in regionX.
fn dax_locality(ctx: &Ctx, id: &str, dax: &str, home: Option<&Home>, w: &mut Wiring) {
    let region = dax
        .strip_prefix("dax")
        .and_then(|r| r.split('.').next())
        .map(|r| region_numa_node(ctx, r));
    let (Some((rp, node)), Some(h)) = (region, home) else {
        return;
    };
    let Some(n) = node.filter(|n| *n >= 0) else {
        return;
    };
    w.ev(
        rp.clone(),
        n.to_string(),
        format!("{} (the VM's node)", h.node),
    );
    if n as u32 != h.node {
        w.warns.push(format!(
            "{id}: {dax} is on node {n} but the VM runs on node {}",
            h.node
        ));
    }
}

/// A backend that is a plain file: acceptable (with a warning) only on an fsdax filesystem.
fn file_backend(id: &str, b: &MemoryBackend, path: &str, mounts: Option<&[Mount]>, w: &mut Wiring) {
    let m = mounts.and_then(|m| mount_of(m, path));
    let fsdax = m.is_some_and(|m| {
        m.has_opt("dax") || m.opt("dax") == Some("always") || m.source.starts_with("/dev/pmem")
    });
    if fsdax {
        w.warns.push(format!(
            "{id}: {path} is a file on an fsdax filesystem rather than a devdax device{}",
            if b.pmem == Some(true) {
                ""
            } else {
                " (and pmem=on is not set)"
            }
        ));
    } else {
        w.fails.push(format!(
            "{id}: {path} is not on persistent memory{}",
            m.map(|m| format!(" ({} {})", m.fstype, m.target))
                .unwrap_or_default()
        ));
    }
}

/// Any failure fails the VM, else any warning warns; the evidence follows in gathering order.
fn decide(w: Wiring, target: Target, count: usize) -> Outcome {
    let mut o = if !w.fails.is_empty() {
        Outcome::fail(
            target,
            format!("vNVDIMM wiring is wrong: {}", w.fails.join("; ")),
        )
    } else if !w.warns.is_empty() {
        Outcome::warn(target, format!("vNVDIMM works but: {}", w.warns.join("; ")))
    } else {
        Outcome::pass(
            target,
            format!(
                "{} vNVDIMM{} backed by device-DAX with share=on and matching alignment",
                count,
                if count == 1 { "" } else { "s" }
            ),
        )
    };
    for (s, ob, ex) in w.ev {
        o = o.ev(s, ob, ex);
    }
    o
}
