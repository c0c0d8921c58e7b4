//! Typed models built from a snapshot: what the rules read.

pub mod cpu;
pub mod domains;
pub mod host;
pub mod identity;
pub mod msr;
pub mod platform;
pub mod topology;
pub mod vm;
