//! Reading the files named on the command line (`--snapshot`, `--qemu-argv`, `--kconfig`,
//! `--cpuid`, `--dmi`, `--waivers`, `fix --report`, `fleet FILE`).
//!
//! Only regular files are read, checked on the open descriptor, and through a size cap. A
//! character device such as `/dev/zero` (or a link to it) would otherwise be read until the
//! OOM killer ends the run, a FIFO would block it forever, and opening some devices has side
//! effects. procfs and sysfs files are regular files that report size 0
//! (`--qemu-argv /proc/PID/cmdline`, `--dmi /sys/firmware/dmi/tables/DMI`): the cap, not
//! their size, bounds them.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Why a named input could not be opened.
#[derive(Debug)]
pub enum OpenError {
    Io(std::io::Error),
    /// It exists but is not a regular file: what it is instead ("a FIFO").
    NotRegular(&'static str),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Io(e) => e.fmt(f),
            OpenError::NotRegular(what) => write!(f, "not a regular file ({what})"),
        }
    }
}

impl OpenError {
    /// The run-ending error for input `path`.
    pub fn into_error(self, path: &Path) -> Error {
        match self {
            OpenError::Io(e) => Error::read(path, e),
            e @ OpenError::NotRegular(_) => Error::parse(path, e.to_string()),
        }
    }
}

fn kind(ft: std::fs::FileType) -> Option<&'static str> {
    Some(if ft.is_file() {
        return None;
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_char_device() {
        "a character device"
    } else {
        "not a file"
    })
}

/// Open `path` for reading if it is a regular file (links followed: the user named it).
///
/// The type is checked twice: by path before opening, so that no device or FIFO is ever
/// opened in the common case, and on the open descriptor (`O_NONBLOCK`, so a FIFO swapped in
/// between cannot block the open), which is what is read. `O_NONBLOCK` is then cleared.
pub fn open_regular(path: &Path) -> Result<File, OpenError> {
    open_regular_with_metadata(path).map(|(file, _)| file)
}

/// [`open_regular`], with the metadata of the open file (a `stat` the caller need not repeat).
pub fn open_regular_with_metadata(path: &Path) -> Result<(File, std::fs::Metadata), OpenError> {
    let before = std::fs::metadata(path).map_err(OpenError::Io)?;
    if let Some(what) = kind(before.file_type()) {
        return Err(OpenError::NotRegular(what));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(OpenError::Io)?;
    let meta = file.metadata().map_err(OpenError::Io)?;
    if let Some(what) = kind(meta.file_type()) {
        return Err(OpenError::NotRegular(what));
    }
    let fd = file.as_raw_fd();
    // SAFETY: fd is an open descriptor owned by `file`.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(OpenError::Io(std::io::Error::last_os_error()));
    }
    Ok((file, meta))
}

/// The whole of input `path`, a regular file of at most `cap` bytes. `what` names what the
/// flag expects ("a kvmaudit snapshot"), for the message when the file is too large.
pub fn read_input_file(path: &Path, cap: u64, what: &str) -> Result<Vec<u8>> {
    let (mut file, meta) = open_regular_with_metadata(path).map_err(|e| e.into_error(path))?;
    let size = meta.len();
    let too_large = || {
        Error::parse(
            path,
            format!("too large (more than {cap} bytes for {what})"),
        )
    };
    if size > cap {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    match read_capped(&mut file, size, cap, &mut bytes).map_err(|e| Error::read(path, e))? {
        Some(n) => {
            bytes.truncate(n);
            Ok(bytes)
        }
        None => Err(too_large()),
    }
}

/// Read `file` (of `len` bytes by its `stat` when opened; 0 for most of /proc) into `buf` to
/// its end: the number of bytes read, or `None` past `max` (the cap holds even if the file
/// grows while it is read).
///
/// `buf` may be reused between files: it is read into as it stands and only grows, so a file
/// costs two `read`s (its bytes, then the end) rather than `read_to_end`'s doubling reads from
/// 8 KiB (six for a 150 KB fleet report), and no zeroing once it is large enough.
pub fn read_capped(
    file: &mut impl Read,
    len: u64,
    max: u64,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<usize>> {
    let max = usize::try_from(max).unwrap_or(usize::MAX - 1);
    let cap = max + 1;
    // One byte more than the size at open: a file that grew is read on, not cut off.
    let len = usize::try_from(len).unwrap_or(max).min(max);
    let want = (len + 1).max(4096).min(cap);
    if buf.len() < want {
        buf.resize(want, 0);
    }
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            if filled >= cap {
                return Ok(None);
            }
            buf.resize(filled.saturating_mul(2).min(cap), 0);
        }
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((filled <= max).then_some(filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_to_its_end_and_no_further_than_the_cap() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let mut buf = Vec::new();
        // As large as said at open, larger (it grew), smaller (it shrank), and empty.
        for (len, size) in [(20_000, 20_000), (100, 20_000), (20_000, 50), (0, 0)] {
            let mut file = &data[..size];
            let n = read_capped(&mut file, len, 1 << 20, &mut buf).unwrap();
            assert_eq!(n, Some(size), "{len} {size}");
            assert_eq!(&buf[..size], &data[..size]);
        }
        // The cap holds whatever the size at open said.
        for len in [0, 10_000, 20_000] {
            let mut file = &data[..];
            assert_eq!(read_capped(&mut file, len, 19_999, &mut buf).unwrap(), None);
            let mut file = &data[..];
            assert_eq!(
                read_capped(&mut file, len, 20_000, &mut buf).unwrap(),
                Some(20_000)
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let t = tempfile::tempdir().unwrap();
        let fifo = t.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let zero = t.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        for (p, kind) in [
            (fifo.as_path(), "a FIFO"),
            (zero.as_path(), "a character device"),
            (Path::new("/dev/zero"), "a character device"),
            (t.path(), "a directory"),
        ] {
            let e = read_input_file(p, 1 << 20, "a test input").unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("{}: not a regular file ({kind})", p.display())
            );
        }
    }

    #[test]
    fn reads_up_to_the_cap_and_procfs_files() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("f");
        std::fs::write(&f, b"12345").unwrap();
        assert_eq!(read_input_file(&f, 5, "x").unwrap(), b"12345");
        let e = read_input_file(&f, 4, "a test input").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: too large (more than 4 bytes for a test input)",
                f.display()
            )
        );
        // Size 0 in stat, content on read.
        let own = read_input_file(Path::new("/proc/self/cmdline"), 1 << 20, "x").unwrap();
        assert!(!own.is_empty());
    }
}
