//! Rule metadata from `rules/*.toml`. The types and the embedded catalogue are vocabulary that
//! renderers read too, so they live in [`crate::vocab::catalogue`]; this path stays for
//! the callers in `rules/` and on other branches.

pub use crate::vocab::catalogue::{
    catalogue, files, find, parse_file, Automatable, RemediationMeta, RuleMeta, Scope,
};
