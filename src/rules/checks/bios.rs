//! Firmware (BIOS) settings of guide §2.1, read through their OS-visible consequences, plus
//! the QAT link of §5 and the kernel side of VT-d. kvmaudit never changes firmware.

use super::CheckFn;
use crate::rules::context::Ctx;
use crate::rules::outcome::Outcome;

pub const CHECKS: &[(&str, CheckFn)] = &[("bios.vtx", bios_vtx)];

/// Rules of this section judge Intel firmware; on other vendors they do not apply.
fn not_intel(ctx: &Ctx) -> Option<Vec<Outcome>> {
    if ctx.is_intel() {
        return None;
    }
    Some(vec![match &ctx.host.cpu.vendor {
        Some(v) => Outcome::na(
            "host",
            format!("{v} CPU: Intel BIOS settings do not apply (use the vendor's equivalents)"),
        ),
        None => Outcome::unknown("host", "CPU vendor unknown (no CPUID or /proc/cpuinfo)"),
    }])
}

/// VT-x enabled: `/dev/kvm` plus kvm_intel loaded proves it; `vmx` missing from the kernel's
/// flags while CPUID advertises it means firmware locked VT-x off.
fn bios_vtx(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    let kvm_dev = ctx.dir_has("/dev", "kvm");
    let kvm_intel = ctx.module_present("kvm_intel");
    let kernel_vmx = ctx.cpuinfo_flag("vmx");
    let cpuid_vmx = ctx.host.cpu.vmx;
    let o = if kvm_dev == Some(true) && kvm_intel == Some(true) {
        Outcome::pass(
            "host",
            "VT-x is enabled: /dev/kvm exists and kvm_intel is loaded",
        )
    } else if kernel_vmx == Some(false) && cpuid_vmx == Some(true) {
        Outcome::fail(
            "host",
            "the CPU supports VT-x but the kernel hides it: firmware disabled (locked) VT-x",
        )
    } else if kernel_vmx == Some(false) {
        Outcome::fail(
            "host",
            "no vmx flag: VT-x is disabled in firmware or not supported",
        )
    } else if kernel_vmx == Some(true) {
        Outcome::warn(
            "host",
            "VT-x is available but KVM is not ready: load kvm_intel (modprobe kvm_intel)",
        )
    } else {
        Outcome::unknown("host", "neither /proc/cpuinfo nor /dev/kvm could be read")
    };
    let show = |b: Option<bool>| match b {
        Some(true) => "present",
        Some(false) => "absent",
        None => "unknown",
    };
    vec![o
        .ev("/dev/kvm", show(kvm_dev), "present")
        .ev("/sys/module/kvm_intel", show(kvm_intel), "present")
        .ev(
            "/proc/cpuinfo flags",
            format!("vmx {}", show(kernel_vmx)),
            "vmx present",
        )
        .ev(
            "CPUID.1:ECX[5]",
            match cpuid_vmx {
                Some(true) => "1",
                Some(false) => "0",
                None => "not recorded",
            },
            "",
        )]
}

#[cfg(test)]
mod tests {
    use crate::report::Profile::Throughput;
    use crate::rules::testkit::{status, SnapBuilder};

    #[test]
    fn vtx() {
        let ready = SnapBuilder::new()
            .icx("vmx")
            .dir("/dev", &["kvm"])
            .dir("/sys/module", &["kvm", "kvm_intel"])
            .build();
        assert_eq!(status(&ready, Throughput, "bios.vtx", "host"), "pass");
        let locked = SnapBuilder::new()
            .icx("")
            .dir("/dev", &[])
            .dir("/sys/module", &[])
            .build();
        assert_eq!(status(&locked, Throughput, "bios.vtx", "host"), "fail");
        let amd = SnapBuilder::new()
            .cpuinfo("AuthenticAMD", 23, 49, "svm")
            .build();
        assert_eq!(
            status(&amd, Throughput, "bios.vtx", "host"),
            "not_applicable"
        );
        let guest = SnapBuilder::new().icx("vmx hypervisor").build();
        assert_eq!(
            status(&guest, Throughput, "bios.vtx", "host"),
            "not_applicable"
        );
        let nothing = SnapBuilder::new().build();
        assert_eq!(status(&nothing, Throughput, "bios.vtx", "host"), "unknown");
    }
}
