//! The version of a running QEMU, found without executing anything.
//!
//! 1. The binary itself: QEMU prints `--version` from one string literal, `"QEMU emulator
//!    version " QEMU_FULL_VERSION "\n" QEMU_COPYRIGHT`, so the version sits in the executable's
//!    read-only data. Live, `/proc/PID/exe` opens the binary the process runs (even when it was
//!    replaced on disk since); it is searched in bounded chunks, once per (device, inode).
//! 2. The package database: dpkg's `var/lib/dpkg/status` (live and `--root` trees), a
//!    sosreport's `installed-rpms` or `dpkg -l`. It names what is installed, which is what runs
//!    unless the package was upgraded after the VM started (then the live exe says "deleted").

use super::fsroot::FsRoot;
use crate::snapshot::{Fact, Sourced};
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Mutex, OnceLock};

const NEEDLE: &[u8] = b"QEMU emulator version ";
/// Largest executable searched (distribution QEMUs are 15–60 MB).
const MAX_EXE: u64 = 512 * 1024 * 1024;
const CHUNK: usize = 1024 * 1024;

/// Version found (or not) per executable's (device, inode).
type VersionCache = Mutex<HashMap<(u64, u64), Option<String>>>;

/// Versions found per (device, inode): many VMs run one binary.
fn cache() -> &'static VersionCache {
    static CACHE: OnceLock<VersionCache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The version in the binary live process `pid` runs.
pub fn from_live_exe(pid: u32) -> Option<Sourced<String>> {
    use std::os::unix::fs::MetadataExt;
    let path = format!("/proc/{pid}/exe");
    let f = std::fs::File::open(&path).ok()?;
    let meta = f.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let id = (meta.dev(), meta.ino());
    if let Some(v) = cache().lock().ok().and_then(|c| c.get(&id).cloned()) {
        return v.map(|v| Sourced::value(path, v));
    }
    let found = search(f, MAX_EXE);
    if let Ok(mut c) = cache().lock() {
        c.insert(id, found.clone());
    }
    found.map(|v| Sourced::value(path, v))
}

/// Search a binary for QEMU's version string, reading at most `max` bytes.
pub fn search(r: impl Read, max: u64) -> Option<String> {
    let mut r = r.take(max);
    let mut buf = vec![0u8; CHUNK + 64];
    // Bytes kept from the previous chunk: a match may straddle two reads.
    let mut kept = 0usize;
    loop {
        let n = match r.read(&mut buf[kept..kept + CHUNK]) {
            Ok(0) => return None,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        let hay = &buf[..kept + n];
        let mut from = 0;
        while let Some(i) = hay[from..].iter().position(|&b| b == NEEDLE[0]) {
            let at = from + i;
            if hay.len() - at < NEEDLE.len() + 16 {
                break;
            }
            if hay[at..].starts_with(NEEDLE) {
                if let Some(v) = version_prefix(&hay[at + NEEDLE.len()..]) {
                    return Some(v);
                }
            }
            from = at + 1;
        }
        let keep = (NEEDLE.len() + 16).min(hay.len());
        let start = hay.len() - keep;
        buf.copy_within(start..start + keep, 0);
        kept = keep;
    }
}

/// The leading `N.N[.N]` of `b`.
fn version_prefix(b: &[u8]) -> Option<String> {
    let v: String = b
        .iter()
        .take(16)
        .take_while(|c| c.is_ascii_digit() || **c == b'.')
        .map(|c| *c as char)
        .collect();
    let v = v.trim_end_matches('.');
    let parts: Vec<&str> = v.split('.').collect();
    (parts.len() >= 2 && parts.iter().all(|p| !p.is_empty())).then(|| v.to_string())
}

/// Packages that ship the x86 system emulator (Debian, RHEL/Fedora, SUSE).
fn is_qemu_package(name: &str) -> bool {
    matches!(
        name,
        "qemu-system-x86"
            | "qemu-system-x86-64"
            | "qemu-kvm"
            | "qemu-kvm-core"
            | "qemu-system-x86-core"
            | "qemu-x86"
    )
}

/// The upstream part of a Debian or RPM version: epoch, revision and `+dfsg` dropped.
fn upstream(version: &str) -> Option<String> {
    let v = version.split_once(':').map_or(version, |(_, v)| v);
    version_prefix(v.as_bytes())
}

/// dpkg's status file: the installed QEMU system emulator package's upstream version.
pub fn from_dpkg_status(text: &str) -> Option<(String, String)> {
    for stanza in text.split("\n\n") {
        let field = |k: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(k).map(str::trim))
        };
        let (Some(name), Some(status), Some(version)) =
            (field("Package:"), field("Status:"), field("Version:"))
        else {
            continue;
        };
        if is_qemu_package(name) && status.ends_with(" installed") {
            if let Some(v) = upstream(version) {
                return Some((name.to_string(), v));
            }
        }
    }
    None
}

/// `dpkg -l` output (a sosreport's dpkg plugin): `ii  NAME  VERSION  ARCH  DESCRIPTION`.
pub fn from_dpkg_list(text: &str) -> Option<(String, String)> {
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        let (state, name, version) = (w.next()?, w.next()?, w.next()?);
        let name = name.split(':').next()?;
        (state == "ii" && is_qemu_package(name))
            .then(|| upstream(version).map(|v| (name.to_string(), v)))
            .flatten()
    })
}

/// A sosreport's `installed-rpms`: `NAME-VERSION-RELEASE.ARCH   DATE` per line.
pub fn from_rpm_list(text: &str) -> Option<(String, String)> {
    text.lines().find_map(|l| {
        let nvra = l.split_whitespace().next()?;
        let (rest, _release) = nvra.rsplit_once('-')?;
        let (name, version) = rest.rsplit_once('-')?;
        is_qemu_package(name)
            .then(|| upstream(version).map(|v| (name.to_string(), v)))
            .flatten()
    })
}

/// The installed QEMU's version from whichever package database the tree holds.
pub fn from_packages(fs: &FsRoot) -> Option<Sourced<String>> {
    type Parser = fn(&str) -> Option<(String, String)>;
    let sources: [(&str, Parser); 4] = [
        ("/var/lib/dpkg/status", from_dpkg_status),
        ("/installed-rpms", from_rpm_list),
        ("/sos_commands/dpkg/dpkg_-l", from_dpkg_list),
        ("/sos_commands/rpm/package-data", from_rpm_list),
    ];
    for (path, parse) in sources {
        if fs.is_live() && !path.starts_with("/var/") {
            continue;
        }
        if let Fact::Value(t) = fs.read_text(path, 64 * 1024 * 1024) {
            if let Some((pkg, v)) = parse(&t) {
                // A sosreport's own files are named as sos names them (no leading `/`).
                let shown = if path.starts_with("/var/") {
                    path
                } else {
                    &path[1..]
                };
                return Some(Sourced::value(format!("{shown} ({pkg})"), v));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_string_across_chunk_boundaries() {
        for pad in [0usize, CHUNK - 10, CHUNK - 30, CHUNK + 5] {
            let mut b = vec![b'Q'; pad];
            b.extend_from_slice(b"\0QEMU emulator version 9.1.2 (qemu-9.1.2-1.fc41)\nCopyright");
            b.extend(vec![0u8; 100]);
            assert_eq!(
                search(&b[..], MAX_EXE).as_deref(),
                Some("9.1.2"),
                "pad {pad}"
            );
        }
        assert_eq!(search(&b"QEMU emulator version %s\n"[..], MAX_EXE), None);
        // The bound stops the search.
        let mut b = vec![0u8; 4096];
        b.extend_from_slice(b"QEMU emulator version 8.0.0\n");
        b.extend(vec![0u8; 64]);
        assert_eq!(search(&b[..], 1024), None);
    }

    #[test]
    fn package_databases() {
        let status = "Package: qemu-utils\nStatus: install ok installed\nVersion: 1:7.2+dfsg-7\n\n\
                      Package: qemu-system-x86\nStatus: install ok installed\nVersion: 1:7.2+dfsg-7+deb12u18+b3\n";
        assert_eq!(
            from_dpkg_status(status),
            Some(("qemu-system-x86".into(), "7.2".into()))
        );
        let removed =
            "Package: qemu-system-x86\nStatus: deinstall ok config-files\nVersion: 1:7.2+dfsg-7\n";
        assert_eq!(from_dpkg_status(removed), None);
        let rpms = "qemu-img-8.2.0-11.el9_4.x86_64    Wed 10 Jul 2024\nqemu-kvm-core-8.2.0-11.el9_4.x86_64    Wed 10 Jul 2024\n";
        assert_eq!(
            from_rpm_list(rpms),
            Some(("qemu-kvm-core".into(), "8.2.0".into()))
        );
        let dpkg_l = "ii  qemu-system-x86  1:7.2+dfsg-7+deb12u18+b3 amd64  QEMU full system emulation binaries (x86)\n";
        assert_eq!(
            from_dpkg_list(dpkg_l),
            Some(("qemu-system-x86".into(), "7.2".into()))
        );
    }
}
