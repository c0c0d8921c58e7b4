//! libvirt's per-domain QEMU logs (`/var/log/libvirt/qemu/NAME.log`): each start of the domain
//! appends a line naming libvirt's and QEMU's versions, then the exact command line (shell
//! quoted, one argument per line). The last start block is the running process's.

use crate::collect::fsroot::FsRoot;
use crate::snapshot::{Fact, RawBytes, ReadError};

/// Largest log read (libvirt rotates them; a domain restarted thousands of times stays below).
const MAX_LOG: u64 = 32 * 1024 * 1024;

/// The last start of one domain, from its log.
#[derive(Debug, Clone)]
pub struct StartBlock {
    /// Host path of the log.
    pub path: String,
    /// The domain name (the log's file name without `.log`).
    pub name: String,
    pub argv: Vec<RawBytes>,
    pub env: Vec<String>,
    /// `qemu version: X` of the last start line, its leading dotted number.
    pub qemu_version: Option<String>,
}

/// Every `*.log` under `dir` (rotated `*.log.N` are older starts), with its last start block;
/// logs that could not be read or hold no command line are returned as errors by path.
pub fn read_all(fs: &FsRoot, dir: &str) -> (Vec<StartBlock>, Vec<(String, ReadError)>) {
    let mut blocks = Vec::new();
    let mut errors = Vec::new();
    let Some(names) = fs.list_dir(dir).value().cloned() else {
        return (blocks, errors);
    };
    for n in names {
        let Some(name) = n.strip_suffix(".log") else {
            continue;
        };
        let path = format!("{dir}/{n}");
        let bytes = match fs.read_bytes(&path, MAX_LOG) {
            Fact::Value(b) => b,
            Fact::Error(e) => {
                errors.push((path, e));
                continue;
            }
        };
        let Ok(f) = crate::parse::qemu::parse_argv_file(&bytes) else {
            continue;
        };
        blocks.push(StartBlock {
            path,
            name: name.to_string(),
            argv: f.argv,
            env: f.env,
            qemu_version: last_qemu_version(&bytes),
        });
    }
    (blocks, errors)
}

/// The version of the last `... starting up libvirt version: 9.0.0, qemu version: 7.2.0Debian
/// 1:7.2+dfsg-7+deb12u18, ...` line.
pub fn last_qemu_version(log: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"qemu version: ";
    let at = log.windows(KEY.len()).rposition(|w| w == KEY)? + KEY.len();
    let v: String = log[at..]
        .iter()
        .take(32)
        .take_while(|b| b.is_ascii_digit() || **b == b'.')
        .map(|b| *b as char)
        .collect();
    let v = v.trim_end_matches('.');
    (v.contains('.')).then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_of_the_last_start() {
        let log = b"2024-01-01 10:00:00.000+0000: starting up libvirt version: 8.0.0, qemu version: 6.2.0, kernel: 5.15\n\
x\n\
2024-02-01 10:00:00.000+0000: starting up libvirt version: 9.0.0, qemu version: 7.2.0Debian 1:7.2+dfsg-7+deb12u18, kernel: 6.1\n";
        assert_eq!(super::last_qemu_version(log).as_deref(), Some("7.2.0"));
        assert_eq!(super::last_qemu_version(b"no start"), None);
    }
}
