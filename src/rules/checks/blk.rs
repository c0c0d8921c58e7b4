//! Checks for this guide section (see rules/blk.toml).

use super::CheckFn;

pub const CHECKS: &[(&str, CheckFn)] = &[];
