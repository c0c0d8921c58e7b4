//! MSR values from text: `turbostat --debug` output (sosreports carry it as
//! `sos_commands/processor/turbostat_--debug*`) and `rdmsr -a` dumps.
//!
//! turbostat prints each register it decodes once, for its base CPU, as
//! `cpu0: MSR_IA32_POWER_CTL: 0x0024005d (C1E auto-promotion: DISabled)` (format strings in
//! `tools/power/x86/turbostat/turbostat.c`, `decode_misc_enable_msr`, `decode_misc_pwr_mgmt_msr`,
//! `dump_nhm_platform_info`, `dump_cst_cfg`, `print_hwp`, `print_epb`, `decode_feature_control_msr`).
//! Versions since 2019 print the EPB from sysfs as `cpu0: EPB: 6 (balanced)`; older ones print
//! `cpu0: MSR_IA32_ENERGY_PERF_BIAS: 0x00000006 (balanced)`. Both give register 0x1B0.
//!
//! `rdmsr -a REG` prints one value per online CPU, in CPU order, in hex without `0x` (msr-tools'
//! default) or with it (`-c`); the register is not in the output, so the user names it:
//! `--msr 0x1fc=FILE`.

use crate::error::ParseError;
use crate::model::msr;
use crate::snapshot::{msr_key, Fact, MsrDump, MsrRegisters};
use std::collections::BTreeMap;

/// `MsrDump::format` of turbostat output.
pub const FORMAT_TURBOSTAT: &str = "turbostat-debug";
/// `MsrDump::format` of an `rdmsr -a` dump.
pub const FORMAT_RDMSR: &str = "rdmsr";

/// Most CPUs an `rdmsr -a` dump may list (Linux's NR_CPUS maximum).
const MAX_CPUS: usize = 8192;

/// turbostat's register names (current and older spellings) for the registers kvmaudit reads.
const TURBOSTAT_NAMES: &[(&str, u32)] = &[
    ("MSR_IA32_FEATURE_CONTROL", msr::FEATURE_CONTROL),
    ("MSR_PKG_CST_CONFIG_CONTROL", msr::PKG_CST_CONFIG_CONTROL),
    ("MSR_NHM_SNB_PKG_CST_CFG_CTL", msr::PKG_CST_CONFIG_CONTROL),
    ("MSR_IA32_MISC_ENABLE", msr::MISC_ENABLE),
    ("MSR_MISC_PWR_MGMT", msr::MISC_PWR_MGMT),
    ("MSR_IA32_ENERGY_PERF_BIAS", msr::ENERGY_PERF_BIAS),
    ("EPB", msr::ENERGY_PERF_BIAS),
    ("MSR_IA32_POWER_CTL", msr::POWER_CTL),
    ("MSR_PM_ENABLE", msr::PM_ENABLE),
    ("MSR_HWP_CAPABILITIES", msr::HWP_CAPABILITIES),
];

/// One register line of turbostat output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurbostatLine {
    pub cpu: u32,
    pub addr: u32,
    pub value: u64,
    /// turbostat's own decoding, the text in parentheses (may be cut where the line wraps).
    pub decoded: String,
}

/// Every line of `text` that carries a register kvmaudit reads.
pub fn turbostat_lines(text: &str) -> Vec<TurbostatLine> {
    text.lines().filter_map(turbostat_line).collect()
}

fn turbostat_line(line: &str) -> Option<TurbostatLine> {
    let rest = line.trim_start().strip_prefix("cpu")?;
    let (cpu, rest) = rest.split_once(": ")?;
    let cpu: u32 = cpu.parse().ok()?;
    let (name, rest) = rest.split_once(": ")?;
    let addr = TURBOSTAT_NAMES.iter().find(|(n, _)| *n == name)?.1;
    let (num, decoded) = match rest.split_once(' ') {
        Some((n, d)) => (n, d.trim()),
        None => (rest.trim(), ""),
    };
    let value = match num.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok()?,
        // `EPB: 6` is decimal.
        None => num.parse().ok()?,
    };
    let decoded = decoded
        .strip_prefix('(')
        .map(|d| d.strip_suffix(')').unwrap_or(d))
        .unwrap_or(decoded)
        .to_string();
    Some(TurbostatLine {
        cpu,
        addr,
        value,
        decoded,
    })
}

/// Whether `text` looks like turbostat output (its banner or at least one register line).
pub fn is_turbostat(text: &str) -> bool {
    text.lines()
        .any(|l| l.trim_start().starts_with("turbostat version"))
        || text.lines().any(|l| turbostat_line(l).is_some())
}

/// The registers of turbostat output, per CPU. Output without any register kvmaudit reads
/// is an error (turbostat without `--debug`, or run without MSR access, prints none).
pub fn parse_turbostat(text: &str) -> Result<MsrDump, ParseError> {
    let mut cpus: BTreeMap<u32, MsrRegisters> = BTreeMap::new();
    for l in turbostat_lines(text) {
        cpus.entry(l.cpu)
            .or_default()
            .insert(msr_key(l.addr), Fact::Value(l.value));
    }
    if cpus.is_empty() {
        return Err(ParseError::new(
            "no register line (`cpuN: MSR_...: 0x...`) of the registers kvmaudit reads: run `turbostat --debug` as root",
        ));
    }
    Ok(MsrDump {
        format: FORMAT_TURBOSTAT.into(),
        cpus: cpus.into_iter().map(|(c, r)| (c, Fact::Value(r))).collect(),
    })
}

/// An `rdmsr -a` dump of register `addr`: line N is CPU N's value.
pub fn parse_rdmsr(addr: u32, text: &str) -> Result<MsrDump, ParseError> {
    let mut cpus = BTreeMap::new();
    for (i, line) in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if i >= MAX_CPUS {
            return Err(ParseError::new(format!("more than {MAX_CPUS} lines")));
        }
        let hex = line.strip_prefix("0x").unwrap_or(line);
        let value = u64::from_str_radix(hex, 16).map_err(|_| {
            ParseError::new(format!(
                "line {}: `{}` is not a hex register value (rdmsr -a prints one per CPU)",
                i + 1,
                crate::safe_text::one_line(line, 40)
            ))
        })?;
        let mut regs = MsrRegisters::new();
        regs.insert(msr_key(addr), Fact::Value(value));
        cpus.insert(i as u32, Fact::Value(regs));
    }
    if cpus.is_empty() {
        return Err(ParseError::new(
            "no values: an rdmsr -a dump has one per CPU",
        ));
    }
    Ok(MsrDump {
        format: FORMAT_RDMSR.into(),
        cpus,
    })
}

/// A register address as the user writes it: `0x1fc`, `1fc` (hex, rdmsr's spelling) .
pub fn parse_addr(s: &str) -> Result<u32, ParseError> {
    let h = s.trim();
    let h = h
        .strip_prefix("0x")
        .or_else(|| h.strip_prefix("0X"))
        .unwrap_or(h);
    u32::from_str_radix(h, 16).map_err(|_| {
        ParseError::new(format!(
            "`{}` is not a hex MSR address",
            crate::safe_text::one_line(s, 20)
        ))
    })
}

/// Adds `more` into `into`: a register read from two sources keeps the later one.
pub fn merge(into: &mut MsrDump, more: MsrDump) {
    if into.format.is_empty() {
        into.format = more.format.clone();
    } else if into.format != more.format {
        into.format = format!("{}+{}", into.format, more.format);
    }
    for (cpu, regs) in more.cpus {
        match (into.cpus.get_mut(&cpu), regs) {
            (Some(Fact::Value(have)), Fact::Value(add)) => have.extend(add),
            (_, regs) => {
                into.cpus.insert(cpu, regs);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_current_and_older_turbostat_lines() {
        let t = "turbostat version 2017.02.15 - Len Brown <lenb@kernel.org>\n\
cpu4: MSR_IA32_POWER_CTL: 0x0004005d (C1E auto-promotion: DISabled)\n\
cpu0: MSR_NHM_SNB_PKG_CST_CFG_CTL: 0x1e008403 (UNdemote-C3, UNdemote-C1, demote-C3, demote-C1, locked: pkg-cstate-limit=3: pc6)\n\
  cpu0: EPB: 6 (balanced)\n\
cpu0: MSR_PKG_POWER_LIMIT: 0x428348001a82a0 (UNlocked)\n";
        let d = parse_turbostat(t).unwrap();
        assert_eq!(d.format, FORMAT_TURBOSTAT);
        let c0 = d.cpus[&0].value().unwrap();
        assert_eq!(c0["0xe2"], Fact::Value(0x1e008403));
        assert_eq!(c0["0x1b0"], Fact::Value(6));
        assert_eq!(c0.len(), 2, "0x610 is not a register kvmaudit reads");
        assert_eq!(d.cpus[&4].value().unwrap()["0x1fc"], Fact::Value(0x4005d));
        let l = turbostat_lines(t);
        assert_eq!(l[0].decoded, "C1E auto-promotion: DISabled");
        assert!(parse_turbostat("Core CPU Avg_MHz\n- - 12\n").is_err());
        assert!(parse_turbostat("cpu0: MSR_IA32_POWER_CTL: 0xzz (x)\n").is_err());
    }

    #[test]
    fn reads_rdmsr_dumps() {
        let d = parse_rdmsr(0x1fc, "1a00a40059\n0x1a00a40059\n\n").unwrap();
        assert_eq!(d.cpus.len(), 2);
        assert_eq!(
            d.cpus[&1].value().unwrap()["0x1fc"],
            Fact::Value(0x1a00a40059)
        );
        let e = parse_rdmsr(0x1fc, "1a\nrdmsr: CPU 1 cannot read MSR 0x000001fc\n").unwrap_err();
        assert!(e.0.contains("line 2"), "{}", e.0);
        assert!(parse_rdmsr(0x1fc, "").is_err());
        assert_eq!(parse_addr("0x1FC").unwrap(), 0x1fc);
        assert_eq!(parse_addr("e2").unwrap(), 0xe2);
        assert!(parse_addr("power").is_err());
    }

    #[test]
    fn merges_registers_per_cpu() {
        let mut a = parse_rdmsr(0x1fc, "1\n2\n").unwrap();
        merge(&mut a, parse_rdmsr(0xe2, "3\n").unwrap());
        assert_eq!(a.cpus[&0].value().unwrap().len(), 2);
        assert_eq!(a.cpus[&1].value().unwrap().len(), 1);
        assert_eq!(a.format, "rdmsr");
    }
}
