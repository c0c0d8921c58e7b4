//! Reading host paths from `/` or from under a `--root DIR`, never escaping DIR.
//!
//! Under a root, paths are resolved one component at a time, the way `openat2(RESOLVE_IN_ROOT)`
//! does: an absolute symlink target restarts at DIR, `..` stops at DIR, and a chain of more than
//! 40 links is an error. A sosreport or a mounted host filesystem may hold links such as
//! `etc/localtime -> /usr/share/...` or a hostile `x -> /etc/shadow`; both stay inside DIR.
//!
//! Two more guards make that hold for a tree that changes while it is read (a mounted, writable
//! host filesystem): what was opened is checked through `/proc/self/fd` to lie under DIR before
//! a byte of it is used, and the last component is opened with `O_NOFOLLOW`.
//!
//! Only regular files are read, checked before opening: a FIFO would block the scan forever and
//! opening a device node can have effects (a watchdog starts counting, a tape rewinds). Files are
//! opened with `O_NONBLOCK` as well, in case the type changed between the check and the open.
//!
//! A tree is read within a [`Budget`] (bytes, entries, files and directories seen twice): see
//! [`super::budget`].

use super::archive::{MemTree, Node};
use super::budget::{Budget, FileId, Limits};
use crate::snapshot::{Fact, ReadError, ReadErrorKind};
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Symlinks followed while resolving one path before giving up (Linux uses 40 too).
const MAX_LINKS: usize = 40;

/// Marker that keeps an empty directory of a fixture tree in git; ignored under `--root`.
pub const GIT_KEEP: &str = ".gitkeep";

/// Where host paths are read from.
#[derive(Debug, Clone)]
pub struct FsRoot {
    root: Option<PathBuf>,
    /// `root` with every symlink resolved: what `/proc/self/fd` shows for files under it.
    canonical: Option<PathBuf>,
    /// What a scan of the tree may still read; `None` for the live host.
    budget: Option<Arc<Budget>>,
    /// A sosreport archive read into memory: `root` then only names it.
    mem: Option<Arc<MemTree>>,
}

impl FsRoot {
    /// The running system: paths are used as they are.
    pub fn live() -> Self {
        FsRoot {
            root: None,
            canonical: None,
            budget: None,
            mem: None,
        }
    }

    /// The tree of an archive read into memory (`path` names it in the snapshot), read
    /// within `limits` like a directory tree.
    pub fn archive(path: impl Into<PathBuf>, tree: MemTree, limits: Limits) -> Self {
        FsRoot {
            root: Some(path.into()),
            canonical: None,
            budget: Some(Arc::new(Budget::new(limits))),
            mem: Some(Arc::new(tree)),
        }
    }

    /// The archive's tree, when this root is one.
    pub fn mem_tree(&self) -> Option<&MemTree> {
        self.mem.as_deref()
    }

    /// A host filesystem tree under `dir`, read within the default budget.
    pub fn under(dir: impl Into<PathBuf>) -> Self {
        Self::under_with(dir, Limits::DEFAULT)
    }

    /// A host filesystem tree under `dir`, read within `limits`.
    pub fn under_with(dir: impl Into<PathBuf>, limits: Limits) -> Self {
        let dir = dir.into();
        FsRoot {
            canonical: dir.canonicalize().ok(),
            root: Some(dir),
            budget: Some(Arc::new(Budget::new(limits))),
            mem: None,
        }
    }

    /// The note a scan carries when the tree's budget limited it.
    pub fn budget_note(&self) -> Option<String> {
        self.budget.as_ref().and_then(|b| b.note())
    }

    /// Whether the tree's budget is spent (never for the live host).
    pub fn budget_spent(&self) -> bool {
        self.budget.as_ref().is_some_and(|b| b.is_spent())
    }

    /// Charge `n` entries to the budget, if there is one.
    fn charge_entries(&self, n: u64) -> Result<(), ReadError> {
        match &self.budget {
            Some(b) => b.entries(n),
            None => Ok(()),
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
        match (&self.root, &self.mem) {
            (Some(root), Some(m)) => m.resolve(host, follow_last).map(|p| root.join(p)),
            (None, _) => Ok(PathBuf::from(host)),
            (Some(root), None) => resolve_in_root(root, Path::new(host), follow_last),
        }
    }

    /// Read at most `max` bytes; more is a `TooLarge` error rather than a silent truncation.
    pub fn read_bytes(&self, host: &str, max: u64) -> Fact<Vec<u8>> {
        if let Err(e) = self.charge_entries(1) {
            return Fact::Error(e);
        }
        if let Some(m) = &self.mem {
            return self.mem_read(m, host, max);
        }
        let path = match self.resolve(host, true) {
            Ok(p) => p,
            Err(e) => return Fact::Error(e),
        };
        let read = self.open_checked(&path, false).and_then(|(f, id)| {
            let bytes = read_bounded(f, max)?;
            if let Some(b) = &self.budget {
                b.file_read(id, bytes.len() as u64)?;
            }
            Ok(bytes)
        });
        match read {
            Ok(b) => Fact::Value(b),
            Err(e) => Fact::Error(e),
        }
    }

    /// Open `path` for reading: a regular file (or, with `dir`, a directory), never through a
    /// final symlink under a root, and verified to lie inside the root once open; with its
    /// device and inode.
    fn open_checked(&self, path: &Path, dir: bool) -> Result<(File, FileId), ReadError> {
        let meta = std::fs::metadata(path).map_err(|e| ReadError::from_io(&e))?;
        check_type(meta.file_type(), dir)?;
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true);
        let mut flags = libc::O_NONBLOCK;
        if self.root.is_some() {
            flags |= libc::O_NOFOLLOW;
        }
        if dir {
            flags |= libc::O_DIRECTORY;
        }
        opts.custom_flags(flags);
        let f = opts.open(path).map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => ReadError::new(
                ReadErrorKind::OutsideRoot,
                "became a symlink while it was read; not followed",
            ),
            _ => ReadError::from_io(&e),
        })?;
        let meta = f.metadata().map_err(|e| ReadError::from_io(&e))?;
        check_type(meta.file_type(), dir)?;
        self.check_inside(&f)?;
        Ok((f, (meta.dev(), meta.ino())))
    }

    /// Under a root, the kernel's own name for an open file must start with the root; when
    /// `/proc` is unavailable the check is skipped (resolution already kept the path inside).
    fn check_inside(&self, f: &File) -> Result<(), ReadError> {
        let Some(root) = &self.canonical else {
            return Ok(());
        };
        let Ok(real) = std::fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd())) else {
            return Ok(());
        };
        if real.starts_with(root) {
            Ok(())
        } else {
            Err(ReadError::new(
                ReadErrorKind::OutsideRoot,
                "resolved outside --root while it was read (the tree changed); not read",
            ))
        }
    }

    /// Eight little-endian bytes at each of `offsets` in one file: the registers of an MSR
    /// device (`/dev/cpu/N/msr`, where the file offset is the register address). The live
    /// host's file is the character device itself, opened read-only; under a root it is a
    /// regular (usually sparse) file, read with the same checks as any other. An offset at or
    /// past the end of a tree's file was not recorded (`NotAvailable`); a failed read keeps
    /// its error (the msr driver answers EIO for a register the CPU does not implement).
    pub fn read_u64_at(&self, host: &str, offsets: &[u64]) -> Fact<Vec<Fact<u64>>> {
        use std::os::unix::fs::FileExt;
        if let Err(e) = self.charge_entries(1) {
            return Fact::Error(e);
        }
        let opened = if self.root.is_none() {
            std::fs::File::open(host)
                .map(|f| (f, None))
                .map_err(|e| ReadError::from_io(&e))
        } else {
            self.resolve(host, true)
                .and_then(|p| self.open_checked(&p, false))
                .map(|(f, id)| (f, Some(id)))
        };
        let (f, id) = match opened {
            Ok(x) => x,
            Err(e) => return Fact::Error(e),
        };
        if let (Some(b), Some(id)) = (&self.budget, id) {
            if let Err(e) = b.file_read(id, 8 * offsets.len() as u64) {
                return Fact::Error(e);
            }
        }
        let values = offsets
            .iter()
            .map(|&off| {
                let mut buf = [0u8; 8];
                match f.read_at(&mut buf, off) {
                    Ok(8) => Fact::Value(u64::from_le_bytes(buf)),
                    Ok(n) => Fact::err(
                        ReadErrorKind::NotAvailable,
                        format!("{n} of 8 bytes at offset {off:#x}: not recorded in this file"),
                    ),
                    Err(e) => Fact::Error(ReadError::from_io(&e)),
                }
            })
            .collect();
        Fact::Value(values)
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

    /// A file of the in-memory tree, charged to the budget as a file of a directory tree is
    /// (its identity: the resolved path).
    fn mem_read(&self, m: &MemTree, host: &str, max: u64) -> Fact<Vec<u8>> {
        let read = m.resolve(host, true).and_then(|p| match m.lstat(&p) {
            Some(Node::File(b)) => {
                if b.len() as u64 > max {
                    return Err(ReadError::new(
                        ReadErrorKind::TooLarge,
                        format!("larger than {max} bytes"),
                    ));
                }
                if let Some(budget) = &self.budget {
                    budget.file_read(mem_id(&p), b.len() as u64)?;
                }
                Ok(b.to_vec())
            }
            Some(Node::Unkept(why)) => Err(ReadError::new(ReadErrorKind::NotAvailable, *why)),
            Some(Node::Dir(_)) => Err(ReadError::new(
                ReadErrorKind::Io,
                "is a directory, not a regular file; not read",
            )),
            _ => Err(ReadError::new(ReadErrorKind::Absent, "not in the archive")),
        });
        match read {
            Ok(b) => Fact::Value(b),
            Err(e) => Fact::Error(e),
        }
    }

    /// Sorted names in a directory.
    pub fn list_dir(&self, host: &str) -> Fact<Vec<String>> {
        if let Err(e) = self.charge_entries(1) {
            return Fact::Error(e);
        }
        if let Some(m) = &self.mem {
            let listed = m.resolve(host, true).and_then(|p| match m.lstat(&p) {
                Some(Node::Dir(names)) => {
                    if let Some(b) = &self.budget {
                        b.dir_listed(mem_id(&p))?;
                    }
                    self.charge_entries(names.len() as u64)?;
                    Ok(names.iter().cloned().collect())
                }
                Some(_) => Err(ReadError::new(
                    ReadErrorKind::Absent,
                    "is not a directory; not listed",
                )),
                None => Err(ReadError::new(ReadErrorKind::Absent, "not in the archive")),
            });
            return match listed {
                Ok(n) => Fact::Value(n),
                Err(e) => Fact::Error(e),
            };
        }
        let path = match self.resolve(host, true) {
            Ok(p) => p,
            Err(e) => return Fact::Error(e),
        };
        let dir = match self.open_checked(&path, true) {
            Ok((d, id)) => match self.budget.as_ref().map_or(Ok(()), |b| b.dir_listed(id)) {
                Ok(()) => d,
                Err(e) => return Fact::Error(e),
            },
            Err(e) => return Fact::Error(e),
        };
        // Under a root, list the directory that was checked, not whatever the path names by now.
        let listing = match &self.canonical {
            Some(_) => std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd()))
                .or_else(|_| std::fs::read_dir(&path)),
            None => std::fs::read_dir(&path),
        };
        match listing {
            Ok(rd) => {
                let mut names: Vec<String> = Vec::new();
                for e in rd.filter_map(|e| e.ok()) {
                    // Charged as they come, so a directory of millions stops at the budget.
                    if let Err(e) = self.charge_entries(1) {
                        return Fact::Error(e);
                    }
                    let n = e.file_name().to_string_lossy().into_owned();
                    // git keeps empty directories of fixture trees only with a marker file;
                    // no real /proc, /sys, /dev or /etc directory holds one.
                    if self.root.is_none() || n != GIT_KEEP {
                        names.push(n);
                    }
                }
                names.sort();
                Fact::Value(names)
            }
            Err(e) => Fact::Error(ReadError::from_io(&e)),
        }
    }

    /// The target of a symlink, as text, not resolved.
    pub fn read_link(&self, host: &str) -> Fact<String> {
        if let Err(e) = self.charge_entries(1) {
            return Fact::Error(e);
        }
        if let Some(m) = &self.mem {
            return match m.resolve(host, false).map(|p| m.lstat(&p)) {
                Ok(Some(Node::Link(t))) => Fact::Value(t.clone()),
                Ok(Some(_)) => {
                    Fact::Error(ReadError::new(ReadErrorKind::Io, "not a symbolic link"))
                }
                Ok(None) => {
                    Fact::Error(ReadError::new(ReadErrorKind::Absent, "not in the archive"))
                }
                Err(e) => Fact::Error(e),
            };
        }
        let path = match self.resolve(host, false) {
            Ok(p) => p,
            Err(e) => return Fact::Error(e),
        };
        if self.canonical.is_none() {
            return match std::fs::read_link(&path) {
                Ok(t) => Fact::Value(t.to_string_lossy().into_owned()),
                Err(e) => Fact::Error(ReadError::from_io(&e)),
            };
        }
        // Under a root: hold the link itself (O_PATH | O_NOFOLLOW), check where it is, and read
        // it through that fd, so a parent swapped for a link after resolution is noticed.
        let held = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| ReadError::from_io(&e))
            .and_then(|f| self.check_inside(&f).map(|_| f));
        match held.and_then(|f| readlink_fd(&f)) {
            Ok(t) => Fact::Value(t),
            Err(e) => Fact::Error(e),
        }
    }

    /// Whether a host path exists (following links inside the root).
    pub fn exists(&self, host: &str) -> bool {
        if let Some(m) = &self.mem {
            return m.resolve(host, true).is_ok();
        }
        self.resolve(host, true)
            .map(|p| p.symlink_metadata().is_ok())
            .unwrap_or(false)
    }
}

/// A stable identity for a path of the in-memory tree, for the budget's seen-twice sets (device
/// 0 never names a real filesystem).
fn mem_id(path: &str) -> FileId {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    path.hash(&mut h);
    (0, h.finish())
}

/// The target of the symlink `f` was opened on (O_PATH | O_NOFOLLOW).
fn readlink_fd(f: &File) -> Result<String, ReadError> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: an empty C string names the fd itself (readlinkat(2), Linux >= 2.6.39); buf is
    // valid for buf.len() bytes.
    let n = unsafe {
        libc::readlinkat(
            f.as_raw_fd(),
            c"".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(ReadError::from_io(&std::io::Error::last_os_error()));
    }
    buf.truncate(n as usize);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Regular files only (directories when `dir`): see the module documentation.
fn check_type(t: std::fs::FileType, dir: bool) -> Result<(), ReadError> {
    if (dir && t.is_dir()) || (!dir && t.is_file()) {
        return Ok(());
    }
    let what = if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device node"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    };
    let kind = if dir {
        ReadErrorKind::Absent
    } else {
        ReadErrorKind::Io
    };
    Err(ReadError::new(
        kind,
        format!(
            "is {what}, not {}; not read",
            if dir { "a directory" } else { "a regular file" }
        ),
    ))
}

/// Room for the first read. procfs and sysfs files report size 0, so `read_to_end` would start
/// with a 32-byte read and double from there: 8 reads for a 1.5 KB `/proc/PID/status`, 15 for
/// a QEMU's `numa_maps`, each read of a seq_file re-finding its place (numa_maps: the VMA).
const FIRST_READ: usize = 16 * 1024;

fn read_bounded(f: File, max: u64) -> Result<Vec<u8>, ReadError> {
    let limit = max.saturating_add(1);
    let mut buf =
        Vec::with_capacity(usize::try_from(limit).map_or(FIRST_READ, |l| l.min(FIRST_READ)));
    f.take(limit)
        .read_to_end(&mut buf)
        .map_err(|e| ReadError::from_io(&e))?;
    if buf.len() as u64 > max {
        return Err(ReadError::new(
            ReadErrorKind::TooLarge,
            format!("larger than {max} bytes"),
        ));
    }
    // The snapshot keeps hundreds of these; hold only what was read.
    buf.shrink_to_fit();
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
