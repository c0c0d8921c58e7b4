//! kvmaudit: audit KVM/QEMU hosts and their VMs against Intel's Ice Lake KVM/QEMU tuning guide.
//!
//! Data flows one way (see `../shared/docs/design.md`):
//! sources --collect--> [`snapshot::Snapshot`] --parse--> models --evaluate--> findings --score-->
//! report --render--> table | JSON | HTML | Prometheus | script.

pub mod cli;
pub mod cli_docs;
pub mod collect;
pub mod config;
pub mod diff;
pub mod error;
pub mod file_kind;
pub mod fix;
pub mod fleet;
pub mod input;
pub mod labels;
pub mod model;
pub mod output;
pub mod parse;
pub mod report;
pub mod rules;
pub mod safe_text;
pub mod snapshot;
#[cfg(any(test, feature = "test-support"))]
pub mod testkit;
pub mod util;
pub mod vocab;
