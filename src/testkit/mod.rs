//! Test support: snapshots built by hand and synthetic reports. Not part of the library's
//! API: compiled for the crate's own unit tests and, through the `test-support` feature, for
//! its integration tests, benches, examples and fuzz targets (`Cargo.toml` enables it with a
//! dev-dependency of the crate on itself). A scan never uses it.

pub mod sample_report;
pub mod snap_builder;
