//! Fix builders for CPU frequency and power policy (guide §2.1 and the BIOS power settings
//! the OS can reach: EPB/EPP, turbo).

use super::kit::*;
use super::Input;
use crate::fix::quote;
use crate::fix::step::ReadMode;

pub(super) fn governor(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate, f) = (x.rule, x.gate, x.f);
    let govs = f.files_like("/sys/devices/system/cpu/cpufreq/policy*/scaling_governor");
    let govs = usable(rp, rule, govs);
    if govs.is_empty() {
        return Err(no_facts(f, "cpufreq policies"));
    }
    for (p, _) in govs {
        let dir = p.rsplit_once('/').map(|(d, _)| d).unwrap_or(p);
        let avail = f.text(&format!("{dir}/scaling_available_governors"));
        if avail.is_some_and(|a| !a.split_whitespace().any(|g| g == "performance")) {
            rp.notes.push(format!(
                "{rule}: {} offers no `performance` governor; left alone",
                quote::comment(dir)
            ));
            continue;
        }
        rp.sysfs(rule, gate, p, "performance", ReadMode::Plain);
    }
    Ok(())
}

pub(super) fn power_policy(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate, f) = (x.rule, x.gate, x.f);
    let epb = f.files_like("/sys/devices/system/cpu/cpu*/power/energy_perf_bias");
    for (p, _) in usable(rp, rule, epb) {
        rp.sysfs(rule, gate, p, "0", ReadMode::Plain);
    }
    let epp = f.files_like("/sys/devices/system/cpu/cpufreq/policy*/energy_performance_preference");
    for (p, _) in usable(rp, rule, epp) {
        rp.sysfs(rule, gate, p, "performance", ReadMode::Plain);
    }
    if rp.steps.is_empty() {
        return Err(format!(
            "{}; the firmware part (CPU Power and Performance Policy) is set in BIOS setup",
            no_facts(f, "EPB or EPP attributes")
        ));
    }
    Ok(())
}

pub(super) fn turbo(rp: &mut RulePlan, x: &Input) -> Result<(), String> {
    let (rule, gate, f) = (x.rule, x.gate, x.f);
    if f.cpu_flag("ida") == Some(false) {
        return Err("turbo is disabled in firmware (no `ida` CPU flag): enable Intel Turbo Boost Technology in BIOS setup".into());
    }
    let no_turbo = "/sys/devices/system/cpu/intel_pstate/no_turbo";
    let boost = "/sys/devices/system/cpu/cpufreq/boost";
    if f.text(no_turbo).is_some_and(|v| v != "0") {
        rp.sysfs(rule, gate, no_turbo, "0", ReadMode::Plain);
    } else if f.text(boost).is_some_and(|v| v != "1") {
        rp.sysfs(rule, gate, boost, "1", ReadMode::Plain);
    }
    // Frequency caps below the hardware maximum.
    let caps = f.files_like("/sys/devices/system/cpu/cpufreq/policy*/scaling_max_freq");
    for (p, v) in usable(rp, rule, caps) {
        let dir = p.rsplit_once('/').map(|(d, _)| d).unwrap_or(p);
        let max = f.text(&format!("{dir}/cpuinfo_max_freq"));
        if let (Ok(cur), Some(Ok(max))) = (v.parse::<u64>(), max.map(str::parse::<u64>)) {
            if cur < max {
                rp.sysfs(rule, gate, p, &max.to_string(), ReadMode::Plain);
            }
        }
    }
    if rp.steps.is_empty() {
        return Err(if f.from_report {
            no_facts(f, "the turbo switch (intel_pstate/no_turbo, cpufreq/boost)")
        } else {
            "the OS turbo switch and frequency caps already allow turbo; the rest is firmware (Intel Turbo Boost Technology in BIOS setup)".into()
        });
    }
    Ok(())
}
