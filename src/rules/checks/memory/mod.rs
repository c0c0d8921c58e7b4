//! Huge pages, THP and KSM (guide §3.2.3 and §3.2.5).
//!
//! Guest RAM is judged from both ends: what argv asks for (memory backends, `-mem-path`,
//! memfd `hugetlb=on`), resolved through the mount table the QEMU process really sees
//! (libvirt starts QEMU in a private mount namespace, so its own `mountinfo` wins over the
//! host's `/proc/mounts`), and — when readable — what the kernel actually mapped
//! (`/proc/PID/numa_maps`: `huge` and `kernelpagesize_kB=` on the guest-RAM mappings).

use super::{Check, CheckFn};
use crate::rules::context::Ctx;
use crate::rules::facts::ksm::ksm as ksm_facts;
use crate::rules::facts::module_params::nx_huge_pages_on;
use crate::rules::facts::thp::thp as thp_facts;

pub(super) use crate::rules::facts::thp::THP_DIR;

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

/// THP mode: (enabled, shmem_enabled) bracketed values, or why unreadable.
fn thp_modes(ctx: &Ctx) -> (Result<String, String>, Result<String, String>) {
    let t = thp_facts(ctx);
    (t.enabled.clone(), t.shmem_enabled.clone())
}

fn thp_ok(mode: &str) -> bool {
    mode == "always" || mode == "madvise"
}

fn shmem_ok(mode: &str) -> bool {
    matches!(mode, "always" | "within_size" | "advise" | "force")
}

#[cfg(test)]
mod tests;

/// `nx_huge_pages=Y` note (KVM splits executable huge pages into 4 KiB EPT entries).
fn nx_note(ctx: &Ctx) -> Option<(String, String)> {
    nx_huge_pages_on(ctx)
}

/// KSM's `run` state, or why unreadable.
fn ksm_run(ctx: &Ctx) -> Result<u32, String> {
    ksm_facts(ctx).run.clone()
}
