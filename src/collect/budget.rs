//! How much of a `--root` tree one scan may read.
//!
//! Each file read has its own size cap, but a tree can name one file many times: hundreds of
//! links to one large `numa_maps` multiply the bytes read by the number of links, and a
//! thousand `cpuN/cpuidle` links to one directory of a thousand states multiply the reads
//! (BENCHMARKS.md, bounded resources, has the figures). So a scan of a tree also has global
//! limits:
//!
//! - bytes read in total, and entries (files, links, directory entries) looked at in total;
//! - a directory already listed (same device and inode) is not listed again under another name;
//! - a file already read (same device and inode) may be read again under another name (sysfs
//!   names one `numa_node` through the PCI device and its network interface), but those repeats
//!   have a small allowance of their own, in bytes and in count.
//!
//! When a limit is reached the budget is spent: every later read is refused at once with
//! [`ReadErrorKind::Budget`] (its fact is unknown, coverage drops) and the scan carries one
//! note saying so. The live host (`/`) has no budget: its files are the kernel's.

use crate::snapshot::{ReadError, ReadErrorKind};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// The limits of one scan.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes read in total. The largest real trees (10,000 QEMU processes, each with a
    /// `numa_maps` of tens of KB) read a few hundred MB.
    pub bytes: u64,
    /// Files read, links read and directory entries listed, in total.
    pub entries: u64,
    /// Bytes of files read again under another name.
    pub repeat_bytes: u64,
    /// Reads of files already read under another name.
    pub repeat_reads: u64,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        bytes: 1024 * 1024 * 1024,
        entries: 2_000_000,
        repeat_bytes: 64 * 1024 * 1024,
        repeat_reads: 20_000,
    };
}

/// Device and inode: what makes two names the same file.
pub type FileId = (u64, u64);

/// What one scan has used so far; shared by the threads that read the tree.
#[derive(Debug)]
pub struct Budget {
    limits: Limits,
    bytes: AtomicU64,
    entries: AtomicU64,
    repeat_bytes: AtomicU64,
    repeat_reads: AtomicU64,
    /// Directories listed twice and refused.
    dirs_refused: AtomicU64,
    spent: AtomicBool,
    /// Which limit was reached first, for the note.
    reason: Mutex<Option<String>>,
    files: Mutex<HashSet<FileId>>,
    dirs: Mutex<HashSet<FileId>>,
}

impl Budget {
    pub fn new(limits: Limits) -> Budget {
        Budget {
            limits,
            bytes: AtomicU64::new(0),
            entries: AtomicU64::new(0),
            repeat_bytes: AtomicU64::new(0),
            repeat_reads: AtomicU64::new(0),
            dirs_refused: AtomicU64::new(0),
            spent: AtomicBool::new(false),
            reason: Mutex::new(None),
            files: Mutex::new(HashSet::new()),
            dirs: Mutex::new(HashSet::new()),
        }
    }

    /// Whether a limit has been reached.
    pub fn is_spent(&self) -> bool {
        self.spent.load(Ordering::Relaxed)
    }

    fn spend(&self, why: String) -> ReadError {
        if !self.spent.swap(true, Ordering::Relaxed) {
            if let Ok(mut r) = self.reason.lock() {
                r.get_or_insert(why);
            }
        }
        refused()
    }

    /// Before any read: refused once the budget is spent.
    pub fn check(&self) -> Result<(), ReadError> {
        if self.is_spent() {
            Err(refused())
        } else {
            Ok(())
        }
    }

    /// `n` more entries looked at.
    pub fn entries(&self, n: u64) -> Result<(), ReadError> {
        self.check()?;
        let used = self.entries.fetch_add(n, Ordering::Relaxed) + n;
        if used > self.limits.entries {
            return Err(self.spend(format!(
                "more than {} files, links and directory entries",
                self.limits.entries
            )));
        }
        Ok(())
    }

    /// A file of `len` bytes was read; `Err` when that goes beyond a limit (the content is then
    /// not used).
    pub fn file_read(&self, id: FileId, len: u64) -> Result<(), ReadError> {
        self.check()?;
        let repeat = match self.files.lock() {
            Ok(mut seen) => !seen.insert(id),
            Err(_) => false,
        };
        if repeat {
            let reads = self.repeat_reads.fetch_add(1, Ordering::Relaxed) + 1;
            let bytes = self.repeat_bytes.fetch_add(len, Ordering::Relaxed) + len;
            if reads > self.limits.repeat_reads || bytes > self.limits.repeat_bytes {
                return Err(self.spend(format!(
                    "the same files read again through other names (more than {} reads or {} bytes)",
                    self.limits.repeat_reads, self.limits.repeat_bytes
                )));
            }
        }
        let used = self.bytes.fetch_add(len, Ordering::Relaxed) + len;
        if used > self.limits.bytes {
            return Err(self.spend(format!("more than {} bytes read", self.limits.bytes)));
        }
        Ok(())
    }

    /// A directory is about to be listed: `Err` when it was listed before under another name.
    pub fn dir_listed(&self, id: FileId) -> Result<(), ReadError> {
        self.check()?;
        let again = match self.dirs.lock() {
            Ok(mut seen) => !seen.insert(id),
            Err(_) => false,
        };
        if again {
            self.dirs_refused.fetch_add(1, Ordering::Relaxed);
            return Err(ReadError::new(
                ReadErrorKind::Budget,
                "the same directory was already listed under another name; not walked twice",
            ));
        }
        Ok(())
    }

    /// The one note a scan carries about its budget, when it mattered.
    pub fn note(&self) -> Option<String> {
        let refused_dirs = self.dirs_refused.load(Ordering::Relaxed);
        let reason = self.reason.lock().ok().and_then(|r| r.clone());
        let mut parts = Vec::new();
        if let Some(why) = reason {
            parts.push(format!(
                "the scan budget of the --root tree was spent ({why}); everything not read by then is unknown"
            ));
        }
        if refused_dirs > 0 {
            parts.push(format!(
                "{refused_dirs} directories were links to directories already listed and were not walked again (their facts are unknown)"
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

fn refused() -> ReadError {
    ReadError::new(
        ReadErrorKind::Budget,
        "not read: the scan budget of the --root tree is spent",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Budget {
        Budget::new(Limits {
            bytes: 100,
            entries: 10,
            repeat_bytes: 20,
            repeat_reads: 2,
        })
    }

    #[test]
    fn bytes_and_entries_run_out_once() {
        let b = small();
        assert!(b.file_read((1, 1), 60).is_ok());
        assert!(b.file_read((1, 2), 60).is_err());
        assert!(b.is_spent());
        // Everything after is refused without looking.
        assert_eq!(b.entries(1).unwrap_err().kind, ReadErrorKind::Budget);
        assert!(b.note().unwrap().contains("more than 100 bytes read"));

        let b = small();
        assert!(b.entries(10).is_ok());
        assert!(b.entries(1).is_err());
        assert!(b.note().unwrap().contains("more than 10 files"));
    }

    #[test]
    fn repeats_have_their_own_allowance() {
        let b = small();
        assert!(b.file_read((1, 1), 5).is_ok());
        assert!(b.file_read((1, 1), 5).is_ok());
        assert!(b.file_read((1, 1), 5).is_ok());
        assert!(b.file_read((1, 1), 5).is_err());
        assert!(b.note().unwrap().contains("read again"));
    }

    #[test]
    fn a_directory_is_listed_once() {
        let b = small();
        assert!(b.dir_listed((1, 7)).is_ok());
        let e = b.dir_listed((1, 7)).unwrap_err();
        assert_eq!(e.kind, ReadErrorKind::Budget);
        assert!(!b.is_spent());
        assert!(b.note().unwrap().starts_with("1 directories"));
        assert!(small().note().is_none());
    }
}
