//! The layering of the rules (issue 11): checks read facts and the context, never each other,
//! and the framework (engine, context) never reaches into a check module. Parsed from the
//! source files, so that a new `use super::numa::...` in a check fails here rather than in a
//! review. A check module is a file or directory directly under `src/rules/checks/`; the files
//! inside one directory (`checks/numa/*.rs`) are one module and may use each other.

use std::path::{Path, PathBuf};

const CHECKS_DIR: &str = "src/rules/checks";

/// The check modules: `checks/<name>.rs` and `checks/<name>/`, except `mod.rs`.
fn check_modules(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root.join(CHECKS_DIR))
        .expect("src/rules/checks")
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            if path.is_dir() {
                Some(name)
            } else {
                name.strip_suffix(".rs")
                    .filter(|n| *n != "mod")
                    .map(str::to_string)
            }
        })
        .collect();
    out.sort();
    out
}

/// Every `.rs` file below `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The source without comments (line comments, doc comments, block comments) and without
/// string literals' contents, so that prose naming a module is not an import.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            out.push('"');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            out.push('"');
            i += 1;
        } else {
            // Whole UTF-8 characters: `i` only ever stops on ASCII bytes above.
            let ch = src[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The path-like tokens of the code (`super::numa::home_node`, `crate::rules::checks::blk`),
/// with `{a, b}` groups of `use` declarations flattened by the caller's prefix test.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in code.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            cur.push(c);
        } else if c.is_whitespace() && cur.ends_with("::") {
            // `use super::\n    numa::x`: rustfmt never splits so, but keep the path whole.
        } else {
            if cur.contains("::") {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
        }
    }
    if cur.contains("::") {
        out.push(cur);
    }
    out
}

/// The check modules a file of `own` (a check module, or `None` for framework files) names
/// through a path: `super::X::`, `super::super::X::` (from inside `checks/own/`),
/// `crate::rules::checks::X`, `rules::checks::X`, `checks::X::`. Own module excluded.
fn imported_checks(src: &str, own: Option<&str>, in_dir: bool, modules: &[String]) -> Vec<String> {
    let code = code_only(src);
    let mut hits = Vec::new();
    for p in paths(&code) {
        // A path through the `checks` module names the check module right after it, from
        // anywhere; otherwise `super::` (or `super::super::` inside a directory module) does.
        let rest = match p.split_once("checks::") {
            Some((_, after)) => Some(after),
            None if in_dir => p.strip_prefix("super::super::"),
            None => p.strip_prefix("super::"),
        };
        let Some(rest) = rest else { continue };
        let first = rest.split("::").next().unwrap_or("");
        if Some(first) != own
            && modules.iter().any(|m| m == first)
            && !hits.iter().any(|h| h == first)
        {
            hits.push(first.to_string());
        }
    }
    // `use super::{numa, blk}` / `use super::numa::{..}` grouped forms: the first name of a
    // group after `super::{`.
    let prefix = if in_dir {
        "super::super::{"
    } else {
        "super::{"
    };
    let mut rest = code.as_str();
    while let Some(at) = rest.find(prefix) {
        let group = &rest[at + prefix.len()..];
        let end = group.find('}').unwrap_or(group.len());
        for name in group[..end].split(',') {
            let first = name.trim().split("::").next().unwrap_or("").trim();
            if Some(first) != own
                && modules.iter().any(|m| m == first)
                && !hits.iter().any(|h| h == first)
            {
                hits.push(first.to_string());
            }
        }
        rest = &group[end..];
    }
    hits
}

/// `(file, imported check module)` for every check→check import in the tree at `root`.
fn check_to_check(root: &Path) -> Vec<(String, String)> {
    let modules = check_modules(root);
    let mut out = Vec::new();
    for file in rust_files(&root.join(CHECKS_DIR)) {
        let rel = file.strip_prefix(root.join(CHECKS_DIR)).unwrap();
        let parts: Vec<_> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if parts == ["mod.rs"] {
            continue; // the module list itself
        }
        let (own, in_dir) = match parts.as_slice() {
            [f] => (f.trim_end_matches(".rs").to_string(), false),
            [d, f] => (d.clone(), f != "mod.rs"),
            _ => (parts[0].clone(), true),
        };
        let src = std::fs::read_to_string(&file).unwrap();
        for m in imported_checks(&src, Some(&own), in_dir, &modules) {
            out.push((rel.display().to_string(), m));
        }
    }
    out
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn no_check_module_imports_another() {
    let found = check_to_check(&repo());
    assert!(
        found.is_empty(),
        "check modules import other check modules (move the shared code to src/rules/facts): {found:?}"
    );
}

#[test]
fn engine_and_context_import_no_check_module() {
    let root = repo();
    let modules = check_modules(&root);
    for file in ["src/rules/engine.rs", "src/rules/context.rs"] {
        let src = std::fs::read_to_string(root.join(file)).unwrap();
        let hits = imported_checks(&src, None, false, &modules);
        assert!(
            hits.is_empty(),
            "{file} reaches into check modules {hits:?}: go through rules::registry or rules::facts"
        );
    }
}

/// The detector finds what it is for, in every spelling, and ignores prose and own-module paths.
#[test]
fn detector_catches_planted_imports() {
    let modules: Vec<String> = ["blk", "memory", "numa"].map(String::from).to_vec();
    let planted = [
        "use super::numa::home_node;",
        "use super::memory::{human, mount_of};",
        "use super::{blk, numa};",
        "let t = super::blk::disk_targets(ctx, vm);",
        "use crate::rules::checks::numa::warm;",
        "crate::rules::checks::blk::argv_src(vm)",
    ];
    for p in planted {
        assert!(
            !imported_checks(p, Some("idle"), false, &modules).is_empty(),
            "not caught: {p}"
        );
    }
    // From inside a directory module, `super::super::X` is a sibling check module.
    assert_eq!(
        imported_checks(
            "use super::super::blk::on_off;",
            Some("numa"),
            true,
            &modules
        ),
        ["blk"]
    );
    // Framework files: any path into checks counts.
    for p in [
        "checks::numa::warm(ctx, vm)",
        "let _ = super::checks::numa::CHECKS;",
        "use super::checks::numa::GuestRamMaps;",
    ] {
        assert_eq!(imported_checks(p, None, false, &modules), ["numa"], "{p}");
    }
    let innocent = [
        "// see super::numa::home_node for why",
        "/// like [`super::memory::human`]",
        "let s = \"super::numa::x\";",
        "use super::CheckFn;",
        "use crate::rules::facts::placement::home_node;",
        "use super::numa::inner;", // own module
    ];
    for p in innocent {
        assert!(
            imported_checks(p, Some("numa"), false, &modules).is_empty(),
            "false alarm: {p}"
        );
    }
    // Inside checks/numa/x.rs, `super::` is numa's own mod.rs.
    assert!(imported_checks(
        "use super::*;\nuse super::vm_placement::placement;",
        Some("numa"),
        true,
        &modules
    )
    .is_empty());
}

/// The whole-tree scan catches a planted sibling import in a copied tree.
#[test]
fn tree_scan_catches_a_planted_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(CHECKS_DIR);
    std::fs::create_dir_all(dir.join("numa")).unwrap();
    std::fs::write(dir.join("mod.rs"), "pub mod blk;\npub mod numa;\n").unwrap();
    std::fs::write(
        dir.join("blk.rs"),
        "use crate::rules::facts::vm_args::on_off;\n",
    )
    .unwrap();
    std::fs::write(dir.join("numa/mod.rs"), "mod x;\n").unwrap();
    std::fs::write(
        dir.join("numa/x.rs"),
        "use super::*;\nuse super::super::blk::on_off;\n",
    )
    .unwrap();
    assert_eq!(
        check_to_check(tmp.path()),
        [("numa/x.rs".to_string(), "blk".to_string())]
    );
}

// ---- the fix planner reads typed data, not prose (issue 11 item 3) ----------------------------

/// The methods src/fix may call on a `.message` directly: copy it whole or ask whether it is
/// empty. Any other (`split`, `parse`, `strip_prefix`, `contains`, `starts_with`, `as_str`
/// then one of those, ...) reads the prose back; so does binding it to a name
/// (`let m = &f.message;` then `m.contains(..)`) and comparing or slicing it.
const MESSAGE_METHODS: &[&str] = &["clone", "is_empty"];

/// Uses of `.message` in `code` (comments and string contents already removed) that do more
/// than pass the message on whole, write it or check it for emptiness.
fn message_parsing(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    for (at, _) in code.match_indices(".message") {
        let rest = &code[at + ".message".len()..];
        if rest.starts_with(ident) {
            continue; // `.messages`, `.message_id`: another name
        }
        let rest = rest.trim_start();
        let ok = if let Some(m) = rest.strip_prefix('.') {
            let name: String = m.trim_start().chars().take_while(|c| ident(*c)).collect();
            MESSAGE_METHODS.contains(&name.as_str())
        } else {
            // Passed on whole (an argument, a field value, a format argument) or assigned.
            rest.starts_with([')', ',', '}']) || (rest.starts_with('=') && !rest.starts_with("=="))
        };
        if !ok {
            let line = code[..at].matches('\n').count() + 1;
            let snippet: String = code[at..]
                .chars()
                .take_while(|c| *c != '\n')
                .take(60)
                .collect();
            out.push(format!("line {line}: {snippet}"));
        }
    }
    out
}

/// src/fix/** never parses a finding's message: what a fix needs, the check states as typed
/// data (`Datum`), and the planner reads that.
#[test]
fn fix_planner_parses_no_message() {
    let mut wrong = Vec::new();
    for file in rust_files(&repo().join("src/fix")) {
        let src = std::fs::read_to_string(&file).unwrap();
        for hit in message_parsing(&code_only(&src)) {
            wrong.push(format!("{}: {hit}", file.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "src/fix reads a finding's message back; give the check a Datum instead:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn message_detector_catches_prose_parsing() {
    for planted in [
        // What the planner did before the typed data (issue 11 item 3).
        "let m = &report.results[0]\n    .message;\nif m.contains(\"CPU overcommitted: no\") {}",
        "let is_set = |opt: &str| f.message.starts_with(opt);",
        "let n: u32 = f.message.split(' ').nth(2)?.parse().ok()?;",
        "f.message.strip_prefix(\"≥ \")",
        "f.message . contains(\"x\")",
        "f.message.as_str().parse::<u32>()",
        "if f.message == \"x\" {}",
        "&f.message[3..]",
    ] {
        assert!(
            !message_parsing(&code_only(planted)).is_empty(),
            "not caught: {planted}"
        );
    }
    for fine in [
        "quote::xml_comment(&f.message),",
        "message: f.message.clone(),",
        "if !c.message.is_empty() {",
        "f.message = \"cpu-pm=on\".into();",
        "format!(\"{}: {}\", c.target, c.message)",
        "x.messages.split(',')",
        "// f.message.split(',') in a comment",
        "let s = \"f.message.contains(x)\";",
    ] {
        assert_eq!(
            message_parsing(&code_only(fine)),
            Vec::<String>::new(),
            "{fine}"
        );
    }
}
