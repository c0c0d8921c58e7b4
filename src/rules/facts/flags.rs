//! The context flags of catalogue §2, computed once per run from the snapshot.

use crate::model::host::Vm;
use crate::model::vm::HugepageUse;
use crate::rules::context::{Ctx, Flags, VmFacts};
use std::collections::{BTreeMap, BTreeSet};

/// Known QAT physical and virtual function device ids (Intel vendor 0x8086).
pub const QAT_DEVICE_IDS: &[&str] = &[
    "0x0435", "0x0443", "0x37c8", "0x37c9", "0x19e2", "0x19e3", "0x6f54", "0x6f55", "0x18ee",
    "0x18ef", "0x4940", "0x4941", "0x4942", "0x4943", "0x4944", "0x4945", "0x4946", "0x4947",
];

/// vCPU count of a VM: from its command line, else from its "CPU n/..." threads.
pub fn vcpus(ctx: &Ctx, vm: &Vm) -> Option<u32> {
    vm.model.vcpus().or_else(|| {
        ctx.vm_facts
            .get(vm.index)
            .and_then(|f| f.threads.as_ref())
            .map(|t| t.vcpus.len() as u32)
            .filter(|n| *n > 0)
    })
}

pub fn compute(ctx: &Ctx) -> Flags {
    // A node without CPUs is either memory-only (PMem, CXL) or one whose CPU list could not
    // be read: a single node with CPUs means "single node" only when every node's list was
    // read, and none at all means the topology is not in this tree or not readable.
    let nodes_with_cpus = ctx.host.nodes.as_ref().and_then(|nodes| {
        let with = nodes.iter().filter(|n| !n.cpus.is_empty()).count();
        let all_read = nodes.iter().all(|n| {
            !n.cpus.is_empty()
                || ctx
                    .get(&format!("/sys/devices/system/node/node{}/cpulist", n.id))
                    .val()
                    .is_some()
        });
        (with >= 2 || (with == 1 && all_read)).then_some(with)
    });
    let dedicated: Vec<Option<bool>> = ctx
        .host
        .vms
        .iter()
        .enumerate()
        .map(|(i, vm)| cpu_dedicated(&ctx.vm_facts, i, vcpus(ctx, vm)))
        .collect();
    Flags {
        multi_node: nodes_with_cpus.map(|n| n >= 2),
        vfio_vms: ctx
            .host
            .vms
            .iter()
            .any(|v| !v.model.vfio_devices.is_empty()),
        hugetlb_vms: ctx
            .host
            .vms
            .iter()
            .any(|v| v.model.uses_hugepages() != HugepageUse::None),
        cpu_overcommitted: cpu_overcommitted(ctx),
        mem_overcommitted: mem_overcommitted(ctx),
        pmem_present: pmem_present(ctx),
        qat_present: qat_present(ctx),
        nested: ctx.host.cpu.hypervisor,
        any_dedicated: if dedicated.contains(&Some(true)) {
            Some(true)
        } else if dedicated.iter().all(|d| *d == Some(false)) {
            Some(false)
        } else {
            None
        },
        dedicated,
    }
}

/// Every vCPU thread of VM `i` is pinned to one pCPU of its own, and no other thread — of this
/// VM or any other — may run there.
fn cpu_dedicated(facts: &[VmFacts], i: usize, vcpus: Option<u32>) -> Option<bool> {
    let me = facts.get(i)?.threads.as_ref()?;
    if me.vcpus.is_empty() {
        // Unnamed threads (no -name debug-threads=on): the vCPU threads cannot be told apart,
        // but with fewer single-CPU threads than vCPUs they cannot all be pinned one-to-one.
        me.all_sets().next()?;
        let single = me.all_sets().filter(|s| s.len() == 1).count();
        return match vcpus {
            Some(n) if u32::try_from(single).unwrap_or(u32::MAX) < n => Some(false),
            _ => None,
        };
    }
    let mut mine = BTreeSet::new();
    for cpus in me.vcpus.values() {
        if cpus.len() != 1 || !mine.insert(*cpus.iter().next()?) {
            return Some(false);
        }
    }
    let others_here = me
        .iter_threads_except_vcpus()
        .any(|set| !set.is_disjoint(&mine));
    if others_here {
        return Some(false);
    }
    for (j, f) in facts.iter().enumerate() {
        if j == i {
            continue;
        }
        // Another VM whose threads we cannot see may share our CPUs: not provable.
        let t = f.threads.as_ref()?;
        if t.all_sets().any(|set| !set.is_disjoint(&mine)) {
            return Some(false);
        }
    }
    Some(true)
}

/// Σ vCPUs > online pCPUs, or any pCPU reachable by vCPU threads of two VMs.
fn cpu_overcommitted(ctx: &Ctx) -> Option<bool> {
    if ctx.host.vms.is_empty() {
        return Some(false);
    }
    let online = ctx.host.topology.online.as_ref()?.len() as u32;
    let mut total = 0u32;
    let mut owners: BTreeMap<u32, BTreeSet<usize>> = BTreeMap::new();
    let mut affinity_known = true;
    for vm in &ctx.host.vms {
        total = total.saturating_add(vcpus(ctx, vm)?);
        match ctx.vm_facts.get(vm.index).and_then(|f| f.threads.as_ref()) {
            Some(t) => {
                for cpus in t.vcpus.values() {
                    for c in cpus {
                        owners.entry(*c).or_default().insert(vm.index);
                    }
                }
            }
            None => affinity_known = false,
        }
    }
    if total > online || owners.values().any(|o| o.len() > 1) {
        return Some(true);
    }
    affinity_known.then_some(false)
}

/// Bytes in all huge page pools (`/sys/kernel/mm/hugepages/hugepages-*/nr_hugepages`).
pub fn hugepage_pool_bytes(ctx: &Ctx) -> Option<u64> {
    let dir = "/sys/kernel/mm/hugepages";
    let names = ctx.dir(dir).ok()?;
    let mut total = 0u64;
    for n in names {
        let kb = crate::parse::sysfs::hugepage_dir_kb(n)?;
        let pages: u64 = ctx.text(&format!("{dir}/{n}/nr_hugepages"))?.parse().ok()?;
        total = total.saturating_add(pages.saturating_mul(kb * 1024));
    }
    Some(total)
}

/// Σ RAM of VMs not on huge pages + huge page pools + 10 % host reserve > MemTotal.
fn mem_overcommitted(ctx: &Ctx) -> Option<bool> {
    let total = ctx.host.meminfo.as_ref()?.mem_total()?;
    let pools = hugepage_pool_bytes(ctx).unwrap_or(0);
    let mut guest = 0u64;
    for vm in &ctx.host.vms {
        if vm.model.uses_hugepages() == HugepageUse::All {
            continue;
        }
        guest = guest.saturating_add(vm.model.memory.size_bytes?);
    }
    Some(guest.saturating_add(pools).saturating_add(total / 10) > total)
}

/// ACPI NFIT, an nd bus, or an Optane DIMM in SMBIOS.
fn pmem_present(ctx: &Ctx) -> Option<bool> {
    // Only a table list that is there can lack NFIT: a --root tree or sosreport without
    // /sys/firmware/acpi/tables says nothing about the host's PMem.
    let nfit = match ctx.dir_exists("/sys/firmware/acpi/tables") {
        Some(true) => ctx.dir_has("/sys/firmware/acpi/tables", "NFIT"),
        _ => None,
    };
    let ndbus = ctx.dir("/sys/bus/nd/devices").ok().map(|d| {
        d.iter()
            .any(|n| n.starts_with("ndbus") || n.starts_with("region"))
    });
    let optane = ctx.host.platform.as_ref().map(|p| p.optane_present);
    if [nfit, ndbus, optane].contains(&Some(true)) {
        Some(true)
    } else if nfit.is_none() {
        // Firmware describes every PMem device in NFIT; without the table list the absence
        // of Optane DIMMs in SMBIOS or of an nd bus does not rule other NVDIMMs out.
        None
    } else {
        Some(false)
    }
}

/// PCI functions that are QAT: bound to a `qat_*` driver, or an Intel device with a QAT id.
pub fn qat_devices(ctx: &Ctx) -> Vec<String> {
    let Ok(bdfs) = ctx.dir("/sys/bus/pci/devices") else {
        return Vec::new();
    };
    bdfs.iter()
        .filter(|bdf| {
            let base = format!("/sys/bus/pci/devices/{bdf}");
            let driver_qat = ctx
                .link(&format!("{base}/driver"))
                .is_some_and(|t| t.rsplit('/').next().is_some_and(|d| d.starts_with("qat_")));
            let id_qat = ctx.text(&format!("{base}/vendor")) == Some("0x8086")
                && ctx
                    .text(&format!("{base}/device"))
                    .is_some_and(|d| QAT_DEVICE_IDS.contains(&d));
            driver_qat || id_qat
        })
        .cloned()
        .collect()
}

fn qat_present(ctx: &Ctx) -> Option<bool> {
    // A missing device list is a copy without it (every PCI host has the directory), not a
    // host without QAT.
    match ctx.dir("/sys/bus/pci/devices") {
        Ok(_) => Some(!qat_devices(ctx).is_empty()),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::model::host::HostModel;
    use crate::report::Profile;
    use crate::rules::context::Ctx;
    use crate::rules::testkit::SnapBuilder;

    fn pinned(
        vcpus: &[&'static str],
        emu: &'static str,
    ) -> Vec<(&'static str, &'static str, &'static str)> {
        let mut t = vec![("qemu-system-x86", emu, "0")];
        for (i, c) in vcpus.iter().enumerate() {
            t.push((
                ["CPU 0/KVM", "CPU 1/KVM", "CPU 2/KVM", "CPU 3/KVM"][i],
                c,
                "0",
            ));
        }
        t
    }

    #[test]
    fn unreadable_node_cpu_lists_do_not_make_a_single_node_host() {
        let multi = |b: SnapBuilder| {
            let s = b.build();
            let h = HostModel::build(&s);
            Ctx::new(&s, &h, Profile::Throughput).flags.multi_node
        };
        let node = "/sys/devices/system/node";
        // The listing names the nodes, their CPU lists are gone or denied.
        let bare = || SnapBuilder::new().dir(node, &["node0", "node1"]);
        assert_eq!(multi(bare()), None);
        assert_eq!(
            multi(
                bare()
                    .denied(&format!("{node}/node1/cpulist"))
                    .file(&format!("{node}/node0/cpulist"), "0-3")
            ),
            None
        );
        // Read, with one memory-only node: single node.
        assert_eq!(
            multi(
                bare()
                    .file(&format!("{node}/node0/cpulist"), "0-3")
                    .file(&format!("{node}/node1/cpulist"), "")
            ),
            Some(false)
        );
        assert_eq!(multi(SnapBuilder::new().topology(2, 2, 1)), Some(true));
    }

    #[test]
    fn dedicated_and_overcommit() {
        let s = SnapBuilder::new()
            .topology(2, 4, 2)
            .vm(
                "qemu-system-x86_64 -name guest=a -smp 2 -m 4G",
                &pinned(&["1", "2"], "0"),
            )
            .vm(
                "qemu-system-x86_64 -name guest=b -smp 2 -m 4G",
                &pinned(&["5", "6"], "4"),
            )
            .build();
        let h = HostModel::build(&s);
        let ctx = Ctx::new(&s, &h, Profile::Throughput);
        assert_eq!(ctx.flags.dedicated, vec![Some(true), Some(true)]);
        assert_eq!(ctx.flags.cpu_overcommitted, Some(false));
        assert_eq!(ctx.flags.multi_node, Some(true));
        assert_eq!(ctx.flags.mem_overcommitted, Some(false));

        // b's emulator thread may run on a's vCPU CPU 1: a is no longer dedicated.
        let s = SnapBuilder::new()
            .topology(2, 4, 2)
            .vm(
                "qemu-system-x86_64 -name guest=a -smp 2",
                &pinned(&["1", "2"], "0"),
            )
            .vm(
                "qemu-system-x86_64 -name guest=b -smp 2",
                &pinned(&["5", "6"], "0-1"),
            )
            .build();
        let h = HostModel::build(&s);
        let ctx = Ctx::new(&s, &h, Profile::Throughput);
        assert_eq!(ctx.flags.dedicated, vec![Some(false), Some(true)]);

        // Two unpinned VMs share every CPU: overcommitted.
        let s = SnapBuilder::new()
            .topology(1, 2, 1)
            .vm("qemu-system-x86_64 -smp 1", &[("CPU 0/KVM", "0-1", "0")])
            .vm("qemu-system-x86_64 -smp 1", &[("CPU 0/KVM", "0-1", "0")])
            .build();
        let h = HostModel::build(&s);
        let ctx = Ctx::new(&s, &h, Profile::Throughput);
        assert_eq!(ctx.flags.cpu_overcommitted, Some(true));
        assert_eq!(ctx.flags.dedicated, vec![Some(false), Some(false)]);

        // Unnamed threads (no debug-threads): 2 vCPUs but no single-CPU thread → not
        // dedicated; two single-CPU threads could be the pinned vCPUs → unknown.
        let s = SnapBuilder::new()
            .topology(1, 4, 1)
            .vm(
                "qemu-system-x86_64 -smp 2",
                &[
                    ("qemu-system-x86", "0-3", "0"),
                    ("qemu-system-x86", "0-3", "0"),
                ],
            )
            .vm(
                "qemu-system-x86_64 -smp 2",
                &[("qemu-system-x86", "2", "0"), ("qemu-system-x86", "3", "0")],
            )
            .vm("qemu-system-x86_64 -smp 2", &[])
            .build();
        let h = HostModel::build(&s);
        let ctx = Ctx::new(&s, &h, Profile::Throughput);
        assert_eq!(ctx.flags.dedicated, vec![Some(false), None, None]);
    }
}
