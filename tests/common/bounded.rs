//! Run kvmaudit as a child with a wall-clock limit and measure its peak memory exactly.
//!
//! Peak RSS is the child's `VmHWM` (high-water mark of its resident set) read from
//! `/proc/PID/status` every 2 ms while it runs, counted only once the child has exec'd (its
//! `Name:` is the program's). Not `ru_maxrss` from `wait4`/`RUSAGE_CHILDREN`: Linux folds the
//! RSS of the image an exec replaces into it, and a child spawned from a test binary (vfork +
//! exec) starts out with the test binary's own RSS, 100 MB when a sibling test built a big input.
//! Growth in the last 2 ms before exit can be missed; the caps the tests assert are generous.
//! The child is polled with `WNOHANG` and killed (and reaped) when it outlives the limit, so a
//! hang fails the test instead of hanging the suite.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The usual child time limit: generous for a debug build on 2 busy cores, and still a hang
/// detector.
pub const LIMIT: Duration = Duration::from_secs(60);

pub struct Bounded {
    /// Exit code; `None` when killed by a signal (including the time limit).
    pub code: Option<i32>,
    pub timed_out: bool,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// Peak resident set of the child, in KiB.
    pub max_rss_kb: u64,
    pub wall: Duration,
    /// The wall-time limit the child ran under.
    pub limit: Duration,
}

impl Bounded {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Peak resident set of the child, in MiB (rounded down).
    pub fn peak_mib(&self) -> u64 {
        self.max_rss_kb / 1024
    }

    /// "WALL, peak RSS N MiB", for a test's log line.
    pub fn cost(&self) -> String {
        format!("{:?}, peak RSS {} MiB", self.wall, self.peak_mib())
    }

    /// Panics, naming `what`, when the child outlived its limit or its exit code is not one of
    /// `codes` (a child killed by a signal has none).
    pub fn assert_exit(&self, what: &str, codes: &[i32]) {
        assert!(
            !self.timed_out,
            "{what}: still running after {:?}",
            self.limit
        );
        assert!(
            self.code.is_some_and(|c| codes.contains(&c)),
            "{what}: exit {:?} (want one of {codes:?}), stderr: {}",
            self.code,
            self.stderr
        );
    }

    /// Panics, naming `what`, unless the child's peak resident set stayed below `cap_kb` KiB.
    pub fn assert_peak_below(&self, what: &str, cap_kb: u64) {
        assert!(
            self.max_rss_kb < cap_kb,
            "{what}: peak RSS {} MiB (cap {} MiB)",
            self.peak_mib(),
            cap_kb / 1024
        );
    }
}

/// Run `program args` with at most `limit` of wall time.
// The child is reaped by `waitpid` on its pid below, which clippy cannot see.
#[allow(clippy::zombie_processes)]
pub fn run_bounded<S: AsRef<OsStr>>(program: &str, args: &[S], limit: Duration) -> Bounded {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    // Drain the pipes on threads so a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let mut timed_out = false;
    let name: String = Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().chars().take(15).collect())
        .unwrap_or_default();
    let mut max_rss_kb = 0;
    let status = loop {
        // Read before reaping: a zombie's status no longer has VmHWM.
        if let Some(kb) = hwm_kb(pid, &name) {
            max_rss_kb = max_rss_kb.max(kb);
        }
        let mut status = 0;
        // SAFETY: pid is our own unreaped child; status is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break status;
        }
        assert!(
            r == 0,
            "waitpid failed: {}",
            std::io::Error::last_os_error()
        );
        if !timed_out && start.elapsed() > limit {
            timed_out = true;
            // SAFETY: signalling our own child, which has not been reaped yet.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = start.elapsed();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Bounded {
        code,
        timed_out,
        stdout: t_out.join().unwrap_or_default(),
        stderr: String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned(),
        max_rss_kb,
        wall,
        limit,
    }
}

/// `VmHWM` of `pid` in KiB, once its `Name:` is `name` (it has exec'd the program).
fn hwm_kb(pid: libc::pid_t, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mut fields = text.lines().filter_map(|l| l.split_once(':'));
    let mut this_name = None;
    let mut hwm = None;
    for (k, v) in &mut fields {
        match k {
            "Name" => this_name = Some(v.trim().to_string()),
            "VmHWM" => hwm = v.trim().trim_end_matches("kB").trim().parse().ok(),
            _ => {}
        }
    }
    (this_name.as_deref() == Some(name))
        .then_some(hwm)
        .flatten()
}

/// The kvmaudit binary under test.
pub fn kvmaudit() -> &'static str {
    env!("CARGO_BIN_EXE_kvmaudit")
}

fn utf8(p: &Path) -> &str {
    p.to_str()
        .unwrap_or_else(|| panic!("not UTF-8: {}", p.display()))
}

/// `kvmaudit collect --root ROOT -o SNAPSHOT` with at most `limit` of wall time.
pub fn collect_root(root: &Path, snapshot: &Path, limit: Duration) -> Bounded {
    run_bounded(
        kvmaudit(),
        &["collect", "--root", utf8(root), "-o", utf8(snapshot)],
        limit,
    )
}

/// `kvmaudit scan --root ROOT --format json` with at most `limit` of wall time.
pub fn scan_root(root: &Path, limit: Duration) -> Bounded {
    run_bounded(
        kvmaudit(),
        &["scan", "--root", utf8(root), "--format", "json"],
        limit,
    )
}

/// `kvmaudit scan --qemu-argv FILE --format json` with at most `limit` of wall time.
pub fn scan_argv_file(file: &Path, limit: Duration) -> Bounded {
    run_bounded(
        kvmaudit(),
        &["scan", "--qemu-argv", utf8(file), "--format", "json"],
        limit,
    )
}
