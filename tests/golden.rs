//! Golden outputs: what kvmaudit says today about every fixture host tree (both profiles, in
//! JSON, the terminal table, Prometheus and HTML), about each of the 390 libvirt argv files,
//! and about a snapshot of a real machine. Refactors of the rules must leave every byte as it
//! is; a change that means to alter a verdict re-blesses with `KVMAUDIT_BLESS=1` and says why.
//!
//! Only what must vary between runs is normalised: the report's `generated_at` and the tool
//! version, and the HTML's CSP nonce (Prometheus durations are not rendered: given as `None`).
//! Everything is evaluated in-process through the library, so the test stays fast.

mod common;

use common::hosts::TREES;
use common::libvirt_args::manifest;
use kvmaudit::collect::{gather, Sources};
use kvmaudit::report::table::{render_view, Style, View};
use kvmaudit::report::{Profile, Report};
use kvmaudit::snapshot::{QemuProcess, Snapshot, Sourced};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const TODAY: &str = "2026-01-01";
/// The golden files' directory, relative to the crate root (the tests' working directory):
/// relative paths keep the checkout's location out of the outputs.
const GOLDEN: &str = "fixtures/golden";
/// The snapshot of a real machine (`kvmaudit collect` on the machine the goldens were made on).
const THIS_HOST: &str = "fixtures/golden/this-host.snapshot.json";

fn bless() -> bool {
    std::env::var_os("KVMAUDIT_BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Compare `actual` with the golden file `name` (or write it when blessing). Differences are
/// collected, not panicked on, so one run lists every output that changed.
fn check(name: &str, actual: &str, diffs: &mut Vec<String>) {
    let path = Path::new(GOLDEN).join(name);
    if bless() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        if std::fs::read_to_string(&path).ok().as_deref() != Some(actual) {
            std::fs::write(&path, actual).unwrap();
        }
        return;
    }
    let expected = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            diffs.push(format!(
                "{}: {e} (bless with KVMAUDIT_BLESS=1)",
                path.display()
            ));
            return;
        }
    };
    if expected == actual {
        return;
    }
    let mut msg = format!("{} differs:", path.display());
    let (exp, act): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let first = (0..exp.len().max(act.len()))
        .find(|&i| exp.get(i) != act.get(i))
        .unwrap_or(0);
    for i in first..(first + 6).min(exp.len().max(act.len())) {
        if exp.get(i) == act.get(i) {
            continue;
        }
        let _ = write!(
            msg,
            "\n  line {}:\n    - {}\n    + {}",
            i + 1,
            exp.get(i).unwrap_or(&"<end>"),
            act.get(i).unwrap_or(&"<end>")
        );
    }
    diffs.push(msg);
}

fn finish(diffs: Vec<String>) {
    assert!(
        diffs.is_empty(),
        "{} golden output(s) differ (re-bless with KVMAUDIT_BLESS=1 only when the change is meant):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// The report with the fields that vary from run to run fixed.
fn evaluate(snap: &Snapshot, profile: Profile) -> Report {
    let mut r = kvmaudit::rules::evaluate(snap, profile, &[], TODAY);
    r.generated_at = "2026-01-01T00:00:00Z".into();
    r.tool.version = "0.0.0-golden".into();
    r
}

fn json(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(r).unwrap();
    s.push('\n');
    s
}

fn table(r: &Report) -> String {
    let style = Style {
        color: false,
        width: 100,
        ascii: false,
    };
    render_view(r, style, &View::default())
}

const PROFILES: [(Profile, &str); 2] = [
    (Profile::Throughput, "throughput"),
    (Profile::Latency, "latency"),
];

/// All four renderings of one snapshot, in both profiles, under `dir/`.
/// The HTML report with its per-render CSP nonce (random by design) replaced by zeros.
fn html(r: &Report) -> String {
    let text = kvmaudit::report::html::render(r).unwrap();
    let Some(at) = text.find("'nonce-") else {
        return text;
    };
    let nonce: String = text[at + 7..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    if nonce.is_empty() {
        return text;
    }
    text.replace(&nonce, &"0".repeat(nonce.len()))
}

fn check_all_outputs(dir: &str, snap: &Snapshot, diffs: &mut Vec<String>) {
    for (profile, pname) in PROFILES {
        let r = evaluate(snap, profile);
        check(&format!("{dir}/{pname}.json"), &json(&r), diffs);
        check(&format!("{dir}/{pname}.txt"), &table(&r), diffs);
        check(
            &format!("{dir}/{pname}.prom"),
            &kvmaudit::report::prom::render(&r, None),
            diffs,
        );
        check(&format!("{dir}/{pname}.html"), &html(&r), diffs);
    }
}

#[test]
fn fixture_hosts_render_as_golden() {
    let mut diffs = Vec::new();
    for tree in TREES {
        let snap = gather(&Sources {
            root: Some(PathBuf::from("fixtures/hosts").join(tree)),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{tree}: {e}"));
        check_all_outputs(&format!("hosts/{tree}"), &snap, &mut diffs);
    }
    finish(diffs);
}

#[test]
fn this_machine_snapshot_renders_as_golden() {
    let snap = gather(&Sources {
        snapshot: Some(PathBuf::from(THIS_HOST)),
        ..Default::default()
    })
    .unwrap_or_else(|e| {
        panic!("{THIS_HOST}: {e} (make it with `kvmaudit collect -o {THIS_HOST}`)")
    });
    let mut diffs = Vec::new();
    check_all_outputs("this-host", &snap, &mut diffs);
    finish(diffs);
}

/// Every libvirt argv file as the only VM of the icx-tuned host, one compact line per finding
/// of that VM (rule, target, status, message), throughput profile. The files are read through
/// `--qemu-argv`'s own path (redaction included) once, then judged one at a time.
#[test]
fn libvirt_argv_corpus_verdicts_are_golden() {
    let files: Vec<PathBuf> = manifest()
        .iter()
        .map(|(rel, _)| PathBuf::from("fixtures/libvirt-args").join(rel))
        .collect();
    let all = gather(&Sources {
        root: Some(PathBuf::from("fixtures/hosts/icx-tuned")),
        qemu_argv: files.clone(),
        ..Default::default()
    })
    .expect("gather the corpus");
    let mut all = all;
    let procs = std::mem::replace(&mut all.qemu, Sourced::value("--qemu-argv", Vec::new()));
    let procs = procs.get().expect("the corpus VMs").clone();
    assert_eq!(procs.len(), files.len());
    // One evaluation per file (~0.1 s each unoptimised): spread over a few threads, the
    // pieces joined back in corpus order.
    let one = |p: &QemuProcess| {
        let mut snap = all.clone();
        snap.qemu = Sourced::value("--qemu-argv", vec![p.clone()]);
        let r = evaluate(&snap, Profile::Throughput);
        let mut out = format!("## {}\n", p.source);
        for f in r.results.iter().filter(|f| f.vm_index.is_some()) {
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}",
                f.rule,
                f.target,
                f.status.as_str(),
                f.message.replace('\n', "\\n")
            );
        }
        out
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let chunk = procs.len().div_ceil(threads).max(1);
    let out: String = std::thread::scope(|s| {
        let handles: Vec<_> = procs
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(one).collect::<String>()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut diffs = Vec::new();
    check("libvirt-args.tsv", &out, &mut diffs);
    finish(diffs);
}
