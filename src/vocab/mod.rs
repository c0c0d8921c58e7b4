//! The vocabulary every stage speaks: verdicts, findings, scores, targets, the report and the
//! rule catalogue's metadata.
//!
//! It sits at the bottom of the crate: rules produce these types, renderers, `fix` and `fleet`
//! read them, and this module imports none of them (nor `collect`, `model` or `snapshot`), so
//! that no layer has to reach into another to name what it passes on.
//! `tests/architecture_layers.rs` holds it to that.

pub mod catalogue;
pub mod datum;
pub mod finding;
pub mod host;
pub mod report;
pub mod scoring;
pub mod tally;
pub mod target;
pub mod verdict;

pub use datum::Datum;
pub use finding::{Evidence, Finding, Remediation, WaiverNote};
pub use report::{Report, ToolInfo, VmEntry, REPORT_SCHEMA_VERSION};
pub use tally::{Counts, RuleTotal, Score, VmScore};
pub use target::Target;
pub use verdict::{Profile, Severity, Status};
