//! What a finding is about, typed: see [`crate::vocab::target`], where it now lives so that
//! rules and renderers share it without one importing the other.

pub use crate::vocab::target::Target;
