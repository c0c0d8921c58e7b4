//! Which cpuidle state (read by [`crate::rules::facts::cpuidle`]) is the guide's C1E or C6
//! (by name family, MWAIT hint or the ACPI mapping).

pub(super) use crate::parse::sysfs::mwait_hint;
pub(super) use crate::rules::facts::cpuidle::IdleState;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum CState {
    C1e,
    C6,
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
