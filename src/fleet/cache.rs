//! `fleet --cache FILE`: what each report rolled up to, kept between runs and reused while the
//! report file is unchanged, so a dashboard or a cron roll-up over 100,000 hosts re-reads
//! only the reports that changed since its last run.
//!
//! Trust: an entry is exactly what the full parse made of the file's bytes (a host's summary,
//! or why the file is not a report), keyed by the file's path and its identity as `stat` gives
//! it: device, inode, size, modification and change time to the nanosecond. Writing a file,
//! truncating it, renaming another over it, `chmod` and `touch -d` all move its change time,
//! which no user can set back, so a changed report never matches its old entry. A file changed
//! twice within one tick of a coarse filesystem clock could keep its change time, so files
//! changed less than [`RACY_SECS`] before the run are read every time and never cached (git's
//! "racy clean" rule). What depends on the moment or on other files (stale, future-dated,
//! superseded, identity conflicts) is decided by the roll-up each run, never cached.
//!
//! The cache file is read only when it is a regular file owned by the user running kvmaudit
//! and writable by no one else; it is replaced whole (through [`crate::output`]) after each
//! roll-up. A cache of another kvmaudit version or catalogue, or one that does not decode, is
//! ignored and rebuilt.

mod codec;

pub use codec::Outcome;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

const MAGIC: &[u8] = b"KVMAUDIT FLEET CACHE\n";
const FORMAT: u32 = 1;
/// Files changed this recently are not cached (see the module documentation).
pub const RACY_SECS: i64 = 2;
/// Bounds on a cache file we read: a larger entry or path is not ours.
const MAX_ENTRY: u32 = 64 << 20;
const MAX_PATH: u32 = 4096;

/// A file's identity as `stat` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId([u64; 7]);

impl FileId {
    pub fn of(m: &std::fs::Metadata) -> FileId {
        FileId([
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime() as u64,
            m.mtime_nsec() as u64,
            m.ctime() as u64,
            m.ctime_nsec() as u64,
        ])
    }

    fn ctime(&self) -> i64 {
        self.0[5] as i64
    }
}

/// Where one cached entry's bytes are in the cache file.
struct Slot {
    id: FileId,
    offset: u64,
    len: u32,
}

/// The previous run's cache, indexed by path; entries are read when a file matches.
#[derive(Default)]
pub struct Cache {
    file: Option<File>,
    index: HashMap<Vec<u8>, Slot>,
    /// The run's start (seconds since the epoch), for the racy-file rule.
    start: i64,
    /// Whether entries are made for the next cache (`--cache` given).
    keep: bool,
}

/// One file's outcome and its cache entry, as a reader thread hands them to the roll-up.
pub struct ReadResult {
    pub outcome: Outcome,
    /// The entry to keep for the next run, when the file may be cached.
    pub entry: Option<(FileId, Vec<u8>)>,
    /// Whether the outcome came from the cache.
    pub hit: bool,
}

/// The catalogue the entries' rule indexes point into: a cache of another catalogue (another
/// build) is not read.
fn fingerprint() -> u64 {
    // FNV-1a: stable across Rust versions, unlike the std hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: &[u8]| {
        for &x in b.iter().chain([0u8].iter()) {
            h = (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(env!("CARGO_PKG_VERSION").as_bytes());
    for r in crate::vocab::catalogue::catalogue() {
        eat(r.id.as_bytes());
        eat(r.title.as_bytes());
        eat(r.section.as_bytes());
    }
    h
}

impl Cache {
    /// No cache: every file is read.
    pub fn none(start: i64) -> Cache {
        Cache {
            start,
            ..Cache::default()
        }
    }

    /// The cache at `path`, or an empty one with the reason it was not used (`None` when
    /// there is simply none yet).
    pub fn open(path: &Path, start: i64) -> (Cache, Option<String>) {
        match load(path) {
            Ok(Some((file, index))) => (
                Cache {
                    file: Some(file),
                    index,
                    start,
                    keep: true,
                },
                None,
            ),
            Ok(None) => (Cache::empty(start), None),
            Err(why) => (Cache::empty(start), Some(why)),
        }
    }

    /// No previous entries, but entries are made for the next cache.
    fn empty(start: i64) -> Cache {
        Cache {
            start,
            keep: true,
            ..Cache::default()
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The cached outcome of `path` when its identity is the one cached, with its entry bytes
    /// (carried over to the next cache as they are).
    pub fn lookup(&self, path: &Path) -> Option<ReadResult> {
        let file = self.file.as_ref()?;
        let slot = self.index.get(path.as_os_str().as_bytes())?;
        let meta = std::fs::metadata(path).ok()?;
        if !meta.is_file() || FileId::of(&meta) != slot.id {
            return None;
        }
        let mut bytes = vec![0u8; slot.len as usize];
        file.read_exact_at(&mut bytes, slot.offset).ok()?;
        let outcome = codec::decode(path, &bytes).ok()?;
        Some(ReadResult {
            outcome,
            entry: Some((slot.id, bytes)),
            hit: true,
        })
    }

    /// The entry to keep for `outcome`, read from a file of identity `id`: none for a file
    /// changed too recently to trust its identity, or a skip that depends on more than bytes.
    pub fn entry(&self, id: Option<FileId>, outcome: &Outcome) -> Option<(FileId, Vec<u8>)> {
        let id = id.filter(|_| self.keep)?;
        if id.ctime() > self.start.saturating_sub(RACY_SECS) {
            return None;
        }
        if let Err(s) = outcome {
            if !codec::cacheable(s.kind) {
                return None;
            }
        }
        let mut e = codec::Enc::default();
        codec::encode(&mut e, outcome);
        Some((id, e.0))
    }
}

/// Writes the next run's cache as the roll-up goes.
pub struct Writer<'a> {
    out: &'a mut dyn Write,
    pub written: usize,
}

impl<'a> Writer<'a> {
    pub fn new(out: &'a mut dyn Write) -> std::io::Result<Writer<'a>> {
        out.write_all(MAGIC)?;
        out.write_all(&FORMAT.to_le_bytes())?;
        out.write_all(&fingerprint().to_le_bytes())?;
        Ok(Writer { out, written: 0 })
    }

    pub fn add(&mut self, path: &Path, id: FileId, entry: &[u8]) -> std::io::Result<()> {
        let p = path.as_os_str().as_bytes();
        let (Ok(plen), Ok(elen)) = (u32::try_from(p.len()), u32::try_from(entry.len())) else {
            return Ok(());
        };
        if plen > MAX_PATH || elen > MAX_ENTRY {
            return Ok(());
        }
        self.out.write_all(&plen.to_le_bytes())?;
        self.out.write_all(p)?;
        for v in id.0 {
            self.out.write_all(&v.to_le_bytes())?;
        }
        self.out.write_all(&elen.to_le_bytes())?;
        self.out.write_all(entry)?;
        self.written += 1;
        Ok(())
    }
}

type Index = HashMap<Vec<u8>, Slot>;

/// Open and index the cache at `path`: `Ok(None)` when there is none.
fn load(path: &Path) -> Result<Option<(File, Index)>, String> {
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err("it is a symbolic link".into())
        }
        Err(e) => return Err(e.to_string()),
    };
    let meta = file.metadata().map_err(|e| e.to_string())?;
    trusted(&meta)?;
    let index = index(&file, meta.len())?;
    Ok(Some((file, index)))
}

/// Only a cache this user wrote and no one else can change is read.
fn trusted(meta: &std::fs::Metadata) -> Result<(), String> {
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!("owned by uid {}, not by uid {me}", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "writable by group or others (mode {:o})",
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

fn read_u32(r: &mut impl Read) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// Every entry's path, identity and place, read without reading the entries.
fn index(file: &File, size: u64) -> Result<Index, String> {
    let bad = |what: &str| format!("not a kvmaudit fleet cache ({what})");
    let mut r = BufReader::with_capacity(1 << 16, file);
    let mut magic = vec![0u8; MAGIC.len()];
    if r.read_exact(&mut magic).is_err() || magic != MAGIC {
        return Err(bad("no header"));
    }
    let format = read_u32(&mut r).map_err(|_| bad("cut header"))?;
    let print = read_u64(&mut r).map_err(|_| bad("cut header"))?;
    if format != FORMAT || print != fingerprint() {
        return Err("written by another kvmaudit version: rebuilt".into());
    }
    let mut pos = (MAGIC.len() + 12) as u64;
    let mut index = Index::new();
    while pos < size {
        let plen = read_u32(&mut r).map_err(|_| bad("cut entry"))?;
        if plen > MAX_PATH {
            return Err(bad("path too long"));
        }
        let mut p = vec![0u8; plen as usize];
        r.read_exact(&mut p).map_err(|_| bad("cut entry"))?;
        let mut id = [0u64; 7];
        for v in id.iter_mut() {
            *v = read_u64(&mut r).map_err(|_| bad("cut entry"))?;
        }
        let len = read_u32(&mut r).map_err(|_| bad("cut entry"))?;
        if len > MAX_ENTRY {
            return Err(bad("entry too long"));
        }
        let offset = pos + 4 + u64::from(plen) + 56 + 4;
        if offset + u64::from(len) > size {
            return Err(bad("cut entry"));
        }
        r.seek_relative(i64::from(len)).map_err(|e| e.to_string())?;
        pos = offset + u64::from(len);
        index.insert(
            p,
            Slot {
                id: FileId(id),
                offset,
                len,
            },
        );
    }
    Ok(index)
}

#[cfg(test)]
mod tests;
