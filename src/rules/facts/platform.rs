//! The platform as the kernel shows it, for the firmware rules and the baseline: the CPU
//! directory, SMT, topology, NUMA nodes, the KVM device and modules.

use crate::rules::context::{Ctx, Got};
use crate::snapshot::ReadError;

/// Where the kernel lists CPUs; a tree without it says nothing about what lives below it.
pub(crate) const CPU_DIR: &str = "/sys/devices/system/cpu";

/// The running kernel's command line, as evidence rows name it.
pub(crate) const CMDLINE: &str = "/proc/cmdline";

/// The running kernel's command line file as read (the parsed one is `HostModel::cmdline`).
pub(crate) fn cmdline_file<'a>(ctx: &Ctx<'a>) -> Got<'a> {
    ctx.get(CMDLINE)
}

/// Whether the CPU directory was seen (see [`Ctx::dir_exists`]).
pub(crate) fn cpu_dir_seen(ctx: &Ctx) -> Option<bool> {
    ctx.dir_exists(CPU_DIR)
}

pub(crate) const SMT_ACTIVE: &str = "/sys/devices/system/cpu/smt/active";
pub(crate) const SMT_CONTROL: &str = "/sys/devices/system/cpu/smt/control";
/// What evidence rows built from the topology model name as their source.
pub(crate) const THREAD_SIBLINGS_SOURCE: &str =
    "/sys/devices/system/cpu/cpu*/topology/thread_siblings_list";
pub(crate) const PACKAGE_ID_SOURCE: &str =
    "/sys/devices/system/cpu/cpu*/topology/physical_package_id";
pub(crate) const NODE_CPULIST_SOURCE: &str = "/sys/devices/system/node/node*/cpulist";

/// SMT's `active` and `control` files as read.
pub(crate) fn smt_active<'a>(ctx: &Ctx<'a>) -> Got<'a> {
    ctx.get(SMT_ACTIVE)
}

pub(crate) fn smt_control<'a>(ctx: &Ctx<'a>) -> Got<'a> {
    ctx.get(SMT_CONTROL)
}

/// Vulnerability files that mention SMT with something other than "Not affected", as
/// "name: text".
pub(crate) fn smt_exposures(ctx: &Ctx) -> Vec<String> {
    let prefix = format!("{CPU_DIR}/vulnerabilities/");
    ctx.snap
        .files
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter_map(|(k, f)| {
            let v = f.value()?.trim();
            (v.contains("SMT") && !v.starts_with("Not affected"))
                .then(|| format!("{}: {v}", &k[prefix.len()..]))
        })
        .collect()
}

/// Where the firmware's ACPI tables (DMAR, IVRS, SRAT) are listed.
pub(crate) const ACPI_TABLES: &str = "/sys/firmware/acpi/tables";

/// The ACPI table listing: `Ok(names)`, `Err(None)` absent, `Err(Some(e))` unreadable.
pub(crate) fn acpi_tables<'a>(ctx: &Ctx<'a>) -> Result<&'a [String], Option<&'a ReadError>> {
    ctx.dir(ACPI_TABLES)
}

/// Whether the firmware published the ACPI table `name` (`None`: the listing is unreadable).
pub(crate) fn acpi_table(ctx: &Ctx, name: &str) -> Option<bool> {
    ctx.dir_has(ACPI_TABLES, name)
}

pub(crate) const DEV_KVM: &str = "/dev/kvm";
pub(crate) const KVM_INTEL_MODULE: &str = "/sys/module/kvm_intel";
/// The kernel's CPU flags, as evidence rows name them ([`Ctx::cpuinfo_flag`]).
pub(crate) const CPUINFO_FLAGS_SOURCE: &str = "/proc/cpuinfo flags";

/// Whether the directory `dir` lists `name`. A listing that is not there at all (a --root
/// tree without /dev or /sys/module) says nothing about the entries: only a present listing
/// can lack them.
fn listed(ctx: &Ctx, dir: &str, name: &str) -> Option<bool> {
    match ctx.dir_exists(dir) {
        Some(true) => ctx.dir_has(dir, name),
        _ => None,
    }
}

/// Whether `/dev/kvm` exists (`None`: `/dev` was not seen).
pub(crate) fn kvm_device(ctx: &Ctx) -> Option<bool> {
    listed(ctx, "/dev", "kvm")
}

/// Whether kvm_intel is loaded (`None`: `/sys/module` was not seen).
pub(crate) fn kvm_intel_loaded(ctx: &Ctx) -> Option<bool> {
    listed(ctx, "/sys/module", "kvm_intel")
}

pub(crate) const CPU_ONLINE: &str = "/sys/devices/system/cpu/online";
pub(crate) const MEMINFO: &str = "/proc/meminfo";
pub(crate) const MEMTOTAL_SOURCE: &str = "/proc/meminfo MemTotal";
pub(crate) const OSRELEASE: &str = "/proc/sys/kernel/osrelease";
pub(crate) const NOHZ_FULL: &str = "/sys/devices/system/cpu/nohz_full";
pub(crate) const ISOLATED: &str = "/sys/devices/system/cpu/isolated";
pub(crate) const ISOLATED_SOURCE: &str = "/sys/devices/system/cpu/{nohz_full,isolated}";

/// The files behind `HostModel::topology.online`, `meminfo` and `kernel_release`, as read:
/// for the reason when the model has no value.
pub(crate) fn cpu_online_file<'a>(ctx: &Ctx<'a>) -> Got<'a> {
    ctx.get(CPU_ONLINE)
}

pub(crate) fn meminfo_file<'a>(ctx: &Ctx<'a>) -> Got<'a> {
    ctx.get(MEMINFO)
}

pub(crate) fn osrelease_file<'a>(ctx: &Ctx<'a>) -> Got<'a> {
    ctx.get(OSRELEASE)
}

/// CPUs the kernel keeps free of housekeeping (nohz_full ∪ isolcpus); empty when none are.
pub(crate) fn isolated_cpus(ctx: &Ctx) -> std::collections::BTreeSet<u32> {
    [NOHZ_FULL, ISOLATED]
        .iter()
        .filter_map(|p| ctx.text(p))
        .filter_map(|t| crate::parse::cpulist::parse(t).ok())
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::host::HostModel;
    use crate::report::Profile;
    use crate::rules::testkit::SnapBuilder;

    fn with<T>(b: SnapBuilder, f: impl FnOnce(&Ctx) -> T) -> T {
        let s = b.build();
        let h = HostModel::build(&s);
        f(&Ctx::new(&s, &h, Profile::Throughput))
    }

    #[test]
    fn isolated_cpus_join_nohz_full_and_isolcpus() {
        let b = SnapBuilder::new()
            .file(NOHZ_FULL, "2-3\n")
            .file(ISOLATED, "3,8");
        assert_eq!(
            with(b, isolated_cpus).into_iter().collect::<Vec<_>>(),
            [2, 3, 8]
        );
        // Empty files and unparsable text isolate nothing.
        let b = SnapBuilder::new().file(NOHZ_FULL, "").file(ISOLATED, "x-");
        assert!(with(b, isolated_cpus).is_empty());
    }

    #[test]
    fn kvm_device_is_unknown_without_the_dev_listing() {
        assert_eq!(with(SnapBuilder::new(), kvm_device), None);
        let b = SnapBuilder::new().dir("/dev", &["null"]);
        assert_eq!(with(b, kvm_device), Some(false));
        let b = SnapBuilder::new().dir("/sys/module", &["kvm", "kvm_intel"]);
        assert_eq!(with(b, kvm_intel_loaded), Some(true));
    }
}
