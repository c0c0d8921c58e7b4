//! Huge pages, THP and KSM (guide §3.2.3 and §3.2.5).
//!
//! Guest RAM is judged from both ends: what argv asks for (memory backends, `-mem-path`,
//! memfd `hugetlb=on`), resolved through the mount table the QEMU process really sees
//! (libvirt starts QEMU in a private mount namespace, so its own `mountinfo` wins over the
//! host's `/proc/mounts`), and — when readable — what the kernel actually mapped
//! (`/proc/PID/numa_maps`: `huge` and `kernelpagesize_kB=` on the guest-RAM mappings).

use super::{Check, CheckFn};
use crate::parse::sysfs::{bool_param, bracketed};
use crate::rules::context::{Ctx, Got};

mod hugepages_mount;
mod hugepages_pool;
mod ksm;
mod mem_hugepages;
mod merge;
mod thp;

pub const CHECKS: &[(&str, CheckFn)] = &[
    (
        "host.hugepages.pool",
        Check::host(hugepages_pool::hugepages_pool),
    ),
    (
        "host.hugepages.mount",
        Check::host(hugepages_mount::hugepages_mount),
    ),
    (
        "qemu.mem.hugepages",
        Check::vm(mem_hugepages::mem_hugepages),
    ),
    ("host.thp", Check::host(thp::thp)),
    ("host.ksm.state", Check::host(ksm::ksm_state)),
    ("host.ksm.tuning", Check::host(ksm::ksm_tuning)),
    ("qemu.mem.merge", Check::vm(merge::mem_merge)),
];

const THP_DIR: &str = "/sys/kernel/mm/transparent_hugepage";
const KSM_DIR: &str = "/sys/kernel/mm/ksm";
const HP_DIR: &str = "/sys/kernel/mm/hugepages";

/// THP mode: (enabled, shmem_enabled) bracketed values, or why unreadable.
fn thp_modes(ctx: &Ctx) -> (Result<String, String>, Result<String, String>) {
    let read = |f: &str| {
        let p = format!("{THP_DIR}/{f}");
        match ctx.get(&p) {
            Got::Val(v) => bracketed(v)
                .map(str::to_string)
                .ok_or_else(|| format!("{p}: unexpected {v:?}")),
            Got::Absent => Err(format!("{p}: absent (kernel without THP)")),
            other => Err(format!("{p}: {}", other.why())),
        }
    };
    (read("enabled"), read("shmem_enabled"))
}

fn thp_ok(mode: &str) -> bool {
    mode == "always" || mode == "madvise"
}

fn shmem_ok(mode: &str) -> bool {
    matches!(mode, "always" | "within_size" | "advise" | "force")
}

#[cfg(test)]
mod tests;

fn num(ctx: &Ctx, path: &str) -> Option<u64> {
    ctx.text(path).and_then(|t| t.parse().ok())
}

/// `nx_huge_pages=Y` note (KVM splits executable huge pages into 4 KiB EPT entries).
fn nx_note(ctx: &Ctx) -> Option<(String, String)> {
    let v = ctx
        .module_param("kvm", "nx_huge_pages")
        .val()?
        .trim()
        .to_string();
    let on = bool_param(&v) == Some(true) || v == "force";
    if !on {
        return None;
    }
    let vuln = ctx
        .text("/sys/devices/system/cpu/vulnerabilities/itlb_multihit")
        .unwrap_or("not recorded")
        .to_string();
    Some((v, vuln))
}

fn ksm_run(ctx: &Ctx) -> Result<u32, String> {
    let p = format!("{KSM_DIR}/run");
    match ctx.get(&p) {
        Got::Val(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{p}: unexpected {v:?}")),
        other => Err(format!("{p}: {}", other.why())),
    }
}
