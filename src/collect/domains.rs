//! libvirt domain XML on a host (live or `--root`, which includes sosreports): persistent
//! definitions in `/etc/libvirt/qemu/*.xml` and status XML of running domains in
//! `/run/libvirt/qemu/*.xml`; and the files and directories named with `--domain-xml`.
//!
//! Only the text is collected (bounded); the model stage parses it, so `collect -o` and
//! `scan --snapshot` see the same domains.

use super::fsroot::FsRoot;
use crate::error::{Error, Result};
use crate::parse::libvirt_domain::MAX_DOMAIN_XML;
use crate::snapshot::{DomainXmlFile, DomainXmlKind, Fact};
use std::path::Path;

/// Most domain XML files read from one directory (a host defines tens to a few thousand).
pub const MAX_DOMAIN_FILES: usize = 10_000;

pub const DEFINED_DIR: &str = "/etc/libvirt/qemu";
pub const STATUS_DIR: &str = "/run/libvirt/qemu";

/// Definitions and status XML of the host `fs` reads. A missing directory is no libvirt (or
/// no running domain), not an error; an unreadable one is a note.
pub fn discover(fs: &FsRoot, notes: &mut Vec<String>) -> Vec<DomainXmlFile> {
    let mut out = Vec::new();
    for (dir, kind) in [
        (DEFINED_DIR, DomainXmlKind::Defined),
        (STATUS_DIR, DomainXmlKind::Status),
    ] {
        let names = match fs.list_dir(dir) {
            Fact::Value(n) => n,
            Fact::Error(e) if e.kind == crate::snapshot::ReadErrorKind::Absent => continue,
            // A spent --root budget is one note for the whole tree (its "everything not read
            // by then is unknown" covers the domains too), not one more per directory.
            Fact::Error(e) if e.kind == crate::snapshot::ReadErrorKind::Budget => continue,
            Fact::Error(e) => {
                notes.push(format!(
                    "{dir}: {}: libvirt domains there were not audited",
                    e.describe()
                ));
                continue;
            }
        };
        let xml: Vec<&String> = names.iter().filter(|n| n.ends_with(".xml")).collect();
        if xml.len() > MAX_DOMAIN_FILES {
            notes.push(format!(
                "{dir}: {} domain XML files; only the first {MAX_DOMAIN_FILES} were read",
                xml.len()
            ));
        }
        for n in xml.into_iter().take(MAX_DOMAIN_FILES) {
            let path = format!("{dir}/{n}");
            out.push(DomainXmlFile {
                kind,
                xml: fs.read_text(&path, MAX_DOMAIN_XML),
                path,
            });
        }
    }
    out
}

/// `--domain-xml FILE|DIR`: a file is read as given; a directory contributes its `*.xml`
/// regular files (not recursively). A named file that cannot be read ends the run, as every
/// other named input does.
pub fn read_named(path: &Path) -> Result<Vec<DomainXmlFile>> {
    let what = "a libvirt domain XML";
    let meta = std::fs::metadata(path).map_err(|e| Error::read(path, e))?;
    let mut files = Vec::new();
    if meta.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| Error::read(path, e))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "xml"))
            .take(MAX_DOMAIN_FILES + 1)
            .collect();
        if names.len() > MAX_DOMAIN_FILES {
            return Err(Error::parse(
                path,
                format!("more than {MAX_DOMAIN_FILES} domain XML files in one directory"),
            ));
        }
        names.sort();
        files = names;
    } else {
        files.push(path.to_path_buf());
    }
    let mut out = Vec::new();
    for f in files {
        let bytes = crate::input::read_input_file(&f, MAX_DOMAIN_XML, what)?;
        // Refused here, with the file's name, rather than scanned as a VM of nothing.
        crate::parse::libvirt_domain::parse(&bytes)
            .map_err(|e| Error::parse(&f, format!("not a libvirt domain XML: {}", e.0)))?;
        out.push(DomainXmlFile {
            kind: DomainXmlKind::File,
            path: f.display().to_string(),
            xml: Fact::Value(String::from_utf8_lossy(&bytes).into_owned()),
        });
    }
    Ok(out)
}
