//! Checks for this guide section (see rules/pmem.toml).

use super::CheckFn;

pub const CHECKS: &[(&str, CheckFn)] = &[];
