//! Transparent huge pages: the `enabled`, `shmem_enabled` and `defrag` modes
//! (`/sys/kernel/mm/transparent_hugepage`), read once per scan (host.thp and
//! qemu.mem.hugepages ask), and whether the kernel has THP at all.

use crate::parse::sysfs::bracketed;
use crate::rules::context::{Ctx, Got};

pub(crate) const THP_DIR: &str = "/sys/kernel/mm/transparent_hugepage";
/// The directory THP_DIR lives in: seen without it, the kernel has no THP.
const MM_DIR: &str = "/sys/kernel/mm";

/// The THP modes, each the bracketed word of its file or why it is missing.
#[derive(Debug, Clone)]
pub(crate) struct Thp {
    pub enabled: Result<String, String>,
    pub shmem_enabled: Result<String, String>,
    /// `defrag`'s mode, when readable.
    pub defrag: Option<String>,
}

/// `THP_DIR/NAME`.
pub(crate) fn file(name: &str) -> String {
    format!("{THP_DIR}/{name}")
}

/// The THP modes, read once per scan.
pub(crate) fn thp<'c>(ctx: &'c Ctx) -> &'c Thp {
    ctx.cache.thp.get_or_init(|| read(ctx))
}

fn read(ctx: &Ctx) -> Thp {
    let mode = |f: &str| {
        let p = file(f);
        match ctx.get(&p) {
            Got::Val(v) => bracketed(v)
                .map(str::to_string)
                .ok_or_else(|| format!("{p}: unexpected {v:?}")),
            Got::Absent => Err(format!("{p}: absent (kernel without THP)")),
            other => Err(format!("{p}: {}", other.why())),
        }
    };
    Thp {
        enabled: mode("enabled"),
        shmem_enabled: mode("shmem_enabled"),
        defrag: ctx
            .text(&file("defrag"))
            .and_then(bracketed)
            .map(str::to_string),
    }
}

/// The evidence proves a kernel without THP: `/sys/kernel/mm` was read and lacks the
/// directory, or the kernel config has it off. (A `--root` tree may just lack the files.)
pub(crate) fn kernel_without_thp(ctx: &Ctx) -> bool {
    ctx.dir_has(MM_DIR, "transparent_hugepage") == Some(false)
        && ctx.dir_exists(MM_DIR) == Some(true)
        || ctx
            .host
            .kconfig
            .as_ref()
            .and_then(|k| k.enabled("TRANSPARENT_HUGEPAGE"))
            == Some(false)
}

/// How evidence names the anonymous memory THP backs now.
pub(crate) const ANON_HUGEPAGES: &str = "/proc/meminfo AnonHugePages";

/// Bytes of anonymous memory in transparent huge pages (`/proc/meminfo`), when read.
pub(crate) fn anon_hugepages(ctx: &Ctx) -> Option<u64> {
    ctx.host.meminfo.as_ref().and_then(|m| m.anon_hugepages())
}
