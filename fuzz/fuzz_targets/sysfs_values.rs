//! Single sysfs/procfs values: CPU lists, bracketed choices, module booleans, hugepage
//! directory names, node meminfo lines, and kernel command lines.
//! First byte selects the parser so that each keeps its own corpus shape.
#![no_main]
use kvmaudit::parse::{cmdline::Cmdline, cpulist, sysfs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kvmaudit_fuzz::install_panic_hook();
    let Some((sel, rest)) = kvmaudit_fuzz::selector(data) else {
        return;
    };
    let s = String::from_utf8_lossy(rest);
    match sel % 4 {
        0 => {
            if let Ok(set) = cpulist::parse(&s) {
                // The compact form reads back to the same set.
                let text = cpulist::format(&set);
                assert_eq!(cpulist::parse(&text).ok(), Some(set), "cpulist round trip");
            }
        }
        1 => {
            let _ = sysfs::bracketed(&s);
            let _ = sysfs::bool_param(&s);
            let _ = sysfs::hugepage_dir_kb(&s);
        }
        2 => {
            for key in [
                "MemTotal",
                "MemFree",
                "HugePages_Total",
                "HugePages_Free",
                "",
            ] {
                let _ = sysfs::node_meminfo_kb(&s, key);
            }
        }
        _ => {
            let c = Cmdline::parse(&s);
            for name in [
                "intel_iommu",
                "iommu",
                "nohz_full",
                "isolcpus",
                "hugepagesz",
                "idle",
            ] {
                let _ = c.has(name);
                let _ = c.value(name);
                let _ = c.values(name).count();
            }
        }
    }
});
