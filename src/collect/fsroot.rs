//! Reading host paths from `/` or from under a `--root DIR`, never escaping DIR.
//!
//! Under a root, paths are resolved one component at a time, the way `openat2(RESOLVE_IN_ROOT)`
//! does: an absolute symlink target restarts at DIR, `..` stops at DIR, and a chain of more than
//! 40 links is an error. A sosreport or a mounted host filesystem may hold links such as
//! `etc/localtime -> /usr/share/...` or a hostile `x -> /etc/shadow`; both stay inside DIR.

use crate::snapshot::{Fact, ReadError, ReadErrorKind};
use std::ffi::OsString;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Symlinks followed while resolving one path before giving up (Linux uses 40 too).
const MAX_LINKS: usize = 40;

/// Marker that keeps an empty directory of a fixture tree in git; ignored under `--root`.
pub const GIT_KEEP: &str = ".gitkeep";

/// Where host paths are read from.
#[derive(Debug, Clone)]
pub struct FsRoot {
    root: Option<PathBuf>,
}

impl FsRoot {
    /// The running system: paths are used as they are.
    pub fn live() -> Self {
        FsRoot { root: None }
    }

    /// A host filesystem tree under `dir`.
    pub fn under(dir: impl Into<PathBuf>) -> Self {
        FsRoot {
            root: Some(dir.into()),
        }
    }

    pub fn is_live(&self) -> bool {
        self.root.is_none()
    }

    pub fn root_dir(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// The real filesystem path of host path `host`, with symlinks resolved inside the root.
    /// `follow_last` = false resolves only the parent directories (for `readlink`).
    pub fn resolve(&self, host: &str, follow_last: bool) -> Result<PathBuf, ReadError> {
        match &self.root {
            None => Ok(PathBuf::from(host)),
            Some(root) => resolve_in_root(root, Path::new(host), follow_last),
        }
    }

    /// Read at most `max` bytes; more is a `TooLarge` error rather than a silent truncation.
    pub fn read_bytes(&self, host: &str, max: u64) -> Fact<Vec<u8>> {
        let path = match self.resolve(host, true) {
            Ok(p) => p,
            Err(e) => return Fact::Error(e),
        };
        match read_bounded(&path, max) {
            Ok(b) => Fact::Value(b),
            Err(e) => Fact::Error(e),
        }
    }

    /// Read a text file; invalid UTF-8 is replaced (sysfs and /proc text is ASCII).
    pub fn read_text(&self, host: &str, max: u64) -> Fact<String> {
        match self.read_bytes(host, max) {
            Fact::Value(b) => Fact::Value(match String::from_utf8(b) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            }),
            Fact::Error(e) => Fact::Error(e),
        }
    }

    /// Sorted names in a directory.
    pub fn list_dir(&self, host: &str) -> Fact<Vec<String>> {
        let path = match self.resolve(host, true) {
            Ok(p) => p,
            Err(e) => return Fact::Error(e),
        };
        match std::fs::read_dir(&path) {
            Ok(rd) => {
                let mut names: Vec<String> = rd
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    // git keeps empty directories of fixture trees only with a marker file;
                    // no real /proc, /sys, /dev or /etc directory holds one.
                    .filter(|n| self.root.is_none() || n != GIT_KEEP)
                    .collect();
                names.sort();
                Fact::Value(names)
            }
            Err(e) => Fact::Error(ReadError::from_io(&e)),
        }
    }

    /// The target of a symlink, as text, not resolved.
    pub fn read_link(&self, host: &str) -> Fact<String> {
        let path = match self.resolve(host, false) {
            Ok(p) => p,
            Err(e) => return Fact::Error(e),
        };
        match std::fs::read_link(&path) {
            Ok(t) => Fact::Value(t.to_string_lossy().into_owned()),
            Err(e) => Fact::Error(ReadError::from_io(&e)),
        }
    }

    /// Whether a host path exists (following links inside the root).
    pub fn exists(&self, host: &str) -> bool {
        self.resolve(host, true)
            .map(|p| p.symlink_metadata().is_ok())
            .unwrap_or(false)
    }
}

fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    let f = std::fs::File::open(path).map_err(|e| ReadError::from_io(&e))?;
    let mut buf = Vec::new();
    f.take(max.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| ReadError::from_io(&e))?;
    if buf.len() as u64 > max {
        return Err(ReadError::new(
            ReadErrorKind::TooLarge,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(buf)
}

/// Resolve `host` (absolute, as on the audited host) to a path under `root`.
fn resolve_in_root(root: &Path, host: &Path, follow_last: bool) -> Result<PathBuf, ReadError> {
    // Components still to walk, in reverse so that `pop` yields the next one.
    let mut todo: Vec<OsString> = normal_components(host);
    todo.reverse();
    let mut done: Vec<OsString> = Vec::new();
    let mut links = 0usize;
    while let Some(comp) = todo.pop() {
        if comp == ".." {
            done.pop();
            continue;
        }
        let mut candidate = root.to_path_buf();
        candidate.extend(&done);
        candidate.push(&comp);
        let is_last = todo.is_empty();
        let meta = match candidate.symlink_metadata() {
            Ok(m) => m,
            Err(e) => {
                return Err(ReadError::from_io(&e));
            }
        };
        if meta.file_type().is_symlink() && (follow_last || !is_last) {
            links += 1;
            if links > MAX_LINKS {
                return Err(ReadError::new(
                    ReadErrorKind::Io,
                    "too many levels of symbolic links",
                ));
            }
            let target = std::fs::read_link(&candidate).map_err(|e| ReadError::from_io(&e))?;
            if target.is_absolute() {
                done.clear();
            }
            let mut more = normal_components(&target);
            more.reverse();
            todo.extend(more);
        } else {
            done.push(comp);
        }
    }
    let mut out = root.to_path_buf();
    out.extend(&done);
    Ok(out)
}

/// Path components as names, with `..` kept (resolved later) and `/` and `.` dropped.
fn normal_components(p: &Path) -> Vec<OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn absolute_and_dotdot_links_stay_inside_root() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/shadow"), "inside").unwrap();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        symlink("/etc/shadow", root.join("a/abs")).unwrap();
        symlink("../../../../../../etc/shadow", root.join("a/b/rel")).unwrap();
        let fs = FsRoot::under(root);
        assert_eq!(fs.read_text("/a/abs", 100).value().unwrap(), "inside");
        assert_eq!(fs.read_text("/a/b/rel", 100).value().unwrap(), "inside");
        assert_eq!(fs.read_link("/a/abs").value().unwrap(), "/etc/shadow");
    }

    #[test]
    fn link_loops_end_with_an_error() {
        let t = tempfile::tempdir().unwrap();
        symlink("b", t.path().join("a")).unwrap();
        symlink("a", t.path().join("b")).unwrap();
        let fs = FsRoot::under(t.path());
        let e = fs.read_text("/a", 10);
        assert_eq!(e.error().unwrap().kind, ReadErrorKind::Io);
    }

    #[test]
    fn too_large_is_reported_not_truncated() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("big"), "0123456789").unwrap();
        let fs = FsRoot::under(t.path());
        assert_eq!(
            fs.read_text("/big", 5).error().unwrap().kind,
            ReadErrorKind::TooLarge
        );
        assert_eq!(fs.read_text("/big", 10).value().unwrap(), "0123456789");
    }

    #[test]
    fn missing_is_absent() {
        let t = tempfile::tempdir().unwrap();
        let fs = FsRoot::under(t.path());
        assert_eq!(
            fs.read_text("/nope/x", 10).error().unwrap().kind,
            ReadErrorKind::Absent
        );
    }
}
