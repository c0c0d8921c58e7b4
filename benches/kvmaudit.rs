//! Whole-command benchmarks of the kvmaudit binary: wall time and peak RSS per run.
//!
//!     cargo bench --bench kvmaudit                # everything
//!     cargo bench --bench kvmaudit -- corpus      # benches whose name contains "corpus"
//!     BENCH_RUNS=50 cargo bench --bench kvmaudit  # runs per bench (default 30)
//!
//! Benches: a live scan of this machine; a scan of a fixture snapshot; all 390 libvirt corpus
//! argv files in one scan; a live scan with 50 QEMU VMs running (TCG, `-S`, like
//! tests/live_qemu.rs::fifty_vms_at_once; skipped without qemu-system-x86_64); the fleet
//! roll-up of 10,000 reports; the HTML report. A command this build does not have yet (it
//! exits 1 saying "not available") is reported as such, not timed.
//!
//! Peak RSS is `ru_maxrss` from `wait4` on each child. Linux folds the RSS of the image an exec
//! replaces into it, so the floor is this harness's own RSS (printed): figures above it are
//! the child's. Under `cargo test --all-targets` (no `--bench` argument) nothing runs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KVMAUDIT: &str = env!("CARGO_BIN_EXE_kvmaudit");

struct Stats {
    runs: usize,
    median: Duration,
    mean: Duration,
    min: Duration,
    max_rss_kb: u64,
    code: Option<i32>,
    stderr: String,
}

/// Run `args` once; wall time, exit code, peak RSS in KiB.
// Reaped by wait4 on its pid, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn once(args: &[OsString]) -> (Duration, Option<i32>, u64, String) {
    let start = Instant::now();
    let child = Command::new(KVMAUDIT)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kvmaudit");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // Reading stderr first would block on a child that never closes it; it is small, and the
    // pipe buffer (64 KiB) holds it while we wait.
    // SAFETY: pid is our unreaped child; the out-pointers are valid.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    let mut err = String::new();
    if let Some(mut e) = child.stderr {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (wall, code, usage.ru_maxrss.max(0) as u64, err)
}

fn measure(args: &[OsString], runs: usize) -> Stats {
    // Warm the page cache and the binary.
    let (_, code, _, stderr) = once(args);
    if code == Some(1) {
        return Stats {
            runs: 0,
            median: Duration::ZERO,
            mean: Duration::ZERO,
            min: Duration::ZERO,
            max_rss_kb: 0,
            code,
            stderr,
        };
    }
    let _ = once(args);
    let mut walls = Vec::with_capacity(runs);
    let mut max_rss_kb = 0;
    let mut last = (code, stderr);
    for _ in 0..runs {
        let (w, c, rss, e) = once(args);
        walls.push(w);
        max_rss_kb = max_rss_kb.max(rss);
        last = (c, e);
    }
    walls.sort();
    let mean = walls.iter().sum::<Duration>() / runs.max(1) as u32;
    Stats {
        runs,
        median: walls[runs / 2],
        mean,
        min: walls[0],
        max_rss_kb,
        code: last.0,
        stderr: last.1,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(name: &str, s: &Stats, target_ms: Option<f64>, target_mb: Option<f64>) {
    if s.runs == 0 {
        let why = s.stderr.lines().next().unwrap_or("").trim();
        println!("{name:<28} unavailable in this build: {why}");
        return;
    }
    let mb = s.max_rss_kb as f64 / 1024.0;
    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    let mut t = String::new();
    if let Some(tm) = target_ms {
        t.push_str(&format!(
            "  [wall ≤ {tm} ms: {}]",
            verdict(ms(s.median) <= tm)
        ));
    }
    if let Some(tr) = target_mb {
        t.push_str(&format!("  [RSS ≤ {tr} MB: {}]", verdict(mb <= tr)));
    }
    println!(
        "{name:<28} median {:>8.2} ms  mean {:>8.2} ms  min {:>8.2} ms  peak RSS {:>7.1} MiB  ({} runs, exit {:?}){t}",
        ms(s.median),
        ms(s.mean),
        ms(s.min),
        mb,
        s.runs,
        s.code
    );
}

fn os(v: &[&str]) -> Vec<OsString> {
    v.iter().map(OsString::from).collect()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn self_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Collect a fixture host tree into a snapshot file.
fn fixture_snapshot(dir: &Path, tree: &str) -> PathBuf {
    let out = dir.join(format!("{tree}.json"));
    let root = repo().join("fixtures/hosts").join(tree);
    let (_, code, _, err) = once(&[
        "collect".into(),
        "--root".into(),
        root.into_os_string(),
        "-o".into(),
        out.clone().into_os_string(),
    ]);
    assert_eq!(code, Some(0), "collect {tree}: {err}");
    out
}

/// 10,000 JSON reports: scans of the fixture hosts, each copy under its own hostname.
fn fleet_reports(dir: &Path) -> PathBuf {
    let reports = dir.join("fleet");
    std::fs::create_dir_all(&reports).unwrap();
    let mut bodies = Vec::new();
    for tree in ["icx-tuned", "icx-untuned", "amd-epyc", "kvm-guest"] {
        let snap = fixture_snapshot(dir, tree);
        let out = dir.join(format!("{tree}-report.json"));
        let (_, code, _, err) = once(&[
            "scan".into(),
            "--snapshot".into(),
            snap.into_os_string(),
            "--json".into(),
            out.clone().into_os_string(),
        ]);
        assert!(matches!(code, Some(0) | Some(2)), "scan {tree}: {err}");
        bodies.push(std::fs::read_to_string(&out).unwrap());
    }
    for i in 0..10_000 {
        let body = &bodies[i % bodies.len()];
        let mut v: serde_json::Value = serde_json::from_str(body).unwrap();
        if let Some(h) = v.pointer_mut("/host/hostname") {
            *h = serde_json::Value::String(format!("hv{i:05}.example"));
        }
        // Pretty-printed with a final newline, as `scan --json` writes them.
        let mut text = serde_json::to_vec_pretty(&v).unwrap();
        text.push(b'\n');
        std::fs::write(reports.join(format!("hv{i:05}.json")), text).unwrap();
    }
    reports
}

/// 50 QEMU processes (TCG, paused), killed on drop.
struct FiftyVms(Vec<std::process::Child>);

impl FiftyVms {
    fn start() -> Option<FiftyVms> {
        let mut vms = FiftyVms(Vec::new());
        for i in 0..50 {
            let c = Command::new("qemu-system-x86_64")
                .args([
                    "-name",
                    &format!("guest=bench{i:02},debug-threads=on"),
                    "-S",
                ])
                .args(["-display", "none", "-nodefaults", "-no-user-config"])
                .args(["-accel", "tcg,tb-size=4", "-m", "16", "-smp", "1"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            vms.0.push(c);
        }
        // Ready once each has its vCPU thread.
        let deadline = Instant::now() + Duration::from_secs(60);
        for c in &vms.0 {
            let task = format!("/proc/{}/task", c.id());
            while !std::fs::read_dir(&task)
                .map(|d| {
                    d.flatten().any(|e| {
                        std::fs::read_to_string(e.path().join("comm"))
                            .is_ok_and(|n| n.starts_with("CPU 0/"))
                    })
                })
                .unwrap_or(false)
            {
                if Instant::now() > deadline {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Some(vms)
    }
}

impl Drop for FiftyVms {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("kvmaudit benches: run them with `cargo bench --bench kvmaudit`");
        return;
    }
    let filter: Option<&str> = args
        .iter()
        .map(String::as_str)
        .find(|a| !a.starts_with("--"));
    let want = |name: &str| match filter {
        Some(f) => name.contains(f),
        None => true,
    };
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    println!(
        "kvmaudit {} — {} runs each after 2 warm-ups; harness RSS {} KiB (the RSS floor)",
        KVMAUDIT,
        runs,
        self_rss_kb()
    );

    if want("live-scan") {
        let s = measure(&os(&["scan", "--format", "json"]), runs);
        report("live-scan", &s, Some(20.0), Some(15.0));
    }
    if want("snapshot-scan") {
        let snap = fixture_snapshot(dir, "icx-tuned");
        let s = measure(
            &[
                "scan".into(),
                "--snapshot".into(),
                snap.into_os_string(),
                "--format".into(),
                "json".into(),
            ],
            runs,
        );
        report("snapshot-scan (icx-tuned)", &s, None, None);
    }
    if want("corpus-argv") {
        let corpus = repo().join("fixtures/libvirt-args/v11.3.0/qemuxmlconfdata");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        let snap = fixture_snapshot(dir, "kvm-guest");
        let mut a: Vec<OsString> = vec![
            "scan".into(),
            "--snapshot".into(),
            snap.into_os_string(),
            "--format".into(),
            "json".into(),
        ];
        for f in &files {
            a.push("--qemu-argv".into());
            a.push(f.clone().into_os_string());
        }
        let s = measure(&a, runs);
        report(
            &format!("corpus-argv ({} files)", files.len()),
            &s,
            Some(100.0),
            None,
        );
    }
    // `-- 50` selects it too.
    if want("fifty-vms") || want("50-vms") {
        if !have("qemu-system-x86_64") {
            println!("fifty-vms                    skipped: qemu-system-x86_64 is not installed");
        } else {
            match FiftyVms::start() {
                Some(vms) => {
                    let s = measure(&os(&["scan", "--format", "json"]), runs);
                    report("fifty-vms (live scan)", &s, Some(50.0), None);
                    drop(vms);
                }
                None => println!("fifty-vms                    skipped: QEMU did not start"),
            }
        }
    }
    if want("fleet") {
        let reports = fleet_reports(dir);
        let out = dir.join("fleet-out.json");
        let s = measure(
            &[
                "fleet".into(),
                reports.into_os_string(),
                "--json".into(),
                out.into_os_string(),
            ],
            runs.min(10),
        );
        report("fleet (10,000 reports)", &s, Some(2000.0), None);
    }
    if want("html") {
        let snap = fixture_snapshot(dir, "icx-tuned");
        let out = dir.join("report.html");
        let s = measure(
            &[
                "scan".into(),
                "--snapshot".into(),
                snap.into_os_string(),
                "--html".into(),
                out.into_os_string(),
            ],
            runs,
        );
        report("html (icx-tuned)", &s, None, None);
    }
}
