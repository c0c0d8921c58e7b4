//! Checks for this guide section (see rules/guest.toml).

use super::CheckFn;

pub const CHECKS: &[(&str, CheckFn)] = &[];
