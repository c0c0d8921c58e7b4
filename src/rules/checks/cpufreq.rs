//! CPU frequency scaling (guide §3.2.2): the governor of every cpufreq policy, read with the
//! semantics of the driver that owns it (intel_pstate active, passive = intel_cpufreq,
//! acpi-cpufreq). The policies and the persistent governor settings are facts
//! ([`crate::rules::facts::cpufreq`]).

use super::{Check, CheckFn};
use crate::rules::context::{Ctx, Got};
use crate::rules::facts::cpufreq::{
    grouped, persistent_performance, policies, pstate_status, pstate_status_got, Policies, Policy,
    CPUFREQ, PSTATE_STATUS,
};
use crate::rules::facts::persistent::TUNED_ACTIVE;
use crate::rules::outcome::Outcome;

pub const CHECKS: &[(&str, CheckFn)] = &[("host.cpufreq.governor", Check::host(governor))];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    Pass,
    Warn,
    Unknown,
    Fail,
}

/// Governor `performance` on every policy. With intel_pstate in active mode only its own
/// `performance` and `powersave` exist; `powersave` with HWP and EPP `performance` is close
/// (warn); everything else fails.
fn governor(ctx: &Ctx) -> Vec<Outcome> {
    let list = match policies(ctx) {
        Policies::NoDriver => {
            return vec![Outcome::na(
                "host",
                "no cpufreq driver is registered (a VM, or P-states under firmware out-of-band control: see bios.hwp-native); there is no OS governor to set",
            )
            .ev(CPUFREQ, "no policy* directories", "")]
        }
        Policies::Unreadable(why) => {
            return vec![Outcome::unknown(
                "host",
                format!("the cpufreq policies could not be read ({why})"),
            )
            .ev(CPUFREQ, why, "performance on every policy")]
        }
        Policies::List(l) => l,
    };
    let status = pstate_status(ctx);
    let (verdicts, rows) = per_policy(ctx, &list, status);
    let worst = verdicts.iter().copied().max().unwrap_or(Verdict::Unknown);
    let summary = grouped(rows);
    let pending = persistent_performance(ctx);
    let n_bad = verdicts.iter().filter(|v| **v != Verdict::Pass).count();
    let o = judge(&list, status, worst, n_bad, &summary, &pending);
    vec![evidence(ctx, o, summary, status, pending)]
}

/// Each policy's verdict and its evidence row ("performance under intel_pstate, EPP ...").
fn per_policy(
    ctx: &Ctx,
    list: &[Policy],
    status: Option<&str>,
) -> (Vec<Verdict>, Vec<(String, u32)>) {
    let hwp = ctx.host.cpu.hwp;
    let mut verdicts = Vec::new();
    let mut rows = Vec::new();
    for p in list {
        let driver = p.driver.val().unwrap_or("?");
        let v = match p.governor {
            Got::Val(g) => match g.trim() {
                "performance" => Verdict::Pass,
                "powersave"
                    if driver == "intel_pstate"
                        && status.map_or(true, |s| s == "active")
                        && (hwp == Some(true) || p.epp.val().is_some())
                        && p.epp.val().map(str::trim) == Some("performance") =>
                {
                    Verdict::Warn
                }
                _ => Verdict::Fail,
            },
            _ => Verdict::Unknown,
        };
        verdicts.push(v);
        let epp = match p.epp {
            Got::Val(e) => format!(", EPP {}", e.trim()),
            _ => String::new(),
        };
        rows.push((
            format!(
                "{} under {driver}{epp}",
                p.governor
                    .val()
                    .map_or_else(|| p.governor.why(), |g| g.trim().to_string())
            ),
            p.id,
        ));
    }
    (verdicts, rows)
}

/// The verdict over all policies, with the persistent settings that fix a failure.
fn judge(
    list: &[Policy],
    status: Option<&str>,
    worst: Verdict,
    n_bad: usize,
    summary: &str,
    pending: &[(String, String)],
) -> Outcome {
    let mode = match status {
        Some(s) => format!("intel_pstate {s}"),
        None => "no intel_pstate".into(),
    };
    match worst {
        Verdict::Pass => Outcome::pass(
            "host",
            format!("governor performance on all {} policies ({mode})", list.len()),
        ),
        Verdict::Warn => Outcome::warn(
            "host",
            format!(
                "intel_pstate (active, HWP) runs its own 'powersave' algorithm with EPP performance on {n_bad} of {} policies: dynamic but close to performance; select performance to pin it",
                list.len()
            ),
        ),
        Verdict::Unknown => Outcome::unknown(
            "host",
            format!(
                "the governor of {n_bad} of {} policies could not be read; the readable ones are performance",
                list.len()
            ),
        ),
        Verdict::Fail => {
            let generic = list.iter().any(|p| {
                matches!(p.driver.val(), Some("acpi-cpufreq" | "intel_cpufreq"))
            });
            let hint = if generic {
                "generic cpufreq governors (acpi-cpufreq or intel_pstate passive) scale the frequency down on idle"
            } else {
                "intel_pstate's powersave lowers the frequency whenever load drops"
            };
            Outcome::fail(
                "host",
                format!(
                    "{n_bad} of {} policies do not use the performance governor: {summary}; {hint}{}",
                    list.len(),
                    if pending.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; {} already selects performance and takes effect at the next boot (or service restart)",
                            pending
                                .iter()
                                .map(|(p, _)| p.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                ),
            )
            .pending(!pending.is_empty())
        }
    }
}

/// The evidence rows: the governors, intel_pstate, the persistent settings and tuned.
fn evidence(
    ctx: &Ctx,
    o: Outcome,
    summary: String,
    status: Option<&str>,
    pending: Vec<(String, String)>,
) -> Outcome {
    let mut o = o
        .ev(
            format!("{CPUFREQ}/policy*/scaling_governor"),
            summary,
            "performance on every policy",
        )
        .ev(
            PSTATE_STATUS,
            status.map_or_else(|| pstate_status_got(ctx).why(), str::to_string),
            "",
        );
    for (path, line) in pending {
        o = o.ev(path, line, "");
    }
    if let Some(t) = ctx.persistent.tuned_profile.as_deref() {
        o = o.ev(TUNED_ACTIVE, t, "");
    }
    o
}

#[cfg(test)]
mod tests {
    use crate::report::Profile::Throughput;
    use crate::rules::testkit::{findings, status, SnapBuilder};

    const CF: &str = "/sys/devices/system/cpu/cpufreq";

    fn host(driver: &str, gov: &str, epp: Option<&str>, n: u32) -> SnapBuilder {
        let names: Vec<String> = (0..n).map(|i| format!("policy{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut b = SnapBuilder::new().icx("").dir(CF, &refs);
        for i in 0..n {
            b = b
                .file(&format!("{CF}/policy{i}/scaling_driver"), driver)
                .file(&format!("{CF}/policy{i}/scaling_governor"), gov);
            if let Some(e) = epp {
                b = b.file(&format!("{CF}/policy{i}/energy_performance_preference"), e);
            }
        }
        b
    }

    #[test]
    fn performance_everywhere_passes() {
        let s = host("intel_pstate", "performance", Some("performance"), 4)
            .file("/sys/devices/system/cpu/intel_pstate/status", "active")
            .build();
        assert_eq!(
            status(&s, Throughput, "host.cpufreq.governor", "host"),
            "pass"
        );
        let s = host("acpi-cpufreq", "performance", None, 2).build();
        assert_eq!(
            status(&s, Throughput, "host.cpufreq.governor", "host"),
            "pass"
        );
    }

    #[test]
    fn powersave_semantics_depend_on_driver_and_epp() {
        let active = |epp| {
            host("intel_pstate", "powersave", Some(epp), 2)
                .file("/sys/devices/system/cpu/intel_pstate/status", "active")
                .build()
        };
        assert_eq!(
            status(
                &active("performance"),
                Throughput,
                "host.cpufreq.governor",
                "host"
            ),
            "warn"
        );
        assert_eq!(
            status(
                &active("balance_performance"),
                Throughput,
                "host.cpufreq.governor",
                "host"
            ),
            "fail"
        );
        let s = host("intel_cpufreq", "schedutil", None, 2)
            .file("/sys/devices/system/cpu/intel_pstate/status", "passive")
            .build();
        let f = findings(&s, Throughput, "host.cpufreq.governor");
        assert_eq!(f[0].status.as_str(), "fail");
        assert!(
            f[0].message
                .contains("schedutil under intel_cpufreq (policies 0-1)"),
            "{}",
            f[0].message
        );
        assert!(!f[0].pending_reboot);
    }

    #[test]
    fn one_bad_policy_fails_and_pending_config_is_noted() {
        let s = host("acpi-cpufreq", "performance", None, 3)
            .file(&format!("{CF}/policy2/scaling_governor"), "ondemand")
            .file(
                "/etc/default/grub",
                "GRUB_CMDLINE_LINUX=\"quiet cpufreq.default_governor=performance\"",
            )
            .build();
        let f = findings(&s, Throughput, "host.cpufreq.governor");
        assert_eq!(f[0].status.as_str(), "fail");
        assert!(f[0].pending_reboot);
        assert!(f[0].message.contains("1 of 3"), "{}", f[0].message);
    }

    #[test]
    fn no_driver_or_unreadable() {
        let vm = SnapBuilder::new().icx("").absent(CF).build();
        // An absent file fact is not a directory listing; record the listing as absent too.
        let mut vm = vm;
        vm.dirs.insert(
            CF.into(),
            crate::snapshot::Fact::Error(crate::snapshot::ReadError::new(
                crate::snapshot::ReadErrorKind::Absent,
                "",
            )),
        );
        assert_eq!(
            status(&vm, Throughput, "host.cpufreq.governor", "host"),
            "not_applicable"
        );
        let empty = SnapBuilder::new().dir(CF, &["boost"]).build();
        assert_eq!(
            status(&empty, Throughput, "host.cpufreq.governor", "host"),
            "not_applicable"
        );
        let denied = SnapBuilder::new().dir_denied(CF).build();
        assert_eq!(
            status(&denied, Throughput, "host.cpufreq.governor", "host"),
            "unknown"
        );
        let s = host("intel_pstate", "performance", None, 2)
            .denied(&format!("{CF}/policy1/scaling_governor"))
            .build();
        assert_eq!(
            status(&s, Throughput, "host.cpufreq.governor", "host"),
            "unknown"
        );
    }
}
