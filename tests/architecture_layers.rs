//! The layering ARCHITECTURE.md promises, checked on the source text:
//!
//! - `src/report/**` (the renderers) imports nothing from `crate::rules`;
//! - `src/vocab/**` (the vocabulary at the bottom) imports nothing else of the crate;
//! - test support (`src/testkit`, its old paths `rules::testkit` and `report::sample`) is
//!   reachable only under `cfg(test)` or the `test-support` feature, never in the public API;
//! - every relative link in ARCHITECTURE.md, README.md and BENCHMARKS.md resolves.
//!
//! The detectors read Rust with comments and string literals blanked out, so a path named in
//! a doc comment or a message is not an import. Each one is proven on a planted example too:
//! a detector that finds nothing in the tree might find nothing anywhere.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `.rs` files under `dir`, sorted, as (path relative to the repository, text).
fn rust_files(dir: &str) -> Vec<(String, String)> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let kind = std::fs::symlink_metadata(&p).unwrap().file_type();
            if kind.is_dir() {
                walk(&p, out);
            } else if kind.is_file() && p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&repo().join(dir), &mut paths);
    paths
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(repo())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Reading Rust source well enough to find paths.

/// The source with comments, string, byte-string, raw-string and char literals replaced by
/// spaces (newlines kept), so that byte offsets still match the original text.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == b'/' && next == Some(b'/') {
            let end = src[i..].find('\n').map_or(b.len(), |n| i + n);
            blank(&mut out, i, end);
            i = end;
        } else if c == b'/' && next == Some(b'*') {
            let (mut depth, mut j) = (1, i + 2);
            while j < b.len() && depth > 0 {
                if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                    depth += 1;
                    j += 2;
                } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if (c == b'r' || (c == b'b' && next == Some(b'r')))
            && (i == 0 || !ident(b[i - 1]))
            && {
                let k = if c == b'b' { i + 2 } else { i + 1 };
                let hashes = b[k..].iter().take_while(|&&h| h == b'#').count();
                b.get(k + hashes) == Some(&b'"')
            }
        {
            let k = if c == b'b' { i + 2 } else { i + 1 };
            let hashes = b[k..].iter().take_while(|&&h| h == b'#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let body = k + hashes + 1;
            let end = src[body..]
                .find(&close)
                .map_or(b.len(), |n| body + n + close.len());
            blank(&mut out, i, end);
            i = end;
        } else if c == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{..}', '"') or a lifetime ('a).
            let end = if next == Some(b'\\') {
                src[i + 2..].find('\'').map(|n| i + 2 + n + 1)
            } else {
                let ch_len = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + ch_len) == Some(&b'\'')).then_some(i + 2 + ch_len)
            };
            match end {
                Some(end) => {
                    blank(&mut out, i, end);
                    i = end;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Offsets where `word` stands as a whole identifier in `code`.
fn word_at(code: &str, word: &str) -> Vec<usize> {
    let b = code.as_bytes();
    code.match_indices(word)
        .map(|(i, _)| i)
        .filter(|&i| {
            (i == 0 || !is_ident(b[i - 1])) && b.get(i + word.len()).map_or(true, |&c| !is_ident(c))
        })
        .collect()
}

/// After `at` (just past a `::`), the first segments named: `x` for `x::…`, every top-level
/// name of a group `{a, b::c, self}`.
fn segments_after(code: &str, at: usize) -> Vec<String> {
    let rest = code[at..].trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0;
        let mut names = Vec::new();
        let mut item = String::new();
        for c in group.chars() {
            match c {
                '{' => {
                    depth += 1;
                    item.push(c);
                }
                '}' if depth == 0 => break,
                '}' => {
                    depth -= 1;
                    item.push(c);
                }
                ',' if depth == 0 => names.push(std::mem::take(&mut item)),
                _ => item.push(c),
            }
        }
        names.push(item);
        names
            .iter()
            .map(|n| first_ident(n))
            .filter(|n| !n.is_empty())
            .collect()
    } else {
        vec![first_ident(rest)]
    }
}

fn first_ident(s: &str) -> String {
    s.trim_start()
        .bytes()
        .take_while(|&c| is_ident(c))
        .map(char::from)
        .collect()
}

/// The crate modules a file's code names: `crate::X`, `crate::{X, Y}`, and `super::…::X` when
/// the `super`s climb to the crate root (`depth`: how deep the file's module is, `src/a/b.rs`
/// and `src/a/b/mod.rs` being 2). Each with the offset where it is written.
fn crate_modules_named(code: &str, depth: usize) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for at in word_at(code, "crate") {
        let after = &code[at + 5..];
        let trimmed = after.trim_start();
        if let Some(rest) = trimmed.strip_prefix("::") {
            let off = code.len() - rest.len();
            for s in segments_after(code, off) {
                found.push((s, at));
            }
        }
    }
    for at in word_at(code, "super") {
        // Only the first `super` of a chain.
        if code[..at].trim_end().ends_with("::") {
            continue;
        }
        let mut off = at;
        let mut supers = 0;
        loop {
            let rest = &code[off..];
            let Some(r) = rest.strip_prefix("super") else {
                break;
            };
            let r = r.trim_start();
            let Some(r) = r.strip_prefix("::") else {
                break;
            };
            supers += 1;
            off = code.len() - r.trim_start().len();
        }
        // Inside an inline module (`mod tests`) one more `super` is needed to climb as far:
        // counting from the file's depth errs towards reporting.
        if supers >= depth {
            for s in segments_after(code, off) {
                if s != "super" {
                    found.push((s, at));
                }
            }
        }
    }
    found
}

/// The depth of a file's module below the crate root.
fn module_depth(rel: &str) -> usize {
    let p = rel.strip_prefix("src/").unwrap_or(rel);
    let parts: Vec<&str> = p.split('/').collect();
    let last = *parts.last().unwrap();
    if last == "mod.rs" || last == "lib.rs" || last == "main.rs" {
        parts.len() - 1
    } else {
        parts.len()
    }
}

fn line_of(src: &str, at: usize) -> usize {
    src[..at].matches('\n').count() + 1
}

/// `file:line: what` for every name of a module in `forbidden` (or, with `allowed_only`, of a
/// module not in `allowed`) that the files import.
fn imports_of(files: &[(String, String)], judge: impl Fn(&str) -> bool, what: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for (rel, src) in files {
        let code = code_only(src);
        for (module, at) in crate_modules_named(&code, module_depth(rel)) {
            if judge(&module) {
                bad.push(format!(
                    "{rel}:{}: {what} crate::{module}",
                    line_of(src, at)
                ));
            }
        }
    }
    bad
}

/// Renderers must not import the rules: the vocabulary both speak lives in `vocab`.
fn report_imports_rules(files: &[(String, String)]) -> Vec<String> {
    imports_of(files, |m| m == "rules", "report/ imports")
}

/// The vocabulary is the bottom layer: it names no other module of the crate.
fn vocab_imports_above(files: &[(String, String)]) -> Vec<String> {
    imports_of(
        files,
        |m| m != "vocab" && m != "self",
        "the vocabulary imports",
    )
}

// ---------------------------------------------------------------------------------------------
// Test support behind cfg.

/// Whether an attribute's text (`#[cfg(...)]`, whitespace removed) limits an item to tests
/// or the `test-support` feature.
fn is_test_gate(attr: &str) -> bool {
    let a: String = attr.chars().filter(|c| !c.is_whitespace()).collect();
    let inner = a
        .strip_prefix("#[cfg(")
        .or_else(|| a.strip_prefix("#![cfg("))
        .and_then(|r| r.strip_suffix(")]"));
    let Some(inner) = inner else {
        return false;
    };
    let gate = |c: &str| c == "test" || c == "feature=\"test-support\"";
    if gate(inner) {
        return true;
    }
    inner
        .strip_prefix("any(")
        .and_then(|r| r.strip_suffix(')'))
        .is_some_and(|list| list.split(',').all(gate))
}

/// Byte ranges of `src` that only compile for tests: items under a test gate (attribute and
/// item, up to its `;` or closing brace), or the whole file under an inner `#![cfg(test)]`.
fn gated_spans(src: &str) -> Vec<(usize, usize)> {
    let code = code_only(src);
    let b = code.as_bytes();
    let mut spans = Vec::new();
    for (at, _) in code.match_indices('#') {
        let Some(close) = code[at..].find(']').map(|n| at + n + 1) else {
            continue;
        };
        // The attribute's text from the original: the feature name is a string literal.
        let Some(open_end) = code[at..].find('[') else {
            continue;
        };
        let mut depth = 0;
        let mut end_attr = close;
        for (k, c) in src[at + open_end..].char_indices() {
            match c {
                '[' => depth += 1,
                ']' => {
                    depth -= 1;
                    if depth == 0 {
                        end_attr = at + open_end + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        if !is_test_gate(&src[at..end_attr]) {
            continue;
        }
        if code[at..].starts_with("#!") {
            spans.push((0, src.len()));
            continue;
        }
        // The item: up to a `;` at depth 0, or the brace that closes its first `{`.
        let mut depth = 0i32;
        let mut end = b.len();
        let mut k = end_attr;
        while k < b.len() {
            match b[k] {
                b'#' if depth == 0 && b.get(k + 1) == Some(&b'[') => {
                    // Another attribute on the same item: skip it.
                    let mut d = 0;
                    while k < b.len() {
                        if b[k] == b'[' {
                            d += 1;
                        } else if b[k] == b']' {
                            d -= 1;
                            if d == 0 {
                                break;
                            }
                        }
                        k += 1;
                    }
                }
                b'{' | b'(' | b'[' => depth += 1,
                b'}' | b')' | b']' => {
                    depth -= 1;
                    if depth == 0 && b[k] == b'}' {
                        end = k + 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
            k += 1;
        }
        spans.push((at, end));
    }
    spans
}

/// Every mention of test support (`testkit`, `sample_report`, `report::sample`) in code that
/// is compiled without `cfg(test)` or the `test-support` feature, outside `src/testkit/`.
fn test_support_ungated(files: &[(String, String)]) -> Vec<String> {
    let mut bad = Vec::new();
    for (rel, src) in files {
        if rel.starts_with("src/testkit/") || declared_under_test_gate(rel, files) {
            continue;
        }
        let code = code_only(src);
        let spans = gated_spans(src);
        let mut hits = word_at(&code, "testkit");
        hits.extend(word_at(&code, "sample_report"));
        hits.extend(word_at(&code, "sample").into_iter().filter(|&at| {
            let before = code[..at].trim_end();
            before.ends_with("::") && before[..before.len() - 2].trim_end().ends_with("report")
        }));
        for at in hits {
            if !spans.iter().any(|&(a, e)| a <= at && at < e) {
                bad.push(format!(
                    "{rel}:{}: test support reachable without cfg(test) or the test-support feature",
                    line_of(src, at)
                ));
            }
        }
    }
    bad
}

/// Whether the file `rel` is a module its parent declares only under a test gate
/// (`#[cfg(test)] mod tests;` in `dir/mod.rs` or `dir.rs` for `dir/tests.rs`): then all of
/// it is test code, however it is written.
fn declared_under_test_gate(rel: &str, files: &[(String, String)]) -> bool {
    let Some((dir, file)) = rel.rsplit_once('/') else {
        return false;
    };
    let Some(name) = file.strip_suffix(".rs").filter(|n| *n != "mod") else {
        return false;
    };
    let parents = [format!("{dir}/mod.rs"), format!("{dir}.rs")];
    files
        .iter()
        .filter(|(p, _)| parents.contains(p))
        .any(|(_, parent)| {
            let code = code_only(parent);
            let spans = gated_spans(parent);
            word_at(&code, name).into_iter().any(|at| {
                code[..at].trim_end().ends_with("mod")
                    && spans.iter().any(|&(a, e)| a <= at && at < e)
            })
        })
}

// ---------------------------------------------------------------------------------------------
// Links in the documents.

/// The link targets of a Markdown text (`[text](target)` and `[label]: target`), outside code
/// spans and fenced blocks.
fn markdown_links(md: &str) -> Vec<(usize, String)> {
    let mut links = Vec::new();
    let mut fenced = false;
    for (n, line) in md.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Code spans out: `[x](y)` inside backticks is text.
        let mut text = String::new();
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
            } else if !in_code {
                text.push(c);
            } else {
                text.push(' ');
            }
        }
        let mut rest = text.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(close) = after.find(')') else {
                break;
            };
            let target = after[..close].split_whitespace().next().unwrap_or("");
            links.push((n + 1, target.trim_matches(['<', '>']).to_string()));
            rest = &after[close..];
        }
        let t = text.trim_start();
        if let Some(r) = t.strip_prefix('[') {
            if let Some((_, target)) = r.split_once("]: ") {
                links.push((n + 1, target.trim().to_string()));
            }
        }
    }
    links
}

/// `doc:line: target` for each relative link of `doc` (at `base`) that names no file or
/// directory. Links with a scheme, and bare `#anchors`, are not files.
fn broken_links(doc: &str, md: &str, base: &Path) -> Vec<String> {
    markdown_links(md)
        .into_iter()
        .filter(|(_, t)| !t.is_empty() && !t.starts_with('#') && !t.contains("://"))
        .filter(|(_, t)| !t.starts_with("mailto:"))
        .filter_map(|(line, t)| {
            let path = t.split('#').next().unwrap_or("");
            let resolved = base.join(path);
            let inside = resolved
                .canonicalize()
                .ok()
                .filter(|p| p.starts_with(repo().canonicalize().unwrap()));
            inside
                .is_none()
                .then(|| format!("{doc}:{line}: {t} does not resolve inside the repository"))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The checks on the tree.

#[test]
fn renderers_do_not_import_the_rules() {
    let files = rust_files("src/report");
    assert!(files.len() > 5, "src/report not found");
    let bad = report_imports_rules(&files);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_vocabulary_imports_nothing_above_it() {
    let files = rust_files("src/vocab");
    assert!(files.len() > 3, "src/vocab not found");
    let bad = vocab_imports_above(&files);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn test_support_is_not_public_api() {
    let files = rust_files("src");
    let bad = test_support_ungated(&files);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // The module itself is declared, and only under the gate.
    let lib = std::fs::read_to_string(repo().join("src/lib.rs")).unwrap();
    assert!(
        word_at(&code_only(&lib), "testkit").len() == 1,
        "src/lib.rs: mod testkit"
    );
    // The feature is never on by default.
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    for line in manifest.lines() {
        let l = line.trim_start();
        if l.starts_with("default") && l.contains('=') {
            assert!(
                !l.contains("test-support"),
                "Cargo.toml: test-support in default features"
            );
        }
    }
}

#[test]
fn relative_links_in_the_documents_resolve() {
    let mut bad = Vec::new();
    for doc in ["ARCHITECTURE.md", "README.md", "BENCHMARKS.md"] {
        let md = std::fs::read_to_string(repo().join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
        bad.extend(broken_links(doc, &md, &repo()));
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn architecture_md_links_every_directory_of_src() {
    let md = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    let links: Vec<String> = markdown_links(&md).into_iter().map(|(_, t)| t).collect();
    let mut dirs: Vec<String> = std::fs::read_dir(repo().join("src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| format!("src/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    dirs.sort();
    let missing: Vec<&String> = dirs
        .iter()
        .filter(|d| {
            !links
                .iter()
                .any(|l| l.trim_end_matches('/') == d.as_str() || l.starts_with(&format!("{d}/")))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map has no link to: {missing:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Each detector catches a planted example, and lets the harmless look-alikes be.

fn planted(path: &str, text: &str) -> Vec<(String, String)> {
    vec![(path.to_string(), text.to_string())]
}

#[test]
fn planted_rules_imports_in_a_renderer_are_caught() {
    for (path, text) in [
        ("src/report/x.rs", "use crate::rules::meta::catalogue;\n"),
        (
            "src/report/x.rs",
            "use crate::{report::Status, rules::score};\n",
        ),
        (
            "src/report/x.rs",
            "fn f() { crate :: rules::evaluate(); }\n",
        ),
        (
            "src/report/x.rs",
            "use super::super::rules::waivers::glob;\n",
        ),
        ("src/report/mod.rs", "use super::rules::engine;\n"),
        (
            "src/report/x.rs",
            "#[cfg(test)]\nmod tests {\n    use crate::rules::testkit::SnapBuilder;\n}\n",
        ),
    ] {
        let bad = report_imports_rules(&planted(path, text));
        assert_eq!(bad.len(), 1, "{text:?} → {bad:?}");
        assert!(bad[0].contains("crate::rules"), "{bad:?}");
    }
    let bad = report_imports_rules(&planted("src/report/x.rs", "\n\nuse crate::rules::x;\n"));
    assert!(bad[0].starts_with("src/report/x.rs:3:"), "{bad:?}");
}

#[test]
fn harmless_mentions_of_rules_in_a_renderer_pass() {
    for text in [
        "//! Reads what crate::rules produced.\nuse crate::vocab::Finding;\n",
        "/* use crate::rules::x; */ fn f() {}\n",
        "fn f() -> &'static str { \"crate::rules::engine\" }\n",
        "fn f() -> &'static str { r#\"use crate::rules::x;\"# }\n",
        "use super::table;\nuse crate::report::rules_doc;\nfn rules() {}\n",
        "fn f(c: char) -> bool { c == '\"' } // crate::rules\nuse crate::vocab::Status;\n",
    ] {
        let bad = report_imports_rules(&planted("src/report/x.rs", text));
        assert!(bad.is_empty(), "{text:?} → {bad:?}");
    }
}

#[test]
fn planted_upward_imports_in_the_vocabulary_are_caught() {
    for text in [
        "use crate::report::host_block::HostBlock;\n",
        "use crate::snapshot::Snapshot;\n",
        "use crate::{vocab::Status, model::host::HostModel};\n",
        "use super::super::rules::meta;\n",
        "fn f() { let _ = crate::util::now_rfc3339(); }\n",
    ] {
        let bad = vocab_imports_above(&planted("src/vocab/x.rs", text));
        assert_eq!(bad.len(), 1, "{text:?} → {bad:?}");
    }
    for text in [
        "use super::verdict::Severity;\nuse crate::vocab::Finding;\nuse serde::Serialize;\n",
        "//! Unlike crate::report, this holds types.\n",
    ] {
        let bad = vocab_imports_above(&planted("src/vocab/x.rs", text));
        assert!(bad.is_empty(), "{text:?} → {bad:?}");
    }
}

#[test]
fn planted_ungated_test_support_is_caught() {
    for text in [
        "pub mod testkit;\n",
        "pub use crate::testkit::snap_builder as testkit;\n",
        "#[cfg(feature = \"other\")]\npub mod testkit;\n",
        "#[cfg(not(test))]\npub mod testkit;\n",
        "pub fn f() { let _ = crate::report::sample::report; }\n",
        "use crate::testkit::sample_report;\n",
        // The gate covers the item it is on, not the next one.
        "#[cfg(test)]\nmod a {}\npub use crate::testkit::snap_builder::SnapBuilder;\n",
    ] {
        let bad = test_support_ungated(&planted("src/x.rs", text));
        assert!(!bad.is_empty(), "{text:?} passed");
    }
    for text in [
        "#[cfg(any(test, feature = \"test-support\"))]\npub mod testkit;\n",
        "#[cfg(test)]\nmod tests {\n    use crate::testkit::snap_builder::SnapBuilder;\n    fn f() { crate::report::sample::report; }\n}\n",
        "#[cfg(feature = \"test-support\")]\n#[doc(hidden)]\npub use crate::testkit::sample_report as sample;\n",
        "#![cfg(test)]\nuse crate::testkit::snap_builder::SnapBuilder;\n",
        "// the testkit module\nfn f() { w.sample(\"x\"); let s = \"report::sample\"; }\n",
    ] {
        let bad = test_support_ungated(&planted("src/x.rs", text));
        assert!(bad.is_empty(), "{text:?} → {bad:?}");
    }
    // A file its parent declares under `#[cfg(test)] mod tests;` is test code as a whole; the
    // same file declared without the gate is caught.
    let child = "use crate::rules::testkit::SnapBuilder;\n";
    for (parent, caught) in [
        ("#[cfg(test)]\nmod tests;\n", false),
        ("mod tests;\n", true),
    ] {
        let files = vec![
            ("src/a/mod.rs".to_string(), parent.to_string()),
            ("src/a/tests.rs".to_string(), child.to_string()),
        ];
        assert_eq!(
            !test_support_ungated(&files).is_empty(),
            caught,
            "{parent:?}"
        );
    }
    // Inside src/testkit itself, anything goes.
    assert!(
        test_support_ungated(&planted("src/testkit/mod.rs", "pub mod sample_report;\n")).is_empty()
    );
}

#[test]
fn planted_broken_links_are_caught() {
    let md = "See [the engine](src/rules/engine.rs) and [gone](src/nowhere.rs#L3).\n\
              [ref]: docs/missing.md\n\
              [web](https://example.org/x) [anchor](#code-map) `[code](not/a/link)`\n\
              ```\n[fenced](not/a/link/either)\n```\n\
              [escape](../../etc/passwd)\n";
    let bad = broken_links("X.md", md, &repo());
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert!(bad[0].starts_with("X.md:1: src/nowhere.rs#L3"), "{bad:?}");
    assert!(bad[1].starts_with("X.md:2: docs/missing.md"), "{bad:?}");
    assert!(bad[2].starts_with("X.md:7: ../../etc/passwd"), "{bad:?}");
}

#[test]
fn code_only_keeps_offsets_and_drops_literals() {
    let src =
        "let a = \"x // y\"; // crate::rules\nlet b = '\\''; /* a /* nested */ b */ let c = 1;\n";
    let code = code_only(src);
    assert_eq!(code.len(), src.len());
    assert!(!code.contains("crate"), "{code}");
    assert!(code.contains("let c = 1;"), "{code}");
    assert_eq!(code.lines().count(), 2);
    assert_eq!(module_depth("src/report/table.rs"), 2);
    assert_eq!(module_depth("src/report/mod.rs"), 1);
    assert_eq!(module_depth("src/lib.rs"), 0);
}
