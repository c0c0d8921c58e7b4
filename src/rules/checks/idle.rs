//! Checks for this guide section (see rules/idle.toml).

use super::CheckFn;

pub const CHECKS: &[(&str, CheckFn)] = &[];
