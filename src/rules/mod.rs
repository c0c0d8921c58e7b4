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
pub mod testkit;
pub mod waivers;

pub use engine::evaluate;
