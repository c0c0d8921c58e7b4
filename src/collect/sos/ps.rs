//! The QEMU processes of a sosreport's `ps auxwww` / `ps auxwwwm` listing.
//!
//! ps prints argv joined by single spaces: an argument holding a space cannot be told from two
//! arguments. The split here is therefore only a reading of the listing; libvirt's log of the
//! same start, when present, gives the exact argv (see [`super::libvirt_log`]).

use crate::collect::processes::is_qemu_name;
use crate::snapshot::RawBytes;

/// One process line of the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PsProcess {
    pub pid: u32,
    /// `STAT`'s first letter (R, S, D, Z, ...).
    pub state: String,
    /// The command line as ps printed it.
    pub command: String,
}

impl PsProcess {
    /// argv, split at spaces (see the module documentation).
    pub fn argv(&self) -> Vec<RawBytes> {
        self.command
            .split(' ')
            .filter(|a| !a.is_empty())
            .map(|a| RawBytes(a.as_bytes().to_vec()))
            .collect()
    }

    /// The VM name from `-name guest=NAME,...` or `-name NAME`.
    pub fn vm_name(&self) -> Option<String> {
        let mut it = self.command.split(' ');
        while let Some(a) = it.next() {
            if a == "-name" {
                let v = it.next()?;
                let first = v.split(',').next()?;
                let name = first.strip_prefix("guest=").unwrap_or(first);
                return (!name.is_empty()).then(|| name.to_string());
            }
        }
        None
    }
}

/// Largest listing read: 100,000 processes of 64 KB command lines would be more; such a
/// listing is refused by the bounded read before it gets here.
pub const MAX_PS: u64 = 64 * 1024 * 1024;

/// The QEMU processes of a `ps aux`-style listing: the header names the columns, `COMMAND` is
/// the last and takes the rest of the line. Thread lines of `ps auxwwwm` (PID `-`) and kernel
/// threads (`[kworker/0:1]`) are skipped. `Err` when there is no `ps aux` header.
pub fn qemu_processes(text: &str) -> Result<Vec<PsProcess>, String> {
    let mut lines = text.lines();
    let header = lines
        .by_ref()
        .find(|l| !l.trim().is_empty())
        .ok_or("empty process listing")?;
    let cols: Vec<&str> = header.split_whitespace().collect();
    let pid_col = cols.iter().position(|c| *c == "PID");
    let stat_col = cols.iter().position(|c| *c == "STAT");
    let (Some(pid_col), Some(last)) = (pid_col, cols.last()) else {
        return Err("no PID column in the header: not a `ps aux` listing".into());
    };
    if !matches!(*last, "COMMAND" | "CMD") {
        return Err("the last column is not COMMAND: not a `ps aux` listing".into());
    }
    let fixed = cols.len() - 1;
    let mut out: Vec<PsProcess> = Vec::new();
    // The QEMU process the thread lines that follow belong to (`ps auxwwwm`).
    let mut last_qemu = false;
    for line in lines {
        let Some((fields, command)) = split_fields(line, fixed) else {
            continue;
        };
        let Ok(pid) = fields[pid_col].parse::<u32>() else {
            // `ps auxwwwm` prints `-` as a process's STAT and each thread's state on the
            // thread lines after it: the first thread is the main one.
            if let (true, Some(p), Some(c)) = (last_qemu, out.last_mut(), stat_col) {
                if p.state.is_empty() {
                    p.state = state_of(fields[c]);
                }
            }
            continue;
        };
        last_qemu = false;
        let binary = command.split(' ').next().unwrap_or("");
        let base = binary.rsplit('/').next().unwrap_or(binary);
        if !is_qemu_name(base) {
            continue;
        }
        let state = stat_col.map(|c| state_of(fields[c])).unwrap_or_default();
        last_qemu = true;
        out.push(PsProcess {
            pid,
            state,
            command: command.trim_end().to_string(),
        });
    }
    Ok(out)
}

/// STAT's first letter; `-` (a process line of `ps auxwwwm`) is no state.
fn state_of(stat: &str) -> String {
    stat.chars()
        .next()
        .filter(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_string())
        .unwrap_or_default()
}

/// The first `n` whitespace-separated fields and the rest of the line after them.
fn split_fields(line: &str, n: usize) -> Option<(Vec<&str>, &str)> {
    let mut fields = Vec::with_capacity(n);
    let mut rest = line;
    for _ in 0..n {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace)?;
        fields.push(&rest[..end]);
        rest = &rest[end..];
    }
    let command = rest.trim_start();
    (!command.is_empty()).then_some((fields, command))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUXWWWM: &str = "\
USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND
root           1  0.0  0.1 167744 11904 ?        -    Nov30   0:05 /sbin/init
root           -  0.0    -      -     - -        Ss   Nov30   0:05 -
libvirt+    4242  1.2  2.0 1234567 65432 ?       -    10:00   0:30 /usr/bin/qemu-system-x86_64 -name guest=web,debug-threads=on -S -machine pc-q35-7.2,accel=tcg
libvirt+       -  1.2    -      -     - -        Sl   10:00   0:30 -
root        4300  0.0  0.0      0     0 ?        I    10:00   0:00 [kworker/0:1-events]
root        4400  9.0  1.0  99999  8888 pts/0    Sl+  10:01   0:01 qemu-system-x86_64 -machine accel=tcg -m 64 -nographic -S
";

    #[test]
    fn qemu_lines_of_auxwwwm() {
        let p = qemu_processes(AUXWWWM).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].pid, 4242);
        assert_eq!(p[0].vm_name().as_deref(), Some("web"));
        assert_eq!(p[0].argv().len(), 6);
        // From the thread line after it.
        assert_eq!(p[0].state, "S");
        assert_eq!(p[1].pid, 4400);
        assert_eq!(p[1].state, "S");
        assert_eq!(p[1].vm_name(), None);
        assert_eq!(p[1].argv()[0], RawBytes(b"qemu-system-x86_64".to_vec()));
    }

    #[test]
    fn not_a_listing() {
        assert!(qemu_processes("").is_err());
        assert!(qemu_processes("hello world\n").is_err());
        assert!(qemu_processes("PID TTY TIME\n1 ? 0:00\n").is_err());
    }
}
