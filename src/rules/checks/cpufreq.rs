//! Checks for this guide section (see rules/cpufreq.toml).

use super::CheckFn;

pub const CHECKS: &[(&str, CheckFn)] = &[];
