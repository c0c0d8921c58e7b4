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
    let file = open_regular(path).map_err(|e| e.into_error(path))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let too_large = || {
        Error::parse(
            path,
            format!("too large (more than {cap} bytes for {what})"),
        )
    };
    if size > cap {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::read(path, e))?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

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
