//! Writing the files kvmaudit was asked to write (reports, snapshots, scripts, XML fragments,
//! fleet roll-ups) without ever writing through something planted at the output path.
//!
//! kvmaudit runs as root from cron, often with outputs in directories other users can write.
//! So the final name is never opened: a temporary file is created beside it, relative to a
//! descriptor of the named directory (`openat` with `O_CREAT|O_EXCL|O_NOFOLLOW`), filled,
//! fsynced, and renamed over the name (`renameat` in the same directory). A name that is a
//! symlink, a device, a FIFO, a socket or a directory is refused: following a link planted in
//! /tmp would let a local user make root overwrite any file or block device, and opening a
//! FIFO can block forever. The two exceptions are `-` (stdout) and exactly `/dev/null`.
//!
//! New files get 0666 less the umask (reports carry host detail: the admin decides who reads
//! them); a file that is replaced keeps its mode and owner. The temporary file is removed when
//! the write fails and, through [`cleanup`], when SIGINT, SIGTERM or SIGHUP ends the process
//! mid-write.

use crate::error::{Error, Result};
use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Write `bytes` to `path` (see the module documentation); `-` is stdout.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |w| w.write_all(bytes))
}

/// [`write`] for output produced by `fill` as it goes, through a buffer, so that a large
/// output (the JSON report of a host with 10,000 VMs is 200 MB) is never held whole in memory.
/// `fill` must not flush; a failed `fill` leaves an existing file untouched.
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let werr = |e: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source: e,
    };
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        return fill_flush(&mut out, fill)
            .and_then(|_| out.flush())
            .map_err(werr);
    }
    // The one device an output may name: written in place (renaming over it would replace
    // /dev/null with a regular file), never created, never a link.
    if path.as_os_str() == "/dev/null" {
        let mut f = open_at(
            libc::AT_FDCWD,
            c"/dev/null",
            libc::O_WRONLY | libc::O_NOCTTY | libc::O_CLOEXEC,
            0,
        )
        .map(File::from)
        .map_err(werr)?;
        return fill_flush(&mut f, fill).map_err(werr);
    }
    let (dir, name) = split(path).map_err(werr)?;
    let dir = open_dir(dir).map_err(werr)?;
    write_in(&dir, &name, fill).map_err(werr)
}

/// Create directory `dir` for outputs (its parents as needed) and open it. An existing `dir`
/// that is a symlink or not a directory is refused: the files written into it would land
/// wherever the link points.
pub fn create_dir(dir: &Path) -> Result<OutputDir> {
    let werr = |e: std::io::Error| Error::Write {
        path: dir.to_path_buf(),
        source: e,
    };
    // `DIR/` names DIR; `.`, `..` and `/` cannot be links, so they are only opened.
    let bytes = dir.as_os_str().as_bytes();
    let trimmed = match bytes.iter().rposition(|&b| b != b'/') {
        Some(end) => &bytes[..=end],
        None => bytes,
    };
    let last = trimmed.rsplit(|&b| b == b'/').next().unwrap_or(trimmed);
    if trimmed == b"/" || last == b"." || last == b".." || trimmed.is_empty() {
        let fd = open_dir(dir).map_err(werr)?;
        return Ok(OutputDir {
            path: dir.to_path_buf(),
            fd,
        });
    }
    let (parent, name) = split(Path::new(OsStr::from_bytes(trimmed))).map_err(werr)?;
    if parent != Path::new(".") {
        std::fs::create_dir_all(parent).map_err(werr)?;
    }
    let pfd = open_dir(parent).map_err(werr)?;
    // mkdirat never follows a link at the last component (it fails with EEXIST instead).
    // SAFETY: pfd is an open directory and name a NUL-terminated string.
    if unsafe { libc::mkdirat(pfd.as_raw_fd(), name.as_ptr(), 0o777) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(werr(e));
        }
    }
    match lstat_at(pfd.as_raw_fd(), &name).map_err(werr)? {
        Some(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => {}
        Some(st) if st.st_mode & libc::S_IFMT == libc::S_IFREG => {
            return Err(werr(std::io::Error::other("is not a directory")))
        }
        Some(st) => return Err(werr(refusal(st.st_mode))),
        None => return Err(werr(std::io::ErrorKind::NotFound.into())),
    }
    let fd = open_at(
        pfd.as_raw_fd(),
        &name,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        0,
    )
    .map_err(werr)?;
    Ok(OutputDir {
        path: dir.to_path_buf(),
        fd,
    })
}

/// A directory opened by [`create_dir`]: files are written relative to it, so the directory
/// cannot be swapped for a link between its check and the writes.
pub struct OutputDir {
    path: std::path::PathBuf,
    fd: OwnedFd,
}

impl OutputDir {
    /// Write `bytes` to the file `name` in this directory, as [`write`] does. `name` must be a
    /// single path component.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path.join(name);
        let werr = |e: std::io::Error| Error::Write {
            path: path.clone(),
            source: e,
        };
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            return Err(werr(std::io::Error::other("not a plain file name")));
        }
        let cname = CString::new(name).map_err(|_| werr(std::io::Error::other("NUL in name")))?;
        write_in(&self.fd, &cname, |w| w.write_all(bytes)).map_err(werr)
    }
}

fn fill_flush(
    w: &mut dyn Write,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    const BUF: usize = 64 * 1024;
    let mut b = std::io::BufWriter::with_capacity(BUF, w);
    fill(&mut b)?;
    b.flush()
}

/// The directory part (`.` when there is none) and the final name of an output path. A path
/// that ends in `/`, `.` or `..` names a directory, not a file.
fn split(path: &Path) -> std::io::Result<(&Path, CString)> {
    let bytes = path.as_os_str().as_bytes();
    let last = bytes.rsplit(|&b| b == b'/').next().unwrap_or(bytes);
    if bytes.is_empty() || last.is_empty() || last == b"." || last == b".." {
        return Err(std::io::Error::other("is a directory, not a file name"));
    }
    let dir = &bytes[..bytes.len() - last.len()];
    let dir = match dir {
        [] => Path::new("."),
        _ => Path::new(OsStr::from_bytes(dir)),
    };
    let name = CString::new(last).map_err(|_| std::io::Error::other("NUL in path"))?;
    Ok((dir, name))
}

fn open_dir(dir: &Path) -> std::io::Result<OwnedFd> {
    let c = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("NUL in path"))?;
    open_at(
        libc::AT_FDCWD,
        &c,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        0,
    )
}

fn open_at(dir: RawFd, name: &CStr, flags: i32, mode: libc::mode_t) -> std::io::Result<OwnedFd> {
    loop {
        // SAFETY: name is NUL-terminated; the returned fd is owned by nobody else.
        let fd = unsafe { libc::openat(dir, name.as_ptr(), flags, libc::c_uint::from(mode)) };
        if fd >= 0 {
            // SAFETY: fd was just opened and is not owned elsewhere.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// `fstatat(AT_SYMLINK_NOFOLLOW)`: what `name` itself is, `None` when it does not exist.
fn lstat_at(dir: RawFd, name: &CStr) -> std::io::Result<Option<libc::stat>> {
    // SAFETY: a zeroed stat is a valid out-buffer; name is NUL-terminated.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    if r == 0 {
        return Ok(Some(st));
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENOENT) => Ok(None),
        _ => Err(e),
    }
}

/// Why an existing output name that is not a regular file is refused.
fn refusal(mode: libc::mode_t) -> std::io::Error {
    let what = match mode & libc::S_IFMT {
        libc::S_IFLNK => "is a symbolic link (kvmaudit does not write through links)",
        libc::S_IFBLK => "is a block device",
        libc::S_IFCHR => "is a character device",
        libc::S_IFIFO => "is a FIFO",
        libc::S_IFSOCK => "is a socket",
        libc::S_IFDIR => "is a directory",
        _ => "is not a regular file",
    };
    std::io::Error::other(what)
}

/// Replace `name` in directory `dir` with what `fill` writes, through a temporary file.
fn write_in(
    dir: &OwnedFd,
    name: &CStr,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dfd = dir.as_raw_fd();
    let old = match lstat_at(dfd, name)? {
        Some(st) if st.st_mode & libc::S_IFMT == libc::S_IFREG => Some(st),
        Some(st) => return Err(refusal(st.st_mode)),
        None => None,
    };
    cleanup::install();
    if let Some(st) = &old {
        check_not_planted(dfd, st)?;
    }
    let (tmp, file) = create_temp(dfd)?;
    let guard = TempGuard {
        dfd,
        tmp,
        renamed: false,
    };
    let mut file = File::from(file);
    fill_flush(&mut file, fill)?;
    if let Some(st) = old {
        keep_owner_and_mode(&file, &st)?;
    }
    file.sync_all()?;
    drop(file);
    // SAFETY: both names are NUL-terminated and relative to the same open directory.
    let r = unsafe { libc::renameat(dfd, guard.tmp.name().as_ptr(), dfd, name.as_ptr()) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    guard.renamed();
    // The rename is durable once the directory is: an error here (some filesystems cannot
    // fsync a directory) does not undo the write.
    // SAFETY: dfd is an open descriptor.
    unsafe { libc::fsync(dfd) };
    Ok(())
}

/// In a sticky directory (/tmp), a file owned by someone other than us or the directory's
/// owner was planted there: keeping its owner would hand our output to that user. This is the
/// case the kernel's `fs.protected_regular` refuses for an open, refused here for the rename.
fn check_not_planted(dir: RawFd, old: &libc::stat) -> std::io::Result<()> {
    // SAFETY: a zeroed stat is a valid out-buffer; dir is open.
    let mut d: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(dir, &mut d) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if d.st_mode & libc::S_ISVTX != 0 && old.st_uid != me && old.st_uid != d.st_uid {
        return Err(std::io::Error::other(
            "is owned by another user in a sticky directory (not replacing it)",
        ));
    }
    Ok(())
}

/// Give the new file the replaced file's owner and permission bits, so that rewriting a report
/// neither widens nor narrows who can read it. Ownership first: chown clears set-id bits.
fn keep_owner_and_mode(file: &File, old: &libc::stat) -> std::io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: a zeroed stat is a valid out-buffer; fd is open.
    let mut now: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut now) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if (now.st_uid, now.st_gid) != (old.st_uid, old.st_gid) {
        // SAFETY: fd is open.
        if unsafe { libc::fchown(fd, old.st_uid, old.st_gid) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err(std::io::Error::new(
                e.kind(),
                format!("cannot keep the owner of the file it replaces: {e}"),
            ));
        }
    }
    // SAFETY: fd is open.
    if unsafe { libc::fchmod(fd, old.st_mode & 0o7777) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Create a fresh temporary file in `dir`, registered for removal on a signal before it
/// exists, so there is no moment when it exists unregistered.
fn create_temp(dir: RawFd) -> std::io::Result<(cleanup::Registered, OwnedFd)> {
    let mut last = None;
    for _ in 0..16 {
        let name = temp_name();
        let reg = cleanup::register(dir, &name)?;
        // 0666: the umask decides, as for any file a program creates.
        match open_at(
            dir,
            reg.name(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o666,
        ) {
            Ok(fd) => return Ok((reg, fd)),
            // Someone else's file by that name: it is not ours to remove.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                reg.forget();
                last = Some(e);
            }
            Err(e) => {
                reg.forget();
                return Err(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary file name")))
}

/// `.kvmaudit-PID-RANDOM`: hidden (the fleet reader skips dot files, so an in-flight report
/// is never read) and unpredictable, so nobody can plant it first.
fn temp_name() -> String {
    let mut r = [0u8; 8];
    // SAFETY: r is a valid 8-byte buffer.
    let n = unsafe { libc::getrandom(r.as_mut_ptr().cast(), r.len(), 0) };
    let mut v = u64::from_ne_bytes(r);
    if n != r.len() as isize {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        v = t ^ COUNTER.fetch_add(1, Ordering::Relaxed).rotate_left(32);
    }
    format!(".kvmaudit-{}-{v:016x}", std::process::id())
}

/// Removes the temporary file unless it was renamed into place.
struct TempGuard {
    dfd: RawFd,
    tmp: cleanup::Registered,
    renamed: bool,
}

impl TempGuard {
    fn renamed(mut self) {
        self.renamed = true;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if !self.renamed {
            // SAFETY: the name is NUL-terminated and dfd still open (the caller owns it).
            unsafe { libc::unlinkat(self.dfd, self.tmp.name().as_ptr(), 0) };
        }
    }
}

/// Removal of in-flight temporary files when SIGINT, SIGTERM or SIGHUP ends the process.
///
/// A fixed table of slots, each a directory descriptor and a name in atomics, so the handler
/// reads it without locks or allocation and calls only `unlinkat`, `sigaction` and `raise`
/// (all async-signal-safe). It then re-raises the signal with the default action, so the
/// process still dies of it. A signal the process ignored when it started (`nohup`) stays
/// ignored.
mod cleanup {
    use std::ffi::CStr;
    use std::os::fd::RawFd;
    use std::sync::atomic::{AtomicI32, AtomicU8, Ordering};

    const SLOTS: usize = 8;
    /// Longer than any [`super::temp_name`], NUL included.
    const NAME: usize = 64;
    const FREE: u8 = 0;
    const FILLING: u8 = 1;
    const LIVE: u8 = 2;
    const SIGNALS: [i32; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    struct Slot {
        state: AtomicU8,
        dir: AtomicI32,
        name: [AtomicU8; NAME],
    }

    #[allow(clippy::declare_interior_mutable_const)]
    const EMPTY: Slot = Slot {
        state: AtomicU8::new(FREE),
        dir: AtomicI32::new(-1),
        name: [const { AtomicU8::new(0) }; NAME],
    };
    static TABLE: [Slot; SLOTS] = [EMPTY; SLOTS];

    /// A slot in use; the caller frees it with `forget` (or by dropping it).
    pub struct Registered {
        slot: usize,
        name: std::ffi::CString,
    }

    impl Registered {
        pub fn name(&self) -> &CStr {
            &self.name
        }
        pub fn forget(self) {}
    }

    impl Drop for Registered {
        fn drop(&mut self) {
            TABLE[self.slot].state.store(FREE, Ordering::Release);
        }
    }

    pub fn register(dir: RawFd, name: &str) -> std::io::Result<Registered> {
        let cname = std::ffi::CString::new(name)
            .map_err(|_| std::io::Error::other("NUL in temporary name"))?;
        let bytes = cname.as_bytes_with_nul();
        if bytes.len() > NAME {
            return Err(std::io::Error::other("temporary name too long"));
        }
        for (i, s) in TABLE.iter().enumerate() {
            if s.state
                .compare_exchange(FREE, FILLING, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                s.dir.store(dir, Ordering::Relaxed);
                for (cell, b) in s.name.iter().zip(bytes) {
                    cell.store(*b, Ordering::Relaxed);
                }
                s.state.store(LIVE, Ordering::Release);
                return Ok(Registered {
                    slot: i,
                    name: cname,
                });
            }
        }
        Err(std::io::Error::other("too many outputs written at once"))
    }

    /// Install the handler once, for the signals the process does not ignore.
    pub fn install() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            for sig in SIGNALS {
                // SAFETY: zeroed sigaction structs are valid; the handler is async-signal-safe.
                unsafe {
                    let mut old: libc::sigaction = std::mem::zeroed();
                    if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                        || old.sa_sigaction != libc::SIG_DFL
                    {
                        continue;
                    }
                    let mut sa: libc::sigaction = std::mem::zeroed();
                    sa.sa_sigaction = on_signal as extern "C" fn(i32) as libc::sighandler_t;
                    libc::sigemptyset(&mut sa.sa_mask);
                    sa.sa_flags = libc::SA_RESTART;
                    libc::sigaction(sig, &sa, std::ptr::null_mut());
                }
            }
        });
    }

    extern "C" fn on_signal(sig: i32) {
        for s in &TABLE {
            if s.state.load(Ordering::Acquire) != LIVE {
                continue;
            }
            let mut name = [0u8; NAME];
            for (b, cell) in name.iter_mut().zip(&s.name) {
                *b = cell.load(Ordering::Relaxed);
            }
            name[NAME - 1] = 0;
            // SAFETY: name is NUL-terminated; unlinkat is async-signal-safe.
            unsafe { libc::unlinkat(s.dir.load(Ordering::Relaxed), name.as_ptr().cast(), 0) };
        }
        // SAFETY: sigaction and raise are async-signal-safe; the default action ends the
        // process once the handler returns and the signal is unblocked.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = libc::SIG_DFL;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
            libc::raise(sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names_the_directory_and_refuses_directory_paths() {
        let ok = |p: &str| {
            let (d, n) = split(Path::new(p)).unwrap();
            (d.to_str().unwrap().to_string(), n.into_string().unwrap())
        };
        assert_eq!(ok("r.json"), (".".into(), "r.json".into()));
        assert_eq!(ok("/tmp/r.json"), ("/tmp/".into(), "r.json".into()));
        assert_eq!(ok("/r.json"), ("/".into(), "r.json".into()));
        for bad in ["", "/", "out/", "out/.", "out/..", "..", "."] {
            assert!(split(Path::new(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn create_dir_takes_a_trailing_slash_and_dot() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("a/b");
        let with_slash = format!("{}/", d.display());
        create_dir(Path::new(&with_slash))
            .unwrap()
            .write("x.xml", b"<x/>")
            .unwrap();
        assert_eq!(std::fs::read(d.join("x.xml")).unwrap(), b"<x/>");
        let dot = format!("{}/.", d.display());
        create_dir(Path::new(&dot))
            .unwrap()
            .write("y.xml", b"<y/>")
            .unwrap();
        assert!(d.join("y.xml").is_file());
        let dir = create_dir(&d).unwrap();
        for bad in ["", ".", "..", "a/b"] {
            assert!(dir.write(bad, b"").is_err(), "{bad:?}");
        }
        // A plain file where the directory should be.
        let f = t.path().join("f");
        std::fs::write(&f, "").unwrap();
        let e = create_dir(&f).err().unwrap().to_string();
        assert_eq!(
            e,
            format!("cannot write {}: is not a directory", f.display())
        );
    }

    #[test]
    fn temporary_slots_are_freed_and_reused() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("r.json");
        // More writes than slots: each frees its slot when done.
        for i in 0..40 {
            write(&p, format!("{i}").as_bytes()).unwrap();
        }
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "39");
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }
}
