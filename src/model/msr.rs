//! The model-specific registers kvmaudit reads, their bits, and a per-register view across CPUs.
//!
//! Bit definitions: Intel SDM Vol. 4 (Model-Specific Registers), tables 2-2 (architectural),
//! 2-2x for 06_6AH/06_6CH (3rd gen Xeon Scalable, Ice Lake-SP), and Linux
//! `arch/x86/include/asm/msr-index.h`; where turbostat (`tools/power/x86/turbostat/turbostat.c`)
//! prints a decoding of the same bits, the decoders below are tested against its text
//! (`tests/msr_turbostat.rs`).

use crate::snapshot::{msr_key, Fact, MsrDump, ReadErrorKind, Sourced};
use std::collections::BTreeMap;

/// The path a dump read from the host's devices names.
pub const DEVICE_SOURCE: &str = "/dev/cpu/*/msr";

/// IA32_FEATURE_CONTROL (SDM table 2-2; msr-index.h `MSR_IA32_FEAT_CTL`).
pub const FEATURE_CONTROL: u32 = 0x3A;
/// MSR_PKG_CST_CONFIG_CONTROL (SDM 06_6AH table; msr-index.h `MSR_PKG_CST_CONFIG_CONTROL`).
pub const PKG_CST_CONFIG_CONTROL: u32 = 0xE2;
/// IA32_MISC_ENABLE (SDM table 2-2; msr-index.h `MSR_IA32_MISC_ENABLE`).
pub const MISC_ENABLE: u32 = 0x1A0;
/// MSR_MISC_PWR_MGMT (SDM 06_6AH table; msr-index.h `MSR_MISC_PWR_MGMT`).
pub const MISC_PWR_MGMT: u32 = 0x1AA;
/// IA32_ENERGY_PERF_BIAS (SDM table 2-2; msr-index.h `MSR_IA32_ENERGY_PERF_BIAS`).
pub const ENERGY_PERF_BIAS: u32 = 0x1B0;
/// MSR_POWER_CTL (SDM 06_6AH table; msr-index.h `MSR_IA32_POWER_CTL`).
pub const POWER_CTL: u32 = 0x1FC;
/// IA32_PM_ENABLE (SDM table 2-2; msr-index.h `MSR_PM_ENABLE`).
pub const PM_ENABLE: u32 = 0x770;
/// IA32_HWP_CAPABILITIES (SDM table 2-2; msr-index.h `MSR_HWP_CAPABILITIES`).
pub const HWP_CAPABILITIES: u32 = 0x771;

/// Every register kvmaudit reads, with the name turbostat and msr-index.h give it.
pub const REGISTERS: &[(u32, &str)] = &[
    (FEATURE_CONTROL, "IA32_FEATURE_CONTROL"),
    (PKG_CST_CONFIG_CONTROL, "MSR_PKG_CST_CONFIG_CONTROL"),
    (MISC_ENABLE, "IA32_MISC_ENABLE"),
    (MISC_PWR_MGMT, "MSR_MISC_PWR_MGMT"),
    (ENERGY_PERF_BIAS, "IA32_ENERGY_PERF_BIAS"),
    (POWER_CTL, "MSR_POWER_CTL"),
    (PM_ENABLE, "IA32_PM_ENABLE"),
    (HWP_CAPABILITIES, "IA32_HWP_CAPABILITIES"),
];

/// "MSR 0x1FC MSR_POWER_CTL": how findings name a register.
pub fn label(addr: u32) -> String {
    let name = REGISTERS
        .iter()
        .find(|(a, _)| *a == addr)
        .map_or("", |(_, n)| n);
    format!("MSR {addr:#X} {name}").trim_end().to_string()
}

fn bit(v: u64, n: u32) -> bool {
    v >> n & 1 == 1
}

/// MSR_POWER_CTL bit 1 "C1E Enable": the core promotes C1 requests to C1E (SDM; turbostat
/// prints it as "C1E auto-promotion: ENabled").
pub fn c1e_promotion(power_ctl: u64) -> bool {
    bit(power_ctl, 1)
}

/// MSR_POWER_CTL bit 19 "Disable Energy Efficiency Optimization" (SDM 06_55H/06_6AH tables):
/// 1 = Energy Efficient Turbo disabled, which is what the guide asks for. turbostat does not
/// decode this bit.
pub fn eet_disabled(power_ctl: u64) -> bool {
    bit(power_ctl, 19)
}

/// MSR_PKG_CST_CONFIG_CONTROL package C-state limit. The SDM gives bits 2:0 on Xeon Scalable
/// parts (bit 3 reserved, reads 0) and bits 3:0 on client parts; turbostat masks 0xF
/// (`pkg_cstate_limit = msr & 0xF`), so the four bits are taken as it does.
pub fn pkg_cstate_limit(cst: u64) -> u32 {
    (cst & 0xF) as u32
}

/// MSR_PKG_CST_CONFIG_CONTROL bit 15 "CFG Lock": the register is read-only until reset
/// (turbostat: "locked" / "UNlocked").
pub fn pkg_cst_locked(cst: u64) -> bool {
    bit(cst, 15)
}

/// What a package C-state limit value allows on Ice Lake-SP (SDM 06_6AH table: 000b C0/C1,
/// 001b C2, 010b C6 non-retention, 011b C6 retention, 111b no limit).
pub fn icx_pkg_limit_name(limit: u32) -> &'static str {
    match limit {
        0 => "PC0/PC1 (no package C-state)",
        1 => "PC2",
        2 => "PC6 non-retention",
        3 => "PC6 retention",
        7 => "unlimited",
        _ => "reserved",
    }
}

/// Whether a package limit keeps the package out of PC6 (the limit is PC2 or shallower).
pub fn pkg_limit_blocks_pc6(limit: u32) -> bool {
    limit <= 1
}

/// IA32_ENERGY_PERF_BIAS bits 3:0: 0 performance … 15 energy saving.
pub fn epb(v: u64) -> u32 {
    (v & 0xF) as u32
}

/// IA32_PM_ENABLE bit 0: HWP enabled (write-once until reset; turbostat "HWP" / "No-HWP").
pub fn hwp_enabled(pm_enable: u64) -> bool {
    bit(pm_enable, 0)
}

/// IA32_HWP_CAPABILITIES bits 7:0 highest, 15:8 guaranteed, 23:16 most efficient, 31:24
/// lowest performance (turbostat "high %d guar %d eff %d low %d").
pub fn hwp_caps(v: u64) -> [u32; 4] {
    [
        (v & 0xFF) as u32,
        (v >> 8 & 0xFF) as u32,
        (v >> 16 & 0xFF) as u32,
        (v >> 24 & 0xFF) as u32,
    ]
}

/// IA32_MISC_ENABLE bit 16 "Enhanced Intel SpeedStep Technology Enable" (msr-index.h
/// `MSR_IA32_MISC_ENABLE_ENHANCED_SPEEDSTEP_BIT` 16; turbostat "EIST" / "No-EIST").
pub fn eist_enabled(misc: u64) -> bool {
    bit(misc, 16)
}

/// IA32_MISC_ENABLE bit 38 "IDA/Turbo disable" (msr-index.h `MSR_IA32_MISC_ENABLE_TURBO_DISABLE_BIT`
/// 38; turbostat "TURBO" / "No-TURBO"). Firmware sets it to switch turbo off.
pub fn turbo_disabled(misc: u64) -> bool {
    bit(misc, 38)
}

/// MSR_MISC_PWR_MGMT bit 8: HWP out-of-band mode, the platform (not the OS) controls P-states
/// (turbostat "ENable-OOB"; Linux intel_pstate `MSR_MISC_PWR_MGMT` check in
/// `intel_pstate_platform_pwr_mgmt_exists`).
pub fn oob_mode(misc_pwr: u64) -> bool {
    bit(misc_pwr, 8)
}

/// MSR_MISC_PWR_MGMT bit 0: EIST hardware coordination DISABLED (turbostat prints "DISable-
/// EIST_Coordination" when set).
pub fn eist_coordination_disabled(misc_pwr: u64) -> bool {
    bit(misc_pwr, 0)
}

/// MSR_MISC_PWR_MGMT bit 1: energy/performance bias enable (turbostat "ENable-EPB").
pub fn epb_enable(misc_pwr: u64) -> bool {
    bit(misc_pwr, 1)
}

/// IA32_FEATURE_CONTROL bit 0: lock (msr-index.h `FEAT_CTL_LOCKED`).
pub fn feature_control_locked(v: u64) -> bool {
    bit(v, 0)
}

/// IA32_FEATURE_CONTROL bit 1: VMX inside SMX (TXT) enabled (`FEAT_CTL_VMX_ENABLED_INSIDE_SMX`).
pub fn vmx_inside_smx(v: u64) -> bool {
    bit(v, 1)
}

/// IA32_FEATURE_CONTROL bit 2: VMX outside SMX enabled (`FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX`).
pub fn vmx_outside_smx(v: u64) -> bool {
    bit(v, 2)
}

/// One register across the CPUs it was read on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// Read on at least one CPU; every CPU that was read is here (CPU -> value).
    Values(BTreeMap<u32, u64>),
    /// Not readable: the reason, for a finding's message.
    Unavailable(String),
}

/// The MSR part of a snapshot, as rules ask for it.
pub struct Msrs<'a> {
    src: &'a Sourced<MsrDump>,
}

impl<'a> Msrs<'a> {
    pub fn new(src: &'a Sourced<MsrDump>) -> Self {
        Msrs { src }
    }

    /// Where the values came from (`/dev/cpu/*/msr`, the `--msr` file).
    pub fn source(&self) -> &str {
        &self.src.path
    }

    /// `addr` on every CPU that has it. A CPU whose device could not be opened, or where
    /// the register read failed, is left out only when others were read; when none were, the
    /// reason is the first error met (EIO says "not implemented on this CPU").
    pub fn read(&self, addr: u32) -> Reading {
        let dump = match &self.src.fact {
            Fact::Value(d) => d,
            Fact::Error(e) => return Reading::Unavailable(unavailable_reason(e.kind, &e.detail)),
        };
        let key = msr_key(addr);
        let mut values = BTreeMap::new();
        let mut first_err: Option<String> = None;
        let mut missing = 0usize;
        for (cpu, regs) in &dump.cpus {
            match regs {
                Fact::Value(regs) => match regs.get(&key) {
                    Some(Fact::Value(v)) => {
                        values.insert(*cpu, *v);
                    }
                    Some(Fact::Error(e)) => {
                        first_err.get_or_insert_with(|| {
                            format!(
                                "{} on cpu{cpu}: {}",
                                label(addr),
                                register_error(e.kind, &e.detail)
                            )
                        });
                    }
                    None => missing += 1,
                },
                Fact::Error(e) => {
                    first_err.get_or_insert_with(|| {
                        format!("cpu{cpu}: {}", unavailable_reason(e.kind, &e.detail))
                    });
                }
            }
        }
        if !values.is_empty() {
            return Reading::Values(values);
        }
        Reading::Unavailable(first_err.unwrap_or_else(|| {
            if missing > 0 {
                format!("{} is not in {}", label(addr), self.src.path)
            } else {
                format!("no CPU's registers were recorded in {}", self.src.path)
            }
        }))
    }
}

/// Why a whole dump or CPU device is missing, in words a finding can carry.
fn unavailable_reason(kind: ReadErrorKind, detail: &str) -> String {
    let why = match kind {
        ReadErrorKind::Absent => {
            "/dev/cpu/*/msr does not exist: the msr module is not loaded (`modprobe msr` as root enables the MSR checks)".to_string()
        }
        ReadErrorKind::PermissionDenied => {
            "/dev/cpu/*/msr is readable by root only: run the scan as root".to_string()
        }
        _ => kind.as_str().to_string(),
    };
    if detail.is_empty() || kind == ReadErrorKind::Absent || kind == ReadErrorKind::PermissionDenied
    {
        why
    } else {
        format!("{why}: {detail}")
    }
}

/// Why one register read failed: EIO from the msr driver means the CPU raised #GP, i.e. the
/// register is not implemented on this model.
fn register_error(kind: ReadErrorKind, detail: &str) -> String {
    match kind {
        ReadErrorKind::Io => "not implemented on this CPU (EIO)".to_string(),
        _ if detail.is_empty() => kind.as_str().to_string(),
        _ => format!("{}: {detail}", kind.as_str()),
    }
}

/// Groups CPUs by a decoded value: "1 on cpu0-3; 0 on cpu4".
pub fn by_value<T: Ord + std::fmt::Display>(values: impl IntoIterator<Item = (u32, T)>) -> String {
    let mut groups: BTreeMap<T, std::collections::BTreeSet<u32>> = BTreeMap::new();
    for (cpu, v) in values {
        groups.entry(v).or_default().insert(cpu);
    }
    groups
        .into_iter()
        .map(|(v, cpus)| format!("{v} on cpu{}", crate::parse::cpulist::format(&cpus)))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::ReadError;

    /// Per CPU: its registers (address, value or error), or why the CPU's device failed.
    type CpuRegs = Vec<(u32, Fact<Vec<(u32, Fact<u64>)>>)>;

    fn dump(cpus: CpuRegs) -> Sourced<MsrDump> {
        Sourced::value(
            "/dev/cpu/*/msr",
            MsrDump {
                format: "dev-cpu-msr".into(),
                cpus: cpus
                    .into_iter()
                    .map(|(c, f)| {
                        (
                            c,
                            match f {
                                Fact::Value(r) => Fact::Value(
                                    r.into_iter().map(|(a, v)| (msr_key(a), v)).collect(),
                                ),
                                Fact::Error(e) => Fact::Error(e),
                            },
                        )
                    })
                    .collect(),
            },
        )
    }

    #[test]
    fn decodes_real_ice_lake_values() {
        // intel/pepc tests/data/icx2s0 (BSD-3-Clause): an untuned Ice Lake-SP.
        assert!(!c1e_promotion(0x1a00a40059));
        assert!(!eet_disabled(0x1a00a40059));
        assert_eq!(pkg_cstate_limit(0x14000402), 2);
        assert!(!pkg_cst_locked(0x14000402));
        assert_eq!(epb(6), 6);
        assert!(hwp_enabled(1));
        // SDM bit positions.
        assert!(eet_disabled(1 << 19));
        assert!(eist_enabled(1 << 16) && !turbo_disabled(1 << 16));
        assert!(turbo_disabled(1 << 38));
        assert!(oob_mode(0x100) && !oob_mode(0x30c2));
        assert!(feature_control_locked(5) && vmx_outside_smx(5) && !vmx_inside_smx(5));
        assert_eq!(hwp_caps(0x011a203d), [61, 32, 26, 1]);
    }

    #[test]
    fn reading_tells_absent_module_from_eio() {
        let absent = Sourced::error(
            "/dev/cpu/*/msr",
            ReadError::new(ReadErrorKind::Absent, "no such file"),
        );
        match Msrs::new(&absent).read(POWER_CTL) {
            Reading::Unavailable(w) => assert!(w.contains("modprobe msr"), "{w}"),
            r => panic!("{r:?}"),
        }
        let eio = dump(vec![(
            0,
            Fact::Value(vec![(
                POWER_CTL,
                Fact::Error(ReadError::new(ReadErrorKind::Io, "Input/output error")),
            )]),
        )]);
        match Msrs::new(&eio).read(POWER_CTL) {
            Reading::Unavailable(w) => assert!(w.contains("not implemented"), "{w}"),
            r => panic!("{r:?}"),
        }
        let ok = dump(vec![
            (0, Fact::Value(vec![(POWER_CTL, Fact::Value(0x80000))])),
            (1, Fact::Value(vec![(POWER_CTL, Fact::Value(0))])),
        ]);
        match Msrs::new(&ok).read(POWER_CTL) {
            Reading::Values(v) => assert_eq!(v, BTreeMap::from([(0, 0x80000), (1, 0)])),
            r => panic!("{r:?}"),
        }
        assert_eq!(by_value([(0, 1), (1, 1), (2, 0)]), "0 on cpu2; 1 on cpu0-1");
    }
}
