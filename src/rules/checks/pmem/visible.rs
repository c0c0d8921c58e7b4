//! guest.pmem.visible: what the guest sees of its vNVDIMM.

use super::need_pmem;
use crate::rules::context::Ctx;
use crate::rules::facts::mounts::host_mounts;
use crate::rules::facts::pmem::pmem_dev_nodes;
use crate::rules::outcome::Outcome;
use crate::rules::units::VmUnit;

/// Run inside a guest, the guest itself is judged (target `host`); on the hypervisor, each VM.
pub(super) fn pmem_visible_inside(ctx: &Ctx) -> Option<Vec<Outcome>> {
    (ctx.flags.nested == Some(true)).then(|| vec![visible_in_guest(ctx)])
}

pub(super) fn pmem_visible(ctx: &Ctx, u: &VmUnit) -> Outcome {
    let vm = u.vm;
    let target = u.target.clone();
    if let Err(o) = need_pmem(ctx, &target) {
        return o;
    }
    if vm.model.nvdimms().next().is_none() {
        return Outcome::na(target, "the VM has no vNVDIMM");
    }
    Outcome::unknown(
        target,
        "the guest's view of its vNVDIMM needs a guest channel: run kvmaudit inside the guest",
    )
}

/// kvmaudit runs inside a guest: judge its own /dev/pmem* and their mounts.
fn visible_in_guest(ctx: &Ctx) -> Outcome {
    let Some(devs) = pmem_dev_nodes(ctx) else {
        return Outcome::unknown("host", "/dev unreadable");
    };
    if ctx.flags.pmem_present != Some(true) && devs.is_empty() {
        return Outcome::na(
            "host",
            "this guest has no vNVDIMM (no NFIT table, no nd bus, no /dev/pmem*)",
        );
    }
    if devs.is_empty() {
        return Outcome::warn(
            "host",
            "the guest sees an NVDIMM (NFIT / nd bus) but no /dev/pmem*: a labelled DIMM needs a namespace (ndctl create-namespace)",
        )
        .ev("/dev", "no pmem*", "/dev/pmem*");
    }
    let mounts = match host_mounts(ctx) {
        Ok(m) => m,
        Err(why) => return Outcome::unknown("host", why),
    };
    let on_pmem: Vec<_> = mounts
        .iter()
        .filter(|m| m.source.starts_with("/dev/pmem"))
        .collect();
    let no_dax: Vec<String> = on_pmem
        .iter()
        .filter(|m| !(m.opt("dax") == Some("") || m.opt("dax") == Some("always")))
        .map(|m| format!("{} on {} ({})", m.source, m.target, m.opts.join(",")))
        .collect();
    let desc = on_pmem
        .iter()
        .map(|m| {
            format!(
                "{} {} {} {}",
                m.source,
                m.target,
                m.fstype,
                m.opts.join(",")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let o = if !no_dax.is_empty() {
        Outcome::warn(
            "host",
            format!(
                "pmem filesystems mounted without DAX go through the page cache: {} (remount with -o dax)",
                no_dax.join("; ")
            ),
        )
    } else if on_pmem.is_empty() {
        Outcome::info("host", format!("{} visible, not mounted", devs.join(", ")))
    } else {
        Outcome::info(
            "host",
            format!("{} visible and mounted with DAX", devs.join(", ")),
        )
    };
    o.ev("/dev", devs.join(", "), "/dev/pmem*").ev(
        "/proc/mounts",
        if desc.is_empty() {
            "no pmem mount".into()
        } else {
            desc
        },
        "-o dax",
    )
}
