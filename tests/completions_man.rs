//! `kvmaudit completions` and `kvmaudit man`, checked by the programs that consume them: bash
//! completes with the script, zsh and fish parse theirs, mandoc lints the pages.

mod common;

use assert_cmd::Command;
use std::process::Command as Process;

fn completions(shell: &str) -> String {
    let out = Command::cargo_bin("kvmaudit")
        .unwrap()
        .args(["completions", shell])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// What bash's programmable completion offers for the words of `line` (the last one being
/// completed), through the function the script registered with `complete -F`.
fn bash_complete(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let line = words.join(" ");
    let prog = format!(
        r#"source '{script}' || exit 10
spec=$(complete -p kvmaudit) || exit 11
fn=$(printf '%s\n' "$spec" | sed -n 's/.*-F \([^ ]*\).*/\1/p')
[ -n "$fn" ] || exit 12
COMP_WORDS=({words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE='{line}'
COMP_POINT=${{#COMP_LINE}}
"$fn" kvmaudit "${{COMP_WORDS[$COMP_CWORD]}}" "${{COMP_WORDS[$COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script = script.display(),
        words = quoted.join(" "),
    );
    let out = Process::new("bash").args(["-c", &prog]).output().unwrap();
    assert!(out.status.success(), "bash completion run failed: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_subcommands_and_flags() {
    if !common::require_tool("bash") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("kvmaudit.bash");
    std::fs::write(&script, completions("bash")).unwrap();
    assert_eq!(bash_complete(&script, &["kvmaudit", "sc"]), ["scan"]);
    assert_eq!(
        bash_complete(&script, &["kvmaudit", "com"]),
        ["completions"]
    );
    assert_eq!(
        bash_complete(&script, &["kvmaudit", "scan", "--fail-o"]),
        ["--fail-on"]
    );
    assert_eq!(
        bash_complete(&script, &["kvmaudit", "completions", "z"]),
        ["zsh"]
    );
}

#[test]
fn zsh_script_parses() {
    if !common::require_tool("zsh") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("_kvmaudit");
    let text = completions("zsh");
    assert!(text.starts_with("#compdef kvmaudit"), "{text:.80}");
    assert!(
        text.contains("'--fail-on=["),
        "zsh script lacks scan's flags"
    );
    std::fs::write(&script, text).unwrap();
    let out = Process::new("zsh").arg("-n").arg(&script).output().unwrap();
    assert!(out.status.success(), "zsh -n: {out:?}");
}

#[test]
fn fish_script_parses() {
    if !common::require_tool("fish") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("kvmaudit.fish");
    let text = completions("fish");
    assert!(
        text.contains("complete -c kvmaudit") && text.contains("-a \"scan\""),
        "{text:.200}"
    );
    std::fs::write(&script, text).unwrap();
    let out = Process::new("fish")
        .arg("--no-execute")
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "fish --no-execute: {out:?}");
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let out = Command::cargo_bin("kvmaudit")
        .unwrap()
        .args(["completions", "csh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid value 'csh'") && err.contains("bash"),
        "{err}"
    );
}

const SUBCOMMANDS: [&str; 9] = [
    "scan",
    "collect",
    "fix",
    "rules",
    "explain",
    "fleet",
    "diff",
    "completions",
    "man",
];

#[test]
fn man_pages_are_written_and_lint_clean() {
    let dir = tempfile::tempdir().unwrap();
    let mandir = dir.path().join("man1");
    let out = Command::cargo_bin("kvmaudit")
        .unwrap()
        .args(["man", "--dir"])
        .arg(&mandir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mut names: Vec<String> = std::fs::read_dir(&mandir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut want: Vec<String> = SUBCOMMANDS
        .iter()
        .map(|s| format!("kvmaudit-{s}.1"))
        .chain(["kvmaudit.1".to_string()])
        .collect();
    want.sort();
    assert_eq!(names, want);

    let main = std::fs::read_to_string(mandir.join("kvmaudit.1")).unwrap();
    assert!(
        main.contains(&format!(
            ".TH kvmaudit 1 2026-12-07 \"kvmaudit {}\"",
            env!("CARGO_PKG_VERSION")
        )),
        "{main:.300}"
    );
    // The main page lists each subcommand's own page.
    for s in SUBCOMMANDS {
        assert!(
            main.contains(&format!("kvmaudit\\-{s}(1)")),
            "kvmaudit.1 does not refer to kvmaudit-{s}(1)"
        );
    }
    let scan = std::fs::read_to_string(mandir.join("kvmaudit-scan.1")).unwrap();
    assert!(
        scan.contains(".TH kvmaudit-scan 1 2026-12-07"),
        "{scan:.300}"
    );
    assert!(
        scan.contains("\\-\\-fail\\-on"),
        "scan page lacks --fail-on"
    );

    // Without --dir: the main page on stdout, the same bytes.
    let out = Command::cargo_bin("kvmaudit")
        .unwrap()
        .arg("man")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), main);

    // The systemd unit's Documentation= names a page kvmaudit ships.
    let unit =
        std::fs::read_to_string(common::repo().join("contrib/systemd/kvmaudit.service")).unwrap();
    for doc in unit
        .lines()
        .filter_map(|l| l.strip_prefix("Documentation="))
        .flat_map(str::split_whitespace)
        .filter_map(|d| d.strip_prefix("man:"))
    {
        let (page, section) = doc.trim_end_matches(')').split_once('(').unwrap();
        assert!(
            mandir.join(format!("{page}.{section}")).is_file(),
            "the unit refers to man:{doc}, which kvmaudit man does not write"
        );
    }

    if common::require_tool("mandoc") {
        for n in &names {
            let out = Process::new("mandoc")
                .args(["-T", "lint", "-W", "warning"])
                .arg(mandir.join(n))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "mandoc -T lint {n}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    if common::require_tool("man") {
        let out = Process::new("man")
            .arg("-l")
            .arg(mandir.join("kvmaudit.1"))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "man -l: {out:?}");
        assert!(text.contains("kvmaudit-scan(1)"), "{text}");
        assert!(
            out.stderr.is_empty(),
            "man -l complained: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn man_dir_that_is_a_symlink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere");
    std::fs::create_dir(&target).unwrap();
    // A new directory is created and filled...
    let fresh = dir.path().join("new/man1");
    let out = Command::cargo_bin("kvmaudit")
        .unwrap()
        .args(["man", "--dir"])
        .arg(&fresh)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(fresh.join("kvmaudit.1").is_file());
    // ...but a planted link is not followed.
    let link = dir.path().join("man1");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = Command::cargo_bin("kvmaudit")
        .unwrap()
        .args(["man", "--dir"])
        .arg(&link)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
}
