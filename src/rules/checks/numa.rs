//! Checks for this guide section (see rules/numa.toml).

use super::CheckFn;

pub const CHECKS: &[(&str, CheckFn)] = &[];
