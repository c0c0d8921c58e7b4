//! host.thp: transparent huge pages (`enabled`, `shmem_enabled`, `defrag`).
use super::{shmem_ok, thp_modes, thp_ok, THP_DIR};
use crate::parse::sysfs::bracketed;
use crate::report::Status;
use crate::rules::context::Ctx;
use crate::rules::facts::ram_backing::{vm_ram, Backing};
use crate::rules::facts::scope::guest_without_vms;
use crate::rules::facts::units::human;
use crate::rules::outcome::Outcome;

pub(super) fn thp(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = guest_without_vms(ctx) {
        return vec![o];
    }
    // VMs whose RAM is not entirely hugetlb, and which of those use shared memory.
    let mut need_anon = Vec::new();
    let mut need_shmem = Vec::new();
    for vm in &ctx.host.vms {
        let ram = &vm_ram(ctx, vm).pieces;
        let all_huge = !ram.is_empty()
            && ram.iter().all(|r| {
                r.backing.is_huge()
                    || (matches!(r.backing, Backing::Unknown(_)) && r.piece.hugetlb_by_argv())
            });
        if all_huge {
            continue;
        }
        if ram.iter().any(|r| matches!(r.backing, Backing::Shmem(_))) {
            need_shmem.push(vm.name());
        } else {
            need_anon.push(vm.name());
        }
    }
    if !ctx.host.vms.is_empty() && need_anon.is_empty() && need_shmem.is_empty() {
        return vec![Outcome::na(
            "host",
            "every VM's RAM is hugetlb-backed: transparent huge pages do not apply",
        )];
    }
    let (en, shmem) = thp_modes(ctx);
    let en = match en {
        Ok(v) => v,
        // Missing files are a kernel without THP only where /sys/kernel/mm was seen without
        // the directory (or the kernel config says so); a --root tree may just lack them.
        Err(why)
            if why.contains("absent")
                && (ctx.dir_has("/sys/kernel/mm", "transparent_hugepage") == Some(false)
                    && ctx.dir_exists("/sys/kernel/mm") == Some(true)
                    || ctx
                        .host
                        .kconfig
                        .as_ref()
                        .and_then(|k| k.enabled("TRANSPARENT_HUGEPAGE"))
                        == Some(false)) =>
        {
            return vec![Outcome::fail(
                "host",
                "the kernel has no transparent huge page support (/sys/kernel/mm/transparent_hugepage missing)",
            )
            .ev(format!("{THP_DIR}/enabled"), "absent", "always or madvise")]
        }
        Err(why) if why.contains("absent") => {
            return vec![Outcome::unknown(
                "host",
                format!("THP state not recorded ({THP_DIR} is not in this copy, and neither /sys/kernel/mm nor the kernel config shows a kernel without THP)"),
            )]
        }
        Err(why) => return vec![Outcome::unknown("host", format!("THP state unreadable ({why})"))],
    };
    let defrag = ctx
        .text(&format!("{THP_DIR}/defrag"))
        .and_then(bracketed)
        .unwrap_or("?")
        .to_string();
    let who = |v: &[String]| {
        if v.is_empty() {
            "future VMs".to_string()
        } else {
            v.join(", ")
        }
    };
    let mut o = if !thp_ok(&en) {
        let configured = ctx.persistent.cmdlines.iter().find_map(|(p, c)| {
            c.value("transparent_hugepage")
                .filter(|v| thp_ok(v))
                .map(|v| (p.clone(), v.to_string()))
        });
        let base = Outcome::fail(
            "host",
            format!(
                "THP is [{en}]: {} get 4 KiB pages only",
                who(&[need_anon.clone(), need_shmem.clone()].concat())
            ),
        );
        match configured {
            Some((p, v)) => {
                let mut b = base.pending(true);
                b.message.push_str(&format!(
                    "; {p} already sets transparent_hugepage={v}, effective after a reboot"
                ));
                b.ev(p, format!("transparent_hugepage={v}"), "")
            }
            None => base,
        }
    } else if !need_shmem.is_empty() {
        match &shmem {
            Ok(s) if shmem_ok(s) => Outcome::pass(
                "host",
                format!("THP is [{en}] and shmem_enabled [{s}] covers the shared-memory guest RAM of {}", need_shmem.join(", ")),
            ),
            Ok(s) => Outcome::fail(
                "host",
                format!(
                    "THP is [{en}] but shmem_enabled is [{s}]: the shared-memory guest RAM of {} (memfd, share=on, /dev/shm) gets 4 KiB pages",
                    need_shmem.join(", ")
                ),
            ),
            Err(why) => Outcome::unknown(
                "host",
                format!("THP is [{en}] but shmem_enabled is unreadable ({why}) while {} use shared-memory RAM", need_shmem.join(", ")),
            ),
        }
    } else {
        Outcome::pass(
            "host",
            format!(
                "THP is [{en}]: QEMU advises guest RAM with MADV_HUGEPAGE, so {} can get 2 MiB pages",
                who(&need_anon)
            ),
        )
    };
    if defrag == "always" && o.status == Status::Pass {
        o.message
            .push_str("; note: defrag [always] can stall unrelated allocations while compacting");
    }
    o = o
        .ev(format!("{THP_DIR}/enabled"), en, "always or madvise")
        .ev(format!("{THP_DIR}/defrag"), defrag, "");
    if let Ok(s) = shmem {
        o = o.ev(
            format!("{THP_DIR}/shmem_enabled"),
            s,
            if need_shmem.is_empty() {
                ""
            } else {
                "always, within_size or advise"
            },
        );
    }
    if let Some(m) = &ctx.host.meminfo {
        if let Some(a) = m.anon_hugepages() {
            o = o.ev("/proc/meminfo AnonHugePages", human(a), "");
        }
    }
    vec![o]
}
