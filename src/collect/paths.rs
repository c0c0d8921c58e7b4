//! The host paths a scan reads, derived from the Evidence lines of the rule catalogue.
//!
//! Patterns: `*` matches any run of characters in one path component, `%d` one or more digits.
//! Literal paths that do not exist are recorded as `absent` (absence is evidence: no DMAR table,
//! no `/sys/module/kvm_intel`); paths reached through a pattern are recorded only when present.

/// What to record at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// File content (text), at most this many bytes.
    File(u64),
    /// Directory listing.
    Dir,
    /// Symlink target.
    Link,
}

pub const SMALL: u64 = 64 * 1024;
pub const LARGE: u64 = 16 * 1024 * 1024;

use Kind::{Dir, File, Link};

/// Every host fact the rules read, in collection order.
pub const HOST_PATHS: &[(&str, Kind)] = &[
    // --- /proc: kernel identity, command line, memory, mounts, interrupts
    ("/proc/sys/kernel/osrelease", File(SMALL)),
    ("/proc/sys/kernel/hostname", File(SMALL)),
    ("/etc/hostname", File(SMALL)),
    // The host's identity beyond its name: the fleet keys hosts by it, and a remediation
    // script is bound to it (fix --generate-script); world-readable.
    ("/etc/machine-id", File(SMALL)),
    ("/proc/cmdline", File(SMALL)),
    // Only the first processor block is kept (see collect::host): it carries the flags.
    ("/proc/cpuinfo", File(LARGE)),
    ("/proc/meminfo", File(SMALL)),
    ("/proc/mounts", File(LARGE)),
    ("/proc/interrupts", File(LARGE)),
    ("/proc/vmstat", File(SMALL)),
    ("/proc/sys/kernel/numa_balancing", File(SMALL)),
    ("/proc/sys/kernel/io_uring_disabled", File(SMALL)),
    ("/proc/sys/vm/nr_hugepages", File(SMALL)),
    ("/proc/sys/vm/nr_hugepages_mempolicy", File(SMALL)),
    ("/proc/sys/fs/aio-nr", File(SMALL)),
    ("/proc/irq/%d/smp_affinity_list", File(SMALL)),
    ("/proc/irq/%d/effective_affinity_list", File(SMALL)),
    // --- CPUs: topology, SMT, frequency scaling, idle states, EPB
    ("/sys/devices/system/cpu/online", File(SMALL)),
    ("/sys/devices/system/cpu/present", File(SMALL)),
    ("/sys/devices/system/cpu/possible", File(SMALL)),
    ("/sys/devices/system/cpu/isolated", File(SMALL)),
    ("/sys/devices/system/cpu/nohz_full", File(SMALL)),
    ("/sys/devices/system/cpu/smt/active", File(SMALL)),
    ("/sys/devices/system/cpu/smt/control", File(SMALL)),
    ("/sys/devices/system/cpu/cpu%d/online", File(SMALL)),
    (
        "/sys/devices/system/cpu/cpu%d/topology/physical_package_id",
        File(SMALL),
    ),
    ("/sys/devices/system/cpu/cpu%d/topology/die_id", File(SMALL)),
    (
        "/sys/devices/system/cpu/cpu%d/topology/core_id",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpu%d/power/energy_perf_bias",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpu%d/cpuidle/state%d/name",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpu%d/cpuidle/state%d/disable",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpu%d/cpuidle/state%d/default_status",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpu%d/cpuidle/state%d/usage",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpu%d/cpuidle/state%d/time",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpu%d/cpuidle/state%d/latency",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpu%d/cpuidle/state%d/desc",
        File(SMALL),
    ),
    // Per-CPU PM QoS resume latency: with /dev/cpu_dma_latency (read apart, see
    // CPU_DMA_LATENCY) it is the limit the idle governor holds each CPU's states to.
    (
        "/sys/devices/system/cpu/cpu%d/power/pm_qos_resume_latency_us",
        File(SMALL),
    ),
    // Listed on its own so that "no cpuidle directory" is recorded as absent: next to a
    // present /sys/devices/system/cpu that proves a kernel without cpuidle.
    ("/sys/devices/system/cpu/cpuidle", Dir),
    (
        "/sys/devices/system/cpu/cpuidle/current_driver",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpuidle/current_governor",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpuidle/current_governor_ro",
        File(SMALL),
    ),
    ("/sys/devices/system/cpu/cpufreq", Dir),
    ("/sys/devices/system/cpu/cpufreq/boost", File(SMALL)),
    (
        "/sys/devices/system/cpu/cpufreq/policy%d/scaling_driver",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpufreq/policy%d/scaling_governor",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpufreq/policy%d/scaling_available_governors",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpufreq/policy%d/energy_performance_preference",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpufreq/policy%d/scaling_max_freq",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpufreq/policy%d/cpuinfo_max_freq",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/cpufreq/policy%d/affected_cpus",
        File(SMALL),
    ),
    ("/sys/devices/system/cpu/intel_pstate", Dir),
    ("/sys/devices/system/cpu/intel_pstate/status", File(SMALL)),
    ("/sys/devices/system/cpu/intel_pstate/no_turbo", File(SMALL)),
    (
        "/sys/devices/system/cpu/intel_pstate/max_perf_pct",
        File(SMALL),
    ),
    (
        "/sys/devices/system/cpu/intel_pstate/hwp_dynamic_boost",
        File(SMALL),
    ),
    ("/sys/devices/system/cpu/vulnerabilities/*", File(SMALL)),
    // --- NUMA nodes, per-node memory and huge pages
    ("/sys/devices/system/node/online", File(SMALL)),
    ("/sys/devices/system/node/has_cpu", File(SMALL)),
    ("/sys/devices/system/node/has_memory", File(SMALL)),
    ("/sys/devices/system/node/node%d", Dir),
    ("/sys/devices/system/node/node%d/cpulist", File(SMALL)),
    ("/sys/devices/system/node/node%d/distance", File(SMALL)),
    ("/sys/devices/system/node/node%d/meminfo", File(SMALL)),
    (
        "/sys/devices/system/node/node%d/hugepages/hugepages-*/nr_hugepages",
        File(SMALL),
    ),
    (
        "/sys/devices/system/node/node%d/hugepages/hugepages-*/free_hugepages",
        File(SMALL),
    ),
    (
        "/sys/devices/system/node/node%d/hugepages/hugepages-*/surplus_hugepages",
        File(SMALL),
    ),
    (
        "/sys/kernel/mm/hugepages/hugepages-*/nr_hugepages",
        File(SMALL),
    ),
    (
        "/sys/kernel/mm/hugepages/hugepages-*/free_hugepages",
        File(SMALL),
    ),
    (
        "/sys/kernel/mm/hugepages/hugepages-*/resv_hugepages",
        File(SMALL),
    ),
    (
        "/sys/kernel/mm/hugepages/hugepages-*/surplus_hugepages",
        File(SMALL),
    ),
    (
        "/sys/kernel/mm/hugepages/hugepages-*/nr_overcommit_hugepages",
        File(SMALL),
    ),
    // --- THP and KSM
    // Listed so that a missing transparent_hugepage directory next to a present /sys/kernel/mm
    // proves a kernel without THP.
    ("/sys/kernel/mm", Dir),
    ("/sys/kernel/mm/transparent_hugepage/enabled", File(SMALL)),
    ("/sys/kernel/mm/transparent_hugepage/defrag", File(SMALL)),
    (
        "/sys/kernel/mm/transparent_hugepage/shmem_enabled",
        File(SMALL),
    ),
    (
        "/sys/kernel/mm/transparent_hugepage/khugepaged/defrag",
        File(SMALL),
    ),
    ("/sys/kernel/mm/ksm", Dir),
    ("/sys/kernel/mm/ksm/*", File(SMALL)),
    // --- modules and their parameters (KVM, vhost, idle drivers, VFIO)
    ("/sys/module", Dir),
    ("/sys/module/kvm/parameters/*", File(SMALL)),
    ("/sys/module/kvm_intel/parameters/*", File(SMALL)),
    ("/sys/module/kvm_amd/parameters/*", File(SMALL)),
    ("/sys/module/vhost_net/parameters/*", File(SMALL)),
    ("/sys/module/vhost/parameters/*", File(SMALL)),
    ("/sys/module/haltpoll/parameters/*", File(SMALL)),
    ("/sys/module/cpuidle_haltpoll/parameters/*", File(SMALL)),
    ("/sys/module/intel_idle/parameters/*", File(SMALL)),
    ("/sys/module/vfio_pci/parameters/*", File(SMALL)),
    ("/sys/module/vfio_iommu_type1/parameters/*", File(SMALL)),
    ("/dev", Dir),
    ("/dev/vfio", Dir),
    // --- firmware tables (presence is U-readable), IOMMU
    ("/sys/firmware/acpi/tables", Dir),
    ("/sys/class/iommu", Dir),
    ("/sys/class/iommu/*/intel-iommu/cap", File(SMALL)),
    ("/sys/class/iommu/*/intel-iommu/ecap", File(SMALL)),
    ("/sys/kernel/iommu_groups", Dir),
    ("/sys/kernel/iommu_groups/%d/type", File(SMALL)),
    ("/sys/kernel/iommu_groups/%d/devices", Dir),
    ("/sys/class/iommu/*/amd-iommu/cap", File(SMALL)),
    ("/sys/class/iommu/*/amd-iommu/features", File(SMALL)),
    ("/sys/class/dmi/id/bios_vendor", File(SMALL)),
    ("/sys/class/dmi/id/bios_version", File(SMALL)),
    ("/sys/class/dmi/id/bios_date", File(SMALL)),
    ("/sys/class/dmi/id/sys_vendor", File(SMALL)),
    ("/sys/class/dmi/id/product_name", File(SMALL)),
    ("/sys/class/dmi/id/product_uuid", File(SMALL)),
    ("/sys/class/dmi/id/board_vendor", File(SMALL)),
    ("/sys/class/dmi/id/board_name", File(SMALL)),
    // --- PCI devices: locality, driver binding, SR-IOV, link training
    ("/sys/bus/pci/devices", Dir),
    ("/sys/bus/pci/devices/*/vendor", File(SMALL)),
    ("/sys/bus/pci/devices/*/device", File(SMALL)),
    ("/sys/bus/pci/devices/*/class", File(SMALL)),
    ("/sys/bus/pci/devices/*/numa_node", File(SMALL)),
    ("/sys/bus/pci/devices/*/local_cpulist", File(SMALL)),
    ("/sys/bus/pci/devices/*/driver", Link),
    ("/sys/bus/pci/devices/*/driver_override", File(SMALL)),
    ("/sys/bus/pci/devices/*/iommu_group", Link),
    ("/sys/bus/pci/devices/*/physfn", Link),
    ("/sys/bus/pci/devices/*/sriov_totalvfs", File(SMALL)),
    ("/sys/bus/pci/devices/*/sriov_numvfs", File(SMALL)),
    (
        "/sys/bus/pci/devices/*/sriov_drivers_autoprobe",
        File(SMALL),
    ),
    ("/sys/bus/pci/devices/*/virtfn%d", Link),
    ("/sys/bus/pci/devices/*/current_link_speed", File(SMALL)),
    ("/sys/bus/pci/devices/*/current_link_width", File(SMALL)),
    ("/sys/bus/pci/devices/*/max_link_speed", File(SMALL)),
    ("/sys/bus/pci/devices/*/max_link_width", File(SMALL)),
    ("/sys/bus/pci/devices/*/msi_irqs", Dir),
    // --- block devices on the host
    ("/sys/block", Dir),
    ("/sys/block/*/queue/rotational", File(SMALL)),
    ("/sys/block/*/queue/rq_affinity", File(SMALL)),
    ("/sys/block/*/queue/scheduler", File(SMALL)),
    ("/sys/block/*/mq", Dir),
    ("/sys/block/*/device/numa_node", File(SMALL)),
    // The link target names the PCI device a disk hangs off; `slaves` resolves dm/md stacks.
    ("/sys/block/*", Link),
    ("/sys/block/*/slaves", Dir),
    // device-mapper volumes name their /dev/mapper name here.
    ("/sys/block/*/dm/name", File(SMALL)),
    // --- network: tap → bridge → uplink NIC, for device locality
    ("/sys/class/net", Dir),
    ("/sys/class/net/*/master", Link),
    ("/sys/class/net/*/device", Link),
    ("/sys/class/net/*/brif", Dir),
    // The class link's target names the NIC's PCI function (virtual/ for taps and bridges).
    ("/sys/class/net/*", Link),
    ("/sys/class/net/*/device/numa_node", File(SMALL)),
    // --- virtio devices as a guest sees them (negotiated features: packed rings)
    ("/sys/bus/virtio/devices/*/features", File(SMALL)),
    ("/sys/bus/virtio/devices/*/device", File(SMALL)),
    // --- persistent memory
    ("/sys/bus/nd/devices", Dir),
    ("/sys/bus/nd/devices/region%d/devtype", File(SMALL)),
    ("/sys/bus/nd/devices/region%d/size", File(SMALL)),
    ("/sys/bus/nd/devices/region%d/numa_node", File(SMALL)),
    ("/sys/bus/nd/devices/namespace*/mode", File(SMALL)),
    ("/sys/bus/nd/devices/namespace*/size", File(SMALL)),
    ("/sys/bus/nd/devices/namespace*/numa_node", File(SMALL)),
    ("/sys/bus/nd/devices/namespace*/align", File(SMALL)),
    ("/sys/bus/dax/devices", Dir),
    ("/sys/bus/dax/devices/*/driver", Link),
    ("/sys/bus/dax/devices/*/align", File(SMALL)),
    ("/sys/bus/dax/devices/*/size", File(SMALL)),
    // --- persistent configuration: what the next boot / module load will do
    ("/etc/default/grub", File(SMALL)),
    ("/etc/default/grub.d/*.cfg", File(SMALL)),
    ("/etc/kernel/cmdline", File(SMALL)),
    ("/boot/loader/entries/*.conf", File(SMALL)),
    ("/etc/modprobe.d/*.conf", File(SMALL)),
    ("/usr/lib/modprobe.d/*.conf", File(SMALL)),
    ("/lib/modprobe.d/*.conf", File(SMALL)),
    ("/etc/modules-load.d/*.conf", File(SMALL)),
    ("/etc/modules", File(SMALL)),
    ("/etc/sysctl.conf", File(SMALL)),
    ("/etc/sysctl.d/*.conf", File(SMALL)),
    ("/usr/lib/sysctl.d/*.conf", File(SMALL)),
    ("/etc/tmpfiles.d/*.conf", File(SMALL)),
    ("/etc/fstab", File(SMALL)),
    ("/etc/tuned/active_profile", File(SMALL)),
    ("/etc/default/cpufrequtils", File(SMALL)),
    ("/etc/sysconfig/cpupower", File(SMALL)),
    ("/etc/default/irqbalance", File(SMALL)),
    ("/etc/sysconfig/irqbalance", File(SMALL)),
    ("/etc/ksmtuned.conf", File(SMALL)),
    ("/etc/libvirt/qemu.conf", File(SMALL)),
    ("/etc/os-release", File(SMALL)),
];

/// The CPU latency PM QoS device: a binary s32, and on a live host a character device that
/// only root may open, so it is read by `collect::pm_qos` rather than as a text file above.
pub const CPU_DMA_LATENCY: &str = "/dev/cpu_dma_latency";

/// Does `name` match `pat` (`*` = any characters, `%d` = one or more digits)?
pub fn matches(pat: &str, name: &str) -> bool {
    match_bytes(pat.as_bytes(), name.as_bytes())
}

fn match_bytes(p: &[u8], n: &[u8]) -> bool {
    match p {
        [] => n.is_empty(),
        [b'*', rest @ ..] => (0..=n.len()).any(|i| match_bytes(rest, &n[i..])),
        [b'%', b'd', rest @ ..] => {
            let digits = n.iter().take_while(|c| c.is_ascii_digit()).count();
            (1..=digits).any(|i| match_bytes(rest, &n[i..]))
        }
        [c, rest @ ..] => n.first() == Some(c) && match_bytes(rest, &n[1..]),
    }
}

/// Whether a path component is a pattern rather than a literal name.
pub fn is_pattern(component: &str) -> bool {
    component.contains('*') || component.contains("%d")
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn patterns() {
        assert!(matches("cpu%d", "cpu12"));
        assert!(!matches("cpu%d", "cpufreq"));
        assert!(!matches("cpu%d", "cpu"));
        assert!(matches("hugepages-*", "hugepages-2048kB"));
        assert!(matches("*.conf", "kvm.conf"));
        assert!(!matches("*.conf", "kvm.conf.bak"));
        assert!(matches("state%d", "state0"));
    }
}
