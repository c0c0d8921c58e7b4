//! A sosreport as a source: an extracted directory or its `.tar.xz`/`.tar.gz`, read in place.
//!
//! A sosreport is a partial copy of the host's root (the `/proc`, `/sys` and `/etc` files its
//! plugins copy) plus command outputs under `sos_commands/`. The tree is read like a `--root`
//! (so everything that reads host paths, such as libvirt's `etc/libvirt/qemu/*.xml` and
//! `run/libvirt/qemu/*.xml`, works on it unchanged); then the command outputs fill in what the
//! copy lacks: CPUID (`cpuid -r`), SMBIOS (`dmidecode`), the kernel release (`uname -a`),
//! `/proc/sys` values (`sysctl -a`), and the QEMU processes (`ps auxwww`, with the exact argv
//! of libvirt's per-domain logs). What sos never collects (a QEMU's numa_maps, thread
//! affinity, open fds) is unknown with the reason "not collected by sos".
//!
//! For the MSR evidence, [`turbostat_output`] hands out the processor plugin's
//! `turbostat --debug` output.

pub mod layout;
pub mod libvirt_log;
pub mod ps;

use super::archive::MemTree;
use super::budget::Limits;
use super::fsroot::FsRoot;
use crate::error::{Error, Result};
use crate::snapshot::{Fact, QemuProcess, ReadError, ReadErrorKind, Snapshot, SosInfo, Sourced};
use std::path::Path;

/// Bound for one command output read from a sosreport.
const MAX_OUTPUT: u64 = 16 * 1024 * 1024;

/// Why per-process facts of a sosreport are unknown.
pub const NOT_COLLECTED: &str = "not collected by sos";

/// Whether `dir` is an extracted sosreport: it holds `sos_commands/` and `version.txt` (not
/// links to them: links in a tree are never followed).
pub fn is_sos_dir(dir: &Path) -> bool {
    let is = |name: &str, dir_wanted: bool| {
        std::fs::symlink_metadata(dir.join(name)).is_ok_and(|m| {
            if dir_wanted {
                m.file_type().is_dir()
            } else {
                m.file_type().is_file()
            }
        })
    };
    is(layout::COMMANDS_DIR, true) && is(layout::VERSION_TXT, false)
}

/// Open `--sos PATH`: a directory is read in place like `--root`; a file must be a tar
/// archive (xz, gzip or none), streamed into memory within the default budget.
pub fn open(path: &Path) -> Result<FsRoot> {
    let meta = std::fs::metadata(path).map_err(|e| Error::read(path, e))?;
    if meta.is_dir() {
        if !is_sos_dir(path) {
            return Err(Error::parse(
                path,
                "not a sosreport: the directory holds no sos_commands/ and version.txt",
            ));
        }
        return Ok(FsRoot::under(path));
    }
    let tree = MemTree::load(path, Limits::DEFAULT).map_err(|m| Error::parse(path, m))?;
    let has = |p: &str| tree.lstat(p).is_some();
    if !has(layout::COMMANDS_DIR) || !has(layout::VERSION_TXT) {
        return Err(Error::parse(
            path,
            "not a sosreport: the archive holds no sos_commands/ and version.txt",
        ));
    }
    Ok(FsRoot::archive(path, tree, Limits::DEFAULT))
}

/// The first of `paths` that reads, with its path.
fn first_of(fs: &FsRoot, paths: &[&str]) -> Option<(String, String)> {
    paths.iter().find_map(|p| {
        let host = format!("/{p}");
        fs.read_text(&host, MAX_OUTPUT)
            .value()
            .map(|t| (p.to_string(), t.clone()))
    })
}

/// The processor plugin's `turbostat --debug` output, when the sosreport holds one: for the
/// MSR evidence (`--msr FILE` reads the same text). The path is the sosreport's.
pub fn turbostat_output(fs: &FsRoot) -> Option<Sourced<String>> {
    let dir = format!("/{}", layout::PROCESSOR_DIR);
    let names = fs.list_dir(&dir).value()?.clone();
    let name = names
        .iter()
        .find(|n| n.starts_with(layout::TURBOSTAT_PREFIX))?;
    let path = format!("{}/{name}", layout::PROCESSOR_DIR);
    Some(match fs.read_text(&format!("/{path}"), MAX_OUTPUT) {
        Fact::Value(t) => Sourced::value(path, t),
        Fact::Error(e) => Sourced::error(path, e),
    })
}

/// Build the snapshot of the sosreport `fs` reads: the copied tree as a `--root`, then each
/// command output filling in what the copy lacks, in a fixed order (the report lists what was
/// found and what is missing in that order).
pub fn collect(fs: &FsRoot) -> Snapshot {
    let mut snap = super::collect_host(fs);
    let mut outputs = SosOutputs {
        fs,
        info: SosInfo {
            archive: fs.mem_tree().is_some(),
            ..Default::default()
        },
    };
    read_sos_version(&mut outputs);
    if let Some(tree) = fs.mem_tree() {
        if let Some(why) = &tree.incomplete {
            snap.notes.push(format!("sosreport archive: {why}"));
        }
    }
    fill_cpuid(&mut snap, &mut outputs);
    fill_msr(&mut snap, &mut outputs);
    fill_smbios(&mut snap, &mut outputs);
    let nodename = fill_from_uname(&mut snap, &mut outputs);
    fill_sysctl(&mut snap, &mut outputs);
    fill_hostname(&mut snap, &mut outputs, nodename);
    list_cpu_outputs(&mut outputs);
    fill_qemu(&mut snap, &mut outputs);
    if snap.qemu.get().is_some_and(|v| !v.is_empty()) {
        snap.notes.push(format!(
            "sosreport: a QEMU process's NUMA maps, thread affinity and open files are {NOT_COLLECTED}; rules that need them are unknown"
        ));
    }
    mark_not_collected(&mut snap, fs);
    snap.source.kind = "sos".into();
    snap.source.sos = Some(outputs.info);
    snap
}

/// The sosreport's command outputs, read one kind at a time; `info` records which files were
/// used and which kinds were missing.
struct SosOutputs<'a> {
    fs: &'a FsRoot,
    info: SosInfo,
}

impl SosOutputs<'_> {
    /// The first of `paths` that reads, with its path, recorded as found; none recorded as
    /// `what` missing (named by the first path, the current layout's).
    fn first(&mut self, what: &str, paths: &[&str]) -> Option<(String, String)> {
        match first_of(self.fs, paths) {
            Some((p, t)) => {
                self.info.found.push(p.clone());
                Some((p, t))
            }
            None => {
                self.info.missing.push(format!("{what} ({})", paths[0]));
                None
            }
        }
    }
}

/// version.txt: the sos version and so which layout of file names to expect.
fn read_sos_version(outputs: &mut SosOutputs) {
    match outputs
        .first("sos version", &[layout::VERSION_TXT])
        .and_then(|(_, t)| layout::parse_version(&t))
    {
        Some((v, l)) => {
            outputs.info.version = Some(v);
            outputs.info.layout = l.to_string();
        }
        None => outputs.info.layout = "sos (version unreadable)".into(),
    }
}

/// CPUID: a tree carries none; sos's `cpuid -r` does.
fn fill_cpuid(snap: &mut Snapshot, outputs: &mut SosOutputs) {
    snap.cpuid = match outputs.first("CPUID", layout::CPUID) {
        Some((p, t)) => match crate::parse::cpuid::parse(t.as_bytes()) {
            Ok(d) => Sourced::value(p, d),
            Err(e) => Sourced::error(p, ReadError::new(ReadErrorKind::ParseError, e.0)),
        },
        None => Sourced::error(
            layout::CPUID[0],
            ReadError::new(
                ReadErrorKind::NotAvailable,
                "the sosreport holds no `cpuid -r` output (processor plugin with the cpuid tool); the CPU model falls back to /proc/cpuinfo",
            ),
        ),
    };
}

/// MSRs: sos copies no /dev/cpu/N/msr; the processor plugin's `turbostat --debug` prints
/// the registers, and `--msr FILE` reads the same text.
fn fill_msr(snap: &mut Snapshot, outputs: &mut SosOutputs) {
    if snap.msr.fact.error().is_none() {
        return;
    }
    match turbostat_output(outputs.fs) {
        Some(Sourced {
            path,
            fact: Fact::Value(text),
        }) => {
            outputs.info.found.push(path.clone());
            snap.msr = match crate::parse::msr::parse_turbostat(&text) {
                Ok(d) => Sourced::value(path, d),
                Err(e) => Sourced::error(path, ReadError::new(ReadErrorKind::ParseError, e.0)),
            };
        }
        Some(Sourced {
            path,
            fact: Fact::Error(e),
        }) => snap.msr = Sourced::error(path, e),
        None => outputs.info.missing.push(format!(
            "MSRs ({}/{}*)",
            layout::PROCESSOR_DIR,
            layout::TURBOSTAT_PREFIX
        )),
    }
}

/// SMBIOS: sos copies no DMI table; its `dmidecode` text names the same structures.
fn fill_smbios(snap: &mut Snapshot, outputs: &mut SosOutputs) {
    if snap.smbios.fact.error().is_none() {
        return;
    }
    if let Some((p, t)) = outputs.first("SMBIOS", layout::DMIDECODE) {
        snap.smbios = match crate::parse::smbios::parse(t.as_bytes(), None) {
            Ok(raw) => Sourced::value(p, raw),
            Err(e) => Sourced::error(p, ReadError::new(ReadErrorKind::ParseError, e.0)),
        };
    }
}

/// uname -a ("Linux NODENAME RELEASE #VERSION ..."): the kernel release when the copy lacks
/// it, and so the kernel configuration; returns the node name for the host's name.
fn fill_from_uname(snap: &mut Snapshot, outputs: &mut SosOutputs) -> Option<String> {
    let (_, t) = outputs.first("kernel release", layout::UNAME)?;
    let mut fields = t.split_whitespace().skip(1);
    let nodename = fields.next().map(str::to_string);
    if let Some(release) = fields.next() {
        fill_absent(snap, "/proc/sys/kernel/osrelease", format!("{release}\n"));
        if snap.kconfig.fact.error().is_some() {
            snap.kconfig = super::find_kconfig(outputs.fs, &snap.files);
        }
    }
    nodename
}

/// sysctl -a: every /proc/sys value the copy lacks.
fn fill_sysctl(snap: &mut Snapshot, outputs: &mut SosOutputs) {
    let Some((_, t)) = outputs.first("sysctl values", layout::SYSCTL) else {
        return;
    };
    let values = sysctl_values(&t);
    let wanted: Vec<String> = snap
        .files
        .iter()
        .filter(|(k, f)| {
            k.starts_with("/proc/sys/")
                && f.error().is_some_and(|e| e.kind == ReadErrorKind::Absent)
        })
        .map(|(k, _)| k.clone())
        .collect();
    for k in wanted {
        let key = k["/proc/sys/".len()..].replace('/', ".");
        if let Some(v) = values.get(key.as_str()) {
            snap.files.insert(k, Fact::Value(format!("{v}\n")));
        }
    }
}

/// The host's name: the host plugin's output, else uname's node name.
fn fill_hostname(snap: &mut Snapshot, outputs: &mut SosOutputs, nodename: Option<String>) {
    let hostname = outputs
        .first("hostname", layout::HOSTNAME)
        .map(|(p, t)| (p, t.trim().to_string()))
        .filter(|(_, t)| !t.is_empty())
        .or_else(|| nodename.map(|n| (layout::UNAME[0].to_string(), n)));
    if let Some((p, h)) = &hostname {
        if snap.hostname.fact.error().is_some() {
            snap.hostname = Sourced::value(p.clone(), h.clone());
        }
    }
    outputs.info.hostname = snap.hostname.get().cloned();
}

/// lscpu, cpupower and turbostat outputs: listed as found (rules read them from the tree).
fn list_cpu_outputs(outputs: &mut SosOutputs) {
    let _ = outputs.first("lscpu", layout::LSCPU);
    let dir = format!("/{}", layout::PROCESSOR_DIR);
    if let Some(names) = outputs.fs.list_dir(&dir).value() {
        for n in names.iter().filter(|n| {
            n.starts_with(layout::CPUPOWER_PREFIX) || n.starts_with(layout::TURBOSTAT_PREFIX)
        }) {
            outputs
                .info
                .found
                .push(format!("{}/{n}", layout::PROCESSOR_DIR));
        }
    }
}

/// QEMU processes: sos copies no /proc/PID/cmdline; ps lists them, libvirt's logs hold the
/// exact argv of each domain's last start.
fn fill_qemu(snap: &mut Snapshot, outputs: &mut SosOutputs) {
    let fs = outputs.fs;
    snap.qemu = match outputs.first("process list", layout::PS) {
        Some((p, t)) => match ps::qemu_processes(&t) {
            Ok(list) => {
                let (logs, errors) = libvirt_log::read_all(fs, layout::LIBVIRT_QEMU_LOGS);
                if !logs.is_empty() {
                    outputs
                        .info
                        .found
                        .push(format!("{}/*.log", &layout::LIBVIRT_QEMU_LOGS[1..]));
                }
                for (path, e) in errors {
                    if e.kind != ReadErrorKind::NotAvailable {
                        snap.notes.push(format!("{path}: {}", e.describe()));
                    }
                }
                let installed = super::qemu_version::from_packages(fs);
                let vms = list
                    .iter()
                    .map(|pr| sos_process(fs, pr, &p, &logs, installed.as_ref(), &mut snap.notes))
                    .collect();
                Sourced::value(p, vms)
            }
            Err(m) => Sourced::error(p, ReadError::new(ReadErrorKind::ParseError, m)),
        },
        None => Sourced::error(
            layout::PS[0],
            ReadError::new(
                ReadErrorKind::NotAvailable,
                "the sosreport holds no process list (process plugin); its QEMU processes are unknown",
            ),
        ),
    };
}

/// A sosreport copies chosen files, not the host's tree: a directory missing from it says
/// nothing about the host (sos never copies `/sys/block`, `/dev` or PCI devices' sysfs), so
/// its absence is "not collected", never "the host has none". A file missing from a directory
/// the sosreport holds stays absent: sos copies those directories whole (`/sys/module/*/
/// parameters`, `/sys/kernel/mm/transparent_hugepage`, `/etc/modprobe.d`).
fn mark_not_collected(snap: &mut Snapshot, fs: &FsRoot) {
    let not_collected = || {
        ReadError::new(
            ReadErrorKind::NotAvailable,
            format!("not in the sosreport: {NOT_COLLECTED}"),
        )
    };
    fn absent<T>(f: &Fact<T>) -> bool {
        f.error().is_some_and(|e| e.kind == ReadErrorKind::Absent)
    }
    for f in snap.dirs.values_mut() {
        if absent(f) {
            *f = Fact::Error(not_collected());
        }
    }
    let parent_missing = |path: &str| {
        let parent = path.rsplit_once('/').map_or("/", |(p, _)| p);
        !parent.is_empty() && !fs.exists(parent)
    };
    for (path, f) in snap.files.iter_mut() {
        if absent(f) && parent_missing(path) {
            *f = Fact::Error(not_collected());
        }
    }
    for (path, f) in snap.links.iter_mut() {
        if absent(f) && parent_missing(path) {
            *f = Fact::Error(not_collected());
        }
    }
}

/// Record `text` for `path` when the tree lacked it.
fn fill_absent(snap: &mut Snapshot, path: &str, text: String) {
    let absent = match snap.files.get(path) {
        None => true,
        Some(f) => f.error().is_some(),
    };
    if absent {
        snap.files.insert(path.to_string(), Fact::Value(text));
    }
}

/// `key = value` lines of `sysctl -a`.
fn sysctl_values(text: &str) -> std::collections::HashMap<&str, &str> {
    text.lines()
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.trim(), v))
        .collect()
}

/// One QEMU process of the listing, with libvirt's exact argv when its domain's log matches.
fn sos_process(
    fs: &FsRoot,
    pr: &ps::PsProcess,
    ps_path: &str,
    logs: &[libvirt_log::StartBlock],
    installed: Option<&Sourced<String>>,
    notes: &mut Vec<String>,
) -> QemuProcess {
    let pid = pr.pid;
    let joined = |argv: &[crate::snapshot::RawBytes]| {
        argv.iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    };
    // The log whose last command line ps printed, else the domain's log by name, when libvirt's
    // pid file (if sos copied it) names this process.
    let log = logs
        .iter()
        .find(|l| joined(&l.argv) == pr.command)
        .or_else(|| {
            let name = pr.vm_name()?;
            let l = logs.iter().find(|l| l.name == name)?;
            let pidfile = format!("/run/libvirt/qemu/{name}.pid");
            match fs.read_text(&pidfile, 64).value() {
                Some(p) if p.trim() != pid.to_string() => {
                    notes.push(format!(
                        "{}: the last start is not process {pid} ({pidfile} names {}); its argv from ps is used",
                        l.path,
                        crate::safe_text::one_line(p.trim(), 20)
                    ));
                    None
                }
                _ => Some(l),
            }
        });
    let (source, mut argv, mut env) = match log {
        Some(l) => (l.path.clone(), l.argv.clone(), l.env.clone()),
        None => (ps_path.to_string(), pr.argv(), Vec::new()),
    };
    super::redact_process_secrets(&mut argv, &mut env);
    let base = format!("/proc/{pid}");
    let unknown = |what: &str| {
        ReadError::new(
            ReadErrorKind::NotAvailable,
            format!("{what} {NOT_COLLECTED}"),
        )
    };
    let status_path = format!("{base}/status");
    let status = match fs.read_text(&status_path, 64 * 1024) {
        Fact::Value(t) => Sourced::value(status_path, super::processes::status_from_text(&t)),
        Fact::Error(_) => Sourced::error(status_path, unknown("process status")),
    };
    // libvirt's start line names the version of this very start; the package database what
    // is installed now.
    let version = log
        .and_then(|l| {
            l.qemu_version
                .clone()
                .map(|v| Sourced::value(l.path.clone(), v))
        })
        .or_else(|| installed.cloned());
    QemuProcess {
        pid: Some(pid),
        source,
        argv,
        env,
        exe: Some(Sourced::error(
            format!("{base}/exe"),
            unknown("the executable"),
        )),
        exe_deleted: false,
        state: pr.state.clone(),
        status: Some(status),
        threads: Some(Sourced::error(
            format!("{base}/task"),
            unknown("thread affinity"),
        )),
        fds: Some(Sourced::error(format!("{base}/fd"), unknown("open files"))),
        numa_maps: Some(Sourced::error(
            format!("{base}/numa_maps"),
            unknown("NUMA maps"),
        )),
        mountinfo: Some(Sourced::error(
            format!("{base}/mountinfo"),
            unknown("mounts"),
        )),
        aio_rings: Some(Sourced::error(
            format!("{base}/maps"),
            unknown("memory maps"),
        )),
        fdinfo: Some(Sourced::error(
            format!("{base}/fdinfo"),
            unknown("fd flags"),
        )),
        version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        for (p, text) in files {
            let path = t.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        t
    }

    #[test]
    fn turbostat_output_for_the_msr_evidence() {
        let t = tree(&[
            ("version.txt", "sos report: 4.7.2\n"),
            ("sos_commands/processor/lscpu", "x"),
            (
                "sos_commands/processor/turbostat_--debug_sleep_10",
                "cpu0: MSR_IA32_POWER_CTL: 0x0024005d (C1E auto-promotion: ENabled)\n",
            ),
        ]);
        let fs = FsRoot::under(t.path());
        let out = turbostat_output(&fs).unwrap();
        assert_eq!(
            out.path,
            "sos_commands/processor/turbostat_--debug_sleep_10"
        );
        assert!(out.get().unwrap().contains("MSR_IA32_POWER_CTL"));
        let none = tree(&[("version.txt", "sos report: 4.7.2\n")]);
        assert!(turbostat_output(&FsRoot::under(none.path())).is_none());
    }

    #[test]
    fn sysctl_fills_proc_sys_and_missing_directories_are_not_collected() {
        let t = tree(&[
            ("version.txt", "sosreport: 3.9\n"),
            (
                "sos_commands/kernel/sysctl_-a",
                "vm.nr_hugepages = 512\nkernel.numa_balancing = 0\n",
            ),
            (
                "sos_commands/kernel/uname_-a",
                "Linux hv01 5.14.0-362.el9.x86_64 #1 SMP x86_64 GNU/Linux\n",
            ),
            ("proc/cmdline", "BOOT_IMAGE=/vmlinuz quiet\n"),
            ("sys/module/kvm/parameters/halt_poll_ns", "0\n"),
        ]);
        let snap = collect(&FsRoot::under(t.path()));
        let info = snap.source.sos.as_ref().unwrap();
        assert_eq!(info.layout, "sos 3.x");
        assert_eq!(info.hostname.as_deref(), Some("hv01"));
        assert_eq!(snap.source.kind, "sos");
        assert_eq!(
            snap.text("/proc/sys/kernel/osrelease"),
            Some("5.14.0-362.el9.x86_64")
        );
        assert_eq!(snap.text("/proc/sys/vm/nr_hugepages"), Some("512"));
        // /sys/block was never copied: not collected, not "no disks".
        let e = snap.dirs["/sys/block"].error().unwrap();
        assert_eq!(e.kind, ReadErrorKind::NotAvailable);
        assert!(e.detail.contains(NOT_COLLECTED));
        // No process plugin: the QEMU list is unknown, not empty.
        assert_eq!(
            snap.qemu.fact.error().unwrap().kind,
            ReadErrorKind::NotAvailable
        );
        assert!(info.missing.iter().any(|m| m.starts_with("process list")));
    }
}
