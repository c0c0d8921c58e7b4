//! MSR decoding checked against turbostat's own decoding of the same values (the text it
//! prints in parentheses), and the `--msr` sources end to end: turbostat output, an rdmsr -a
//! dump, and the `dev/cpu/N/msr` files of the fixture hosts.

use kvmaudit::collect::{gather, Sources};
use kvmaudit::model::msr as mr;
use kvmaudit::parse::msr::turbostat_lines;
use kvmaudit::report::{Finding, Profile, Status};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// kvmaudit's decoding of one register value, in turbostat's words, or `None` for a register
/// turbostat decodes nothing of that kvmaudit reads.
fn agrees(addr: u32, v: u64, turbostat: &str) -> bool {
    let has = |w: &str| turbostat.split([' ', ',', ':', '(', ')']).any(|t| t == w);
    match addr {
        mr::POWER_CTL => turbostat.contains(if mr::c1e_promotion(v) {
            "C1E auto-promotion: ENabled"
        } else {
            "C1E auto-promotion: DISabled"
        }),
        mr::PKG_CST_CONFIG_CONTROL => {
            let limit = turbostat
                .split("pkg-cstate-limit=")
                .nth(1)
                .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse::<u32>().ok());
            limit == Some(mr::pkg_cstate_limit(v))
                && has(if mr::pkg_cst_locked(v) {
                    "locked"
                } else {
                    "UNlocked"
                })
        }
        mr::MISC_ENABLE => {
            has(if mr::eist_enabled(v) {
                "EIST"
            } else {
                "No-EIST"
            }) && has(if mr::turbo_disabled(v) {
                "No-TURBO"
            } else {
                "TURBO"
            })
        }
        mr::MISC_PWR_MGMT => {
            has(if mr::eist_coordination_disabled(v) {
                "DISable-EIST_Coordination"
            } else {
                "ENable-EIST_Coordination"
            }) && has(if mr::epb_enable(v) {
                "ENable-EPB"
            } else {
                "DISable-EPB"
            }) && has(if mr::oob_mode(v) {
                "ENable-OOB"
            } else {
                "DISable-OOB"
            })
        }
        mr::ENERGY_PERF_BIAS => match mr::epb(v) {
            0 => has("performance"),
            6 => has("balanced"),
            15 => has("powersave"),
            _ => has("custom"),
        },
        mr::PM_ENABLE => has(if mr::hwp_enabled(v) { "HWP" } else { "No-HWP" }),
        mr::HWP_CAPABILITIES => {
            let [h, g, e, l] = mr::hwp_caps(v);
            turbostat.contains(&format!("high {h} guar {g} eff {e} low {l}"))
        }
        mr::FEATURE_CONTROL => has("Locked") == mr::feature_control_locked(v),
        _ => false,
    }
}

#[test]
fn decoding_matches_turbostat_on_its_manual_page_output() {
    let text = std::fs::read_to_string(fixture("fixtures/msr/turbostat-8-haswell.txt")).unwrap();
    let lines = turbostat_lines(&text);
    let addrs: Vec<u32> = lines.iter().map(|l| l.addr).collect();
    assert_eq!(
        addrs,
        [
            mr::MISC_ENABLE,
            mr::MISC_PWR_MGMT,
            mr::POWER_CTL,
            mr::PKG_CST_CONFIG_CONTROL,
            mr::ENERGY_PERF_BIAS
        ],
        "every register kvmaudit reads that this output carries"
    );
    for l in &lines {
        assert!(agrees(l.addr, l.value, &l.decoded), "{l:?}");
    }
    // The test would catch a wrong bit: flip each value's decisive bits and it disagrees.
    assert!(!agrees(
        mr::POWER_CTL,
        0x0004005d | 2,
        "C1E auto-promotion: DISabled"
    ));
    assert!(!agrees(
        mr::MISC_ENABLE,
        0x00850089 & !(1 << 16),
        "TCC EIST No-MWAIT PREFETCH TURBO"
    ));
    assert!(!agrees(
        mr::MISC_ENABLE,
        0x00850089 | 1 << 38,
        "TCC EIST No-MWAIT PREFETCH TURBO"
    ));
}

#[test]
fn decoding_matches_turbostat_lines_of_other_formats() {
    // Line shapes of newer turbostat versions (HWP, the sysfs EPB line, "locked," with the limit
    // name in parentheses), with values decoded by hand from the SDM.
    for (line, addr) in [
        ("cpu0: MSR_PM_ENABLE: 0x00000001 (HWP)", mr::PM_ENABLE),
        ("cpu0: MSR_PM_ENABLE: 0x00000000 (No-HWP)", mr::PM_ENABLE),
        ("cpu0: MSR_HWP_CAPABILITIES: 0x011a203d (high 61 guar 32 eff 26 low 1)", mr::HWP_CAPABILITIES),
        ("cpu0: EPB: 6 (balanced)", mr::ENERGY_PERF_BIAS),
        ("cpu0: MSR_PKG_CST_CONFIG_CONTROL: 0x74008008 (UNdemote-C1, demote-C1, locked, pkg-cstate-limit=8 (unlimited))", mr::PKG_CST_CONFIG_CONTROL),
        ("cpu0: MSR_IA32_FEATURE_CONTROL: 0x00040005 (Locked SGX)", mr::FEATURE_CONTROL),
        ("cpu0: MSR_MISC_PWR_MGMT: 0x00000100 (ENable-EIST_Coordination DISable-EPB ENable-OOB)", mr::MISC_PWR_MGMT),
    ] {
        let l = turbostat_lines(line);
        assert_eq!(l.len(), 1, "{line}");
        assert_eq!(l[0].addr, addr);
        assert!(agrees(l[0].addr, l[0].value, &l[0].decoded), "{line}");
    }
}

fn scan(src: Sources) -> Vec<Finding> {
    let snap = gather(&src).expect("collect");
    kvmaudit::rules::evaluate(&snap, Profile::Throughput, &[], "2026-01-01").results
}

fn host(findings: &[Finding], rule: &str) -> (Status, String) {
    let f = findings
        .iter()
        .find(|f| f.rule == rule && f.target == "host")
        .unwrap_or_else(|| panic!("no {rule} finding"));
    (f.status, f.message.clone())
}

#[test]
fn fixture_trees_carry_msrs_and_decide_eet() {
    let tuned = scan(Sources {
        root: Some(fixture("fixtures/hosts/icx-tuned")),
        ..Default::default()
    });
    assert_eq!(host(&tuned, "bios.eet").0, Status::Pass);
    let (c6, msg) = host(&tuned, "bios.c6");
    assert_eq!(c6, Status::Pass);
    assert!(msg.contains("package C-state limit 0"), "{msg}");
    let untuned = scan(Sources {
        root: Some(fixture("fixtures/hosts/icx-untuned")),
        ..Default::default()
    });
    let (eet, msg) = host(&untuned, "bios.eet");
    assert_eq!(eet, Status::Fail);
    assert!(msg.contains("cpu0-15"), "{msg}");
    let (hwp, msg) = host(&untuned, "bios.hwp-native");
    assert_eq!(hwp, Status::Fail);
    assert!(msg.contains("IA32_PM_ENABLE bit 0 is clear"), "{msg}");
}

#[test]
fn msr_files_replace_the_tree_registers() {
    let rdmsr = fixture("fixtures/msr/rdmsr-a-0x1fc.txt");
    // Without the register an rdmsr dump is refused with the way to name it.
    let err = gather(&Sources {
        root: Some(fixture("fixtures/hosts/icx-tuned")),
        msr: vec![rdmsr.display().to_string()],
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("--msr 0x1fc=FILE"), "{err}");
    let f = scan(Sources {
        root: Some(fixture("fixtures/hosts/icx-tuned")),
        msr: vec![format!("0x1fc={}", rdmsr.display())],
        ..Default::default()
    });
    let (eet, msg) = host(&f, "bios.eet");
    assert_eq!(eet, Status::Fail);
    assert!(msg.contains("cpu0-1,3"), "{msg}");
    // turbostat output: EPB 6 from MSR 0x1B0 agrees with the tree's sysfs? The tree has 0:
    // the finding says the two disagree.
    let f = scan(Sources {
        root: Some(fixture("fixtures/hosts/icx-tuned")),
        msr: vec![fixture("fixtures/msr/turbostat-8-haswell.txt")
            .display()
            .to_string()],
        ..Default::default()
    });
    let (_, msg) = host(&f, "bios.power-policy");
    assert!(
        msg.contains("MSR 0x1B0 and sysfs energy_perf_bias disagree on cpu0"),
        "{msg}"
    );
}
