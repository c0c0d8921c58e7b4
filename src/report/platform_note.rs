//! The headline every output starts with when the host is not what the score assumes: not the
//! guide's platform (another vendor or Intel generation), or no usable KVM at all. Without it
//! an AMD guest without SVM showed a green 92.3 while `virt-host-validate` said KVM was
//! unusable: the rules that did not apply dropped out of the score and the rest passed.

use crate::model::host::HostModel;
use crate::snapshot::{Fact, Snapshot};

/// The platform the guide and the rule set are calibrated for.
const GUIDE_CODENAME: &str = "Ice Lake-SP";

/// One sentence per problem, `None` for an Ice Lake-SP host that can run KVM (or when the
/// evidence says nothing either way: a note only states what was seen).
pub fn platform_note(s: &Snapshot, h: &HostModel) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(p) = not_guide_platform(h) {
        parts.push(p);
    }
    let reasons = kvm_unusable(s, h);
    if !reasons.is_empty() {
        parts.push(format!(
            "KVM cannot run on this host: {}; the score says nothing about how VMs would run here",
            reasons.join(", ")
        ));
    }
    (!parts.is_empty()).then(|| parts.join(". "))
}

fn not_guide_platform(h: &HostModel) -> Option<String> {
    let cpu = &h.cpu;
    let what = match (cpu.vendor.as_deref(), cpu.codename.as_deref()) {
        (None, _) => {
            return Some(
                "the CPU could not be identified: whether this is the guide's platform (Intel Ice Lake-SP) is unknown"
                    .into(),
            )
        }
        (Some("GenuineIntel"), Some(GUIDE_CODENAME)) => return None,
        (Some(v), Some(c)) => format!("{} {c}", vendor_name(v)),
        (Some(v), None) => format!("{} family {} model {}", vendor_name(v), opt(cpu.family), opt(cpu.model)),
    };
    Some(format!(
        "Not the guide's platform: this is {what}, the guide is calibrated for Intel Ice Lake-SP; rules that do not apply are left out of the score, so it is not comparable with an Ice Lake host's"
    ))
}

fn vendor_name(v: &str) -> &str {
    match v {
        "GenuineIntel" => "Intel",
        "AuthenticAMD" => "AMD",
        "HygonGenuine" => "Hygon",
        v => v,
    }
}

fn opt(v: Option<u32>) -> String {
    v.map_or_else(|| "unknown".into(), |v| v.to_string())
}

/// Why KVM cannot run, from positive evidence only: the kernel's CPU flags (which lose `vmx`
/// or `svm` when firmware or the hypervisor underneath does not expose it) and a readable
/// `/dev` without `kvm`.
fn kvm_unusable(s: &Snapshot, h: &HostModel) -> Vec<String> {
    let mut why = Vec::new();
    let flags = kernel_flags(s);
    let has = |f: &str| match &flags {
        Some(list) => Some(list.contains(&f)),
        None => match f {
            "vmx" => h.cpu.vmx,
            _ => h.cpu.svm,
        },
    };
    let (vmx, svm) = (has("vmx"), has("svm"));
    let vendor = h.cpu.vendor.as_deref();
    if vendor == Some("GenuineIntel") && vmx == Some(false) {
        why.push("VT-x is not available (no vmx in the CPU flags: disabled in firmware or not passed through)".into());
    } else if vendor == Some("AuthenticAMD") && svm == Some(false) {
        why.push("AMD-V is not available (no svm in the CPU flags: disabled in firmware or not passed through)".into());
    } else if vmx == Some(false) && svm == Some(false) {
        why.push(
            "the CPU exposes no hardware virtualization (neither vmx nor svm in the CPU flags)"
                .into(),
        );
    }
    if let Some(Fact::Value(names)) = s.dir("/dev") {
        if !names.iter().any(|n| n == "kvm") {
            why.push("/dev/kvm does not exist".into());
        }
    }
    why
}

/// The flags of the first processor in `/proc/cpuinfo`, when it was read.
fn kernel_flags(s: &Snapshot) -> Option<Vec<&str>> {
    let info = s.text("/proc/cpuinfo")?;
    let line = info
        .lines()
        .find(|l| l.split(':').next().map(str::trim) == Some("flags"))?;
    Some(line.split_once(':')?.1.split_whitespace().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::snap_builder::SnapBuilder;

    fn note(b: SnapBuilder) -> Option<String> {
        let s = b.build();
        platform_note(&s, &HostModel::build(&s))
    }

    #[test]
    fn an_ice_lake_host_with_kvm_has_no_note() {
        assert_eq!(
            note(SnapBuilder::new().icx("vmx").dir("/dev", &["kvm", "null"])),
            None
        );
    }

    #[test]
    fn an_amd_guest_without_svm_says_both() {
        let n = note(
            SnapBuilder::new()
                .cpuinfo("AuthenticAMD", 25, 17, "fpu hypervisor")
                .dir("/dev", &["null"]),
        )
        .unwrap();
        assert!(
            n.starts_with("Not the guide's platform: this is AMD Genoa (Zen 4)"),
            "{n}"
        );
        assert!(
            n.contains("KVM cannot run on this host: AMD-V is not available"),
            "{n}"
        );
        assert!(n.contains("/dev/kvm does not exist"), "{n}");
    }

    #[test]
    fn an_ice_lake_with_vtx_off_is_the_guide_platform_without_kvm() {
        let n = note(SnapBuilder::new().icx("")).unwrap();
        assert!(
            n.starts_with("KVM cannot run on this host: VT-x is not available"),
            "{n}"
        );
    }

    #[test]
    fn another_intel_generation_is_named() {
        let n = note(SnapBuilder::new().cpuinfo("GenuineIntel", 6, 143, "vmx")).unwrap();
        assert!(n.contains("this is Intel Sapphire Rapids"), "{n}");
    }
}
