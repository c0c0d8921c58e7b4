//! [`CpuModel`] from a recorded [`CpuidDump`], decoded with raw-cpuid over the recorded leaves.
//!
//! raw-cpuid is written for a live CPU and trusts what it reads: on recorded (or fuzzed) data its
//! topology iterators panic on level types above 5 and never end when every sub-leaf reads the
//! same (dependencies.md). So it only gets leaves through [`RecordedLeaves`], which answers zeros
//! for anything not recorded, every call into it is wrapped in `catch_unwind`, and topology is
//! decoded here by hand from sub-leaf 0 alone. A field is `Some` only when its leaf was recorded
//! and lies within the range the CPU advertises (leaf 0 / 0x80000000): Intel answers
//! out-of-range leaves with the data of the highest basic leaf, so such records are junk.

use super::{codename_of, family_model_stepping, CpuModel, VENDOR_AMD};
use crate::snapshot::CpuidDump;
use raw_cpuid::{CpuId, CpuIdReader, CpuIdResult};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

const EXT_BASE: u32 = 0x8000_0000;
const HV_BASE: u32 = 0x4000_0000;
/// Hyper-V-enlightened KVM moves its own leaves here and puts Hyper-V's at 0x40000000.
const HV_ALT_BASE: u32 = 0x4000_0100;
const KVM_SIGNATURE: &str = "KVMKVMKVM";
const HYGON: &str = "HygonGenuine";

/// The recorded leaves with the CPU's advertised ranges.
struct DumpView {
    leaves: HashMap<(u32, u32), [u32; 4]>,
    /// CPUID.0:EAX; `None` when leaf 0 was not recorded.
    max_basic: Option<u32>,
    /// CPUID.80000000h:EAX when recorded.
    max_ext: Option<u32>,
}

impl DumpView {
    fn new(d: &CpuidDump) -> DumpView {
        let mut leaves = HashMap::with_capacity(d.leaves.len());
        for l in &d.leaves {
            leaves
                .entry((l.leaf, l.subleaf))
                .or_insert([l.eax, l.ebx, l.ecx, l.edx]);
        }
        let max_basic = leaves.get(&(0, 0)).map(|r| r[0]);
        // A value outside the extended range is another leaf's data echoed by a CPU without
        // extended leaves: then only 0x80000000 itself "exists".
        let max_ext = leaves.get(&(EXT_BASE, 0)).map(|r| {
            if (EXT_BASE..=0x8000_FFFF).contains(&r[0]) {
                r[0]
            } else {
                EXT_BASE
            }
        });
        DumpView {
            leaves,
            max_basic,
            max_ext,
        }
    }

    /// Registers of a recorded leaf the CPU advertises. Without leaf 0 (or 0x80000000) in the
    /// dump the range is unknown and the record is trusted.
    fn leaf(&self, leaf: u32, subleaf: u32) -> Option<[u32; 4]> {
        let in_range = if leaf >= EXT_BASE {
            self.max_ext.map_or(true, |m| leaf <= m)
        } else if leaf >= HV_BASE {
            true
        } else {
            self.max_basic.map_or(true, |m| leaf <= m)
        };
        if !in_range {
            return None;
        }
        self.leaves.get(&(leaf, subleaf)).copied()
    }

    fn has(&self, leaf: u32) -> bool {
        self.leaf(leaf, 0).is_some()
    }

    /// What raw-cpuid reads. Leaf 0 and 0x80000000 carry the range maxima raw-cpuid checks, so
    /// their EAX is the range this view enforces; when the dump lacks them, the highest recorded
    /// leaf stands in so recorded leaves stay usable.
    fn raw(&self, leaf: u32, subleaf: u32) -> [u32; 4] {
        let highest = |range: std::ops::Range<u32>| {
            self.leaves
                .keys()
                .map(|k| k.0)
                .filter(|l| range.contains(l))
                .max()
        };
        let mut r = self.leaf(leaf, subleaf).unwrap_or([0; 4]);
        match (leaf, subleaf) {
            (0, 0) => r[0] = self.max_basic.or(highest(0..HV_BASE)).unwrap_or(0),
            (EXT_BASE, 0) => {
                r[0] = self.max_ext.or(highest(EXT_BASE..0x8001_0000)).unwrap_or(0);
            }
            _ => {}
        }
        r
    }
}

/// raw-cpuid's view of the dump.
#[derive(Clone, Copy)]
struct RecordedLeaves<'a>(&'a DumpView);

impl CpuIdReader for RecordedLeaves<'_> {
    fn cpuid2(&self, eax: u32, ecx: u32) -> CpuIdResult {
        let [eax, ebx, ecx, edx] = self.0.raw(eax, ecx);
        CpuIdResult { eax, ebx, ecx, edx }
    }
}

/// Runs one raw-cpuid decode; a panic inside it becomes a note and `None`.
fn guarded<T>(notes: &mut Vec<String>, what: &str, f: impl FnOnce() -> Option<T>) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        notes.push(format!(
            "decoding {what} from CPUID failed; treated as unknown"
        ));
        None
    })
}

pub(super) fn from_cpuid(d: &CpuidDump) -> CpuModel {
    let view = DumpView::new(d);
    let mut m = CpuModel {
        source: "cpuid".to_string(),
        ..CpuModel::default()
    };
    let mut notes = Vec::new();
    if view.max_basic.is_none() {
        notes.push("CPUID leaf 0 not recorded: vendor unknown, leaf ranges not checked".into());
    }
    let cpuid = CpuId::with_cpuid_reader(RecordedLeaves(&view));
    identity(&view, &cpuid, &mut m, &mut notes);
    features(&view, &cpuid, &mut m, &mut notes);
    m.threads_per_core = threads_per_core(&view, m.vendor.as_deref());
    hypervisor(&view, &mut m, &mut notes);
    m.codename = codename_of(&m);
    if m.codename.is_none() {
        if let (Some(v), Some(f), Some(mo), Some(s)) =
            (m.vendor.as_deref(), m.family, m.model, m.stepping)
        {
            notes.push(format!(
                "no codename known for {v} family {f:#x} model {mo:#x} stepping {s}"
            ));
        }
    }
    m.notes = notes;
    m
}

type Cpuid<'a> = CpuId<RecordedLeaves<'a>>;

fn identity(view: &DumpView, cpuid: &Cpuid, m: &mut CpuModel, notes: &mut Vec<String>) {
    if view.has(0) {
        m.vendor = guarded(notes, "the vendor id", || {
            cpuid.get_vendor_info().map(|v| v.as_str().to_string())
        })
        .and_then(|v| clean_string(&v, "InvalidVendorString", "vendor id", notes));
    }
    match view.leaf(1, 0) {
        Some(r) => {
            let (family, model, stepping) = family_model_stepping(r[0]);
            m.family = Some(family);
            m.model = Some(model);
            m.stepping = Some(stepping);
        }
        None => notes.push(
            "CPUID leaf 1 not recorded or beyond the advertised maximum: \
             family/model/stepping unknown"
                .into(),
        ),
    }
    let brand_recorded = (2..=4).all(|i| view.has(EXT_BASE + i));
    if brand_recorded {
        let brand = guarded(notes, "the brand string", || {
            cpuid
                .get_processor_brand_string()
                .map(|b| b.as_str().to_string())
        });
        m.brand = brand.and_then(|b| {
            let cleaned = clean_string(&b, "Invalid Processor Brand String", "brand string", notes);
            if cleaned.is_none() && b.trim_matches('\0').trim().is_empty() {
                notes.push(
                    "CPUID brand string is empty; the part is identified by family/model/stepping"
                        .into(),
                );
            }
            cleaned
        });
    }
}

/// Trims NULs and blanks; `None` when empty or when raw-cpuid reports undecodable bytes.
fn clean_string(s: &str, invalid: &str, what: &str, notes: &mut Vec<String>) -> Option<String> {
    if s == invalid {
        notes.push(format!("CPUID {what} is not valid text"));
        return None;
    }
    let t = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!t.is_empty()).then(|| t.to_string())
}

fn features(view: &DumpView, cpuid: &Cpuid, m: &mut CpuModel, notes: &mut Vec<String>) {
    if view.has(1) {
        let fi = guarded(notes, "leaf 1 features", || {
            cpuid
                .get_feature_info()
                .map(|f| (f.has_vmx(), f.has_eist(), f.has_hypervisor()))
        });
        if let Some((vmx, est, hv)) = fi {
            m.vmx = Some(vmx);
            m.est = Some(est);
            m.hypervisor = Some(hv);
        }
    }
    if let Some(r) = view.leaf(EXT_BASE + 1, 0) {
        // raw-cpuid's has_svm() also demands vendor "AuthenticAMD", which hides AMD-V on Hygon;
        // the bit is reserved (zero) on Intel, so reading it directly is exact.
        m.svm = Some(r[2] & (1 << 2) != 0);
        m.pdpe1gb = guarded(notes, "leaf 0x80000001", || {
            cpuid
                .get_extended_processor_and_feature_identifiers()
                .map(|e| e.has_1gib_pages())
        });
    }
    if view.has(6) {
        let pm = guarded(notes, "leaf 6 power management", || {
            cpuid.get_thermal_power_info().map(|t| {
                (
                    t.has_turbo_boost(),
                    t.has_hwp(),
                    t.has_hwp_energy_performance_preference(),
                    t.has_energy_bias_pref(),
                )
            })
        });
        if let Some((turbo, hwp, epp, epb)) = pm {
            m.turbo = Some(turbo);
            m.hwp = Some(hwp);
            m.hwp_epp = Some(epp);
            m.epb = Some(epb);
        }
    }
    if amd_like(m.vendor.as_deref()) {
        // AMD's boost is CPB in 0x80000007; leaf 6 bit 1 is reserved there.
        m.turbo = None;
        if view.has(EXT_BASE + 7) {
            m.turbo = guarded(notes, "leaf 0x80000007", || {
                cpuid.get_advanced_power_mgmt_info().map(|a| a.has_cpb())
            });
        }
    }
}

fn amd_like(vendor: Option<&str>) -> bool {
    matches!(vendor, Some(VENDOR_AMD) | Some(HYGON))
}

/// Logical processors per core from the SMT level (sub-leaf 0, level type 1) of leaf 0x1F, else
/// 0xB; on AMD parts without either, from 0x8000001E EBX[15:8] + 1 when TopologyExtensions is set.
fn threads_per_core(view: &DumpView, vendor: Option<&str>) -> Option<u32> {
    let smt_level = |leaf| {
        let r = view.leaf(leaf, 0)?;
        let level_type = (r[2] >> 8) & 0xFF;
        let count = r[1] & 0xFFFF;
        (level_type == 1 && count > 0).then_some(count)
    };
    smt_level(0x1F).or_else(|| smt_level(0xB)).or_else(|| {
        let topoext = view.leaf(EXT_BASE + 1, 0)?[2] & (1 << 22) != 0;
        let r = view.leaf(EXT_BASE + 0x1E, 0)?;
        (amd_like(vendor) && topoext).then_some(((r[1] >> 8) & 0xFF) + 1)
    })
}

fn hypervisor(view: &DumpView, m: &mut CpuModel, notes: &mut Vec<String>) {
    if m.hypervisor != Some(true) {
        return;
    }
    m.hypervisor_vendor = view.leaf(HV_BASE, 0).and_then(|r| signature(&r));
    let kvm_base = [HV_BASE, HV_ALT_BASE].into_iter().find(|&base| {
        view.leaf(base, 0)
            .and_then(|r| signature(&r))
            .is_some_and(|s| s == KVM_SIGNATURE)
    });
    let Some(base) = kvm_base else {
        return;
    };
    if base == HV_ALT_BASE {
        notes.push("KVM leaves found at 0x40000100 (KVM with Hyper-V enlightenments)".into());
    }
    // KVM's max-leaf EAX may be 0 on old hosts, which KVM documents as meaning base + 1.
    let max = view.leaf(base, 0).map_or(0, |r| r[0]);
    if max != 0 && max < base + 1 {
        return;
    }
    if let Some(r) = view.leaf(base + 1, 0) {
        m.kvm_hint_realtime = Some(r[3] & 1 != 0);
        m.kvm_poll_control = Some(r[0] & (1 << 12) != 0);
    }
}

/// The 12-byte signature in EBX, ECX, EDX of a hypervisor base leaf.
fn signature(r: &[u32; 4]) -> Option<String> {
    let bytes: Vec<u8> = [r[1], r[2], r[3]]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let text: String = String::from_utf8_lossy(&bytes)
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::CpuidLeaf;

    fn dump(leaves: &[(u32, u32, [u32; 4])]) -> CpuidDump {
        CpuidDump {
            format: "test".into(),
            leaves: leaves
                .iter()
                .map(|&(leaf, subleaf, r)| CpuidLeaf::new(leaf, subleaf, r))
                .collect(),
        }
    }

    const INTEL0: [u32; 4] = [0x1F, 0x756e6547, 0x6c65746e, 0x49656e69];
    const AMD0: [u32; 4] = [0x10, 0x68747541, 0x444d4163, 0x69746e65];

    #[test]
    fn empty_dump_is_all_unknown() {
        let m = CpuModel::from_cpuid(&dump(&[]));
        assert_eq!(m.source, "cpuid");
        assert_eq!(
            m,
            CpuModel {
                source: "cpuid".into(),
                notes: m.notes.clone(),
                ..Default::default()
            }
        );
        assert!(m.notes.iter().any(|n| n.contains("leaf 0 not recorded")));
    }

    #[test]
    fn missing_leaf_6_leaves_power_fields_unknown() {
        let m = CpuModel::from_cpuid(&dump(&[(0, 0, INTEL0), (1, 0, [0x606a6, 0, 1 << 5, 0])]));
        assert_eq!(m.vmx, Some(true));
        assert_eq!(m.est, Some(false));
        assert_eq!((m.turbo, m.hwp, m.hwp_epp, m.epb), (None, None, None, None));
        assert_eq!((m.svm, m.pdpe1gb, m.threads_per_core), (None, None, None));
        assert_eq!(m.codename.as_deref(), Some("Ice Lake-SP"));
    }

    #[test]
    fn leaves_beyond_the_advertised_maximum_are_ignored() {
        // Intel echoes the highest basic leaf for out-of-range leaves; such records are junk.
        let m = CpuModel::from_cpuid(&dump(&[
            (0, 0, [0x5, INTEL0[1], INTEL0[2], INTEL0[3]]),
            (1, 0, [0x606a6, 0, 0, 0]),
            (6, 0, [0xFFFF_FFFF; 4]),
            (0xB, 0, [1, 2, 0x100, 0]),
        ]));
        assert_eq!(m.turbo, None);
        assert_eq!(m.threads_per_core, None);
    }

    #[test]
    fn without_leaf_0_recorded_leaves_still_decode() {
        let m = CpuModel::from_cpuid(&dump(&[
            (1, 0, [0x50657, 0, 1 << 5 | 1 << 7, 0]),
            (6, 0, [1 << 1 | 1 << 7, 0, 1 << 3, 0]),
        ]));
        assert_eq!(m.vendor, None);
        assert_eq!(
            (m.family, m.model, m.stepping),
            (Some(6), Some(0x55), Some(7))
        );
        assert_eq!((m.vmx, m.est), (Some(true), Some(true)));
        assert_eq!(
            (m.turbo, m.hwp, m.epb),
            (Some(true), Some(true), Some(true))
        );
        assert_eq!(m.codename, None, "no vendor, no codename");
    }

    #[test]
    fn smt_prefers_leaf_1f_and_needs_level_type_smt() {
        let base = [(0, 0, INTEL0), (1, 0, [0x606a6, 0, 0, 0])];
        let with = |extra: &[(u32, u32, [u32; 4])]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            CpuModel::from_cpuid(&dump(&v)).threads_per_core
        };
        assert_eq!(with(&[(0xB, 0, [1, 2, 0x100, 0])]), Some(2));
        assert_eq!(
            with(&[(0xB, 0, [1, 2, 0x100, 0]), (0x1F, 0, [1, 1, 0x100, 0])]),
            Some(1)
        );
        assert_eq!(
            with(&[(0xB, 0, [1, 2, 0x100, 0]), (0x1F, 0, [0; 4])]),
            Some(2),
            "invalid 0x1F falls back to 0xB"
        );
        assert_eq!(
            with(&[(0xB, 0, [5, 28, 0x201, 0])]),
            None,
            "sub-leaf 0 is not SMT"
        );
        assert_eq!(with(&[(0xB, 0, [1, 2, 0x900, 0])]), None, "level type 9");
    }

    #[test]
    fn amd_turbo_comes_from_cpb_and_smt_from_topoext() {
        let m = CpuModel::from_cpuid(&dump(&[
            (0, 0, AMD0),
            (1, 0, [0x00a00f11, 0, 0, 0]),
            (6, 0, [0x2, 0, 0, 0]),
            (EXT_BASE, 0, [0x8000_0020, 0, 0, 0]),
            (EXT_BASE + 1, 0, [0, 0, 1 << 2 | 1 << 22, 1 << 26]),
            (EXT_BASE + 7, 0, [0, 0, 0, 0]),
            (EXT_BASE + 0x1E, 0, [0, 0x0100, 0, 0]),
        ]));
        assert!(m.is_amd());
        assert_eq!(m.codename.as_deref(), Some("Milan (Zen 3)"));
        assert_eq!(m.turbo, Some(false), "CPB clear, whatever leaf 6 says");
        assert_eq!((m.svm, m.pdpe1gb), (Some(true), Some(true)));
        assert_eq!(m.threads_per_core, Some(2));
    }

    #[test]
    fn kvm_guest_hints() {
        let guest = |hv_max: u32, hints: Option<[u32; 4]>| {
            let mut v = vec![
                (0, 0, INTEL0),
                (1, 0, [0x606a6, 0, 1 << 31, 0]),
                (HV_BASE, 0, [hv_max, 0x4b4d564b, 0x564b4d56, 0x4d]),
            ];
            if let Some(h) = hints {
                v.push((HV_BASE + 1, 0, h));
            }
            CpuModel::from_cpuid(&dump(&v))
        };
        let m = guest(0x4000_0001, Some([1 << 12, 0, 0, 1]));
        assert_eq!(m.hypervisor, Some(true));
        assert_eq!(m.hypervisor_vendor.as_deref(), Some("KVMKVMKVM"));
        assert_eq!(
            (m.kvm_hint_realtime, m.kvm_poll_control),
            (Some(true), Some(true))
        );
        let m = guest(0, Some([0, 0, 0, 0]));
        assert_eq!(
            (m.kvm_hint_realtime, m.kvm_poll_control),
            (Some(false), Some(false))
        );
        let m = guest(0x4000_0001, None);
        assert_eq!(m.kvm_hint_realtime, None);
    }

    #[test]
    fn kvm_behind_hyperv_enlightenments() {
        let m = CpuModel::from_cpuid(&dump(&[
            (0, 0, INTEL0),
            (1, 0, [0x606a6, 0, 1 << 31, 0]),
            (
                HV_BASE,
                0,
                [0x4000_000B, 0x7263694d, 0x666f736f, 0x76482074],
            ),
            (HV_ALT_BASE, 0, [0x4000_0101, 0x4b4d564b, 0x564b4d56, 0x4d]),
            (HV_ALT_BASE + 1, 0, [0, 0, 0, 1]),
        ]));
        assert_eq!(m.hypervisor_vendor.as_deref(), Some("Microsoft Hv"));
        assert_eq!(m.kvm_hint_realtime, Some(true));
    }

    #[test]
    fn bare_metal_has_no_hypervisor_fields() {
        let m = CpuModel::from_cpuid(&dump(&[
            (0, 0, INTEL0),
            (1, 0, [0x606a6, 0, 0, 0]),
            (HV_BASE, 0, [0x4000_0001, 0x4b4d564b, 0x564b4d56, 0x4d]),
            (HV_BASE + 1, 0, [0, 0, 0, 1]),
        ]));
        assert_eq!(m.hypervisor, Some(false));
        assert_eq!((m.hypervisor_vendor, m.kvm_hint_realtime), (None, None));
    }

    #[test]
    fn implausible_extended_maximum_means_no_extended_leaves() {
        let m = CpuModel::from_cpuid(&dump(&[
            (0, 0, INTEL0),
            (1, 0, [0x606a6, 0, 0, 0]),
            (EXT_BASE, 0, [0x0000_0005, 0, 0, 0]),
            (EXT_BASE + 1, 0, [0, 0, 1 << 2, 1 << 26]),
            (EXT_BASE + 2, 0, [0x65746e49, 0, 0, 0]),
            (EXT_BASE + 3, 0, [0; 4]),
            (EXT_BASE + 4, 0, [0; 4]),
        ]));
        assert_eq!((m.svm, m.pdpe1gb, m.brand), (None, None, None));
    }

    #[test]
    fn invalid_vendor_and_brand_bytes_become_notes() {
        let m = CpuModel::from_cpuid(&dump(&[
            (0, 0, [1, 0xFFFF_FFFF, 0, 0]),
            (EXT_BASE, 0, [EXT_BASE + 4, 0, 0, 0]),
            (EXT_BASE + 2, 0, [0xFFFF_FF41, 0, 0, 0]),
            (EXT_BASE + 3, 0, [0; 4]),
            (EXT_BASE + 4, 0, [0; 4]),
        ]));
        assert_eq!((m.vendor, m.brand), (None, None));
        let noted = |s: &str| m.notes.iter().any(|n| n.contains(s));
        assert!(noted("vendor id is not valid text"));
        assert!(noted("brand string is not valid text"));
        assert!(!noted("brand string is empty"));
    }
}
