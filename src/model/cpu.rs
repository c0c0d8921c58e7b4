//! The host CPU as rules see it: identity (vendor, family/model/stepping, codename) and the
//! feature bits the catalogue uses (rules-catalogue §3.1).
//!
//! Built from recorded CPUID ([`CpuModel::from_cpuid`]) or from `/proc/cpuinfo`
//! ([`CpuModel::from_cpuinfo`]); [`CpuModel::merge_missing`] combines the two. Every field is an
//! `Option` and `None` means "not recorded or not decodable" — never "false". The part is
//! identified by family/model/stepping, never by the brand string: engineering samples report
//! "Genuine Intel(R) CPU 0000%@" or nothing at all.

mod cpuinfo;
mod decode;

use crate::error::ParseError;
use crate::snapshot::CpuidDump;
use serde::{Deserialize, Serialize};

pub const VENDOR_INTEL: &str = "GenuineIntel";
pub const VENDOR_AMD: &str = "AuthenticAMD";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CpuModel {
    /// Where the model came from: `cpuid` or `cpuinfo`.
    pub source: String,
    /// CPUID vendor id: `GenuineIntel`, `AuthenticAMD`, ...
    pub vendor: Option<String>,
    /// Display family (extended family applied), as /proc/cpuinfo shows it.
    pub family: Option<u32>,
    /// Display model (extended model applied), as /proc/cpuinfo shows it.
    pub model: Option<u32>,
    pub stepping: Option<u32>,
    /// Trimmed brand string; `None` when empty (all-zero on some engineering samples).
    pub brand: Option<String>,
    /// From [`codename`] by vendor/family/model/stepping.
    pub codename: Option<String>,
    /// CPUID.1:ECX[5]. From CPUID this is what the silicon offers; /proc/cpuinfo drops `vmx`
    /// when firmware left VT-x disabled, so the two can disagree on purpose.
    pub vmx: Option<bool>,
    /// CPUID.80000001h:ECX[2] (AMD-V).
    pub svm: Option<bool>,
    /// CPUID.1:ECX[31]: this "host" is itself a virtual machine.
    pub hypervisor: Option<bool>,
    /// Hypervisor signature of leaf 0x40000000 (`KVMKVMKVM`, `Microsoft Hv`, ...), when
    /// `hypervisor` is set.
    pub hypervisor_vendor: Option<String>,
    /// CPUID.1:ECX[7] Enhanced SpeedStep ("est").
    pub est: Option<bool>,
    /// Intel: CPUID.6:EAX[1] ("ida"); AMD: CPUID.80000007h:EDX[9] core performance boost ("cpb").
    pub turbo: Option<bool>,
    /// CPUID.6:EAX[7] ("hwp").
    pub hwp: Option<bool>,
    /// CPUID.6:EAX[10] ("hwp_epp").
    pub hwp_epp: Option<bool>,
    /// CPUID.6:ECX[3] ("epb").
    pub epb: Option<bool>,
    /// CPUID.80000001h:EDX[26] 1 GiB pages ("pdpe1gb").
    pub pdpe1gb: Option<bool>,
    /// Logical processors per core from leaf 0x1F/0xB SMT level (AMD: 0x8000001E), i.e. whether
    /// SMT is *enabled*, unlike CPUID.1:EDX[28] which every multi-core part sets.
    pub threads_per_core: Option<u32>,
    /// KVM guest only: CPUID.40000001h:EDX[0] KVM_HINTS_REALTIME (`kvm-hint-dedicated=on`).
    pub kvm_hint_realtime: Option<bool>,
    /// KVM guest only: CPUID.40000001h:EAX[12] KVM_FEATURE_POLL_CONTROL.
    pub kvm_poll_control: Option<bool>,
    /// vmx sub-features from /proc/cpuinfo "vmx flags" (ept, ple, posted_intr, apicv...), when known
    pub vmx_flags: Option<Vec<String>>,
    /// What could not be decoded or looked odd, for the report.
    pub notes: Vec<String>,
}

impl CpuModel {
    /// Decodes a recorded CPUID dump. Never panics: a leaf that is missing, beyond the CPU's
    /// advertised range, or that the decoder chokes on leaves its fields `None` with a note.
    pub fn from_cpuid(d: &CpuidDump) -> CpuModel {
        decode::from_cpuid(d)
    }

    /// Reads the first processor block of `/proc/cpuinfo`.
    pub fn from_cpuinfo(text: &str) -> Result<CpuModel, ParseError> {
        cpuinfo::parse(text)
    }

    pub fn is_intel(&self) -> bool {
        self.vendor.as_deref() == Some(VENDOR_INTEL)
    }

    pub fn is_amd(&self) -> bool {
        self.vendor.as_deref() == Some(VENDOR_AMD)
    }

    /// Fills every `None` field from `other` (e.g. `vmx_flags` from cpuinfo into a CPUID model)
    /// and appends `other`'s notes that are new. `source` stays.
    ///
    /// Nothing is taken when the two disagree on vendor, family, model or stepping: they describe
    /// different machines (a `--cpuid FILE` from one host, /proc/cpuinfo from another) and mixing
    /// them would attribute one host's brand or VMX features to the other. A note says so.
    pub fn merge_missing(&mut self, other: &CpuModel) {
        if let Some(field) = self.identity_conflict(other) {
            self.notes.push(format!(
                "{} and {} disagree on the {field}: nothing taken from {}",
                self.source, other.source, other.source
            ));
            return;
        }
        fn fill<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
        fill(&mut self.vendor, &other.vendor);
        fill(&mut self.family, &other.family);
        fill(&mut self.model, &other.model);
        fill(&mut self.stepping, &other.stepping);
        fill(&mut self.brand, &other.brand);
        fill(&mut self.codename, &other.codename);
        fill(&mut self.vmx, &other.vmx);
        fill(&mut self.svm, &other.svm);
        fill(&mut self.hypervisor, &other.hypervisor);
        fill(&mut self.hypervisor_vendor, &other.hypervisor_vendor);
        fill(&mut self.est, &other.est);
        fill(&mut self.turbo, &other.turbo);
        fill(&mut self.hwp, &other.hwp);
        fill(&mut self.hwp_epp, &other.hwp_epp);
        fill(&mut self.epb, &other.epb);
        fill(&mut self.pdpe1gb, &other.pdpe1gb);
        fill(&mut self.threads_per_core, &other.threads_per_core);
        fill(&mut self.kvm_hint_realtime, &other.kvm_hint_realtime);
        fill(&mut self.kvm_poll_control, &other.kvm_poll_control);
        fill(&mut self.vmx_flags, &other.vmx_flags);
        for note in &other.notes {
            if !self.notes.contains(note) {
                self.notes.push(note.clone());
            }
        }
    }

    /// The first identity field both models know and that differs.
    fn identity_conflict(&self, other: &CpuModel) -> Option<&'static str> {
        fn differ<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
            matches!((a, b), (Some(x), Some(y)) if x != y)
        }
        [
            (differ(&self.vendor, &other.vendor), "vendor"),
            (differ(&self.family, &other.family), "family"),
            (differ(&self.model, &other.model), "model"),
            (differ(&self.stepping, &other.stepping), "stepping"),
        ]
        .into_iter()
        .find_map(|(d, name)| d.then_some(name))
    }
}

/// Display family, model and stepping of a CPUID.1:EAX signature (also SMBIOS type 4's
/// Processor ID). Extended family counts only when the base family is 0xF; extended model counts
/// from family 6 up — the Intel SDM and AMD APM rules, which is also what Linux prints.
pub fn family_model_stepping(eax: u32) -> (u32, u32, u32) {
    let base_family = (eax >> 8) & 0xF;
    let family = if base_family == 0xF {
        base_family + ((eax >> 20) & 0xFF)
    } else {
        base_family
    };
    let base_model = (eax >> 4) & 0xF;
    let model = if family >= 6 {
        ((eax >> 16) & 0xF) << 4 | base_model
    } else {
        base_model
    };
    (family, model, eax & 0xF)
}

/// Server codename of a part, by CPUID vendor id and display family/model/stepping.
///
/// Model 0x55 is three generations: steppings 0-4 Skylake-SP, 5-7 Cascade Lake-SP (Linux perf's
/// mapfile sends 5-F to cascadelakex), 10-11 Cooper Lake (A0/A1). AMD family 0x1A is only Turin
/// for models 0x00-0x1F; later models of that family are client parts.
pub fn codename(vendor: &str, family: u32, model: u32, stepping: u32) -> Option<&'static str> {
    match vendor {
        VENDOR_INTEL if family == 6 => intel_family6(model, stepping),
        VENDOR_AMD => amd(family, model),
        _ => None,
    }
}

fn intel_family6(model: u32, stepping: u32) -> Option<&'static str> {
    Some(match (model, stepping) {
        (0x2D, _) => "Sandy Bridge-EP",
        (0x3E, _) => "Ivy Bridge-EP",
        (0x3F, _) => "Haswell-EP",
        (0x4F, _) => "Broadwell-EP",
        (0x55, 0..=4) => "Skylake-SP",
        (0x55, 5..=7) => "Cascade Lake-SP",
        (0x55, 10..=11) => "Cooper Lake",
        (0x6A, _) => "Ice Lake-SP",
        (0x6C, _) => "Ice Lake-D",
        (0x8F, _) => "Sapphire Rapids",
        (0xCF, _) => "Emerald Rapids",
        (0xAD, _) => "Granite Rapids",
        (0xAF, _) => "Sierra Forest",
        _ => return None,
    })
}

fn amd(family: u32, model: u32) -> Option<&'static str> {
    Some(match (family, model) {
        (0x17, 0x01) => "Naples (Zen)",
        (0x17, 0x31) => "Rome (Zen 2)",
        (0x19, 0x01) => "Milan (Zen 3)",
        (0x19, 0x11) => "Genoa (Zen 4)",
        (0x19, 0xA0) => "Bergamo",
        (0x1A, 0x00..=0x1F) => "Turin (Zen 5)",
        _ => return None,
    })
}

/// Codename for a model whose identity fields are all known.
fn codename_of(m: &CpuModel) -> Option<String> {
    let (vendor, family, model, stepping) =
        (m.vendor.as_deref()?, m.family?, m.model?, m.stepping?);
    codename(vendor, family, model, stepping).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_apply_extended_fields() {
        assert_eq!(family_model_stepping(0x000606a0), (6, 0x6a, 0));
        assert_eq!(family_model_stepping(0x0005065b), (6, 0x55, 11));
        assert_eq!(family_model_stepping(0x00830f10), (0x17, 0x31, 0));
        assert_eq!(family_model_stepping(0x00a00f11), (0x19, 0x01, 1));
        // Pentium (family 5): the extended model field is ignored.
        assert_eq!(family_model_stepping(0x00010543), (5, 4, 3));
        // Pentium 4 (base family 0xF, extended family 0).
        assert_eq!(family_model_stepping(0x00000f29), (0xF, 2, 9));
        assert_eq!(family_model_stepping(u32::MAX), (0xF + 0xFF, 0xFF, 0xF));
    }

    #[test]
    fn codename_table() {
        let i = |m, s| codename(VENDOR_INTEL, 6, m, s);
        assert_eq!(i(0x6A, 0), Some("Ice Lake-SP"));
        assert_eq!(i(0x6A, 6), Some("Ice Lake-SP"));
        assert_eq!(i(0x6C, 1), Some("Ice Lake-D"));
        assert_eq!(i(0x55, 4), Some("Skylake-SP"));
        assert_eq!(i(0x55, 5), Some("Cascade Lake-SP"));
        assert_eq!(i(0x55, 7), Some("Cascade Lake-SP"));
        assert_eq!(i(0x55, 10), Some("Cooper Lake"));
        assert_eq!(i(0x55, 11), Some("Cooper Lake"));
        assert_eq!(i(0x55, 8), None, "no known part");
        assert_eq!(i(0x8F, 8), Some("Sapphire Rapids"));
        assert_eq!(i(0xCF, 2), Some("Emerald Rapids"));
        assert_eq!(i(0xAD, 1), Some("Granite Rapids"));
        assert_eq!(i(0xAF, 3), Some("Sierra Forest"));
        assert_eq!(i(0x4F, 1), Some("Broadwell-EP"));
        assert_eq!(i(0x3F, 2), Some("Haswell-EP"));
        assert_eq!(i(0x3E, 4), Some("Ivy Bridge-EP"));
        assert_eq!(i(0x2D, 7), Some("Sandy Bridge-EP"));
        assert_eq!(i(0x9E, 10), None);
        assert_eq!(codename(VENDOR_INTEL, 0xF, 0x6A, 0), None, "family matters");
        assert_eq!(codename(VENDOR_AMD, 6, 0x6A, 0), None, "vendor matters");
        let a = |f, m| codename(VENDOR_AMD, f, m, 0);
        assert_eq!(a(0x17, 0x01), Some("Naples (Zen)"));
        assert_eq!(a(0x17, 0x31), Some("Rome (Zen 2)"));
        assert_eq!(a(0x19, 0x01), Some("Milan (Zen 3)"));
        assert_eq!(a(0x19, 0x11), Some("Genoa (Zen 4)"));
        assert_eq!(a(0x19, 0xA0), Some("Bergamo"));
        assert_eq!(a(0x1A, 0x02), Some("Turin (Zen 5)"));
        assert_eq!(a(0x1A, 0x11), Some("Turin (Zen 5)"));
        assert_eq!(a(0x1A, 0x44), None, "Granite Ridge desktop is not Turin");
        assert_eq!(codename("HygonGenuine", 0x18, 0x01, 0), None);
    }

    #[test]
    fn merge_fills_only_missing_fields() {
        let mut cpuid = CpuModel {
            source: "cpuid".into(),
            vendor: Some(VENDOR_INTEL.into()),
            vmx: Some(true),
            notes: vec!["a".into()],
            ..Default::default()
        };
        let cpuinfo = CpuModel {
            source: "cpuinfo".into(),
            vendor: Some(VENDOR_INTEL.into()),
            family: Some(6),
            vmx: Some(false),
            est: Some(true),
            vmx_flags: Some(vec!["ept".into()]),
            notes: vec!["a".into(), "b".into()],
            ..Default::default()
        };
        cpuid.merge_missing(&cpuinfo);
        assert_eq!(cpuid.source, "cpuid");
        assert_eq!(cpuid.vendor.as_deref(), Some(VENDOR_INTEL));
        assert_eq!(cpuid.family, Some(6));
        assert_eq!(cpuid.vmx, Some(true));
        assert_eq!(cpuid.est, Some(true));
        assert_eq!(cpuid.vmx_flags, Some(vec!["ept".to_string()]));
        assert_eq!(cpuid.hwp, None);
        assert_eq!(cpuid.notes, vec!["a".to_string(), "b".to_string()]);
        assert!(cpuid.is_intel() && !cpuid.is_amd());
    }

    #[test]
    fn merge_takes_nothing_from_another_machine() {
        let mut dump = CpuModel {
            source: "cpuid".into(),
            vendor: Some(VENDOR_INTEL.into()),
            family: Some(6),
            model: Some(0x6A),
            stepping: Some(0),
            ..Default::default()
        };
        let live = CpuModel {
            source: "cpuinfo".into(),
            vendor: Some(VENDOR_INTEL.into()),
            family: Some(6),
            model: Some(0xA7),
            brand: Some("Intel(R) Xeon(R) Processor".into()),
            vmx_flags: Some(vec!["ept".into()]),
            ..Default::default()
        };
        dump.merge_missing(&live);
        assert_eq!((dump.brand, dump.vmx_flags), (None, None));
        assert_eq!(
            dump.notes,
            vec!["cpuid and cpuinfo disagree on the model: nothing taken from cpuinfo".to_string()]
        );
    }
}
