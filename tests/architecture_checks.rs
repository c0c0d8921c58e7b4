//! The layering of the rules (issue 11): checks read facts and the context, never each other,
//! and the framework (engine, context) never reaches into a check module. Parsed from the
//! source files, so that a new `use super::numa::...` in a check fails here rather than in a
//! review. A check module is a file or directory directly under `src/rules/checks/`; the files
//! inside one directory (`checks/numa/*.rs`) are one module and may use each other.

use kvmaudit::rules::meta::Scope;
use kvmaudit::rules::registry;
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

// ---- checks read facts, not host paths (issue 11 item 1) ---------------------------------------

/// The roots of host paths: a string literal starting with one of these (alone or followed by
/// `/`) names a file on the host. `format!` strings count too: `"/sys/class/net/{dev}/.."`.
const HOST_ROOTS: &[&str] = &[
    "/sys", "/proc", "/etc", "/dev", "/run", "/boot", "/usr", "/var",
];

/// The source without comments and without `#[cfg(test)]` items (a `mod tests { .. }` block or
/// a `mod tests;` line): what ships. String literals are kept.
fn shipped_code(src: &str) -> String {
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
        } else if b[i..].starts_with(b"#[cfg(test)]") {
            // Skip the item: up to its `;` or through its balanced `{ .. }`.
            i += "#[cfg(test)]".len();
            let mut depth = 0usize;
            while i < b.len() {
                if b[i] == b'\'' && i + 2 < b.len() && b[i + 2] == b'\'' {
                    i += 3; // a char literal such as '{'
                    continue;
                }
                match b[i] {
                    b'"' => {
                        i += 1;
                        while i < b.len() && b[i] != b'"' {
                            i += if b[i] == b'\\' { 2 } else { 1 };
                        }
                    }
                    b'{' => depth += 1,
                    b'}' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    b';' if depth == 0 => {
                        i += 1;
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
        } else if b[i] == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            out.push_str(&src[start..i]);
        } else {
            let ch = src[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The string literals of `code` that start with a host root.
fn host_path_literals(code: &str) -> Vec<String> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\'' && i + 2 < b.len() && b[i + 2] == b'\'' {
            i += 3; // a char literal such as '"'
            continue;
        }
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i + 1;
        i += 1;
        while i < b.len() && b[i] != b'"' {
            i += if b[i] == b'\\' { 2 } else { 1 };
        }
        let lit = &code[start..i.min(code.len())];
        i += 1;
        let is_path = HOST_ROOTS.iter().any(|root| {
            lit.strip_prefix(root)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '{']))
        });
        if is_path {
            out.push(lit.to_string());
        }
    }
    out
}

/// `(directory or file under src/rules/checks, literal host paths in its shipped code)`; the
/// files of a directory module are summed under the directory's name, `tests.rs` skipped.
fn host_paths_per_module(root: &Path) -> Vec<(String, Vec<String>)> {
    let mut by: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for file in rust_files(&root.join(CHECKS_DIR)) {
        let rel = file.strip_prefix(root.join(CHECKS_DIR)).unwrap();
        if rel.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let first = rel.iter().next().unwrap().to_string_lossy().into_owned();
        let src = std::fs::read_to_string(&file).unwrap();
        let hits = host_path_literals(&shipped_code(&src));
        by.entry(first)
            .or_default()
            .extend(hits.into_iter().map(|h| format!("{}: {h}", rel.display())));
    }
    by.into_iter().collect()
}

/// Check modules that read no host path at all: their facts live in src/rules/facts.
const PATH_FREE: &[&str] = &["baseline.rs", "bios", "cpufreq.rs"];

/// The literal host paths the other check modules held when the ceiling was set (issue 11
/// item 1): a module may go down, never up. A check module not listed here may hold none.
const PATH_CEILING: &[(&str, usize)] = &[
    ("blk", 2),
    ("guest", 4),
    ("memory", 1),
    ("net", 5),
    ("numa", 3),
    ("overcommit", 3),
    ("pmem", 8),
    ("qat", 2),
];

/// What is wrong with the per-module counts: a path-free module with a path, or a module over
/// its ceiling.
fn path_violations(counts: &[(String, Vec<String>)]) -> Vec<String> {
    let mut wrong = Vec::new();
    for (module, hits) in counts {
        let ceiling = if PATH_FREE.contains(&module.as_str()) {
            0
        } else {
            PATH_CEILING
                .iter()
                .find(|(m, _)| m == module)
                .map_or(0, |(_, n)| *n)
        };
        if hits.len() > ceiling {
            wrong.push(format!(
                "{module}: {} literal host paths, at most {ceiling} allowed:\n    {}",
                hits.len(),
                hits.join("\n    ")
            ));
        }
    }
    wrong
}

/// Checks read facts, not host paths: bios/, cpufreq.rs and baseline.rs hold no literal
/// `/sys`, `/proc`, `/etc`, ... path (their sources are named in src/rules/facts), and no
/// other check module holds more than it did.
#[test]
fn checks_hold_no_new_host_paths() {
    let counts = host_paths_per_module(&repo());
    for (module, hits) in &counts {
        eprintln!(
            "literal host paths in src/rules/checks/{module}: {}",
            hits.len()
        );
    }
    assert!(
        counts.iter().any(|(m, _)| m == "bios"),
        "the scan found no bios module: {counts:?}"
    );
    let wrong = path_violations(&counts);
    assert!(
        wrong.is_empty(),
        "check modules read host paths themselves; add a fact in src/rules/facts that reads \
         them (and names its source for the evidence):\n{}",
        wrong.join("\n")
    );
}

/// The path detector finds host paths in every spelling that ships and ignores what does not.
#[test]
fn host_path_detector_catches_planted_paths() {
    for planted in [
        "let v = ctx.text(\"/sys/kernel/mm/ksm/run\");",
        "const X: &str = \"/proc/cmdline\";",
        "let p = format!(\"/sys/class/net/{dev}/queues\");",
        "o.ev(\"/etc/tuned/active_profile\", p, \"\")",
        "ctx.dir(\"/dev\")",
        "format!(\"/run/libvirt/qemu/{name}.xml\")",
        "ctx.get(\"/boot/config\")",
        "let c = '\"'; ctx.get(\"/usr/share/qemu\")",
        "ctx.get(\"/var/lib/libvirt\")",
        "ctx.get(\"/sys{}\")",
    ] {
        assert_eq!(
            host_path_literals(&shipped_code(planted)).len(),
            1,
            "not caught: {planted}"
        );
    }
    for fine in [
        "// ctx.text(\"/sys/kernel/mm/ksm/run\")",
        "/* \"/proc/cmdline\" */",
        "/// reads `/sys/devices/system/cpu`",
        "format!(\"{CPU_DIR}/cpu{n}/online\")",
        "\"echo 0 > /sys/devices/system/cpu/intel_pstate/no_turbo\"",
        "\"/system\"",
        "\"/devices\"",
        "#[cfg(test)]\nmod tests {\n    fn f() { b.file(\"/proc/cmdline\", \"x\"); }\n}",
        "#[cfg(test)]\nmod tests;",
    ] {
        assert_eq!(
            host_path_literals(&shipped_code(fine)),
            Vec::<String>::new(),
            "false alarm: {fine}"
        );
    }
    // Code after a `#[cfg(test)]` item still counts.
    assert_eq!(
        host_path_literals(&shipped_code(
            "#[cfg(test)]\nmod tests { fn f() { let _ = \"{\"; } }\nconst P: &str = \"/proc/x\";"
        )),
        ["/proc/x"]
    );
}

/// The tree scan sums a directory module's files, skips tests.rs, and the gate fails on a
/// path planted in bios/ or on a module over its ceiling.
#[test]
fn host_path_scan_catches_a_planted_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(CHECKS_DIR);
    std::fs::create_dir_all(dir.join("bios")).unwrap();
    std::fs::create_dir_all(dir.join("overcommit")).unwrap();
    std::fs::write(dir.join("mod.rs"), "pub mod bios;\n").unwrap();
    std::fs::write(
        dir.join("bios/vtx.rs"),
        "use crate::rules::facts::platform::DEV_KVM;\nfn f(ctx: &Ctx) { ctx.dir_has(DEV_KVM, \"kvm\"); }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("bios/tests.rs"),
        "fn t() { b.dir(\"/dev\", &[\"kvm\"]); }\n",
    )
    .unwrap();
    let overcommit =
        "fn f() { ctx.get(\"/proc/a\"); ctx.get(\"/proc/b\"); ctx.get(\"/proc/c\"); }\n";
    std::fs::write(dir.join("overcommit/mod.rs"), overcommit).unwrap();
    let counts = host_paths_per_module(tmp.path());
    assert_eq!(path_violations(&counts), Vec::<String>::new(), "{counts:?}");

    // A planted path in a bios file, and one more in a module at its ceiling.
    std::fs::write(
        dir.join("bios/turbo.rs"),
        "fn f(ctx: &Ctx) { ctx.text(&format!(\"/sys/devices/system/cpu/cpu{n}/online\")); }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("overcommit/cpu_pm.rs"),
        "fn g() { ctx.get(\"/sys/module/kvm/parameters/halt_poll_ns\"); }\n",
    )
    .unwrap();
    let wrong = path_violations(&host_paths_per_module(tmp.path()));
    assert_eq!(wrong.len(), 2, "{wrong:?}");
    assert!(
        wrong[0].starts_with("bios: 1 literal host paths, at most 0"),
        "{wrong:?}"
    );
    assert!(wrong[0].contains("bios/turbo.rs: /sys/devices/system/cpu/cpu{n}/online"));
    assert!(
        wrong[1].starts_with("overcommit: 4 literal host paths, at most 3"),
        "{wrong:?}"
    );
}

/// The context's raw readers: a check calling one reads a host file itself instead of a fact.
const RAW_READERS: &[&str] = &[
    "get",
    "text",
    "dir",
    "dir_has",
    "dir_exists",
    "link",
    "module_param",
    "module_present",
    "snap",
];

/// The raw reads (`ctx.text(..)`, `ctx\n    .dir(..)`, `ctx.snap.…`) in shipped code.
fn raw_reads(src: &str) -> Vec<String> {
    let code: String = shipped_code(src)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut out = Vec::new();
    for (at, _) in code.match_indices("ctx.") {
        let rest = &code[at + 4..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let next = rest[name.len()..].chars().next();
        let called = matches!(next, Some('(')) || (name == "snap" && next == Some('.'));
        if called && RAW_READERS.contains(&name.as_str()) {
            out.push(code[at..(at + 40).min(code.len())].to_string());
        }
    }
    out
}

/// Checks read facts, not the snapshot (issue 11 item 1): every host file a check judges is
/// read by a module of src/rules/facts, which names its source for the evidence.
#[test]
fn checks_read_no_host_file_themselves() {
    let root = repo();
    let mut found = Vec::new();
    for file in rust_files(&root.join(CHECKS_DIR)) {
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let src = std::fs::read_to_string(&file).unwrap();
        for hit in raw_reads(&src) {
            found.push(format!("{}: {hit}", file.display()));
        }
    }
    assert!(
        found.is_empty(),
        "checks read host files through the context; move the read into src/rules/facts:\n{}",
        found.join("\n")
    );
}

#[test]
fn raw_read_detector_catches_planted_reads() {
    for planted in [
        "let v = ctx.text(\"/sys/kernel/mm/ksm/run\");",
        "let d = ctx\n        .dir(PCI)\n        .ok();",
        "let k = ctx.snap.kconfig.path.clone();",
        "let p = ctx.module_param(\"kvm\", \"halt_poll_ns\");",
    ] {
        let src = format!("fn f(ctx: &Ctx) {{\n    {planted}\n}}\n");
        assert_eq!(raw_reads(&src).len(), 1, "missed: {planted}");
    }
    // Persistent configuration, facts and test code are no raw reads.
    let clean = "fn f(ctx: &Ctx) { ctx.persistent.module_param(\"kvm\", \"x\"); ctx.facts(vm); ctx.host.cmdline; }\n#[cfg(test)]\nmod tests { fn g(ctx: &Ctx) { ctx.text(\"/proc/x\"); } }\n";
    assert!(raw_reads(clean).is_empty(), "{:?}", raw_reads(clean));
}

// One rule, one unit (issue 11 item 2): a VM rule judges one VM, drive, NIC or device and the
// engine walks the units; targets are typed values the engine builds, never text a check
// writes. The first test reads the registry, the others the check sources.

#[test]
fn vm_and_guest_rules_judge_one_unit_each() {
    let mut wrong = Vec::new();
    for rule in registry::rules() {
        let Some(check) = rule.check else {
            wrong.push(format!("{}: no check", rule.id()));
            continue;
        };
        let per_unit = !check.judges_host();
        match rule.meta.scope {
            Scope::Vm | Scope::Guest if !per_unit => wrong.push(format!(
                "{} (scope {}): registered as a host check, so it loops over the VMs itself",
                rule.id(),
                rule.meta.scope.as_str()
            )),
            Scope::Host if per_unit => {
                wrong.push(format!("{}: a host rule registered per VM unit", rule.id()))
            }
            _ => {}
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// What a check may not write: target text (`"host/…"`; a `vm:NAME` in evidence prose is no
/// target), a target glued from strings (`Target::Text`, `.child(`), or a VM unit's target built by hand.
const TARGET_TEXT: &[&str] = &[
    "\"host/",
    "Target::Text",
    ".child(",
    "Target::Drive(",
    "Target::Nic(",
    "Target::Hostdev(",
];

/// The lines of `src` (outside `#[cfg(test)]` modules and comments) that write target text.
fn target_text(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in src.lines() {
        let code = line.trim_start();
        if code.starts_with("#[cfg(test)]") {
            break;
        }
        if code.starts_with("//") {
            continue;
        }
        if TARGET_TEXT.iter().any(|t| code.contains(t)) {
            out.push(code.to_string());
        }
    }
    out
}

#[test]
fn checks_write_no_target_text() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/rules/checks");
    let mut found = Vec::new();
    for file in rust_files(&root) {
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let src = std::fs::read_to_string(&file).unwrap();
        for line in target_text(&src) {
            found.push(format!("{}: {line}", file.display()));
        }
    }
    assert!(found.is_empty(), "checks write targets as text: {found:#?}");
}

#[test]
fn target_text_detector_catches_planted_lines() {
    for planted in [
        "let t = format!(\"host/dev:{pf}\");",
        "let t = ctx.vm_target(vm).child(&format!(\"drive:{id}\"));",
        "Outcome::pass(Target::Nic(vm.index, id), \"ok\")",
    ] {
        let src = format!("fn f() {{\n    {planted}\n}}\n");
        assert_eq!(target_text(&src).len(), 1, "missed: {planted}");
    }
    let clean = "// \"vm:x\" in a comment\nfn f() { Outcome::pass(\"host\", \"ok\") }\n#[cfg(test)]\nmod tests { const T: &str = \"host/dev:x\"; }\n";
    assert!(target_text(clean).is_empty());
}
