//! One rule, one unit (issue 11 item 2): a VM rule judges one VM, drive, NIC or device and the
//! engine walks the units; targets are typed values the engine builds, never text a check
//! writes. The first test reads the registry, the second the check sources.

use kvmaudit::rules::meta::Scope;
use kvmaudit::rules::registry;
use std::path::{Path, PathBuf};

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

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs")
                && p.file_name().is_some_and(|n| n != "tests.rs")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn checks_write_no_target_text() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/rules/checks");
    let mut found = Vec::new();
    for file in rust_files(&root) {
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
