//! What a check returns: a status per target, with evidence and a message an admin understands.

use crate::report::target::Target;
use crate::report::{Datum, Evidence, Severity, Status};

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub target: Target,
    pub status: Status,
    pub evidence: Vec<Evidence>,
    pub message: String,
    /// The persistent configuration already holds the fix; the running system does not yet.
    pub pending_reboot: bool,
    /// Severity raised by a context flag (catalogue: "escalates to ...").
    pub escalated: Option<Severity>,
    /// A data-integrity failure (`cache=unsafe`): reported as a blocker.
    pub blocker: bool,
    /// Typed observed/expected values for the fix planner (see [`Datum`]).
    pub data: Vec<Datum>,
}

impl Outcome {
    pub fn new(target: impl Into<Target>, status: Status, message: impl Into<String>) -> Self {
        Outcome {
            target: target.into(),
            status,
            evidence: Vec::new(),
            message: message.into(),
            pending_reboot: false,
            escalated: None,
            blocker: false,
            data: Vec::new(),
        }
    }
    pub fn pass(target: impl Into<Target>, msg: impl Into<String>) -> Self {
        Self::new(target, Status::Pass, msg)
    }
    pub fn fail(target: impl Into<Target>, msg: impl Into<String>) -> Self {
        Self::new(target, Status::Fail, msg)
    }
    pub fn warn(target: impl Into<Target>, msg: impl Into<String>) -> Self {
        Self::new(target, Status::Warn, msg)
    }
    pub fn info(target: impl Into<Target>, msg: impl Into<String>) -> Self {
        Self::new(target, Status::Info, msg)
    }
    pub fn na(target: impl Into<Target>, msg: impl Into<String>) -> Self {
        Self::new(target, Status::NotApplicable, msg)
    }
    pub fn unknown(target: impl Into<Target>, msg: impl Into<String>) -> Self {
        Self::new(target, Status::Unknown, msg)
    }

    /// Add evidence: where it was read, what was seen, what the rule wants.
    pub fn ev(
        mut self,
        source: impl Into<String>,
        observed: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        let expected = expected.into();
        self.evidence.push(Evidence {
            source: source.into(),
            observed: observed.into(),
            expected: if expected.is_empty() {
                None
            } else {
                Some(expected)
            },
        });
        self
    }

    pub fn pending(mut self, yes: bool) -> Self {
        self.pending_reboot = yes;
        self
    }

    pub fn escalate(mut self, to: Option<Severity>) -> Self {
        self.escalated = to;
        self
    }

    /// Add a typed value (what a fix builder reads instead of the message).
    pub fn datum(mut self, d: Datum) -> Self {
        self.data.push(d);
        self
    }

    pub fn blocker(mut self) -> Self {
        self.blocker = true;
        self
    }
}
