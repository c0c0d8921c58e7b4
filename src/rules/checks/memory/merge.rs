//! qemu.mem.merge: VMs opt out of KSM where merging costs more than it saves.
use super::ksm_run;
use crate::model::vm::BackendKind;
use crate::report::Profile;
use crate::rules::context::Ctx;
use crate::rules::facts::ram_backing::{vm_ram, Backing};
use crate::rules::outcome::Outcome;
use crate::rules::units::VmUnit;

pub(super) fn mem_merge(ctx: &Ctx, u: &VmUnit) -> Outcome {
    let ksm_on = ksm_run(ctx) == Ok(1);
    let vm = u.vm;
    let target = u.target.clone();
    let machine = vm.model.machine.mem_merge;
    let machine_on = machine.unwrap_or(true);
    let ram = &vm_ram(ctx, vm).pieces;
    let mut mergeable = Vec::new();
    let mut never = Vec::new();
    let mut ev = Vec::new();
    for r in ram {
        let name = r
            .piece
            .backend_id
            .clone()
            .unwrap_or_else(|| "boot RAM".into());
        let b = r
            .piece
            .backend_id
            .as_deref()
            .and_then(|id| vm.model.backend(id));
        let merge = b.and_then(|b| b.merge).unwrap_or(machine_on);
        let unmergeable = match &r.backing {
            Backing::Huge { .. } => Some("hugetlb"),
            Backing::Shmem(_) => Some("shared memory"),
            _ if b.is_some_and(|b| b.kind == BackendKind::File) => Some("file-backed"),
            _ => None,
        };
        ev.push((
            format!("{} {name}", vm.source),
            format!(
                "merge={}{}",
                if merge { "on" } else { "off" },
                unmergeable
                    .map(|w| format!(" ({w}: KSM never merges it)"))
                    .unwrap_or_default()
            ),
        ));
        match (merge, unmergeable) {
            (true, None) => mergeable.push(name),
            (_, Some(_)) => never.push(name),
            _ => {}
        }
    }
    let vfio = !vm.model.vfio_devices.is_empty();
    let advice = if ctx.dedicated(vm) == Some(true) || ctx.profile == Profile::Latency {
        if mergeable.is_empty() || vfio {
            "fine for a latency-critical VM"
        } else {
            "a latency-critical VM is better off with mem-merge=off (libvirt <nosharepages/>)"
        }
    } else if ctx.flags.mem_overcommitted == Some(true) {
        if mergeable.is_empty() {
            "memory is overcommitted but none of this VM's RAM can be merged"
        } else {
            "keeps this VM eligible for KSM on an overcommitted host"
        }
    } else if mergeable.is_empty() || !ksm_on {
        "only matters when KSM runs"
    } else {
        "KSM is running and merges it although memory is not overcommitted"
    };
    let msg = format!(
        "machine mem-merge={}{}; {}{}; {advice}",
        if machine_on { "on" } else { "off" },
        if machine.is_none() { " (default)" } else { "" },
        if mergeable.is_empty() {
            "no guest RAM is mergeable".to_string()
        } else {
            format!("mergeable: {}", mergeable.join(", "))
        },
        if vfio {
            " (VFIO pins guest RAM: KSM cannot merge it)"
        } else {
            ""
        },
    );
    let mut o = Outcome::info(target, msg).ev(
        vm.source.clone(),
        format!(
            "-machine mem-merge={}",
            machine.map_or("unset (on)", |m| if m { "on" } else { "off" })
        ),
        "",
    );
    for (s, ob) in ev {
        o = o.ev(s, ob, "");
    }
    o
}
