//! Errors that stop kvmaudit from doing its job (exit status 1).
//!
//! Evidence that cannot be read on a live host is *not* an error: it is recorded in the snapshot
//! as a [`crate::snapshot::ReadError`] and its rules become `unknown`. This type is for inputs the
//! user named explicitly (a `--dmi FILE` that does not parse) and for outputs we could not write.

use std::path::{Path, PathBuf};

/// A failure that ends the run with exit status 1 and a one-line message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file given on the command line could not be read.
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An input file was read but its content is not what the flag expects.
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// An output could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Anything else that makes the request impossible (bad flag combination, ...).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub fn parse(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::Parse {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }
    pub fn read(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Read {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A parser's complaint about its input, without the file name (the caller adds it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub fn new(msg: impl Into<String>) -> Self {
        ParseError(msg.into())
    }
}
