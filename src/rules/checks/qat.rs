//! Checks for this guide section (see rules/qat.toml).

use super::CheckFn;

pub const CHECKS: &[(&str, CheckFn)] = &[];
