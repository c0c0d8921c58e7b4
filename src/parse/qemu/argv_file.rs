//! Reading one QEMU command line from a file: libvirt's `.args`/log form or `/proc/PID/cmdline`.

use super::shell::{ShellError, Tokenizer, Word};
use crate::error::ParseError;
use crate::snapshot::RawBytes;

/// Largest command line (argv bytes, NULs included) kvmaudit models: 8 MiB. Linux refuses an
/// `execve` whose argv and environment exceed a quarter of the stack limit (2 MiB by default), so
/// no running QEMU has one this long; a bigger "command line" is a wrong file or a hostile one,
/// and modelling it would cost memory many times its size (`-device` options especially).
/// `/proc/PID/cmdline` reads use the same bound.
pub const MAX_COMMAND_LINE: usize = 8 * 1024 * 1024;

/// A QEMU command line as read from a file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArgvFile {
    /// `VAR=value` assignments that preceded the binary (libvirt form only), in order.
    pub env: Vec<String>,
    /// argv: the binary first, then every argument exactly (empty arguments kept).
    pub argv: Vec<RawBytes>,
}

/// Parses a QEMU command line file.
///
/// * Bytes containing a NUL are `/proc/PID/cmdline`: arguments are NUL-separated, a trailing NUL
///   ends the last one, empty arguments are kept, bytes are not decoded.
/// * Otherwise the text is read as shell: optional `VAR=value` words, then the QEMU binary and its
///   arguments, continued across lines by ` \`. Lines that do not start a QEMU command (log
///   timestamps, "char device redirected to ...") are skipped; when a log holds several start-ups
///   the *last* command line wins, because that is the one the running VM was started with.
pub fn parse_argv_file(bytes: &[u8]) -> Result<ArgvFile, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::new("empty file"));
    }
    if bytes.contains(&0) {
        if bytes.len() > MAX_COMMAND_LINE {
            return Err(too_long(bytes.len()));
        }
        return Ok(ArgvFile {
            env: Vec::new(),
            argv: split_nul(bytes),
        });
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ParseError::new("empty file"));
    }
    parse_shell_form(bytes)
}

/// `/proc/PID/cmdline`: every argument is NUL-terminated (the kernel writes one after the last).
fn split_nul(bytes: &[u8]) -> Vec<RawBytes> {
    let body = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    body.split(|&b| b == 0)
        .map(|a| RawBytes(a.to_vec()))
        .collect()
}

fn parse_shell_form(bytes: &[u8]) -> Result<ArgvFile, ParseError> {
    let mut tok = Tokenizer::at(bytes, 0, 1);
    let mut found: Option<ArgvFile> = None;
    while !tok.at_end() {
        match command_head(&mut tok) {
            Head::Qemu { env, binary } => {
                let mut size = binary.bytes.len() + 1;
                let mut argv = vec![RawBytes(binary.bytes)];
                while let Some(w) = tok.next_word(true).map_err(shell_err)? {
                    // Stop at the bound rather than tokenize the rest of a huge file.
                    size += w.bytes.len() + 1;
                    if size > MAX_COMMAND_LINE {
                        return Err(too_long(size));
                    }
                    argv.push(RawBytes(w.bytes));
                }
                found = Some(ArgvFile { env, argv });
            }
            Head::NotCommand { consumed_line } => {
                if !consumed_line {
                    // Continue after the line where the probe stopped. Lines before it were
                    // continuations of the probed line, so no line is ever scanned twice and a
                    // 100 MB log stays linear.
                    tok.skip_to_next_line();
                }
            }
        }
    }
    found.ok_or_else(|| ParseError::new("no QEMU binary found"))
}

enum Head {
    Qemu {
        env: Vec<String>,
        binary: Word,
    },
    /// `consumed_line` is true when the tokenizer already stands after the logical line.
    NotCommand {
        consumed_line: bool,
    },
}

/// Reads `VAR=value ...` words up to the binary. Quotes may not span lines here, so a line that
/// merely contains a stray quote (a log message) costs only its own length.
fn command_head(tok: &mut Tokenizer<'_>) -> Head {
    let mut env = Vec::new();
    loop {
        let word = match tok.next_word(false) {
            Ok(Some(w)) => w,
            Ok(None) => {
                return Head::NotCommand {
                    consumed_line: true,
                }
            }
            Err(_) => {
                return Head::NotCommand {
                    consumed_line: false,
                }
            }
        };
        if is_env_assignment(&word.bytes) {
            env.push(String::from_utf8_lossy(&word.bytes).into_owned());
            continue;
        }
        if is_qemu_binary(&word.bytes) {
            return Head::Qemu { env, binary: word };
        }
        return Head::NotCommand {
            consumed_line: false,
        };
    }
}

fn too_long(at_least: usize) -> ParseError {
    ParseError::new(format!(
        "the command line is longer than {MAX_COMMAND_LINE} bytes (at least {at_least}); \
         Linux starts no process with one this long"
    ))
}

fn shell_err(e: ShellError) -> ParseError {
    ParseError::new(e.to_string())
}

/// `NAME=value` with a shell variable name.
fn is_env_assignment(w: &[u8]) -> bool {
    let Some(eq) = w.iter().position(|&b| b == b'=') else {
        return false;
    };
    let name = w.get(..eq).unwrap_or_default();
    match name.split_first() {
        Some((first, rest)) => {
            (first.is_ascii_alphabetic() || *first == b'_')
                && rest.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        }
        None => false,
    }
}

/// `qemu-system-x86_64`, `/usr/libexec/qemu-kvm`, `kvm`, `qemu-x86_64-kvm`, ... A trailing colon
/// (`qemu-system-x86_64: warning: ...` in a log) disqualifies it.
pub(crate) fn is_qemu_binary(w: &[u8]) -> bool {
    let base = w.rsplit(|&b| b == b'/').next().unwrap_or(w);
    if base.is_empty()
        || !base
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+'))
    {
        return false;
    }
    let s = String::from_utf8_lossy(base).to_ascii_lowercase();
    // QEMU's helper tools share the prefix but are not emulators (`qemu-img create ...`).
    const TOOLS: &[&str] = &[
        "qemu-img",
        "qemu-io",
        "qemu-nbd",
        "qemu-storage-daemon",
        "qemu-ga",
        "qemu-pr-helper",
        "qemu-bridge-helper",
        "qemu-edid",
        "qemu-keymap",
    ];
    if TOOLS.contains(&s.as_str()) {
        return false;
    }
    s.contains("qemu") || s == "kvm" || s.ends_with("-kvm")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(f: &ArgvFile) -> Vec<String> {
        f.argv.iter().map(|a| a.to_string_lossy()).collect()
    }

    #[test]
    fn command_lines_beyond_the_bound_are_refused() {
        let arg = "-device virtio-blk-pci,drive=d0 ";
        let n = MAX_COMMAND_LINE / arg.len() + 1;
        let shell = format!("qemu-system-x86_64 {}\n", arg.repeat(n));
        let e = parse_argv_file(shell.as_bytes()).unwrap_err();
        assert!(e.0.contains("longer than"), "{e}");
        let nul = format!("qemu-system-x86_64\0{}", arg.replace(' ', "\0").repeat(n));
        assert!(parse_argv_file(nul.as_bytes()).is_err());
        // Just under the bound is read.
        let ok = format!("qemu-system-x86_64 {}\n", arg.repeat(n / 2));
        assert!(parse_argv_file(ok.as_bytes()).is_ok());
    }

    #[test]
    fn libvirt_multiline_form() {
        let f = parse_argv_file(
            b"LC_ALL=C \\\nPATH=/bin \\\nBAR='' \\\n/usr/bin/qemu-system-x86_64 \\\n-name guest=a,debug-threads=on \\\n-object '{\"qom-type\":\"iothread\",\"id\":\"io1\"}' \\\n-S\n",
        )
        .unwrap();
        assert_eq!(f.env, vec!["LC_ALL=C", "PATH=/bin", "BAR="]);
        assert_eq!(
            args(&f),
            vec![
                "/usr/bin/qemu-system-x86_64",
                "-name",
                "guest=a,debug-threads=on",
                "-object",
                "{\"qom-type\":\"iothread\",\"id\":\"io1\"}",
                "-S"
            ]
        );
    }

    #[test]
    fn log_form_takes_only_the_last_command_line() {
        let log = b"2024-01-01 10:00:00.000+0000: starting up libvirt version: 8.0.0, qemu version: 6.2.0\n\
LC_ALL=C PATH=/bin QEMU_AUDIO_DRV=none /usr/bin/qemu-system-x86_64 -name old -S\n\
char device redirected to /dev/pts/3 (label charserial0)\n\
qemu-system-x86_64: terminating on signal 15 from pid 1 (don't care)\n\
2024-01-02 10:00:00.000+0000: starting up\n\
LC_ALL=C /usr/libexec/qemu-kvm -name new -m 4096\n\
2024-01-02 10:00:01.000+0000: shutting down, reason=shutdown\n";
        let f = parse_argv_file(log).unwrap();
        assert_eq!(f.env, vec!["LC_ALL=C"]);
        assert_eq!(
            args(&f),
            vec!["/usr/libexec/qemu-kvm", "-name", "new", "-m", "4096"]
        );
    }

    #[test]
    fn nul_form_keeps_empty_and_non_utf8_arguments() {
        let raw = b"qemu-system-x86_64\0-append\0\0-name\0gu\xffest\0";
        let f = parse_argv_file(raw).unwrap();
        assert!(f.env.is_empty());
        assert_eq!(
            f.argv,
            vec![
                RawBytes(b"qemu-system-x86_64".to_vec()),
                RawBytes(b"-append".to_vec()),
                RawBytes(Vec::new()),
                RawBytes(b"-name".to_vec()),
                RawBytes(b"gu\xffest".to_vec()),
            ]
        );
        // Without the trailing NUL the last argument still ends at the end of the buffer.
        let f2 = parse_argv_file(&raw[..raw.len() - 1]).unwrap();
        assert_eq!(f, f2);
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(parse_argv_file(b"").unwrap_err().to_string(), "empty file");
        assert_eq!(
            parse_argv_file(b" \n\n").unwrap_err().to_string(),
            "empty file"
        );
        assert_eq!(
            parse_argv_file(b"hello world\nnothing here\n")
                .unwrap_err()
                .to_string(),
            "no QEMU binary found"
        );
        assert_eq!(
            parse_argv_file(b"A=1 \\\n/usr/bin/qemu-system-x86_64 \\\n-name 'oops \\\n")
                .unwrap_err()
                .to_string(),
            "line 3: unterminated single quote"
        );
    }

    #[test]
    fn binary_detection() {
        assert!(is_qemu_binary(b"/usr/bin/qemu-system-x86_64"));
        assert!(is_qemu_binary(b"qemu-kvm"));
        assert!(is_qemu_binary(b"/usr/bin/kvm"));
        assert!(!is_qemu_binary(b"qemu-system-x86_64:"));
        assert!(!is_qemu_binary(b"/usr/bin/bash"));
        assert!(!is_qemu_binary(b"/usr/bin/qemu-img"));
    }

    #[test]
    fn non_utf8_in_shell_form_survives() {
        let f = parse_argv_file(b"qemu-system-x86_64 -drive file=/img/\xfe.raw\n").unwrap();
        assert_eq!(
            f.argv.get(2).map(|a| a.0.clone()),
            Some(b"file=/img/\xfe.raw".to_vec())
        );
    }
}
