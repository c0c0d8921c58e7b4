//! Stages 3 and 4 of design.md: evaluate every rule of the catalogue on the parsed snapshot and
//! score the host and each VM. Rules are data plus code: metadata in `rules/*.toml`, the check
//! as one pure function per rule id in [`checks`].

pub mod checks;
pub mod context;
pub mod engine;
pub mod facts;
pub mod meta;
pub mod outcome;
pub mod persistent;
pub mod registry;
pub mod score;
pub mod status_pinning;
pub mod units;
/// Old path of [`crate::testkit::snap_builder`], for tests written against it.
#[cfg(any(test, feature = "test-support"))]
pub use crate::testkit::snap_builder as testkit;
pub mod waivers;

pub use engine::evaluate;
