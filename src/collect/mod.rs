//! Collection: read every raw fact once into a [`crate::snapshot::Snapshot`].

pub mod cpuid_live;
