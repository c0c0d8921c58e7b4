//! The words of a verdict: a finding's status, a rule's severity, the audit profile.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Warn,
    Info,
    NotApplicable,
    Unknown,
    Waived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Info => "info",
            Status::NotApplicable => "not_applicable",
            Status::Unknown => "unknown",
            Status::Waived => "waived",
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn weight(self) -> u32 {
        match self {
            Severity::High => 10,
            Severity::Medium => 5,
            Severity::Low => 2,
            Severity::Info => 0,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// Shared, possibly overcommitted hosts (the default).
    #[default]
    Throughput,
    /// Dedicated CPUs and memory: idle=poll, PLE off, cpu-pm=on, mem-lock=on expected.
    Latency,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Throughput => "throughput",
            Profile::Latency => "latency",
        }
    }
}
