//! A sosreport archive (`.tar.xz`, `.tar.gz`, plain `.tar`) read in place: streamed once into a
//! bounded in-memory tree that [`super::fsroot::FsRoot`] reads like a directory. Nothing is
//! extracted to disk (`scan` never writes), and links inside the archive resolve inside it.
//!
//! Only the parts of a sosreport kvmaudit audits keep their bytes ([`KEPT`]): a customer's
//! sosreport carries hundreds of MB of logs and journals that would otherwise sit in memory.
//! Every other file is still listed (its name is known) but reads as "not kept". The bytes
//! kept count against the scan budget's byte limit, and entries against its entry limit; when
//! either is reached the rest of the archive is not read and the tree says so.

use super::budget::Limits;
use crate::snapshot::{ReadError, ReadErrorKind};
use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Most bytes decompressed from one archive: a small `.tar.xz` can expand to terabytes of
/// zeros in a file that is not even kept; reading stops here (real sosreports expand to a few
/// hundred MB, rarely a few GB).
const MAX_EXPANDED: u64 = 8 * 1024 * 1024 * 1024;

/// Largest single file kept (`numa_maps` and DMI tables are read with 16 MiB caps).
const MAX_KEPT_FILE: u64 = 64 * 1024 * 1024;

/// Path prefixes (inside the sosreport, no leading `/`) whose files keep their bytes: the host
/// paths the scan reads, libvirt's configuration, logs and state, the package databases, and
/// the command outputs of the plugins kvmaudit maps (sos 3.x and 4.x use the same plugin
/// directory names).
const KEPT: &[&str] = &[
    "proc/",
    "sys/",
    "etc/",
    "run/",
    "var/run/",
    "boot/config-",
    "lib/modules/",
    "usr/lib/modules/",
    "var/lib/dpkg/status",
    "var/log/libvirt/",
    "var/lib/libvirt/qemu/",
    "sos_commands/processor/",
    "sos_commands/hardware/",
    "sos_commands/kernel/",
    "sos_commands/process/",
    "sos_commands/kvm/",
    "sos_commands/libvirt/",
    "sos_commands/memory/",
    "sos_commands/numa/",
    "sos_commands/host/",
    "sos_commands/dpkg/",
    "sos_commands/rpm/",
    "sos_commands/tuned/",
    "sos_commands/boot/",
    "sos_commands/grub2/",
    "sos_reports/manifest.json",
    "installed-rpms",
    "installed-debs",
    "version.txt",
    "hostname",
    "uname",
    "lsmod",
];

fn kept(path: &str) -> bool {
    KEPT.iter()
        .any(|k| path.starts_with(k) || (k.ends_with('/') && path == &k[..k.len() - 1]))
}

/// One entry of the tree.
#[derive(Debug, Clone)]
pub enum Node {
    File(Arc<[u8]>),
    /// A file whose bytes were not kept, with why.
    Unkept(&'static str),
    Dir(BTreeSet<String>),
    /// A symbolic link and its target, as stored.
    Link(String),
}

/// An archive's files, by path relative to the sosreport's top directory (no leading `/`; the
/// top directory itself is "").
#[derive(Debug)]
pub struct MemTree {
    nodes: HashMap<String, Node>,
    /// Why the archive was not read to its end, when it was not.
    pub incomplete: Option<String>,
    /// Bytes kept in memory.
    pub bytes_kept: u64,
}

/// Whether the bytes start like a compressed or plain tar archive kvmaudit reads.
pub fn looks_like_archive(head: &[u8]) -> bool {
    head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0])
        || head.starts_with(&[0x1f, 0x8b])
        || head.get(257..262) == Some(b"ustar")
}

impl MemTree {
    /// Read the archive at `path` within `limits`.
    pub fn load(path: &Path, limits: Limits) -> Result<MemTree, String> {
        // Regular files only, checked on the open descriptor (a FIFO would block the scan).
        let mut f = crate::input::open_regular(path).map_err(|e| e.to_string())?;
        let mut head = [0u8; 512];
        let n = read_full(&mut f, &mut head).map_err(|e| e.to_string())?;
        let head = &head[..n];
        let chained = std::io::Cursor::new(head.to_vec()).chain(f);
        if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Self::from_tar(xz2::read::XzDecoder::new(chained), limits)
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Self::from_tar(flate2::read::GzDecoder::new(chained), limits)
        } else if head.get(257..262) == Some(b"ustar") {
            Self::from_tar(chained, limits)
        } else {
            Err("not a sosreport archive: expected .tar.xz, .tar.gz or .tar".into())
        }
    }

    /// Stream a tar archive into the tree. The first path component (sos's
    /// `sosreport-HOST-DATE/`) is dropped when every entry shares it.
    pub fn from_tar<R: Read>(r: R, limits: Limits) -> Result<MemTree, String> {
        Self::from_tar_within(r, limits, MAX_EXPANDED)
    }

    fn from_tar_within<R: Read>(r: R, limits: Limits, expanded: u64) -> Result<MemTree, String> {
        let mut ar = tar::Archive::new(Capped {
            inner: r,
            left: expanded,
        });
        let mut tree = MemTree {
            nodes: HashMap::new(),
            incomplete: None,
            bytes_kept: 0,
        };
        tree.nodes.insert(String::new(), Node::Dir(BTreeSet::new()));
        let mut top: Option<String> = None;
        let mut entries_seen = 0u64;
        let entries = ar.entries().map_err(|e| format!("tar: {e}"))?;
        for entry in entries {
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    // A truncated or corrupt archive: keep what was read, say where it stopped.
                    tree.incomplete =
                        Some(format!("the archive is damaged ({e}); read up to there"));
                    break;
                }
            };
            entries_seen += 1;
            if entries_seen > limits.entries {
                tree.incomplete = Some(format!(
                    "more than {} entries; the rest of the archive was not read",
                    limits.entries
                ));
                break;
            }
            let raw = match entry.path() {
                Ok(p) => p.to_string_lossy().into_owned(),
                Err(_) => continue,
            };
            let Some(mut comps) = clean_components(&raw) else {
                continue;
            };
            if comps.is_empty() {
                continue;
            }
            // The top directory: the first entry's first component, dropped from all entries
            // that share it (an archive without one keeps its paths).
            let first = top.get_or_insert_with(|| comps[0].clone());
            if comps[0] == *first {
                comps.remove(0);
            } else if !first.is_empty() {
                // Entries outside the top directory: keep paths as they are from here on.
                first.clear();
            }
            if comps.is_empty() {
                continue;
            }
            let path = comps.join("/");
            let kind = entry.header().entry_type();
            let node = if kind.is_dir() {
                Node::Dir(BTreeSet::new())
            } else if kind.is_symlink() {
                match entry.link_name() {
                    Ok(Some(t)) => Node::Link(t.to_string_lossy().into_owned()),
                    _ => continue,
                }
            } else if kind.is_hard_link() {
                // A hard link names a file stored earlier: share its bytes.
                let target = entry
                    .link_name()
                    .ok()
                    .flatten()
                    .and_then(|t| clean_components(&t.to_string_lossy()))
                    .map(|mut c| {
                        if top.as_deref().is_some_and(|t| !t.is_empty())
                            && c.first() == top.as_ref()
                        {
                            c.remove(0);
                        }
                        c.join("/")
                    });
                match target.and_then(|t| tree.nodes.get(&t).cloned()) {
                    Some(n @ (Node::File(_) | Node::Unkept(_))) => n,
                    _ => Node::Unkept("a hard link to a file the archive did not hold before it"),
                }
            } else if kind.is_file() {
                let size = entry.header().size().unwrap_or(u64::MAX);
                if !kept(&path) {
                    Node::Unkept(
                        "not kept: kvmaudit keeps only the parts of a sosreport archive it audits",
                    )
                } else if size > MAX_KEPT_FILE {
                    Node::Unkept("larger than kvmaudit reads from an archive (64 MiB)")
                } else if tree.bytes_kept + size > limits.bytes {
                    tree.incomplete = Some(format!(
                        "more than {} bytes of audited files; the rest of the archive was not read",
                        limits.bytes
                    ));
                    break;
                } else {
                    let mut buf = Vec::with_capacity(size as usize);
                    if let Err(e) = (&mut entry).take(MAX_KEPT_FILE + 1).read_to_end(&mut buf) {
                        tree.incomplete =
                            Some(format!("the archive is damaged ({e}); read up to there"));
                        break;
                    }
                    tree.bytes_kept += buf.len() as u64;
                    Node::File(buf.into())
                }
            } else {
                // Devices, FIFOs: never in a sosreport; not read.
                Node::Unkept("not a regular file, directory or link")
            };
            tree.insert(&path, node);
        }
        if entries_seen == 0 {
            return Err("an empty archive".into());
        }
        Ok(tree)
    }

    /// Add `node` at `path`, creating parent directories and listing it in its parent.
    fn insert(&mut self, path: &str, node: Node) {
        let mut parent = String::new();
        let mut name = path;
        if let Some((p, n)) = path.rsplit_once('/') {
            parent = p.to_string();
            name = n;
            self.ensure_dir(p);
        }
        if let Some(Node::Dir(names)) = self.nodes.get_mut(&parent) {
            names.insert(name.to_string());
        }
        match (self.nodes.get(path), node) {
            // A directory entry after its children were added keeps their listing.
            (Some(Node::Dir(_)), Node::Dir(_)) => {}
            (_, node) => {
                self.nodes.insert(path.to_string(), node);
            }
        }
    }

    fn ensure_dir(&mut self, path: &str) {
        if matches!(self.nodes.get(path), Some(Node::Dir(_))) {
            return;
        }
        self.insert(path, Node::Dir(BTreeSet::new()));
    }

    /// The node at `path` (components joined by `/`), not following links.
    pub fn lstat(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Resolve a host path inside the tree the way [`super::fsroot`] resolves under a root:
    /// absolute link targets restart at the top, `..` stops there, at most 40 links.
    pub fn resolve(&self, host: &str, follow_last: bool) -> Result<String, ReadError> {
        let mut todo: Vec<String> = components(host);
        todo.reverse();
        let mut done: Vec<String> = Vec::new();
        let mut links = 0usize;
        while let Some(comp) = todo.pop() {
            if comp == ".." {
                done.pop();
                continue;
            }
            let is_last = todo.is_empty();
            let mut candidate = done.join("/");
            if !candidate.is_empty() {
                candidate.push('/');
            }
            candidate.push_str(&comp);
            match self.nodes.get(&candidate) {
                None => return Err(ReadError::new(ReadErrorKind::Absent, "not in the archive")),
                Some(Node::Link(target)) if follow_last || !is_last => {
                    links += 1;
                    if links > 40 {
                        return Err(ReadError::new(
                            ReadErrorKind::Io,
                            "too many levels of symbolic links",
                        ));
                    }
                    if target.starts_with('/') {
                        done.clear();
                    }
                    let mut more = components(target);
                    more.reverse();
                    todo.extend(more);
                }
                Some(Node::File(_) | Node::Unkept(_) | Node::Link(_)) if !is_last => {
                    return Err(ReadError::new(ReadErrorKind::Absent, "not a directory"));
                }
                Some(_) => done.push(comp),
            }
        }
        Ok(done.join("/"))
    }
}

/// Path components, `.` and empty ones dropped, `..` kept for the resolver.
fn components(p: &str) -> Vec<String> {
    p.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
        .collect()
}

/// An archive member's path as components; `None` for one that climbs out (`..`), which a
/// hostile archive uses to plant files elsewhere.
fn clean_components(p: &str) -> Option<Vec<String>> {
    let c = components(p);
    if c.iter().any(|c| c == "..") {
        return None;
    }
    Some(c)
}

/// A reader that fails once `left` bytes were read, so that the tar reader stops with an
/// error naming why.
struct Capped<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::other(format!(
                "it expands to more than {} GiB",
                MAX_EXPANDED >> 30
            )));
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

fn read_full(f: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (path, file bytes, link target): neither is a directory.
    type Entry<'a> = (&'a str, Option<&'a [u8]>, Option<&'a str>);

    fn tar_of(entries: &[Entry]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data, link) in entries {
            let mut h = tar::Header::new_gnu();
            match (data, link) {
                (Some(d), _) => {
                    h.set_size(d.len() as u64);
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_mode(0o644);
                    b.append_data(&mut h, path, *d).unwrap();
                }
                (None, Some(t)) => {
                    h.set_size(0);
                    h.set_entry_type(tar::EntryType::Symlink);
                    b.append_link(&mut h, path, t).unwrap();
                }
                (None, None) => {
                    h.set_size(0);
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_mode(0o755);
                    b.append_data(&mut h, path, &[][..]).unwrap();
                }
            }
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn top_directory_dropped_links_resolve_inside() {
        let t = tar_of(&[
            ("sosreport-h-1/", None, None),
            (
                "sosreport-h-1/version.txt",
                Some(b"sos report: 4.4\n"),
                None,
            ),
            (
                "sosreport-h-1/sos_commands/kernel/uname_-a",
                Some(b"Linux h 6.1.0 x\n"),
                None,
            ),
            (
                "sosreport-h-1/uname",
                None,
                Some("sos_commands/kernel/uname_-a"),
            ),
            ("sosreport-h-1/etc/evil", None, Some("/../../etc/shadow")),
            ("sosreport-h-1/var/log/messages", Some(b"big log"), None),
        ]);
        let m = MemTree::from_tar(&t[..], Limits::DEFAULT).unwrap();
        assert!(m.incomplete.is_none());
        assert_eq!(
            m.resolve("/uname", true).unwrap(),
            "sos_commands/kernel/uname_-a"
        );
        assert!(
            matches!(m.lstat("version.txt"), Some(Node::File(b)) if &b[..] == b"sos report: 4.4\n")
        );
        // An absolute link that climbs out stays in the tree: etc/shadow is not there.
        assert_eq!(
            m.resolve("/etc/evil", true).unwrap_err().kind,
            ReadErrorKind::Absent
        );
        assert!(matches!(m.lstat("var/log/messages"), Some(Node::Unkept(_))));
        assert!(matches!(m.lstat("var/log"), Some(Node::Dir(n)) if n.contains("messages")));
    }

    #[test]
    fn byte_limit_stops_reading() {
        let t = tar_of(&[
            ("s/proc/a", Some(&[b'x'; 60][..]), None),
            ("s/proc/b", Some(&[b'y'; 60][..]), None),
        ]);
        let limits = Limits {
            bytes: 100,
            ..Limits::DEFAULT
        };
        let m = MemTree::from_tar(&t[..], limits).unwrap();
        assert!(m.incomplete.as_deref().unwrap().contains("100 bytes"));
        assert!(m.lstat("proc/a").is_some());
        assert!(m.lstat("proc/b").is_none());
        assert_eq!(m.bytes_kept, 60);
    }

    #[test]
    fn expansion_is_bounded() {
        let t = tar_of(&[
            ("s/proc/a", Some(&[b'x'; 600][..]), None),
            ("s/var/log/huge", Some(&[0u8; 50_000][..]), None),
            ("s/proc/b", Some(&[b'y'; 6][..]), None),
        ]);
        let m = MemTree::from_tar_within(&t[..], Limits::DEFAULT, 20_000).unwrap();
        assert!(m
            .incomplete
            .as_deref()
            .unwrap()
            .contains("expands to more than"));
        assert!(m.lstat("proc/a").is_some());
        assert!(m.lstat("proc/b").is_none());
    }

    #[test]
    fn not_an_archive_is_an_error() {
        assert!(MemTree::from_tar(&b"hello"[..], Limits::DEFAULT).is_err());
        assert!(!looks_like_archive(b"hello"));
    }
}
