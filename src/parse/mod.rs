//! Parsers: bytes and text from the snapshot into typed values. None of them touches the
//! filesystem and none may panic on any input.

pub mod cpuid;
pub mod qemu;
pub mod smbios;
