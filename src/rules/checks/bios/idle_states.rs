//! cpuidle states as sysfs shows them per CPU, and which of them is the guide's C1E or C6
//! (by name family, MWAIT hint or the ACPI mapping).

use super::readers::CPU;
use crate::rules::context::Ctx;
use std::collections::BTreeMap;

pub(super) const CPUIDLE_DRIVER: &str = "/sys/devices/system/cpu/cpuidle/current_driver";
pub(super) const CPUIDLE_DIR: &str = "/sys/devices/system/cpu/cpuidle";

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum CState {
    C1e,
    C6,
}

/// One cpuidle state of one CPU, as sysfs names and describes it.
pub(super) struct IdleState<'a> {
    pub(super) idx: u32,
    /// `None` when the state's files are there but its name could not be read.
    pub(super) name: Option<&'a str>,
    pub(super) desc: Option<&'a str>,
}

/// cpuidle states per CPU: cpu → states in index order.
pub(super) fn cpuidle_states<'a>(ctx: &Ctx<'a>) -> BTreeMap<u32, Vec<IdleState<'a>>> {
    let prefix = format!("{CPU}/cpu");
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
        let base = format!("{CPU}/cpu{cpu}/cpuidle/state{idx}");
        states.push(IdleState {
            idx,
            name: ctx.text(&format!("{base}/name")),
            desc: ctx.text(&format!("{base}/desc")),
        });
    }
    for states in out.values_mut() {
        states.sort_by_key(|s| s.idx);
    }
    // Only CPUs with at least one named state count as having cpuidle states.
    out.retain(|_, v| v.iter().any(|s| s.name.is_some()));
    out
}

/// A state name without intel_idle's per-model suffix: 4.x kernels named the Skylake-SP table
/// `C1-SKX`, `C1E-SKX`, `C6-SKX` (and later tables `-ICX`, `-SPR` ...).
pub(super) fn base_state_name(name: &str) -> &str {
    match name.split_once('-') {
        Some((base, sfx))
            if !sfx.is_empty()
                && sfx
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) =>
        {
            base
        }
        _ => name,
    }
}

/// The MWAIT hint a state's `desc` names: intel_idle writes `MWAIT 0x01`, acpi_idle
/// `ACPI FFH MWAIT 0x1` (FFH = the _CST entry is an MWAIT hint).
pub(super) fn mwait_hint(desc: &str) -> Option<u32> {
    let at = desc.find("MWAIT 0x")? + "MWAIT 0x".len();
    let hex: String = desc[at..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    u32::from_str_radix(&hex, 16).ok()
}

/// Whether a cpuidle state is the C1E or the C6 of the guide, by meaning: its name family
/// (any model suffix), or the MWAIT hint in its description (0x01 = C1E, 0x2x = core C6),
/// or under acpi_idle the ACPI C2/C3 that firmware maps onto C6.
/// `None` when it cannot be told: the name is unreadable, or it is not one of the usual names
/// (`POLL`, `C<n>[letters]` with any model suffix) and there is no description to go by.
pub(super) fn matches_state(which: CState, driver: Option<&str>, st: &IdleState) -> Option<bool> {
    let hint = st.desc.and_then(mwait_hint);
    let by_hint = match which {
        CState::C1e => hint == Some(0x01),
        CState::C6 => hint.is_some_and(|h| h >> 4 == 2),
    };
    if by_hint {
        return Some(true);
    }
    let name = st.name?;
    let base = base_state_name(name);
    let by_name = match which {
        CState::C1e => base == "C1E",
        CState::C6 => {
            base.starts_with("C6") || (driver == Some("acpi_idle") && matches!(name, "C2" | "C3"))
        }
    };
    let usual = base == "POLL"
        || base.strip_prefix('C').is_some_and(|r| {
            r.starts_with(|c: char| c.is_ascii_digit())
                && r.chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        });
    match (by_name, usual || st.desc.is_some()) {
        (true, _) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
    }
}
