//! Checks for this guide section (see rules/memory.toml).

use super::CheckFn;

pub const CHECKS: &[(&str, CheckFn)] = &[];
