//! host.thp: transparent huge pages (`enabled`, `shmem_enabled`, `defrag`).
use super::{shmem_ok, thp_ok};
use crate::report::Status;
use crate::rules::context::Ctx;
use crate::rules::facts::ram_backing::{vm_ram, Backing};
use crate::rules::facts::scope::guest_without_vms;
use crate::rules::facts::thp::{
    anon_hugepages, file, kernel_without_thp, thp as thp_facts, ANON_HUGEPAGES, THP_DIR,
};
use crate::rules::facts::units::human;
use crate::rules::outcome::Outcome;

/// The VMs whose RAM is not entirely hugetlb: those on anonymous memory and those that use
/// shared memory (memfd, share=on, /dev/shm), which THP covers only through shmem_enabled.
struct Need {
    anon: Vec<String>,
    shmem: Vec<String>,
}

pub(super) fn thp(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = guest_without_vms(ctx) {
        return vec![o];
    }
    let need = need(ctx);
    if !ctx.host.vms.is_empty() && need.anon.is_empty() && need.shmem.is_empty() {
        return vec![Outcome::na(
            "host",
            "every VM's RAM is hugetlb-backed: transparent huge pages do not apply",
        )];
    }
    let modes = thp_facts(ctx);
    let en = match &modes.enabled {
        Ok(v) => v.clone(),
        Err(why) => return vec![without_enabled(ctx, why)],
    };
    let shmem = modes.shmem_enabled.clone();
    let defrag = modes.defrag.clone().unwrap_or_else(|| "?".into());
    let mut o = judge(ctx, &en, &shmem, &need);
    if defrag == "always" && o.status == Status::Pass {
        o.message
            .push_str("; note: defrag [always] can stall unrelated allocations while compacting");
    }
    o = o
        .ev(file("enabled"), en, "always or madvise")
        .ev(file("defrag"), defrag, "");
    if let Ok(s) = shmem {
        o = o.ev(
            file("shmem_enabled"),
            s,
            if need.shmem.is_empty() {
                ""
            } else {
                "always, within_size or advise"
            },
        );
    }
    if let Some(a) = anon_hugepages(ctx) {
        o = o.ev(ANON_HUGEPAGES, human(a), "");
    }
    vec![o]
}

/// Sort the VMs that THP could serve by the memory their RAM lives in.
fn need(ctx: &Ctx) -> Need {
    let mut need = Need {
        anon: Vec::new(),
        shmem: Vec::new(),
    };
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
            need.shmem.push(vm.name());
        } else {
            need.anon.push(vm.name());
        }
    }
    need
}

/// `enabled` could not be read: a kernel without THP fails, anything else is unknown.
fn without_enabled(ctx: &Ctx, why: &str) -> Outcome {
    // Missing files are a kernel without THP only where /sys/kernel/mm was seen without
    // the directory (or the kernel config says so); a --root tree may just lack them.
    if why.contains("absent") && kernel_without_thp(ctx) {
        Outcome::fail(
            "host",
            format!("the kernel has no transparent huge page support ({THP_DIR} missing)"),
        )
        .ev(file("enabled"), "absent", "always or madvise")
    } else if why.contains("absent") {
        Outcome::unknown(
            "host",
            format!("THP state not recorded ({THP_DIR} is not in this copy, and neither /sys/kernel/mm nor the kernel config shows a kernel without THP)"),
        )
    } else {
        Outcome::unknown("host", format!("THP state unreadable ({why})"))
    }
}

/// THP on (always/madvise) for the VMs that need it, and shmem_enabled for those on shared
/// memory; a fix already on a persistent command line is pending.
fn judge(ctx: &Ctx, en: &str, shmem: &Result<String, String>, need: &Need) -> Outcome {
    let who = |v: &[String]| {
        if v.is_empty() {
            "future VMs".to_string()
        } else {
            v.join(", ")
        }
    };
    if !thp_ok(en) {
        let configured = ctx.persistent.cmdlines.iter().find_map(|(p, c)| {
            c.value("transparent_hugepage")
                .filter(|v| thp_ok(v))
                .map(|v| (p.clone(), v.to_string()))
        });
        let base = Outcome::fail(
            "host",
            format!(
                "THP is [{en}]: {} get 4 KiB pages only",
                who(&[need.anon.clone(), need.shmem.clone()].concat())
            ),
        );
        return match configured {
            Some((p, v)) => {
                let mut b = base.pending(true);
                b.message.push_str(&format!(
                    "; {p} already sets transparent_hugepage={v}, effective after a reboot"
                ));
                b.ev(p, format!("transparent_hugepage={v}"), "")
            }
            None => base,
        };
    }
    if need.shmem.is_empty() {
        return Outcome::pass(
            "host",
            format!(
                "THP is [{en}]: QEMU advises guest RAM with MADV_HUGEPAGE, so {} can get 2 MiB pages",
                who(&need.anon)
            ),
        );
    }
    match shmem {
        Ok(s) if shmem_ok(s) => Outcome::pass(
            "host",
            format!("THP is [{en}] and shmem_enabled [{s}] covers the shared-memory guest RAM of {}", need.shmem.join(", ")),
        ),
        Ok(s) => Outcome::fail(
            "host",
            format!(
                "THP is [{en}] but shmem_enabled is [{s}]: the shared-memory guest RAM of {} (memfd, share=on, /dev/shm) gets 4 KiB pages",
                need.shmem.join(", ")
            ),
        ),
        Err(why) => Outcome::unknown(
            "host",
            format!("THP is [{en}] but shmem_enabled is unreadable ({why}) while {} use shared-memory RAM", need.shmem.join(", ")),
        ),
    }
}
