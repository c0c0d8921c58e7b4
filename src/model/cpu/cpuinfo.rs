//! [`CpuModel`] from `/proc/cpuinfo`: the first processor block only, read by hand because
//! procfs's `CpuInfo` keeps every block as strings and gives nothing we do not do in a few lines.
//!
//! The `flags` line shows what the kernel *uses*: it clears `vmx` when firmware locked VT-x off,
//! and pre-5.8 kernels list a few VMX sub-features (`ept`, `vpid`) among the flags instead of a
//! separate "vmx flags" line — those are not turned into `vmx_flags`, which would look complete.

use super::{codename_of, CpuModel, VENDOR_AMD};
use crate::error::ParseError;
use std::collections::HashSet;

/// Keys of the first block, in file order.
type Block<'a> = Vec<(&'a str, &'a str)>;

pub(super) fn parse(text: &str) -> Result<CpuModel, ParseError> {
    let block = first_block(text);
    let known = ["vendor_id", "cpu family", "model", "flags"];
    if !block.iter().any(|(k, _)| known.contains(k)) {
        return Err(ParseError::new(
            "no processor block found (expected vendor_id, cpu family, model or flags lines)",
        ));
    }
    let mut m = CpuModel {
        source: "cpuinfo".to_string(),
        ..CpuModel::default()
    };
    let get = |key: &str| block.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    m.vendor = get("vendor_id")
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    m.family = number(get("cpu family"), "cpu family", &mut m.notes);
    m.model = number(get("model"), "model", &mut m.notes);
    m.stepping = number(get("stepping"), "stepping", &mut m.notes);
    m.brand = get("model name")
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    match get("flags") {
        Some(flags) => apply_flags(&mut m, &flags.split_whitespace().collect()),
        None => m
            .notes
            .push("/proc/cpuinfo has no flags line: CPU features unknown".into()),
    }
    m.vmx_flags = get("vmx flags").map(|v| v.split_whitespace().map(str::to_string).collect());
    m.codename = codename_of(&m);
    Ok(m)
}

/// `key : value` pairs up to the end of the first block: a blank line after some keys, or a
/// second `processor` line.
fn first_block(text: &str) -> Block<'_> {
    let mut block = Block::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            if line.trim().is_empty() && !block.is_empty() {
                break;
            }
            continue;
        };
        let key = key.trim();
        if key == "processor" && block.iter().any(|(k, _)| *k == "processor") {
            break;
        }
        block.push((key, value.trim()));
    }
    block
}

/// A decimal field; a value such as "unknown" becomes `None` with a note.
fn number(value: Option<&str>, key: &str, notes: &mut Vec<String>) -> Option<u32> {
    let v = value?;
    let n = v.parse().ok();
    if n.is_none() {
        notes.push(format!("/proc/cpuinfo {key} `{v}` is not a number"));
    }
    n
}

fn apply_flags(m: &mut CpuModel, flags: &HashSet<&str>) {
    let has = |f: &str| Some(flags.contains(f));
    m.vmx = has("vmx");
    m.svm = has("svm");
    m.hypervisor = has("hypervisor");
    m.est = has("est");
    // Linux names Intel's turbo "ida" and AMD's core performance boost "cpb".
    m.turbo = if m.vendor.as_deref() == Some(VENDOR_AMD) {
        has("cpb")
    } else {
        has("ida")
    };
    m.hwp = has("hwp");
    m.hwp_epp = has("hwp_epp");
    m.epb = has("epb");
    m.pdpe1gb = has("pdpe1gb");
}

#[cfg(test)]
mod tests {
    use super::*;

    const ICX: &str = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 106\n\
        model name\t: Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz\nstepping\t: 6\n\
        flags\t\t: fpu vmx est pdpe1gb ida arat hwp hwp_epp epb\n\
        vmx flags\t: vnmi preemption_timer posted_intr invvpid ept_x_only ept_ad ept_1gb flexpriority apicv tsc_offset vtpr mtf vapic ept vpid unrestricted_guest vapic_reg vid ple shadow_vmcs pml ept_mode_based_exec tsc_scaling\n\
        \n\
        processor\t: 1\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n";

    #[test]
    fn first_block_of_an_ice_lake_host() {
        let m = CpuModel::from_cpuinfo(ICX).unwrap();
        assert_eq!(m.source, "cpuinfo");
        assert!(m.is_intel());
        assert_eq!(
            (m.family, m.model, m.stepping),
            (Some(6), Some(106), Some(6))
        );
        assert_eq!(m.codename.as_deref(), Some("Ice Lake-SP"));
        assert_eq!(
            m.brand.as_deref(),
            Some("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz")
        );
        assert_eq!(
            (m.vmx, m.svm, m.hypervisor),
            (Some(true), Some(false), Some(false))
        );
        assert_eq!(
            (m.turbo, m.hwp, m.hwp_epp, m.epb),
            (Some(true), Some(true), Some(true), Some(true))
        );
        let vf = m.vmx_flags.unwrap();
        assert!(vf.iter().any(|f| f == "ple") && vf.iter().any(|f| f == "posted_intr"));
        assert_eq!(
            m.threads_per_core, None,
            "topology comes from sysfs, not cpuinfo"
        );
    }

    #[test]
    fn second_processor_line_ends_block_without_blank_line() {
        let text = "processor : 0\nvendor_id : AuthenticAMD\ncpu family : 25\nmodel : 1\nstepping : 1\nflags : svm cpb\nprocessor : 1\nmodel : 17\n";
        let m = CpuModel::from_cpuinfo(text).unwrap();
        assert_eq!(m.model, Some(1));
        assert_eq!(m.codename.as_deref(), Some("Milan (Zen 3)"));
        assert_eq!(
            (m.svm, m.turbo, m.vmx_flags.clone()),
            (Some(true), Some(true), None)
        );
    }

    #[test]
    fn odd_values_are_notes_and_missing_flags_unknown() {
        let m = CpuModel::from_cpuinfo("vendor_id : GenuineIntel\nstepping : unknown\n").unwrap();
        assert_eq!(m.stepping, None);
        assert_eq!(m.vmx, None);
        assert!(m.notes.iter().any(|n| n.contains("stepping `unknown`")));
        assert!(m.notes.iter().any(|n| n.contains("no flags line")));
    }

    #[test]
    fn text_without_a_processor_block_is_an_error() {
        assert!(CpuModel::from_cpuinfo("").is_err());
        assert!(CpuModel::from_cpuinfo("MemTotal: 1 kB\n").is_err());
    }
}
