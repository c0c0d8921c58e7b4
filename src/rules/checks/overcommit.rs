//! Checks for this guide section (see rules/overcommit.toml).

use super::CheckFn;

pub const CHECKS: &[(&str, CheckFn)] = &[];
