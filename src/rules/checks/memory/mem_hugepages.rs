//! qemu.mem.hugepages: each VM's guest RAM is backed by huge pages, by argv and by what the
//! kernel mapped.
use super::{nx_note, shmem_ok, thp_modes, thp_ok, THP_DIR};
use crate::model::host::Vm;
use crate::report::target::Target;
use crate::report::Status;
use crate::rules::context::Ctx;
use crate::rules::facts::guest_ram::guest_ram_maps;
use crate::rules::facts::ram_backing::{vm_ram, Backing, Ram};
use crate::rules::facts::units::human;
use crate::rules::outcome::Outcome;
use crate::rules::units::VmUnit;
use std::collections::BTreeSet;

pub(super) fn mem_hugepages(ctx: &Ctx, u: &VmUnit) -> Outcome {
    let (thp_en, thp_shmem) = thp_modes(ctx);
    let nx = nx_note(ctx);
    let vm = u.vm;
    let target = u.target.clone();
    let ram = &vm_ram(ctx, vm).pieces;
    let mut o = hugepages_verdict(ctx, vm, &target, ram, &thp_en, &thp_shmem);
    for r in ram {
        o = o.ev(
            format!(
                "{} {}",
                vm.source,
                r.piece
                    .backend_id
                    .as_deref()
                    .map(|b| format!("backend {b}"))
                    .unwrap_or_else(|| "boot RAM".into())
            ),
            format!(
                "{}{}",
                describe_backing(&r.backing),
                r.size
                    .map(|s| format!(", {}", human(s)))
                    .unwrap_or_default()
            ),
            "hugetlb pages",
        );
    }
    if let (Some((v, vuln)), true) = (&nx, matches!(o.status, Status::Pass | Status::Warn)) {
        o.message.push_str(&format!(
            "; note: kvm.nx_huge_pages={v} (itlb_multihit: {vuln}), so KVM maps executable guest huge pages with 4 KiB EPT entries"
        ));
        o = o.ev(
            "/sys/module/kvm/parameters/nx_huge_pages",
            format!("{v}; /sys/devices/system/cpu/vulnerabilities/itlb_multihit: {vuln}"),
            "",
        );
    }
    o
}

pub(super) fn describe_backing(b: &Backing) -> String {
    match b {
        Backing::Huge { page, how } => format!(
            "hugetlb {} ({how})",
            page.map(human).unwrap_or_else(|| "size ?".into())
        ),
        Backing::Anon => "anonymous memory".into(),
        Backing::Shmem(w) => format!("shared memory ({w})"),
        Backing::File(w) => format!("ordinary file ({w})"),
        Backing::Unknown(w) => format!("unknown ({w})"),
    }
}

pub(super) fn hugepages_verdict(
    ctx: &Ctx,
    vm: &Vm,
    target: &Target,
    ram: &[Ram],
    thp_en: &Result<String, String>,
    thp_shmem: &Result<String, String>,
) -> Outcome {
    // Runtime proof first: numa_maps of the guest-RAM mappings.
    let (runtime_note, runtime_small) = match runtime_backing(ctx, vm, target) {
        Runtime::Decided(o) => return o,
        Runtime::Seen { note, small } => (note, small),
    };
    let with_note = |o: Outcome| {
        if runtime_note.is_empty() {
            o
        } else {
            o.ev("numa_maps", runtime_note.clone(), "")
        }
    };
    if !runtime_small {
        if let Some(o) = argv_backing(target, ram) {
            return with_note(o);
        }
    }
    let huge = ram.iter().filter(|r| r.backing.is_huge()).count();
    let argv_huge = huge > 0 || ram.iter().any(|r| r.piece.hugetlb_by_argv());
    if runtime_small && argv_huge {
        return with_note(Outcome::fail(
            target,
            "argv asks for hugetlb pages but the kernel mapped guest RAM with ordinary pages (numa_maps)",
        ));
    }
    with_note(thp_backing(target, ram, thp_en, thp_shmem))
}

/// What numa_maps shows of the guest-RAM mappings.
enum Runtime {
    /// All or part of guest RAM is on hugetlb pages: the verdict.
    Decided(Outcome),
    /// No verdict from numa_maps: a note for the evidence, and whether it showed guest RAM
    /// on ordinary pages only.
    Seen { note: String, small: bool },
}

fn runtime_backing(ctx: &Ctx, vm: &Vm, target: &Target) -> Runtime {
    let mut runtime_note = String::new();
    let mut runtime_small = false;
    if let Some(nm) = ctx.process(vm).and_then(|p| p.numa_maps.as_ref()) {
        // `None` exactly when the text is unreadable.
        match guest_ram_maps(ctx, vm) {
            Some(maps) => {
                let ram_vmas = &maps.ram;
                if !ram_vmas.is_empty() {
                    let huge: Vec<_> = ram_vmas.iter().filter(|v| v.huge).collect();
                    let sizes: BTreeSet<u64> = huge
                        .iter()
                        .map(|v| v.page_kb.saturating_mul(1024))
                        .collect();
                    let sizes: Vec<String> = sizes.into_iter().map(human).collect();
                    let ev_obs = ram_vmas
                        .iter()
                        .map(|v| {
                            format!(
                                "{}{} kernelpagesize_kB={} ({})",
                                v.addr,
                                if v.huge { " huge" } else { "" },
                                v.page_kb,
                                human(v.bytes())
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                    if huge.len() == ram_vmas.len() {
                        return Runtime::Decided(
                            Outcome::pass(
                                target,
                                format!(
                                    "guest RAM is mapped with {} hugetlb pages (numa_maps)",
                                    sizes.join(" and ")
                                ),
                            )
                            .ev(
                                nm.path.clone(),
                                ev_obs,
                                "huge, kernelpagesize_kB ≥ 2048",
                            ),
                        );
                    }
                    if !huge.is_empty() {
                        return Runtime::Decided(Outcome::warn(
                            target,
                            format!(
                                "only part of guest RAM is on hugetlb pages ({} of {} guest-RAM mappings, numa_maps)",
                                huge.len(),
                                ram_vmas.len()
                            ),
                        )
                        .ev(nm.path.clone(), ev_obs, "huge on every guest-RAM mapping"));
                    }
                    runtime_small = true;
                    runtime_note =
                        format!("numa_maps shows no hugetlb guest-RAM mapping ({ev_obs})");
                }
            }
            None => {
                runtime_note = format!(
                    "{}: {} (argv and mounts used instead)",
                    nm.path,
                    nm.fact.error().map(|e| e.describe()).unwrap_or_default()
                );
            }
        }
    }
    Runtime::Seen {
        note: runtime_note,
        small: runtime_small,
    }
}

/// The verdict argv and the mount table give when numa_maps does not contradict them
/// (`None`: no hugetlb backing is visible and none is unknown).
fn argv_backing(target: &Target, ram: &[Ram]) -> Option<Outcome> {
    let huge = ram.iter().filter(|r| r.backing.is_huge()).count();
    let unknown: Vec<&str> = ram
        .iter()
        .filter_map(|r| match &r.backing {
            Backing::Unknown(w) => Some(w.as_str()),
            _ => None,
        })
        .collect();
    let inferred = ram.iter().any(|r| {
        matches!(&r.backing, Backing::Huge { how, .. } if how.contains("inferred from libvirt's hugetlbfs layout"))
    });
    if huge > 0 && huge == ram.len() {
        return Some(Outcome::pass(
            target,
            format!(
                "guest RAM is backed by hugetlb pages (argv backends on hugetlbfs / memfd hugetlb=on){}",
                if inferred {
                    "; hugetlbfs inferred from libvirt's <mount>/libvirt/qemu/<id>-<name> path layout, no mount table shows it"
                } else {
                    ""
                }
            ),
        ));
    }
    // Partly on huge pages: warn when another piece is known to be on 4 KiB pages; when
    // the rest is only unknown it may be huge too.
    if huge > 0 && huge + unknown.len() < ram.len() {
        let small: Vec<String> = ram
            .iter()
            .filter(|r| !r.backing.is_huge() && !matches!(r.backing, Backing::Unknown(_)))
            .map(|r| {
                format!(
                    "{} ({})",
                    r.piece.backend_id.as_deref().unwrap_or("boot RAM"),
                    describe_backing(&r.backing)
                )
            })
            .collect();
        return Some(Outcome::warn(
            target,
            format!(
                "only {huge} of {} guest RAM pieces are hugetlb-backed; not: {}",
                ram.len(),
                small.join(", ")
            ),
        ));
    }
    if huge > 0 {
        return Some(Outcome::unknown(
            target,
            format!(
                "{huge} of {} guest RAM pieces are hugetlb-backed; for the rest: {}",
                ram.len(),
                unknown.join("; ")
            ),
        ));
    }
    if !unknown.is_empty() {
        return Some(Outcome::unknown(
            target,
            format!(
                "cannot tell how guest RAM is backed: {}",
                unknown.join("; ")
            ),
        ));
    }
    None
}

/// Guest RAM not on hugetlb pages: THP is the acceptable alternative.
fn thp_backing(
    target: &Target,
    ram: &[Ram],
    thp_en: &Result<String, String>,
    thp_shmem: &Result<String, String>,
) -> Outcome {
    // No hugetlb: THP is the acceptable alternative.
    let shmem = ram.iter().any(|r| matches!(r.backing, Backing::Shmem(_)));
    let anon = ram.iter().any(|r| matches!(r.backing, Backing::Anon));
    let en = match thp_en {
        Ok(v) => v.clone(),
        Err(why) => {
            return Outcome::unknown(
                target,
                format!("guest RAM is not on hugetlb pages and THP state is unreadable ({why})"),
            )
        }
    };
    let o = if !thp_ok(&en) {
        Outcome::fail(
            target,
            format!("guest RAM uses 4 KiB pages only: no hugetlb backing and THP is [{en}]"),
        )
    } else if shmem {
        match thp_shmem {
            Ok(s) if shmem_ok(s) => Outcome::warn(
                target,
                format!("guest RAM relies on transparent huge pages (THP [{en}], shmem_enabled [{s}]); how much of it THP covers is not measured (smaps is not read); hugetlb pages are the guide's recommendation"),
            ),
            Ok(s) => Outcome::fail(
                target,
                format!("guest RAM is shared memory but shmem_enabled is [{s}]: it gets 4 KiB pages"),
            ),
            Err(why) => Outcome::unknown(
                target,
                format!("guest RAM is shared memory and shmem_enabled is unreadable ({why})"),
            ),
        }
    } else if anon {
        Outcome::warn(
            target,
            format!("guest RAM relies on transparent huge pages (THP [{en}]); how much of it THP covers is not measured (smaps is not read); hugetlb pages are the guide's recommendation"),
        )
    } else {
        Outcome::fail(
            target,
            "guest RAM is a file on an ordinary filesystem: 4 KiB page-cache pages",
        )
    };
    o.ev(
        format!("{THP_DIR}/enabled"),
        en,
        "hugetlb preferred; THP always|madvise acceptable",
    )
}
