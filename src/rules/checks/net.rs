//! Checks for this guide section (see rules/net.toml).

use super::CheckFn;

pub const CHECKS: &[(&str, CheckFn)] = &[];
