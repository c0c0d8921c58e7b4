//! Checks for this guide section (see rules/baseline.toml).

use super::CheckFn;

pub const CHECKS: &[(&str, CheckFn)] = &[];
