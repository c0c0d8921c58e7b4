//! bios.vtx: VT-x enabled in firmware, from /dev/kvm, kvm_intel, the vmx flag and
//! IA32_FEATURE_CONTROL.

use super::msr::{combine, cpus, Field, Says};
use super::readers::not_intel;
use crate::model::msr as mr;
use crate::rules::context::Ctx;
use crate::rules::facts::platform::{self, CPUINFO_FLAGS_SOURCE, DEV_KVM, KVM_INTEL_MODULE};
use crate::rules::outcome::Outcome;

/// VT-x enabled: `/dev/kvm` plus kvm_intel loaded proves it; `vmx` missing from the kernel's
/// flags while CPUID advertises it means firmware locked VT-x off.
pub(super) fn bios_vtx(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    let kvm_dev = platform::kvm_device(ctx);
    let kvm_intel = platform::kvm_intel_loaded(ctx);
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
    } else if kernel_vmx == Some(true) && (kvm_dev == Some(false) || kvm_intel == Some(false)) {
        Outcome::warn(
            "host",
            "VT-x is available but KVM is not ready: load kvm_intel (modprobe kvm_intel)",
        )
    } else if kernel_vmx == Some(true) {
        Outcome::unknown(
            "host",
            "the vmx flag is present, but /dev and /sys/module could not be listed here, so whether KVM is usable (/dev/kvm, kvm_intel) cannot be told",
        )
    } else {
        Outcome::unknown("host", "neither /proc/cpuinfo nor /dev/kvm could be read")
    };
    let fc = Field::read(
        ctx,
        mr::FEATURE_CONTROL,
        "bits 0 lock, 1 VMX in SMX, 2 VMX outside SMX",
        |v| v & 7,
    );
    let locked_off = fc.cpus_where(|v| {
        mr::feature_control_locked(v) && !mr::vmx_outside_smx(v) && !mr::vmx_inside_smx(v)
    });
    // Unlocked is no verdict: Linux >= 5.6 enables VMX and locks the register itself.
    let says = if !locked_off.is_empty() {
        Says::Bad(format!(
            "IA32_FEATURE_CONTROL is locked with VMX disabled on {}: firmware disabled VT-x",
            cpus(&locked_off)
        ))
    } else if fc.all(|v| mr::feature_control_locked(v) && mr::vmx_outside_smx(v)) == Some(true) {
        Says::Good("IA32_FEATURE_CONTROL is locked with VMX outside SMX enabled on every CPU: firmware enabled VT-x".into())
    } else {
        Says::Nothing
    };
    let o = fc.row_if_read(
        ctx,
        combine(o, says, true),
        "lock 1 and VMX outside SMX 1 (value 0x5)",
    );
    let show = |b: Option<bool>| match b {
        Some(true) => "present",
        Some(false) => "absent",
        None => "unknown",
    };
    vec![o
        .ev(DEV_KVM, show(kvm_dev), "present")
        .ev(KVM_INTEL_MODULE, show(kvm_intel), "present")
        .ev(
            CPUINFO_FLAGS_SOURCE,
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
