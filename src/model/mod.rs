//! Typed models built from a snapshot: what the rules read.

pub mod cpu;
pub mod platform;
pub mod vm;
