//! Which files a fleet roll-up reads: named files, directories (recursively, `*.json`, hidden
//! files such as in-flight `.kvmaudit-*` temporaries skipped), and glob patterns (for shells
//! that did not expand them, or quoted on purpose). A path that names nothing is reported as
//! skipped, never fatal.

use super::model::{SkipKind, Skipped};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The files to read, in a stable order, and the arguments that gave none.
#[derive(Debug, Default)]
pub struct Inputs {
    pub files: Vec<PathBuf>,
    pub skipped: Vec<Skipped>,
}

fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

fn hidden(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// A file to read and the key that says whether two arguments named the same file: its
/// canonical path.
type Found = (PathBuf, PathBuf);

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Walk a directory for `*.json` files; symlinked directories are not followed (no loops),
/// symlinked files are. `canon` is `dir`'s canonical path: below it, a real directory's or a
/// regular file's canonical path is `canon` joined with its name, so only symlinked files cost
/// a `canonicalize` (a path lookup per component, for each of 100,000 files, was a fifth of a
/// roll-up's system time).
fn walk(dir: &Path, canon: &Path, out: &mut Vec<Found>, skipped: &mut Vec<Skipped>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            skipped.push(Skipped::new(dir, SkipKind::Unreadable, e.to_string()));
            return;
        }
    };
    let mut paths: Vec<(PathBuf, Option<std::fs::FileType>)> = entries
        .filter_map(|e| e.ok())
        .map(|e| (e.path(), e.file_type().ok()))
        .collect();
    paths.sort_by(|a, b| a.0.cmp(&b.0));
    for (p, ft) in paths {
        if hidden(&p) {
            continue;
        }
        let (Some(ft), Some(name)) = (ft, p.file_name()) else {
            continue;
        };
        if ft.is_dir() {
            let sub = canon.join(name);
            walk(&p, &sub, out, skipped);
        } else if p
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            if ft.is_file() {
                let key = canon.join(name);
                out.push((p, key));
            } else if ft.is_symlink() && p.is_file() {
                let key = canonical(&p);
                out.push((p, key));
            }
        }
    }
}

/// Expand the command-line paths.
pub fn expand(args: &[PathBuf]) -> Inputs {
    let mut inputs = Inputs::default();
    let mut found = Vec::new();
    for arg in args {
        let s = arg.to_string_lossy();
        if arg.is_dir() {
            walk(arg, &canonical(arg), &mut found, &mut inputs.skipped);
        } else if arg.exists() || !is_glob(&s) {
            // A named file is read whatever its name; a missing one is reported.
            if arg.exists() {
                found.push((arg.clone(), canonical(arg)));
            } else {
                inputs.skipped.push(Skipped::new(
                    arg,
                    SkipKind::NotFound,
                    "no such file or directory",
                ));
            }
        } else {
            match glob::glob(&s) {
                Err(e) => inputs.skipped.push(Skipped::new(
                    arg,
                    SkipKind::NotFound,
                    format!("invalid pattern: {e}"),
                )),
                Ok(paths) => {
                    let mut any = false;
                    for p in paths.filter_map(|p| p.ok()) {
                        any = true;
                        if p.is_dir() {
                            let canon = canonical(&p);
                            walk(&p, &canon, &mut found, &mut inputs.skipped);
                        } else if p.is_file() {
                            let key = canonical(&p);
                            found.push((p, key));
                        }
                    }
                    if !any {
                        inputs.skipped.push(Skipped::new(
                            arg,
                            SkipKind::NotFound,
                            "pattern matched no file",
                        ));
                    }
                }
            }
        }
    }
    // The same file through two arguments (a directory and a glob) is read once.
    let mut seen = HashSet::new();
    for (p, key) in found {
        if seen.insert(key) {
            inputs.files.push(p);
        }
    }
    inputs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_dirs_globs_and_missing() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        for f in [
            "x.json",
            "a/y.json",
            "a/b/z.JSON",
            "a/readme.txt",
            ".kvmaudit-tmp.json",
        ] {
            std::fs::write(d.path().join(f), "{}").unwrap();
        }
        let i = expand(&[d.path().to_path_buf()]);
        let names: Vec<String> = i
            .files
            .iter()
            .map(|p| p.strip_prefix(d.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a/b/z.JSON", "a/y.json", "x.json"]);
        assert!(i.skipped.is_empty());

        let pat = d.path().join("a/*.json");
        let missing = d.path().join("nope.json");
        let nomatch = d.path().join("*.nothing");
        let i = expand(&[
            pat,
            d.path().join("a/readme.txt"),
            missing,
            nomatch,
            d.path().join("x.json"),
            d.path().join("x.json"),
        ]);
        assert_eq!(i.files.len(), 3, "{:?}", i.files);
        assert_eq!(i.skipped.len(), 2);
        assert!(i.skipped.iter().all(|s| s.kind == SkipKind::NotFound));
    }

    #[test]
    fn a_file_reached_twice_is_read_once() {
        // Through a symlinked directory given as a second argument, and through a symlinked
        // file inside the walked directory: the walk's joined keys must equal canonical paths.
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real");
        std::fs::create_dir_all(real.join("rack")).unwrap();
        std::fs::write(real.join("rack/h1.json"), "{}").unwrap();
        std::fs::write(real.join("h2.json"), "{}").unwrap();
        std::os::unix::fs::symlink(real.join("rack/h1.json"), real.join("alias.json")).unwrap();
        std::os::unix::fs::symlink(&real, d.path().join("link")).unwrap();
        let i = expand(&[
            real.clone(),
            d.path().join("link"),
            real.join("rack/../h2.json"),
        ]);
        let names: Vec<String> = i
            .files
            .iter()
            .map(|p| p.strip_prefix(&real).unwrap().display().to_string())
            .collect();
        // alias.json sorts before rack/ and is seen first; rack/h1.json is the same file.
        assert_eq!(names, ["alias.json", "h2.json"], "{:?}", i.files);
    }
}
