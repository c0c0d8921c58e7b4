//! cpuidle as sysfs shows it: the registered driver and every state of every CPU with the
//! values the C-state rules judge (name, description, disable, default status, usage, exit
//! latency), each with its `Got` so a rule can say why a value is missing. bios.c1e and
//! bios.c6 read the same states, so they are listed once per scan.

use crate::rules::context::{Ctx, Got};
use std::collections::BTreeMap;

pub(crate) use super::platform::CPU_DIR;
pub(crate) const DRIVER: &str = "/sys/devices/system/cpu/cpuidle/current_driver";
pub(crate) const DIR: &str = "/sys/devices/system/cpu/cpuidle";
/// What the per-CPU state evidence row names as its source.
pub(crate) const STATES_SOURCE: &str =
    "/sys/devices/system/cpu/cpu*/cpuidle/state*/{name,desc,disable,default_status,usage,latency}";

/// One cpuidle state of one CPU, as sysfs names and describes it.
#[derive(Clone)]
pub(crate) struct IdleState<'a> {
    pub idx: u32,
    /// `None` when the state's files are there but its name could not be read.
    pub name: Option<&'a str>,
    pub desc: Option<&'a str>,
    /// `disable`, `default_status`, `usage`, `latency` as read (untrimmed `Got`).
    pub disable: Got<'a>,
    pub default_status: Got<'a>,
    pub usage: Got<'a>,
    pub latency: Got<'a>,
}

impl IdleState<'_> {
    /// `usage` as a number (`None` when missing or not a number).
    pub fn usage_count(&self) -> Option<u64> {
        self.usage.val().map(str::trim).and_then(|u| u.parse().ok())
    }
    /// Exit latency in µs (`None` when missing or not a number).
    pub fn latency_us(&self) -> Option<u64> {
        self.latency
            .val()
            .map(str::trim)
            .and_then(|u| u.parse().ok())
    }
}

/// cpuidle states per CPU: cpu → states in index order; read once per scan.
pub(crate) fn states<'a>(ctx: &Ctx<'a>) -> BTreeMap<u32, Vec<IdleState<'a>>> {
    ctx.cache.cpuidle.get_or_init(|| read_states(ctx)).clone()
}

fn read_states<'a>(ctx: &Ctx<'a>) -> BTreeMap<u32, Vec<IdleState<'a>>> {
    let prefix = format!("{CPU_DIR}/cpu");
    let mut out: BTreeMap<u32, Vec<IdleState>> = BTreeMap::new();
    for (k, _) in ctx
        .snap
        .files
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
    {
        let rest = &k[prefix.len()..];
        let mut parts = rest.split('/');
        // Any file of a state makes it a state: one whose name went missing must not vanish.
        let (Some(cpu), Some("cpuidle"), Some(state), Some(_), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            continue;
        };
        let (Ok(cpu), Some(Ok(idx))) = (
            cpu.parse::<u32>(),
            state.strip_prefix("state").map(str::parse::<u32>),
        ) else {
            continue;
        };
        let states = out.entry(cpu).or_default();
        if states.iter().any(|s| s.idx == idx) {
            continue;
        }
        let base = format!("{CPU_DIR}/cpu{cpu}/cpuidle/state{idx}");
        let get = |f: &str| ctx.get(&format!("{base}/{f}"));
        states.push(IdleState {
            idx,
            name: get("name").val().map(str::trim),
            desc: get("desc").val().map(str::trim),
            disable: get("disable"),
            default_status: get("default_status"),
            usage: get("usage"),
            latency: get("latency"),
        });
    }
    for states in out.values_mut() {
        states.sort_by_key(|s| s.idx);
    }
    // Only CPUs with at least one named state count as having cpuidle states.
    out.retain(|_, v| v.iter().any(|s| s.name.is_some()));
    out
}

/// The registered cpuidle driver file.
pub(crate) fn driver<'a>(ctx: &Ctx<'a>) -> Got<'a> {
    ctx.get(DRIVER)
}

/// Whether the cpuidle directory was seen (see [`Ctx::dir_exists`]).
pub(crate) fn cpuidle_dir_seen(ctx: &Ctx) -> Option<bool> {
    ctx.dir_exists(DIR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::host::HostModel;
    use crate::report::Profile;
    use crate::rules::testkit::SnapBuilder;

    #[test]
    fn states_carry_their_values_and_are_read_once() {
        let st = "/sys/devices/system/cpu/cpu1/cpuidle/state2";
        let s = SnapBuilder::new()
            .file(&format!("{st}/name"), "C6\n")
            .file(&format!("{st}/desc"), "MWAIT 0x20")
            .file(&format!("{st}/disable"), "0")
            .file(&format!("{st}/usage"), "41")
            .denied(&format!("{st}/latency"))
            // A state whose name went missing still counts on a CPU with a named one.
            .file("/sys/devices/system/cpu/cpu1/cpuidle/state0/usage", "7")
            // No named state: the CPU has no cpuidle states.
            .file("/sys/devices/system/cpu/cpu3/cpuidle/state0/usage", "7")
            .build();
        let h = HostModel::build(&s);
        let ctx = Ctx::new(&s, &h, Profile::Throughput);
        assert!(ctx.cache.cpuidle.get().is_none());
        let all = states(&ctx);
        assert!(
            ctx.cache.cpuidle.get().is_some(),
            "cached for the other rule"
        );
        assert_eq!(all.keys().copied().collect::<Vec<_>>(), [1]);
        let cpu1 = &all[&1];
        assert_eq!(cpu1.iter().map(|s| s.idx).collect::<Vec<_>>(), [0, 2]);
        let c6 = &cpu1[1];
        assert_eq!((c6.name, c6.desc), (Some("C6"), Some("MWAIT 0x20")));
        assert_eq!(c6.usage_count(), Some(41));
        assert_eq!(c6.latency_us(), None);
        assert!(matches!(c6.latency, Got::Unreadable(_)));
        assert!(matches!(c6.default_status, Got::NotCollected));
        assert_eq!(cpu1[0].name, None);
        assert_eq!(cpu1[0].usage_count(), Some(7));
    }
}
