//! Collection: read every raw fact once into a [`Snapshot`].
//!
//! Sources, in order: a `--snapshot FILE`, a `--sos PATH`, or the host (`/` or `--root DIR`; a
//! `--root` that is an extracted sosreport is read as `--sos`), then per-source
//! files (`--cpuid`, `--dmi`, `--kconfig`, `--qemu-argv`) that replace one part of it.
//! Collection never writes anything.

pub mod archive;
pub mod budget;
pub mod cpuid_live;
pub mod domains;
pub mod fsroot;
pub mod host;
pub mod msr;
pub mod paths;
pub mod pm_qos;
pub mod processes;
pub mod qemu_version;
pub mod sos;

use crate::error::{Error, Result};
use crate::snapshot::{
    CpuidDump, Fact, QemuProcess, ReadError, ReadErrorKind, SmbiosRaw, Snapshot, SourceInfo,
    Sourced, SNAPSHOT_VERSION,
};
use fsroot::FsRoot;
use std::path::{Path, PathBuf};

/// Largest input file we accept on the command line (argv files, snapshots, dumps).
pub const MAX_INPUT: u64 = 256 * 1024 * 1024;

/// What to read, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub root: Option<PathBuf>,
    pub snapshot: Option<PathBuf>,
    /// A sosreport: extracted directory or `.tar.xz`/`.tar.gz`.
    pub sos: Option<PathBuf>,
    pub cpuid: Option<PathBuf>,
    pub dmi: Option<PathBuf>,
    pub kconfig: Option<PathBuf>,
    pub qemu_argv: Vec<PathBuf>,
    /// `--domain-xml FILE|DIR`: libvirt domain definitions audited without a process.
    pub domain_xml: Vec<PathBuf>,
    /// `--msr` arguments: `FILE` (turbostat --debug output) or `0xREG=FILE` (an rdmsr -a dump).
    pub msr: Vec<String>,
}

/// Build the snapshot the sources describe.
pub fn gather(src: &Sources) -> Result<Snapshot> {
    let given = [
        src.snapshot.is_some(),
        src.root.is_some(),
        src.sos.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(Error::Usage(
            "--snapshot, --root and --sos are alternatives: give one of them".into(),
        ));
    }
    let mut snap = match (&src.snapshot, &src.root, &src.sos) {
        (_, _, Some(path)) => sos::collect(&sos::open(path)?),
        (Some(file), _, None) => load_snapshot(file)?,
        (None, Some(dir), None) => {
            if !dir.is_dir() {
                return Err(Error::parse(dir, "--root must be a directory"));
            }
            if !is_host_tree(dir) {
                // Scanning it would report every absent file as a finding: false FAILs and
                // exit 2 for what is a mistyped path.
                return Err(Error::parse(
                    dir,
                    "not a host tree: --root needs a directory holding the host's proc/ or sys/ (a copied root, a sosreport)",
                ));
            }
            if sos::is_sos_dir(dir) {
                // An extracted sosreport: its command outputs fill what the copied tree lacks.
                sos::collect(&FsRoot::under(dir))
            } else {
                collect_host(&FsRoot::under(dir))
            }
        }
        (None, None, None) => collect_host(&FsRoot::live()),
    };
    apply_overrides(&mut snap, src)?;
    Ok(snap)
}

/// Whether `dir` holds a `proc/` or `sys/` directory (not a link to one: links in a tree are
/// never followed).
fn is_host_tree(dir: &Path) -> bool {
    ["proc", "sys"]
        .iter()
        .any(|d| std::fs::symlink_metadata(dir.join(d)).is_ok_and(|m| m.file_type().is_dir()))
}

/// Everything read from the host outside `/proc/PID`.
struct HostSide {
    facts: host::HostFacts,
    kconfig: Sourced<String>,
    hostname: Sourced<String>,
    cpuid: Sourced<CpuidDump>,
    smbios: Sourced<SmbiosRaw>,
    msr: Sourced<crate::snapshot::MsrDump>,
}

impl HostSide {
    fn collect(fs: &FsRoot) -> HostSide {
        let mut facts = host::HostFacts::collect(fs);
        facts.files.insert(
            paths::CPU_DMA_LATENCY.to_string(),
            pm_qos::read_cpu_dma_latency(fs),
        );
        let kconfig = find_kconfig(fs, &facts.files);
        let hostname = hostname(&facts.files);
        let cpuid = if fs.is_live() {
            match cpuid_live::read_live() {
                Fact::Value(d) => Sourced::value("cpuid instruction", d),
                Fact::Error(e) => Sourced::error("cpuid instruction", e),
            }
        } else {
            Sourced::error(
                "cpuid instruction",
                ReadError::new(
                    ReadErrorKind::NotAvailable,
                    "a --root tree carries no CPUID; give --cpuid FILE (the CPU model falls back to /proc/cpuinfo)",
                ),
            )
        };
        let smbios = read_smbios(fs);
        let msr = msr::read(fs);
        HostSide {
            facts,
            kconfig,
            hostname,
            cpuid,
            smbios,
            msr,
        }
    }
}

/// Read every host fact through `fs`.
pub fn collect_host(fs: &FsRoot) -> Snapshot {
    // The host's files and its QEMU processes are independent reads: the host side runs on a
    // thread of its own while this one (with helpers) inspects the processes, whose numa_maps
    // are most of a scan's time on a host with many VMs.
    let (host, (qemu, mut notes)) = std::thread::scope(|s| {
        let side = std::thread::Builder::new().spawn_scoped(s, || HostSide::collect(fs));
        let procs = processes::discover(fs);
        // No thread (spawn failed) or a panicked one: read the host side here, as a
        // sequential scan would (a panic then takes the same course as it always did).
        let host = side
            .ok()
            .and_then(|h| h.join().ok())
            .unwrap_or_else(|| HostSide::collect(fs));
        (host, procs)
    });
    let HostSide {
        facts,
        kconfig,
        hostname,
        cpuid,
        smbios,
        msr,
    } = host;
    if let Some(e) = smbios.fact.error() {
        if e.kind == ReadErrorKind::ParseError {
            notes.push(format!("{}: {}", smbios.path, e.describe()));
        }
    }
    let domain_xml = domains::discover(fs, &mut notes);
    let mut qemu = qemu;
    fill_qemu_versions(&mut qemu, fs);
    notes.extend(fs.budget_note());
    Snapshot {
        schema_version: SNAPSHOT_VERSION,
        tool: "kvmaudit".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        collected_at: crate::util::now_rfc3339(),
        source: SourceInfo {
            kind: if fs.is_live() { "live" } else { "root" }.into(),
            root: fs.root_dir().map(|p| p.display().to_string()),
            overrides: Default::default(),
            sos: None,
        },
        hostname,
        cpuid,
        smbios,
        kconfig,
        files: facts.files,
        dirs: facts.dirs,
        links: facts.links,
        qemu,
        domain_xml,
        msr,
        notes,
    }
}

/// Processes whose binary gave no version get the installed package's (read once).
fn fill_qemu_versions(qemu: &mut Sourced<Vec<QemuProcess>>, fs: &FsRoot) {
    let Fact::Value(procs) = &mut qemu.fact else {
        return;
    };
    let mut installed = None;
    // A replaced binary (exe "deleted") is not what the package database now describes.
    for p in procs
        .iter_mut()
        .filter(|p| p.version.is_none() && !p.exe_deleted)
    {
        let v = installed.get_or_insert_with(|| qemu_version::from_packages(fs));
        p.version.clone_from(v);
    }
}

fn hostname(files: &std::collections::BTreeMap<String, Fact<String>>) -> Sourced<String> {
    let mut last_err = None;
    for p in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        match files.get(p) {
            Some(Fact::Value(v)) if !v.trim().is_empty() => {
                return Sourced::value(p, v.trim().to_string())
            }
            Some(Fact::Error(e)) => last_err = Some(Sourced::error(p, e.clone())),
            _ => {}
        }
    }
    last_err.unwrap_or_else(|| {
        Sourced::error(
            "/proc/sys/kernel/hostname",
            ReadError::new(ReadErrorKind::Absent, "no hostname recorded"),
        )
    })
}

/// SMBIOS from `/sys/firmware/dmi/tables` (root-only on a live host).
fn read_smbios(fs: &FsRoot) -> Sourced<SmbiosRaw> {
    const DMI: &str = "/sys/firmware/dmi/tables/DMI";
    const EP: &str = "/sys/firmware/dmi/tables/smbios_entry_point";
    let table = match fs.read_bytes(DMI, 16 * 1024 * 1024) {
        Fact::Value(b) => b,
        Fact::Error(e) => return Sourced::error(DMI, e),
    };
    let ep = fs.read_bytes(EP, 4096).value().cloned();
    match crate::parse::smbios::parse(&table, ep.as_deref()) {
        Ok(raw) => Sourced::value(DMI, raw),
        Err(e) => Sourced::error(DMI, ReadError::new(ReadErrorKind::ParseError, e.0)),
    }
}

/// Kernel config, first hit wins (catalogue §3.4).
fn find_kconfig(
    fs: &FsRoot,
    files: &std::collections::BTreeMap<String, Fact<String>>,
) -> Sourced<String> {
    let release = files
        .get("/proc/sys/kernel/osrelease")
        .and_then(|f| f.value())
        .map(|s| s.trim().to_string());
    let mut candidates = vec!["/proc/config.gz".to_string()];
    if let Some(r) = &release {
        candidates.push(format!("/boot/config-{r}"));
        candidates.push(format!("/lib/modules/{r}/config"));
        candidates.push(format!("/lib/modules/{r}/build/.config"));
    }
    let mut denied = None;
    for c in &candidates {
        match fs.read_bytes(c, 16 * 1024 * 1024) {
            Fact::Value(b) => {
                return match decode_kconfig(&b) {
                    Ok(t) => Sourced::value(c.clone(), t),
                    Err(msg) => {
                        Sourced::error(c.clone(), ReadError::new(ReadErrorKind::ParseError, msg))
                    }
                }
            }
            Fact::Error(e) if e.kind != ReadErrorKind::Absent => {
                denied.get_or_insert(Sourced::error(c.clone(), e));
            }
            Fact::Error(_) => {}
        }
    }
    denied.unwrap_or_else(|| {
        Sourced::error(
            candidates.join(", "),
            ReadError::new(ReadErrorKind::Absent, "no kernel config found"),
        )
    })
}

/// Largest decompressed kernel config (real ones are ~250 KB): a gzip bomb stops here.
const MAX_KCONFIG: u64 = 64 * 1024 * 1024;

/// Plain or gzip `.config` text; it must hold at least one `CONFIG_` line.
pub fn decode_kconfig(b: &[u8]) -> std::result::Result<String, String> {
    let bytes = if b.starts_with(&[0x1f, 0x8b]) {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(b)
            .take(MAX_KCONFIG + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("gzip: {e}"))?;
        if out.len() as u64 > MAX_KCONFIG {
            return Err(format!(
                "gzip: decompresses to more than {MAX_KCONFIG} bytes; not a kernel config"
            ));
        }
        out
    } else {
        b.to_vec()
    };
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    if !text.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("CONFIG_") || (l.starts_with("# CONFIG_") && l.ends_with(" is not set"))
    }) {
        return Err("no CONFIG_ lines: not a kernel .config".into());
    }
    Ok(text)
}

fn read_input(path: &Path, what: &str) -> Result<Vec<u8>> {
    crate::input::read_input_file(path, MAX_INPUT, what)
}

/// Load a snapshot written by `kvmaudit collect`.
pub fn load_snapshot(path: &Path) -> Result<Snapshot> {
    let bytes = read_input(path, "a kvmaudit snapshot")?;
    #[derive(serde::Deserialize)]
    struct Version {
        schema_version: Option<u32>,
        tool: Option<String>,
    }
    let wrong_kind = || {
        crate::file_kind::detect(&bytes)
            .and_then(|k| crate::file_kind::misuse(k, crate::file_kind::FileKind::Snapshot))
            .map(|m| Error::parse(path, m))
    };
    let v: Version = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return Err(wrong_kind().unwrap_or_else(|| {
                Error::parse(
                    path,
                    format!(
                        "not a kvmaudit snapshot (invalid JSON: {})",
                        crate::safe_text::json_complaint(&e)
                    ),
                )
            }))
        }
    };
    if v.tool.as_deref() != Some("kvmaudit") {
        if let Some(e) = wrong_kind() {
            return Err(e);
        }
        return Err(Error::parse(
            path,
            "not a kvmaudit snapshot (no \"tool\": \"kvmaudit\")",
        ));
    }
    match v.schema_version {
        Some(n) if n > SNAPSHOT_VERSION => {
            return Err(Error::parse(
                path,
                format!("snapshot schema_version {n} is newer than this kvmaudit reads ({SNAPSHOT_VERSION}); upgrade kvmaudit"),
            ))
        }
        None => return Err(Error::parse(path, "snapshot has no schema_version")),
        _ => {}
    }
    let mut snap: Snapshot = serde_json::from_slice(&bytes).map_err(|e| {
        Error::parse(
            path,
            format!("invalid snapshot: {}", crate::safe_text::json_complaint(&e)),
        )
    })?;
    // A snapshot written by an older kvmaudit, or by hand, may still hold secrets.
    if let Fact::Value(procs) = &mut snap.qemu.fact {
        for p in procs {
            redact_process_secrets(&mut p.argv, &mut p.env);
        }
    }
    Ok(snap)
}

/// Secrets in a command line and its environment, redacted where they enter the snapshot.
fn redact_process_secrets(argv: &mut [crate::snapshot::RawBytes], env: &mut [String]) {
    crate::parse::qemu::redact::redact_argv(argv);
    crate::parse::qemu::redact::redact_env(env);
}

/// One `--msr` argument: `0xREG=FILE` is an rdmsr -a dump of REG; a plain `FILE` must be
/// turbostat --debug output.
fn load_msr_arg(arg: &str) -> Result<(crate::snapshot::MsrDump, PathBuf)> {
    let reg_file = arg
        .split_once('=')
        .filter(|(r, _)| crate::parse::msr::parse_addr(r).is_ok());
    let path = PathBuf::from(reg_file.map_or(arg, |(_, f)| f));
    let bytes = read_input(&path, "MSR values")?;
    let text = String::from_utf8_lossy(&bytes);
    let parsed = match reg_file {
        Some((reg, _)) => crate::parse::msr::parse_addr(reg)
            .and_then(|a| crate::parse::msr::parse_rdmsr(a, &text)),
        None if crate::parse::msr::is_turbostat(&text) => crate::parse::msr::parse_turbostat(&text),
        None => {
            return Err(Error::parse(
                &path,
                "not turbostat --debug output; for an rdmsr -a dump name the register: --msr 0x1fc=FILE",
            ))
        }
    };
    let dump = parsed.map_err(|e| Error::parse(&path, format!("not MSR values: {}", e.0)))?;
    Ok((dump, path))
}

fn note_override(snap: &mut Snapshot, what: &str, path: &Path) {
    snap.source
        .overrides
        .entry(what.to_string())
        .or_default()
        .push(path.display().to_string());
}

/// Replace parts of the snapshot with the per-source files the user named.
fn apply_overrides(snap: &mut Snapshot, src: &Sources) -> Result<()> {
    if let Some(p) = &src.cpuid {
        let dump: CpuidDump = crate::parse::cpuid::parse(&read_input(p, "a CPUID dump")?)
            .map_err(|e| Error::parse(p, format!("not a CPUID dump: {}", e.0)))?;
        snap.cpuid = Sourced::value(p.display().to_string(), dump);
        note_override(snap, "cpuid", p);
    }
    if let Some(p) = &src.dmi {
        let raw = crate::parse::smbios::load_path(p)?;
        snap.smbios = Sourced::value(p.display().to_string(), raw);
        note_override(snap, "dmi", p);
    }
    if let Some(p) = &src.kconfig {
        let text =
            decode_kconfig(&read_input(p, "a kernel config")?).map_err(|m| Error::parse(p, m))?;
        snap.kconfig = Sourced::value(p.display().to_string(), text);
        note_override(snap, "kconfig", p);
    }
    if !src.msr.is_empty() {
        let mut dump = crate::snapshot::MsrDump::default();
        for arg in &src.msr {
            let (more, path) = load_msr_arg(arg)?;
            crate::parse::msr::merge(&mut dump, more);
            note_override(snap, "msr", &path);
        }
        snap.msr = Sourced::value(src.msr.join(", "), dump);
    }
    if !src.qemu_argv.is_empty() {
        let mut vms = Vec::new();
        for p in &src.qemu_argv {
            let mut f = crate::parse::qemu::parse_argv_file(&read_input(p, "a QEMU command line")?)
                .map_err(|e| Error::parse(p, format!("not a QEMU command line: {}", e.0)))?;
            redact_process_secrets(&mut f.argv, &mut f.env);
            vms.push(QemuProcess {
                source: p.display().to_string(),
                argv: f.argv,
                env: f.env,
                ..Default::default()
            });
            note_override(snap, "qemu_argv", p);
        }
        snap.qemu = Sourced::value("--qemu-argv", vms);
        // The command lines named are the VMs of this scan: the host's own libvirt domains
        // (definitions, status XML) belong to the processes they replaced.
        snap.domain_xml
            .retain(|d| d.kind == crate::snapshot::DomainXmlKind::File);
    }
    for p in &src.domain_xml {
        let files = domains::read_named(p)?;
        snap.domain_xml.extend(files);
        note_override(snap, "domain_xml", p);
    }
    Ok(())
}
