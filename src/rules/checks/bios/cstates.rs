//! bios.c1e and bios.c6 from the OS view: the matching cpuidle states on every CPU, whether
//! they are enabled, entered or held off by a PM QoS limit.

use super::idle_states::{matches_state, CState, IdleState};
use super::readers::{not_intel, persistent_cmdline_has, running_cmdline_value};
use crate::parse::cpulist;
use crate::rules::context::{Ctx, Got};
use crate::rules::facts::pm_qos::{self, QOS_NO_CONSTRAINT_US};
use crate::rules::facts::{cpuidle, platform, power};
use crate::rules::outcome::Outcome;
use std::collections::{BTreeMap, BTreeSet};

/// One state on one CPU.
enum Seen {
    Absent,
    Disabled {
        by_default: bool,
    },
    Entered,
    NotEntered,
    /// Enabled, but its exit latency exceeds the CPU's latency QoS limit: the governor never
    /// selects it while the request stands (`usage` may still count entries from before).
    HeldOff {
        limit: u64,
        latency: u64,
    },
    /// Entered since boot; whether a QoS request holds it off now could not be read.
    LimitUnknown(String),
    Unreadable(String),
}

impl Seen {
    /// How bad, for combining several matching states of one CPU.
    fn rank(&self) -> u8 {
        match self {
            Seen::Absent => 0,
            Seen::Disabled { by_default: true } => 1,
            Seen::Disabled { by_default: false } => 2,
            Seen::HeldOff { .. } => 3,
            Seen::NotEntered => 4,
            Seen::LimitUnknown(_) | Seen::Unreadable(_) => 5,
            Seen::Entered => 6,
        }
    }
}

/// What one enabled state does on `cpu`, given its usage and exit latency.
fn enabled_state(ctx: &Ctx, cpu: u32, state: &IdleState, per_cpu_recorded: bool) -> Seen {
    let usage = state.usage_count();
    let latency = state.latency_us();
    let by_usage = |usage: Option<u64>| match usage {
        Some(0) => Seen::NotEntered,
        Some(_) => Seen::Entered,
        None => Seen::Unreadable("usage".into()),
    };
    match (pm_qos::qos_limit(ctx, cpu, per_cpu_recorded), latency) {
        (Ok(Some(limit)), Some(latency)) if latency > limit => Seen::HeldOff { limit, latency },
        (Ok(Some(_)), None) => match usage {
            Some(0) => Seen::NotEntered,
            _ => Seen::Unreadable(format!("latency: {}", state.latency.why())),
        },
        (Ok(_), _) => by_usage(usage),
        (Err(e), _) => match usage {
            Some(0) => Seen::NotEntered,
            Some(_) => Seen::LimitUnknown(e),
            None => Seen::Unreadable("usage".into()),
        },
    }
}

/// The guide's C1E or C6 from the OS view: the worst matching cpuidle state decides per CPU,
/// and any CPU that can enter it fails the rule.
pub(super) fn cstate_rule(ctx: &Ctx, which: CState) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    let driver_got = cpuidle::driver(ctx);
    let driver = driver_got.val().map(str::trim);
    let label = match (which, driver) {
        (CState::C1e, _) => "C1E",
        (CState::C6, Some("acpi_idle")) => "C6 (ACPI C2/C3 under acpi_idle)",
        (CState::C6, _) => "C6",
    };
    let states = cpuidle::states(ctx);
    let idle_poll = ctx.host.cmdline.as_ref().and_then(|c| c.value("idle")) == Some("poll");
    let drv_ev = |o: Outcome| {
        o.ev(
            cpuidle::DRIVER,
            driver.map_or_else(|| driver_got.why(), str::to_string),
            "",
        )
    };
    if states.is_empty() {
        return vec![drv_ev(without_states(
            ctx,
            which,
            label,
            &driver_got,
            idle_poll,
        ))];
    }
    let (seen, matched_names) = seen_per_cpu(ctx, which, driver, &states);
    let t = Tally::of(seen);
    let pending_src = pending_removal(ctx, which, idle_poll);
    let n = states.len();
    let mut o = decide(ctx, which, label, driver, &t, n, pending_src.as_ref());
    let cpu_pm_vms = ctx.cpu_pm_vm_names();
    if which == CState::C6 && !cpu_pm_vms.is_empty() {
        o.message.push_str(&format!(
            "; note: VMs with -overcommit cpu-pm=on ({}) execute MWAIT themselves and can still reach C6 unless firmware blocks it, and disabling C6 removes the turbo headroom cpu-pm=on relies on",
            cpu_pm_vms.join(", ")
        ));
    }
    if which == CState::C1e && driver == Some("intel_idle") {
        o = o.ev(
            "MSR 0x1FC bit 1 (C1E auto-promotion)",
            "not read (intel_idle turns promotion off itself on Ice Lake-SP)",
            "0",
        );
    }
    let qos = match pm_qos::global(ctx) {
        Got::Val(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= QOS_NO_CONSTRAINT_US => format!("{n} (no request)"),
            _ => format!("{} µs", v.trim()),
        },
        other => other.why(),
    };
    let mut o = drv_ev(o)
        .ev(
            cpuidle::STATES_SOURCE,
            format!("{label}: {}", t.summary(&matched_names)),
            "absent or disabled on every CPU",
        )
        .ev(pm_qos::SOURCE, qos, "");
    if let Some(p) = pending_src {
        o = o.ev(p, "intel_idle.max_cstate / idle=poll set persistently", "");
    }
    vec![o]
}

/// No cpuidle state was recorded: idle=poll, no driver, or a copy that lacks them.
fn without_states(
    ctx: &Ctx,
    which: CState,
    label: &str,
    driver_got: &Got,
    idle_poll: bool,
) -> Outcome {
    let driver = driver_got.val().map(str::trim);
    // "No cpuidle" is a fact only where the CPU directory was seen without a cpuidle
    // directory: a --root tree or sosreport that lacks them says nothing about the host.
    let no_cpuidle = matches!(driver_got, Got::Absent)
        && platform::cpu_dir_seen(ctx) == Some(true)
        && cpuidle::cpuidle_dir_seen(ctx) == Some(false);
    match (driver, driver_got) {
        _ if idle_poll => Outcome::pass(
            "host",
            format!("idle=poll: the CPUs poll instead of entering C-states, so {label} is never entered"),
        ),
        (Some("none"), _) => none_driver(which, "the cpuidle driver is none"),
        (None, Got::Absent) if no_cpuidle => {
            none_driver(which, "no cpuidle driver (no cpuidle directory)")
        }
        (None, Got::Absent) => Outcome::unknown(
            "host",
            format!(
                "no cpuidle state or driver was recorded, and {} could not be seen, so this may be a copy without them rather than a kernel without cpuidle",
                if platform::cpu_dir_seen(ctx) == Some(true) { cpuidle::DIR } else { cpuidle::CPU_DIR }
            ),
        ),
        (Some(d), _) => Outcome::unknown(
            "host",
            format!("cpuidle driver {d} is registered but no idle state was recorded"),
        ),
        (None, g) => Outcome::unknown(
            "host",
            format!("the cpuidle states could not be read ({})", g.why()),
        ),
    }
}

/// What the matching states do on each CPU (every matching state counts — a part may have C6
/// and C6P — and the worst one decides), and the names of the states that matched.
fn seen_per_cpu<'a>(
    ctx: &Ctx,
    which: CState,
    driver: Option<&str>,
    states: &BTreeMap<u32, Vec<IdleState<'a>>>,
) -> (BTreeMap<u32, Seen>, BTreeSet<&'a str>) {
    let per_cpu_recorded = pm_qos::any_resume_latency(ctx);
    let mut seen: BTreeMap<u32, Seen> = BTreeMap::new();
    let mut matched_names: BTreeSet<&str> = BTreeSet::new();
    for (cpu, st) in states {
        let s = st
            .iter()
            .filter_map(|state| match matches_state(which, driver, state) {
                Some(true) => Some(Some(state)),
                Some(false) => None,
                None => Some(None),
            })
            .map(|state| {
                let Some(state) = state else {
                    return Seen::Unreadable(
                        "a state's name or description could not be read, so which state it is is unknown"
                            .into(),
                    );
                };
                matched_names.insert(state.name.unwrap_or("?"));
                one_state(ctx, *cpu, state, per_cpu_recorded)
            })
            .max_by_key(Seen::rank)
            .unwrap_or(Seen::Absent);
        seen.insert(*cpu, s);
    }
    (seen, matched_names)
}

/// One matching state on one CPU: disabled (by the OS or by default), or what it does enabled.
fn one_state(ctx: &Ctx, cpu: u32, state: &IdleState, per_cpu_recorded: bool) -> Seen {
    let disable = state.disable.val().map(str::trim);
    let default = state.default_status.val().map(str::trim);
    match (disable, default) {
        (Some("1"), d) => Seen::Disabled {
            by_default: d == Some("disabled"),
        },
        (Some("0"), _) => enabled_state(ctx, cpu, state, per_cpu_recorded),
        (None, Some("disabled")) => Seen::Disabled { by_default: true },
        _ => Seen::Unreadable(format!("disable: {}", state.disable.why())),
    }
}

/// The CPUs in each [`Seen`] class.
struct Tally {
    seen: BTreeMap<u32, Seen>,
    entered: BTreeSet<u32>,
    not_entered: BTreeSet<u32>,
    held_off: BTreeSet<u32>,
    limit_unknown: BTreeSet<u32>,
    unreadable: BTreeSet<u32>,
    os_disabled: BTreeSet<u32>,
    fw_disabled: BTreeSet<u32>,
    absent: BTreeSet<u32>,
    /// The tightest limit and the exit latency it holds off, for the message.
    held: Option<(u64, u64)>,
}

impl Tally {
    fn of(seen: BTreeMap<u32, Seen>) -> Self {
        let set = |f: &dyn Fn(&Seen) -> bool| -> BTreeSet<u32> {
            seen.iter().filter(|(_, s)| f(s)).map(|(c, _)| *c).collect()
        };
        let entered = set(&|s| matches!(s, Seen::Entered));
        let not_entered = set(&|s| matches!(s, Seen::NotEntered));
        let held_off = set(&|s| matches!(s, Seen::HeldOff { .. }));
        let limit_unknown = set(&|s| matches!(s, Seen::LimitUnknown(_)));
        let unreadable = set(&|s| matches!(s, Seen::Unreadable(_)));
        let os_disabled = set(&|s| matches!(s, Seen::Disabled { by_default: false }));
        let fw_disabled = set(&|s| matches!(s, Seen::Disabled { by_default: true }));
        let absent = set(&|s| matches!(s, Seen::Absent));
        let held = seen
            .values()
            .filter_map(|s| match s {
                Seen::HeldOff { limit, latency } => Some((*limit, *latency)),
                _ => None,
            })
            .max();
        Tally {
            seen,
            entered,
            not_entered,
            held_off,
            limit_unknown,
            unreadable,
            os_disabled,
            fw_disabled,
            absent,
            held,
        }
    }

    /// "enabled, usage > 0 on cpu 0-15; matched states C1E" for the evidence row.
    fn summary(&self, matched_names: &BTreeSet<&str>) -> String {
        let mut parts = Vec::new();
        let held_what = self
            .held
            .map(|(l, x)| {
                format!("enabled, held off by a PM QoS limit of {l} µs < exit latency {x} µs")
            })
            .unwrap_or_default();
        for (what, cpus) in [
            ("enabled, usage > 0", &self.entered),
            ("enabled, usage 0", &self.not_entered),
            (held_what.as_str(), &self.held_off),
            (
                "enabled, usage > 0, PM QoS limit unreadable",
                &self.limit_unknown,
            ),
            ("disabled (disable=1)", &self.os_disabled),
            (
                "disabled by default (firmware _CST / driver)",
                &self.fw_disabled,
            ),
            ("not offered", &self.absent),
            ("unreadable", &self.unreadable),
        ] {
            if !cpus.is_empty() {
                parts.push(format!("{what} on cpu {}", cpulist::format(cpus)));
            }
        }
        if !matched_names.is_empty() {
            parts.push(format!(
                "matched states {}",
                matched_names.iter().copied().collect::<Vec<_>>().join(", ")
            ));
        }
        parts.join("; ")
    }
}

/// A persistent setting that removes the state at the next boot.
fn pending_removal(ctx: &Ctx, which: CState, idle_poll: bool) -> Option<String> {
    if idle_poll {
        return None;
    }
    let max = match which {
        CState::C1e => ["1"].as_slice(),
        CState::C6 => ["1", "2"].as_slice(),
    };
    let running = running_cmdline_value(ctx, "intel_idle.max_cstate");
    max.iter()
        .filter(|v| running != Some(**v))
        .find_map(|v| persistent_cmdline_has(ctx, "intel_idle.max_cstate", Some(v)))
        .or_else(|| persistent_cmdline_has(ctx, "idle", Some("poll")))
}

/// The verdict over all CPUs: entered anywhere fails; unreadable is unknown; held off by a
/// PM QoS limit passes for C6 (a catalogue fix) and warns for C1E; not entered warns; else pass.
fn decide(
    ctx: &Ctx,
    which: CState,
    label: &str,
    driver: Option<&str>,
    t: &Tally,
    n: usize,
    pending_src: Option<&String>,
) -> Outcome {
    let one_sample = "one snapshot cannot show usage growing, so usage > 0 with the state enabled and allowed by the PM QoS limit is taken as entry";
    let acpi_c1e_unknown =
        which == CState::C1e && driver == Some("acpi_idle") && t.absent.len() == n;
    if !t.entered.is_empty() {
        Outcome::fail(
            "host",
            format!(
                "{label} is enabled and has been entered on {} of {n} CPUs ({one_sample}){}",
                t.entered.len(),
                pending_src
                    .map(|p| format!("; {p} removes it at the next boot"))
                    .unwrap_or_default()
            ),
        )
        .pending(pending_src.is_some())
    } else if !t.unreadable.is_empty() || !t.limit_unknown.is_empty() {
        unreadable(label, t)
    } else if acpi_c1e_unknown {
        Outcome::unknown(
            "host",
            format!("acpi_idle exposes no C1E state: C1E is then hardware auto-promotion of C1, which {C1E_MSR_ONLY} (root + msr module; not read)"),
        )
    } else if let (false, Some((limit, latency))) = (t.held_off.is_empty(), t.held) {
        held_off(ctx, which, label, limit, latency, t.held_off.len(), n)
    } else if !t.not_entered.is_empty() {
        Outcome::warn(
            "host",
            format!(
                "{label} is enabled on {} CPUs but was not entered since boot (a PM QoS latency request, e.g. tuned, may hold it off): disable the state so it cannot be entered",
                t.not_entered.len()
            ),
        )
    } else {
        let how = match (
            t.os_disabled.is_empty(),
            t.fw_disabled.is_empty(),
            t.absent.is_empty(),
        ) {
            (_, false, _) if t.os_disabled.is_empty() => {
                "disabled by default (missing from the firmware's _CST) or not offered"
            }
            (false, _, _) => "disabled in the OS (disable=1)",
            _ => "not offered by the idle driver",
        };
        Outcome::pass(
            "host",
            format!("no CPU can enter {label}: the state is {how} on all {n} CPUs"),
        )
    }
}

/// Some CPU's state, or the PM QoS limit that may hold an entered one off, is unreadable.
fn unreadable(label: &str, t: &Tally) -> Outcome {
    match t.seen.values().find_map(|s| match s {
        Seen::Unreadable(w) => Some(w.as_str()),
        _ => None,
    }) {
        Some(why) => Outcome::unknown(
            "host",
            format!(
                "the {label} state could not be read on cpu {} ({why})",
                cpulist::format(&t.unreadable)
            ),
        ),
        None => {
            let why = t
                .seen
                .values()
                .find_map(|s| match s {
                    Seen::LimitUnknown(w) => Some(w.as_str()),
                    _ => None,
                })
                .unwrap_or("?");
            Outcome::unknown(
                "host",
                format!(
                    "{label} is enabled and was entered since boot on cpu {}, but the CPU latency PM QoS limit that may hold it off now could not be read ({why})",
                    cpulist::format(&t.limit_unknown)
                ),
            )
        }
    }
}

/// The state is enabled but a PM QoS limit below its exit latency keeps the governor off it.
fn held_off(
    ctx: &Ctx,
    which: CState,
    label: &str,
    limit: u64,
    latency: u64,
    cpus: usize,
    n: usize,
) -> Outcome {
    let tuned = power::tuned_profile(ctx)
        .val()
        .map(str::trim)
        .map(|p| format!(" (tuned profile {p})"))
        .unwrap_or_default();
    let what = format!(
        "{label} is enabled, but the CPU latency PM QoS limit of {limit} µs{tuned} is below its exit latency of {latency} µs on {cpus} of {n} CPUs, so the idle governor does not select it while that request stands"
    );
    match which {
        // Catalogue bios.c6 lists a PM QoS latency request among the OS fixes.
        CState::C6 => Outcome::pass(
            "host",
            format!("{what} (a PM QoS request is one of the catalogue's OS fixes for C6; it lasts as long as its owner keeps /dev/cpu_dma_latency open)"),
        ),
        CState::C1e => Outcome::warn(
            "host",
            format!("{what}; the state itself stays enabled, so C1E returns when the request goes away: disable the state (or C1E in firmware)"),
        ),
    }
}

/// With no cpuidle driver the kernel idles with HLT (or polls).
fn none_driver(which: CState, why: &str) -> Outcome {
    match which {
        CState::C6 => Outcome::pass(
            "host",
            format!("{why}: the kernel idles with HLT, which never reaches core C6"),
        ),
        CState::C1e => Outcome::unknown(
            "host",
            format!("{why}: HLT may be promoted to C1E by hardware, which {C1E_MSR_ONLY} (root + msr module; not read)"),
        ),
    }
}

/// The words of a C1E finding that only MSR_POWER_CTL bit 1 can decide.
pub(super) const C1E_MSR_ONLY: &str = "only MSR 0x1FC bit 1 shows";

#[cfg(test)]
mod tests {
    use super::super::idle_states::{base_state_name, mwait_hint};
    use super::super::tests::{amd, msg, st};
    use crate::report::Profile::Throughput;
    use crate::rules::testkit::{findings, SnapBuilder};

    /// ICX cpuidle states on `n` CPUs: POLL, C1, C1E, C6 with (disable, default_status, usage)
    /// for C1E and C6; no PM QoS request (/dev/cpu_dma_latency at the kernel's default).
    fn idle(n: u32, c1e: (&str, &str, &str), c6: (&str, &str, &str)) -> SnapBuilder {
        idle_named(n, ["POLL", "C1", "C1E", "C6"], c1e, c6)
    }

    /// [`idle`] with other state names (older intel_idle tables: `C1E-SKX`, ...).
    fn idle_named(
        n: u32,
        names: [&str; 4],
        c1e: (&str, &str, &str),
        c6: (&str, &str, &str),
    ) -> SnapBuilder {
        let mut b = SnapBuilder::new()
            .icx("vmx")
            .file(
                "/sys/devices/system/cpu/cpuidle/current_driver",
                "intel_idle",
            )
            .file("/dev/cpu_dma_latency", "2000000000");
        for cpu in 0..n {
            for (i, (name, desc, latency, (dis, def, usage))) in [
                (
                    names[0],
                    "CPUIDLE CORE POLL IDLE",
                    "0",
                    ("0", "enabled", "10"),
                ),
                (names[1], "MWAIT 0x00", "1", ("0", "enabled", "100")),
                (names[2], "MWAIT 0x01", "4", c1e),
                (names[3], "MWAIT 0x20", "170", c6),
            ]
            .into_iter()
            .enumerate()
            {
                let base = format!("/sys/devices/system/cpu/cpu{cpu}/cpuidle/state{i}");
                b = b
                    .file(&format!("{base}/name"), name)
                    .file(&format!("{base}/desc"), desc)
                    .file(&format!("{base}/latency"), latency)
                    .file(&format!("{base}/disable"), dis)
                    .file(&format!("{base}/default_status"), def)
                    .file(&format!("{base}/usage"), usage);
            }
            b = b.file(
                &format!("/sys/devices/system/cpu/cpu{cpu}/power/pm_qos_resume_latency_us"),
                "0",
            );
        }
        b
    }

    /// tuned's latency profiles (latency-performance, network-latency, realtime-virtual-host,
    /// cpu-partitioning: `force_latency=cstate.id_no_zero:1|3`) hold /dev/cpu_dma_latency at
    /// C1's exit latency from boot on; C1E and C6 were entered before tuned started.
    #[test]
    fn c_states_held_off_by_pm_qos() {
        let s = idle(4, ("0", "enabled", "1843"), ("0", "enabled", "977"))
            .file("/dev/cpu_dma_latency", "1")
            .file("/etc/tuned/active_profile", "realtime-virtual-host")
            .build();
        let f = &findings(&s, Throughput, "bios.c1e")[0];
        assert_eq!(f.status.as_str(), "warn", "{}", f.message);
        assert!(f.message.contains("limit of 1 µs"), "{}", f.message);
        assert!(f.message.contains("realtime-virtual-host"), "{}", f.message);
        let f = &findings(&s, Throughput, "bios.c6")[0];
        assert_eq!(f.status.as_str(), "pass", "{}", f.message);
        assert!(
            f.message.contains("exit latency of 170 µs"),
            "{}",
            f.message
        );
        // tuned virtual-host: force_latency=cstate.id_no_zero:3 = C6's own 170 µs, which
        // holds off nothing: C1E and C6 stay selectable and were entered.
        let s = idle(4, ("0", "enabled", "1843"), ("0", "enabled", "977"))
            .file("/dev/cpu_dma_latency", "170")
            .build();
        assert_eq!(st(&s, "bios.c1e"), "fail");
        assert_eq!(st(&s, "bios.c6"), "fail");
        // A per-CPU resume latency of "n/a" (0 µs) on one CPU holds that CPU only.
        let s = idle(2, ("1", "enabled", "0"), ("0", "enabled", "977"))
            .file(
                "/sys/devices/system/cpu/cpu1/power/pm_qos_resume_latency_us",
                "n/a",
            )
            .build();
        let f = &findings(&s, Throughput, "bios.c6")[0];
        assert_eq!(f.status.as_str(), "fail", "{}", f.message);
        assert!(f.message.contains("1 of 2"), "{}", f.message);
        // The same CPU's file lost from the copy: its limit is unknown, the verdict too.
        let s = idle(2, ("1", "enabled", "0"), ("0", "enabled", "977"))
            .file("/dev/cpu_dma_latency", "1")
            .absent("/sys/devices/system/cpu/cpu1/power/pm_qos_resume_latency_us")
            .build();
        assert_eq!(st(&s, "bios.c6"), "unknown");
        // The limit unreadable (an unprivileged scan: the device is root-only): a state
        // entered since boot may be held off now, so unknown, never fail.
        let s = idle(2, ("0", "enabled", "1843"), ("1", "enabled", "0"))
            .denied("/dev/cpu_dma_latency")
            .build();
        let f = &findings(&s, Throughput, "bios.c1e")[0];
        assert_eq!(f.status.as_str(), "unknown", "{}", f.message);
        assert!(f.message.contains("permission denied"), "{}", f.message);
        // A copy without the device (an older sosreport) cannot tell either.
        let s = idle(2, ("0", "enabled", "1843"), ("1", "enabled", "0"))
            .absent("/dev/cpu_dma_latency")
            .build();
        assert_eq!(st(&s, "bios.c1e"), "unknown");
    }

    /// 4.x kernels name the Skylake/Cascade Lake table C1-SKX, C1E-SKX, C6-SKX; ACPI and
    /// other tables are recognised by the MWAIT hint in `desc`.
    #[test]
    fn c_states_matched_by_meaning() {
        let s = idle_named(
            2,
            ["POLL", "C1-SKX", "C1E-SKX", "C6-SKX"],
            ("0", "enabled", "1843"),
            ("0", "enabled", "977"),
        )
        .build();
        let f = &findings(&s, Throughput, "bios.c1e")[0];
        assert_eq!(f.status.as_str(), "fail", "{}", f.message);
        assert!(f
            .evidence
            .iter()
            .any(|e| e.observed.contains("matched states C1E-SKX")));
        assert_eq!(st(&s, "bios.c6"), "fail");
        // An unfamiliar name with the C1E MWAIT hint is still C1E; C1 (hint 0x00) is not.
        let s = idle_named(
            1,
            ["POLL", "C1-XYZ", "C1_ACPI", "C6-SPR"],
            ("0", "enabled", "5"),
            ("1", "enabled", "0"),
        )
        .build();
        assert_eq!(st(&s, "bios.c1e"), "fail");
        assert_eq!(st(&s, "bios.c6"), "pass");
        // Which state is C1E cannot be told: a state's name is missing, or an unusual name
        // comes without its description. Never "not offered".
        let s = idle(2, ("1", "enabled", "0"), ("1", "enabled", "0"))
            .absent("/sys/devices/system/cpu/cpu1/cpuidle/state2/name")
            .build();
        assert_eq!(
            st(&s, "bios.c1e"),
            "pass",
            "the description still says MWAIT 0x01"
        );
        let s = idle(2, ("1", "enabled", "0"), ("1", "enabled", "0"))
            .absent("/sys/devices/system/cpu/cpu1/cpuidle/state2/name")
            .absent("/sys/devices/system/cpu/cpu1/cpuidle/state2/desc")
            .build();
        assert_eq!(st(&s, "bios.c1e"), "unknown");
        let s = idle_named(
            1,
            ["POLL", "C1", "C1_ACPI", "C6"],
            ("0", "enabled", "5"),
            ("1", "enabled", "0"),
        )
        .absent("/sys/devices/system/cpu/cpu0/cpuidle/state2/desc")
        .build();
        assert_eq!(st(&s, "bios.c1e"), "unknown");
        assert_eq!(base_state_name("C1E-ICX"), "C1E");
        assert_eq!(base_state_name("C6"), "C6");
        assert_eq!(mwait_hint("ACPI FFH MWAIT 0x1"), Some(1));
        assert_eq!(mwait_hint("ACPI IOPORT 0x814"), None);
    }

    /// A tree without /sys/devices/system/cpu (a trimmed sosreport) is not a kernel without
    /// cpuidle; a live host whose cpu directory has no cpuidle directory is.
    #[test]
    fn c_states_without_cpuidle_need_the_parent() {
        let tree = SnapBuilder::new()
            .icx("vmx")
            .absent("/sys/devices/system/cpu/cpuidle/current_driver")
            .build();
        assert_eq!(st(&tree, "bios.c6"), "unknown");
        let no_cpuidle = SnapBuilder::new()
            .icx("vmx")
            .absent("/sys/devices/system/cpu/cpuidle/current_driver")
            .dir("/sys/devices/system/cpu", &["cpu0", "online"])
            .absent_dir("/sys/devices/system/cpu/cpuidle")
            .build();
        assert_eq!(st(&no_cpuidle, "bios.c6"), "pass");
    }

    #[test]
    fn c_states_disabled_pass() {
        let s = idle(4, ("1", "enabled", "1843"), ("1", "enabled", "977")).build();
        assert_eq!(st(&s, "bios.c1e"), "pass");
        assert_eq!(st(&s, "bios.c6"), "pass");
        let f = findings(&s, Throughput, "bios.c6");
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.observed == "C6: disabled (disable=1) on cpu 0-3; matched states C6"));
        // Firmware left C6 out of _CST: disabled by default.
        let s = idle(2, ("1", "enabled", "0"), ("1", "disabled", "0")).build();
        assert_eq!(st(&s, "bios.c6"), "pass");
        // cpu-pm=on VMs are named, the verdict stays.
        let s = idle(2, ("1", "enabled", "0"), ("1", "enabled", "5"))
            .vm(
                "qemu-system-x86_64 -name guest=rt -accel kvm -overcommit cpu-pm=on",
                &[],
            )
            .build();
        assert_eq!(st(&s, "bios.c6"), "pass");
        assert!(msg(&s, "bios.c6").contains("cpu-pm=on (rt)"));
    }

    #[test]
    fn c_states_entered_fail() {
        let s = idle(4, ("0", "enabled", "443110"), ("0", "enabled", "660190")).build();
        assert_eq!(st(&s, "bios.c1e"), "fail");
        assert_eq!(st(&s, "bios.c6"), "fail");
        assert!(msg(&s, "bios.c6").contains("usage > 0 with the state enabled"));
        // One CPU is enough.
        let s = idle(4, ("1", "enabled", "0"), ("1", "enabled", "0"))
            .file("/sys/devices/system/cpu/cpu3/cpuidle/state3/disable", "0")
            .file("/sys/devices/system/cpu/cpu3/cpuidle/state3/usage", "12")
            .file(
                "/etc/default/grub",
                "GRUB_CMDLINE_LINUX=\"intel_idle.max_cstate=1\"",
            )
            .build();
        let f = findings(&s, Throughput, "bios.c6");
        assert_eq!(f[0].status.as_str(), "fail");
        assert!(f[0].message.contains("1 of 4"), "{}", f[0].message);
        assert!(f[0].pending_reboot);
        assert_eq!(st(&s, "bios.c1e"), "pass");
    }

    #[test]
    fn every_matching_state_counts() {
        // A second C6-class state (C6P) still enabled and used fails the CPU.
        let s = idle(1, ("1", "enabled", "0"), ("1", "enabled", "0"))
            .file("/sys/devices/system/cpu/cpu0/cpuidle/state4/name", "C6P")
            .file("/sys/devices/system/cpu/cpu0/cpuidle/state4/disable", "0")
            .file("/sys/devices/system/cpu/cpu0/cpuidle/state4/usage", "7")
            .build();
        assert_eq!(st(&s, "bios.c6"), "fail");
        // acpi_idle: ACPI C2 is the C6-class state; C1E is not visible.
        let mut b = SnapBuilder::new()
            .icx("vmx")
            .file(
                "/sys/devices/system/cpu/cpuidle/current_driver",
                "acpi_idle",
            )
            .file("/dev/cpu_dma_latency", "2000000000");
        for (i, (name, usage)) in [("POLL", "1"), ("C1", "5"), ("C2", "9")]
            .into_iter()
            .enumerate()
        {
            let base = format!("/sys/devices/system/cpu/cpu0/cpuidle/state{i}");
            b = b
                .file(&format!("{base}/name"), name)
                .file(&format!("{base}/disable"), "0")
                .file(&format!("{base}/usage"), usage);
        }
        let s = b.build();
        assert_eq!(st(&s, "bios.c6"), "fail");
        assert!(msg(&s, "bios.c6").contains("ACPI C2/C3"));
        assert_eq!(st(&s, "bios.c1e"), "unknown");
    }

    #[test]
    fn c_states_other_outcomes() {
        let s = idle(2, ("0", "enabled", "0"), ("0", "enabled", "0")).build();
        assert_eq!(st(&s, "bios.c1e"), "warn");
        assert_eq!(st(&s, "bios.c6"), "warn");
        // No cpuidle driver: HLT only.
        let s = SnapBuilder::new()
            .icx("vmx")
            .file("/sys/devices/system/cpu/cpuidle/current_driver", "none")
            .build();
        assert_eq!(st(&s, "bios.c6"), "pass");
        assert_eq!(st(&s, "bios.c1e"), "unknown");
        let s = SnapBuilder::new()
            .icx("vmx")
            .file("/proc/cmdline", "ro idle=poll")
            .build();
        assert_eq!(st(&s, "bios.c1e"), "pass");
        let s = SnapBuilder::new()
            .icx("vmx")
            .denied("/sys/devices/system/cpu/cpuidle/current_driver")
            .build();
        assert_eq!(st(&s, "bios.c6"), "unknown");
        let s = idle(1, ("1", "enabled", "0"), ("1", "enabled", "0"))
            .denied("/sys/devices/system/cpu/cpu0/cpuidle/state3/disable")
            .denied("/sys/devices/system/cpu/cpu0/cpuidle/state3/default_status")
            .build();
        assert_eq!(st(&s, "bios.c6"), "unknown");
        assert_eq!(st(&amd().build(), "bios.c6"), "not_applicable");
    }
}
