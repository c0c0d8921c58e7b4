//! MSR evidence shared by the firmware rules: one decoded field across CPUs, and the finding
//! row that shows it.

use crate::model::msr::{self, Reading};
use crate::rules::context::Ctx;
use crate::rules::outcome::Outcome;
use std::collections::BTreeMap;

/// One decoded field of one register on every CPU it was read on, or why it was not.
pub struct Field<T> {
    pub addr: u32,
    /// "bit 19 (energy-efficient turbo disable)": what the row shows.
    pub what: &'static str,
    pub values: Result<BTreeMap<u32, T>, String>,
}

impl<T: Copy> Field<T> {
    pub fn read(ctx: &Ctx, addr: u32, what: &'static str, decode: impl Fn(u64) -> T) -> Self {
        let values = match ctx.msrs().read(addr) {
            Reading::Values(v) => Ok(v.into_iter().map(|(c, x)| (c, decode(x))).collect()),
            Reading::Unavailable(why) => Err(why),
        };
        Field { addr, what, values }
    }

    /// The CPUs where `pred` holds (empty when nothing was read).
    pub fn cpus_where(&self, pred: impl Fn(T) -> bool) -> Vec<u32> {
        match &self.values {
            Ok(v) => v
                .iter()
                .filter(|(_, x)| pred(**x))
                .map(|(c, _)| *c)
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Whether `pred` holds on every CPU read; `None` when nothing was read.
    pub fn all(&self, pred: impl Fn(T) -> bool) -> Option<bool> {
        match &self.values {
            Ok(v) => Some(v.values().all(|x| pred(*x))),
            Err(_) => None,
        }
    }

    /// "MSR 0x1FC MSR_POWER_CTL bit 19 (...)" from the dump's source.
    pub fn source(&self, ctx: &Ctx) -> String {
        let src = ctx.msrs().source().to_string();
        let from = if src == msr::DEVICE_SOURCE {
            String::new()
        } else {
            format!(" from {src}")
        };
        format!("{} {}{from}", msr::label(self.addr), self.what)
    }
}

impl<T: Copy + Ord + std::fmt::Display> Field<T> {
    /// "1 on cpu0-15" or the reason it was not read.
    pub fn observed(&self) -> String {
        match &self.values {
            Ok(v) => msr::by_value(v.iter().map(|(c, x)| (*c, *x))),
            Err(why) => format!("not read: {why}"),
        }
    }

    /// Adds this field's row to `o` when it was read; a field that was not read adds nothing,
    /// so findings on hosts without MSR access stay as they were.
    pub fn row_if_read(&self, ctx: &Ctx, o: Outcome, expected: &str) -> Outcome {
        match self.values {
            Ok(_) => o.ev(self.source(ctx), self.observed(), expected),
            Err(_) => o,
        }
    }
}

/// "cpu0-3,8" for a finding's message.
pub fn cpus(list: &[u32]) -> String {
    let set: std::collections::BTreeSet<u32> = list.iter().copied().collect();
    format!("cpu{}", crate::parse::cpulist::format(&set))
}

/// What MSR evidence says about a firmware setting.
pub enum Says {
    /// The register shows the setting as the guide wants it.
    Good(String),
    /// The register shows the setting against the guide.
    Bad(String),
    /// Not read, or the register does not decide this rule.
    Nothing,
}

/// Combines the OS-visible verdict with MSR evidence. The register is the firmware state read
/// at its source, so a `Bad` fails the rule; a `Good` decides a rule the OS view left unknown
/// only when `good_decides` (the register alone proves the pass condition). When the two views
/// disagree, the message says so.
pub fn combine(mut o: Outcome, says: Says, good_decides: bool) -> Outcome {
    use crate::report::Status;
    match (says, o.status) {
        (Says::Nothing, _) => {}
        (Says::Bad(m), Status::Fail) => o.message = format!("{m}; {}", o.message),
        (Says::Bad(m), Status::Pass | Status::Warn) => {
            o.status = Status::Fail;
            o.message = format!(
                "{m}; the MSR and the OS view disagree, and the OS view says: {}",
                o.message
            );
        }
        (Says::Bad(m), _) => {
            o.status = Status::Fail;
            o.message = format!("{m} (the OS view alone: {})", o.message);
        }
        (Says::Good(m), Status::Unknown) if good_decides => {
            o.status = Status::Pass;
            o.message = format!("{m} (the OS view alone: {})", o.message);
        }
        (Says::Good(m), Status::Fail | Status::Warn) => {
            o.message = format!("{}; the MSR and the OS view disagree: {m}", o.message);
        }
        (Says::Good(_), _) => {}
    }
    o
}
