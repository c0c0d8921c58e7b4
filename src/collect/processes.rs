//! QEMU process discovery under `/proc` (or `DIR/proc`).
//!
//! argv is read as bytes from `/proc/PID/cmdline` and split on NUL ourselves: procfs's
//! `cmdline()` drops empty arguments and insists on UTF-8 (dependencies.md).

use super::fsroot::FsRoot;
use crate::snapshot::{
    Fact, FdInfo, ProcessStatus, QemuProcess, RawBytes, ReadError, ReadErrorKind, Sourced,
    ThreadFact,
};

/// Upper bound for one `/proc/PID/cmdline` (Linux caps argv at a few MB); the same bound as an
/// argv file's command line.
const MAX_CMDLINE: u64 = crate::parse::qemu::argv_file::MAX_COMMAND_LINE as u64;
const MAX_NUMA_MAPS: u64 = 16 * 1024 * 1024;
const MAX_MOUNTINFO: u64 = 4 * 1024 * 1024;
const MAX_STATUS: u64 = 64 * 1024;
/// Threads per process we look at: QEMU with 1024 vCPUs plus workers stays below this.
const MAX_THREADS: usize = 4096;
const MAX_FDS: usize = 65536;

/// Is this executable name one of QEMU's system emulators?
pub fn is_qemu_name(base: &str) -> bool {
    base.starts_with("qemu-system-")
        || base == "qemu-kvm"
        || (base.starts_with("qemu-") && base.ends_with("-kvm"))
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Processes per thread before another thread is worth starting.
const PIDS_PER_THREAD: usize = 64;
/// Threads inspecting processes: reading `/proc/PID/numa_maps` makes the kernel walk the page
/// tables of every mapping, so discovery is mostly system time that grows with the number and
/// size of the guests; spreading it over a few cores shortens the scan (BENCHMARKS.md).
const MAX_THREADS_DISCOVERY: usize = 4;

/// Every QEMU process visible under `/proc`, in pid order.
pub fn discover(fs: &FsRoot) -> (Sourced<Vec<QemuProcess>>, Vec<String>) {
    let names = match fs.list_dir("/proc") {
        Fact::Value(n) => n,
        Fact::Error(e) => return (Sourced::error("/proc", e), Vec::new()),
    };
    let mut pids: Vec<u32> = names.iter().filter_map(|n| n.parse().ok()).collect();
    pids.sort_unstable();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(MAX_THREADS_DISCOVERY)
        .min(pids.len().div_ceil(PIDS_PER_THREAD))
        .max(1);
    // Threads take the next pid from a shared counter (QEMU pids are often consecutive, so
    // fixed chunks would leave all of them to one thread); results are put back in pid order,
    // so the outcome is the same as one sequential pass.
    let next = std::sync::atomic::AtomicUsize::new(0);
    // Set when a process could not be told apart (QEMU or not) because the --root budget was
    // spent: the list is then incomplete, and a short list must not pass host-wide rules.
    let cut_short = std::sync::atomic::AtomicBool::new(false);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&pid) = pids.get(i) else { break };
            let mut notes = Vec::new();
            let found = inspect(fs, pid, &mut notes, &cut_short);
            if found.is_some() || !notes.is_empty() {
                done.push((i, found, notes));
            }
        }
        done
    };
    let mut results = Vec::new();
    for part in crate::util::on_threads(threads, work) {
        // A panicking thread (never expected) loses its processes, not the scan.
        match part {
            Ok(part) => results.extend(part),
            Err(_) => results.push((
                usize::MAX,
                None,
                vec!["internal error while reading /proc/PID; some processes skipped".to_string()],
            )),
        }
    }
    if cut_short.load(std::sync::atomic::Ordering::Relaxed) {
        return (
            Sourced::error(
                "/proc",
                ReadError::new(
                    ReadErrorKind::Budget,
                    "the scan budget of the --root tree was spent before every process was read; the list of QEMU processes is incomplete",
                ),
            ),
            Vec::new(),
        );
    }
    results.sort_by_key(|(i, _, _)| *i);
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for (_, found, n) in results {
        out.extend(found);
        notes.extend(n);
    }
    (Sourced::value("/proc", out), notes)
}

/// Look at one process; `None` when it is not QEMU, has exited, or is a zombie.
fn inspect(
    fs: &FsRoot,
    pid: u32,
    notes: &mut Vec<String>,
    cut_short: &std::sync::atomic::AtomicBool,
) -> Option<QemuProcess> {
    let base = format!("/proc/{pid}");
    let exe = fs.read_link(&format!("{base}/exe"));
    let refused =
        |f: Option<&crate::snapshot::ReadError>| f.is_some_and(|e| e.kind == ReadErrorKind::Budget);
    if refused(exe.error()) {
        cut_short.store(true, std::sync::atomic::Ordering::Relaxed);
        return None;
    }
    // A readable exe that is not QEMU settles it: the command line is only needed for QEMU
    // and for processes whose exe cannot be read. Most processes on a host are not QEMU, and
    // reading their cmdline was a third of discovery's system calls.
    if exe
        .value()
        .is_some_and(|t| !is_qemu_name(basename(t.strip_suffix(" (deleted)").unwrap_or(t))))
    {
        return None;
    }
    let cmdline = fs.read_bytes(&format!("{base}/cmdline"), MAX_CMDLINE);
    if refused(cmdline.error()) {
        cut_short.store(true, std::sync::atomic::Ordering::Relaxed);
        return None;
    }
    let mut argv = match &cmdline {
        Fact::Value(b) => split_nul(b),
        // Gone between listing and reading: it exited during the scan.
        Fact::Error(e) if e.kind == ReadErrorKind::Absent => return None,
        Fact::Error(e) if e.kind == ReadErrorKind::TooLarge => {
            if exe_is_qemu(&exe) {
                notes.push(format!("{base}/cmdline: {}; process skipped", e.describe()));
            }
            return None;
        }
        Fact::Error(_) => Vec::new(),
    };
    let (exe_path, deleted) = match &exe {
        Fact::Value(t) => match t.strip_suffix(" (deleted)") {
            Some(s) => (Some(s.to_string()), true),
            None => (Some(t.clone()), false),
        },
        Fact::Error(_) => (None, false),
    };
    let is_qemu = match &exe_path {
        Some(p) => is_qemu_name(basename(p)),
        // exe is unreadable without ptrace rights: fall back on what argv[0] claims.
        None => argv
            .first()
            .map(|a| is_qemu_name(basename(&a.to_string_lossy())))
            .unwrap_or(false),
    };
    if !is_qemu {
        return None;
    }
    let (status, state) = read_status(fs, &format!("{base}/status"));
    if argv.iter().all(|a| a.0.is_empty()) {
        // Zombies and processes in exit have an empty cmdline: nothing to audit.
        notes.push(format!(
            "pid {pid}: QEMU process with an empty command line (state {}); skipped",
            if state.is_empty() { "unknown" } else { &state }
        ));
        return None;
    }
    // Passwords and keys on the command line never reach the snapshot.
    crate::parse::qemu::redact::redact_argv(&mut argv);
    let numa_maps = text_fact(fs, &format!("{base}/numa_maps"), MAX_NUMA_MAPS);
    let (fds, fdinfo) = read_fds_and_fdinfo(fs, pid);
    Some(QemuProcess {
        pid: Some(pid),
        source: format!("{base}/cmdline"),
        argv,
        env: Vec::new(),
        exe: Some(match exe {
            Fact::Value(_) => Sourced::value(format!("{base}/exe"), exe_path.unwrap_or_default()),
            Fact::Error(e) => Sourced::error(format!("{base}/exe"), e),
        }),
        exe_deleted: deleted,
        state: state.split_whitespace().next().unwrap_or("").to_string(),
        status: Some(status),
        threads: Some(read_threads(fs, pid)),
        fds: Some(fds),
        fdinfo: Some(fdinfo),
        aio_rings: Some(count_aio_rings(
            fs,
            pid,
            numa_maps.get().map(String::as_str),
        )),
        numa_maps: Some(numa_maps),
        mountinfo: Some(text_fact(fs, &format!("{base}/mountinfo"), MAX_MOUNTINFO)),
        // Live only: under a --root the exe link names a binary of the audited host, which the
        // tree may not hold; its package database answers instead (collect_host).
        version: if fs.is_live() {
            super::qemu_version::from_live_exe(pid)
        } else {
            None
        },
    })
}

fn exe_is_qemu(exe: &Fact<String>) -> bool {
    exe.value()
        .map(|t| is_qemu_name(basename(t.trim_end_matches(" (deleted)"))))
        .unwrap_or(false)
}

fn text_fact(fs: &FsRoot, path: &str, max: u64) -> Sourced<String> {
    match fs.read_text(path, max) {
        Fact::Value(v) => Sourced::value(path, v),
        Fact::Error(e) => Sourced::error(path, e),
    }
}

/// Split `/proc/PID/cmdline` on NUL, keeping empty arguments; the final NUL ends the last one.
pub fn split_nul(b: &[u8]) -> Vec<RawBytes> {
    let body = b.strip_suffix(&[0]).unwrap_or(b);
    if body.is_empty() {
        return Vec::new();
    }
    body.split(|&c| c == 0)
        .map(|a| RawBytes(a.to_vec()))
        .collect()
}

/// `Key:\tvalue` lines of a `/proc/.../status` file.
fn parse_status_text(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines()
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim(), v.trim())))
}

/// The status facts and the `State:` line, from one read of the file.
fn read_status(fs: &FsRoot, path: &str) -> (Sourced<ProcessStatus>, String) {
    match fs.read_text(path, MAX_STATUS) {
        Fact::Value(t) => {
            let state = parse_status_text(&t)
                .find(|(k, _)| *k == "State")
                .map(|(_, v)| v.to_string())
                .unwrap_or_default();
            (Sourced::value(path, status_from_text(&t)), state)
        }
        Fact::Error(e) => (Sourced::error(path, e), String::new()),
    }
}

/// The fields of `/proc/PID/status` the rules use.
pub fn status_from_text(t: &str) -> ProcessStatus {
    let mut s = ProcessStatus::default();
    for (k, v) in parse_status_text(t) {
        match k {
            "Name" => s.name = v.to_string(),
            "Cpus_allowed_list" => s.cpus_allowed_list = v.to_string(),
            "Mems_allowed_list" => s.mems_allowed_list = v.to_string(),
            "VmLck" => s.vm_lck_kb = v.trim_end_matches("kB").trim().parse().ok(),
            "Threads" => s.threads = v.parse().ok(),
            _ => {}
        }
    }
    s
}

fn read_threads(fs: &FsRoot, pid: u32) -> Sourced<Vec<ThreadFact>> {
    let dir = format!("/proc/{pid}/task");
    let names = match fs.list_dir(&dir) {
        Fact::Value(n) => n,
        Fact::Error(e) => return Sourced::error(dir, e),
    };
    let mut tids: Vec<u32> = names.iter().filter_map(|n| n.parse().ok()).collect();
    tids.sort_unstable();
    let threads = tids
        .into_iter()
        .take(MAX_THREADS)
        .filter_map(|tid| {
            // A thread that ended during the scan simply has no status any more.
            let text = fs
                .read_text(&format!("{dir}/{tid}/status"), MAX_STATUS)
                .value()?
                .clone();
            let mut t = ThreadFact {
                tid,
                ..Default::default()
            };
            for (k, v) in parse_status_text(&text) {
                match k {
                    "Name" => t.comm = v.to_string(),
                    "State" => t.state = v.split_whitespace().next().unwrap_or("").to_string(),
                    "Cpus_allowed_list" => t.cpus_allowed_list = v.to_string(),
                    "Mems_allowed_list" => t.mems_allowed_list = v.to_string(),
                    _ => {}
                }
            }
            Some(t)
        })
        .collect();
    Sourced::value(dir, threads)
}

/// fd targets that say nothing about tuning (sockets, pipes, event fds) are left out.
fn is_noise(target: &str) -> bool {
    target.starts_with("socket:")
        || target.starts_with("pipe:")
        || matches!(
            target,
            "anon_inode:[eventfd]"
                | "anon_inode:[eventpoll]"
                | "anon_inode:[signalfd]"
                | "anon_inode:[timerfd]"
                | "anon_inode:inotify"
                | "/dev/null"
        )
}

/// Count `/[aio] (deleted)` mappings: io_setup(2) rings, present only with aio=native.
/// `numa_maps` lists the same mappings (`file=/[aio]\040(deleted)`) and has been read already;
/// `/proc/PID/maps` is read only when it could not be (a kernel without NUMA has no numa_maps).
fn count_aio_rings(fs: &FsRoot, pid: u32, numa_maps: Option<&str>) -> Sourced<u32> {
    if let Some(t) = numa_maps {
        // Lines holding the marker, found with one search over the whole text (searching each
        // of a QEMU's ~300 lines separately cost more than the rest of this function).
        let mut n = 0usize;
        let mut counted_to = 0;
        for (i, _) in t.match_indices(" file=/[aio]\\040(deleted)") {
            if i >= counted_to {
                n += 1;
                counted_to = t[i..].find('\n').map_or(t.len(), |e| i + e + 1);
            }
        }
        return Sourced::value(format!("/proc/{pid}/numa_maps"), n as u32);
    }
    let path = format!("/proc/{pid}/maps");
    match fs.read_text(&path, MAX_NUMA_MAPS) {
        Fact::Value(t) => {
            let n = t
                .lines()
                .filter(|l| l.ends_with("/[aio] (deleted)"))
                .count();
            Sourced::value(path, n as u32)
        }
        Fact::Error(e) => Sourced::error(path, e),
    }
}

/// The fd targets that say something about tuning (sorted, deduplicated), and the fdinfo of
/// disk images, block devices and taps (the fds whose flags or names rules need). Both come
/// from one listing of `/proc/PID/fd` and one readlink per fd.
fn read_fds_and_fdinfo(fs: &FsRoot, pid: u32) -> (Sourced<Vec<String>>, Sourced<Vec<FdInfo>>) {
    let dir = format!("/proc/{pid}/fd");
    let names = match fs.list_dir(&dir) {
        Fact::Value(n) => n,
        Fact::Error(e) => {
            return (
                Sourced::error(dir, e.clone()),
                Sourced::error(format!("/proc/{pid}/fdinfo"), e),
            )
        }
    };
    let links: Vec<(&String, String)> = names
        .iter()
        .take(MAX_FDS)
        .filter_map(|n| Some((n, fs.read_link(&format!("{dir}/{n}")).value()?.clone())))
        .collect();
    let mut targets: Vec<String> = links
        .iter()
        .filter(|(_, t)| !is_noise(t))
        .map(|(_, t)| t.clone())
        .collect();
    targets.sort();
    targets.dedup();
    let mut infos = Vec::new();
    for (n, target) in links {
        let Ok(fd) = n.parse::<u32>() else { continue };
        let wanted = target == "/dev/net/tun"
            || (target.starts_with('/')
                && !target.starts_with("/dev/pts")
                && !target.starts_with("/dev/null")
                && !target.starts_with("/proc/")
                && !target.starts_with("/sys/")
                && !target.contains("(deleted)"));
        if !wanted {
            continue;
        }
        let Some(text) = fs
            .read_text(&format!("/proc/{pid}/fdinfo/{n}"), MAX_STATUS)
            .value()
            .cloned()
        else {
            continue;
        };
        let mut info = FdInfo {
            fd,
            target,
            ..Default::default()
        };
        for (k, v) in parse_status_text(&text) {
            match k {
                "flags" => info.flags = v.to_string(),
                "iff" => info.iff = Some(v.to_string()),
                _ => {}
            }
        }
        infos.push(info);
    }
    (
        Sourced::value(dir, targets),
        Sourced::value(format!("/proc/{pid}/fdinfo"), infos),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_split_keeps_empty_arguments() {
        let v = split_nul(b"qemu\0-append\0\0-S\0");
        let got: Vec<String> = v.iter().map(|a| a.to_string_lossy()).collect();
        assert_eq!(got, ["qemu", "-append", "", "-S"]);
        assert!(split_nul(b"").is_empty());
    }

    #[test]
    fn aio_rings_from_numa_maps_or_maps() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("proc/7");
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(
            p.join("maps"),
            "7f05c2179000-7f05c217c000 rw-s 00000000 00:13 433954    /[aio] (deleted)\n",
        )
        .unwrap();
        let fs = FsRoot::under(t.path());
        let nm = "7f05c2179000 default file=/[aio]\\040(deleted)\n\
                  7f05c2180000 default file=/[aio]\\040(deleted)\n\
                  7f05c2190000 default anon=3 dirty=3 N0=3 kernelpagesize_kB=4\n";
        let from_nm = count_aio_rings(&fs, 7, Some(nm));
        assert_eq!(from_nm.get(), Some(&2));
        assert_eq!(from_nm.path, "/proc/7/numa_maps");
        assert_eq!(count_aio_rings(&fs, 7, None).get(), Some(&1));
    }

    proptest::proptest! {
        /// One search over the text counts the same lines as searching line by line.
        #[test]
        fn aio_count_same_as_per_line(
            lines in proptest::collection::vec("(7f00 default)?( file=/\\[aio\\]\\\\040\\(deleted\\)){0,2}( N0=1)?\r?", 0..8)
        ) {
            let text = lines.join("\n");
            let fs = FsRoot::under("/nonexistent");
            let got = count_aio_rings(&fs, 7, Some(&text));
            let want = text
                .lines()
                .filter(|l| l.contains(" file=/[aio]\\040(deleted)"))
                .count() as u32;
            proptest::prop_assert_eq!(got.get(), Some(&want));
        }
    }

    #[test]
    fn qemu_names() {
        assert!(is_qemu_name("qemu-system-x86_64"));
        assert!(is_qemu_name("qemu-kvm"));
        assert!(is_qemu_name("qemu-system-x86_64-kvm"));
        assert!(!is_qemu_name("qemu-img"));
        assert!(!is_qemu_name("bash"));
    }
}
