//! Splitting argv into QEMU options, their arguments and positional disk images.

use crate::snapshot::RawBytes;

/// One element of the command line after argv[0].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QemuArg {
    /// `-name ARG` / `--name ARG` (dashes stripped) or a flag such as `-enable-kvm`.
    Option {
        name: String,
        /// Lossy UTF-8 of the argument; `None` for flags (and for a value-taking option that
        /// ended the command line, which [`split_options`] also reports as a note).
        value: Option<String>,
        /// Position of the option in argv (argv[0] is 0).
        index: usize,
    },
    /// A bare word: QEMU treats it as the first hard disk image (`-hda`).
    Positional { value: String, index: usize },
}

/// Options that take no argument (from QEMU's `qemu-options.hx`, current and removed ones).
/// Every other option consumes the next argv element.
const FLAGS: &[&str] = &[
    "S",
    "s",
    "h",
    "help",
    "version",
    "enable-kvm",
    "no-kvm",
    "no-kvm-irqchip",
    "no-kvm-pit",
    "no-kvm-pit-reinjection",
    "mem-prealloc",
    "nodefaults",
    "no-user-config",
    "nodefconfig",
    "no-shutdown",
    "no-reboot",
    "no-hpet",
    "no-acpi",
    "no-fd-bootchk",
    "nographic",
    "curses",
    "sdl",
    "portrait",
    "full-screen",
    "alt-grab",
    "ctrl-grab",
    "no-quit",
    "no-frame",
    "show-cursor",
    "daemonize",
    "snapshot",
    "usb",
    "win2k-hack",
    "rtc-td-hack",
    "localtime",
    "std-vga",
    "tdf",
    "enable-nesting",
    "enable-fips",
    "enable-sync-profile",
    "xen-attach",
    "xen-create",
    "xen-domid-restrict",
    "only-migratable",
    "semihosting",
    "old-param",
    "singlestep",
    "one-insn-per-tb",
    "preconfig",
    "perfmap",
    "async-teardown",
    "audio-help",
    "watchdog-help",
];

pub fn is_flag(name: &str) -> bool {
    FLAGS.contains(&name)
}

/// Splits argv (argv[0] is the binary and is skipped). Returns the elements and notes about
/// anything odd (a missing argument at the end, non-UTF-8 bytes).
pub fn split_options(argv: &[RawBytes]) -> (Vec<QemuArg>, Vec<String>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let mut i = 1;
    while let Some(tok) = argv.get(i) {
        let text = lossy(tok, i, &mut notes);
        match option_name(&text) {
            Some(name) if is_flag(name) => {
                out.push(QemuArg::Option {
                    name: name.to_string(),
                    value: None,
                    index: i,
                });
                i += 1;
            }
            Some(name) => {
                let value = argv.get(i + 1).map(|v| lossy(v, i + 1, &mut notes));
                if value.is_none() {
                    notes.push(format!("option -{name} at the end of argv has no argument"));
                }
                out.push(QemuArg::Option {
                    name: name.to_string(),
                    value,
                    index: i,
                });
                i += 2;
            }
            None => {
                out.push(QemuArg::Positional {
                    value: text,
                    index: i,
                });
                i += 1;
            }
        }
    }
    (out, notes)
}

/// `-name` or `--name` → `name`. A lone `-` or `--` is not an option name QEMU knows; it is
/// kept as an option with that odd name so nothing is silently dropped.
fn option_name(tok: &str) -> Option<&str> {
    let rest = tok.strip_prefix('-')?;
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    if rest.is_empty() {
        return Some(tok);
    }
    Some(rest)
}

fn lossy(tok: &RawBytes, index: usize, notes: &mut Vec<String>) -> String {
    match std::str::from_utf8(tok.as_bytes()) {
        Ok(s) => s.to_string(),
        Err(_) => {
            notes.push(format!(
                "argv[{index}] is not valid UTF-8; invalid bytes shown as U+FFFD"
            ));
            tok.to_string_lossy()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<RawBytes> {
        words.iter().map(|w| RawBytes::from(*w)).collect()
    }

    #[test]
    fn options_flags_and_positionals() {
        let (args, notes) = split_options(&argv(&[
            "qemu",
            "--enable-kvm",
            "-m",
            "4096",
            "disk.img",
            "-append",
            "",
            "-S",
            "-name",
        ]));
        assert_eq!(
            args,
            vec![
                QemuArg::Option {
                    name: "enable-kvm".into(),
                    value: None,
                    index: 1
                },
                QemuArg::Option {
                    name: "m".into(),
                    value: Some("4096".into()),
                    index: 2
                },
                QemuArg::Positional {
                    value: "disk.img".into(),
                    index: 4
                },
                QemuArg::Option {
                    name: "append".into(),
                    value: Some(String::new()),
                    index: 5
                },
                QemuArg::Option {
                    name: "S".into(),
                    value: None,
                    index: 7
                },
                QemuArg::Option {
                    name: "name".into(),
                    value: None,
                    index: 8
                },
            ]
        );
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn empty_argv_is_fine() {
        assert!(split_options(&[]).0.is_empty());
    }
}
