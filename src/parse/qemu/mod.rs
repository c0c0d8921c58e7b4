//! QEMU command lines: reading argv files and the option syntaxes QEMU accepts.
//!
//! * [`argv_file`]: libvirt `.args`/log text (shell quoting) or NUL-separated `/proc/PID/cmdline`.
//! * [`options`]: argv → options, flags and positional images.
//! * [`keyval`], [`json`], [`props`], [`size`]: the argument syntaxes, normalized to dotted keys.
//! * [`cmdline`]: all of the above plus `-set`/`-global`, the input of [`crate::model::vm`].
//! * [`redact`]: secrets (passwords, keys, URL credentials) replaced before argv is stored.
//!
//! Nothing here touches the filesystem and nothing panics on any input.

pub mod argv_file;
pub mod cmdline;
pub mod json;
pub mod keyval;
pub mod options;
pub mod pci;
pub mod props;
pub mod redact;
mod shell;
pub mod size;

pub use argv_file::{parse_argv_file, ArgvFile};
pub use cmdline::{parse_command_line, CommandLine, GlobalOption, ParsedOption, Positional};
pub use keyval::parse_keyval;
pub use props::Props;
pub use size::parse_size;
