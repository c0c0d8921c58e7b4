//! The Snapshot: every raw fact a scan reads, as plain serializable data.
//!
//! Collect fills it once (from `/`, a `--root`, or per-source files); everything after it —
//! parsing into models, rules, scores, reports — reads only the Snapshot. That is what makes
//! `collect -o host.json` + `scan --snapshot host.json` give the same report as a live scan.
//!
//! Every fact keeps the path it came from and, when it could not be read, why (absent,
//! permission denied, parse error, ...). Nothing is silently defaulted.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped whenever a field is removed or changes meaning; readers refuse newer versions.
pub const SNAPSHOT_VERSION: u32 = 1;

/// Why a fact could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadErrorKind {
    /// The file or directory does not exist.
    Absent,
    /// The caller may not read it (EACCES/EPERM), e.g. root-only files in a non-root scan.
    PermissionDenied,
    /// It was read but its content is not in the expected format.
    ParseError,
    /// It exceeds kvmaudit's size bound for that kind of fact.
    TooLarge,
    /// A symlink under `--root` pointed outside the root; it was not followed.
    OutsideRoot,
    /// The source cannot provide it (e.g. CPUID of a `--root` tree that carries none).
    NotAvailable,
    /// Any other I/O error (EIO from a sysfs attribute, a loop of symlinks, ...).
    Io,
    /// Not read: the scan of a `--root` tree reached its global budget, or the path named a
    /// directory already listed under another name (see `collect::budget`).
    Budget,
}

impl ReadErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReadErrorKind::Absent => "absent",
            ReadErrorKind::PermissionDenied => "permission denied",
            ReadErrorKind::ParseError => "parse error",
            ReadErrorKind::TooLarge => "too large",
            ReadErrorKind::OutsideRoot => "symlink leaves --root",
            ReadErrorKind::NotAvailable => "not available from this source",
            ReadErrorKind::Io => "I/O error",
            ReadErrorKind::Budget => "scan budget",
        }
    }
}

/// A failed read: the kind plus a human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadError {
    pub kind: ReadErrorKind,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl ReadError {
    pub fn new(kind: ReadErrorKind, detail: impl Into<String>) -> Self {
        ReadError {
            kind,
            detail: detail.into(),
        }
    }
    pub fn from_io(e: &std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        let kind = match e.kind() {
            K::NotFound => ReadErrorKind::Absent,
            K::PermissionDenied => ReadErrorKind::PermissionDenied,
            _ => match e.raw_os_error() {
                Some(libc::ENOTDIR) => ReadErrorKind::Absent,
                Some(libc::EPERM) => ReadErrorKind::PermissionDenied,
                _ => ReadErrorKind::Io,
            },
        };
        ReadError::new(kind, e.to_string())
    }
    /// One phrase for reports: "absent", "permission denied (os error 13)", ...
    pub fn describe(&self) -> String {
        if self.detail.is_empty() {
            self.kind.as_str().to_string()
        } else {
            format!("{}: {}", self.kind.as_str(), self.detail)
        }
    }
}

/// A value or the reason it is missing. Serialized as `{"value": ...}` or `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fact<T> {
    Value(T),
    Error(ReadError),
}

impl<T> Fact<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            Fact::Value(v) => Some(v),
            Fact::Error(_) => None,
        }
    }
    pub fn error(&self) -> Option<&ReadError> {
        match self {
            Fact::Value(_) => None,
            Fact::Error(e) => Some(e),
        }
    }
    pub fn err(kind: ReadErrorKind, detail: impl Into<String>) -> Self {
        Fact::Error(ReadError::new(kind, detail))
    }
    pub fn as_result(&self) -> Result<&T, &ReadError> {
        match self {
            Fact::Value(v) => Ok(v),
            Fact::Error(e) => Err(e),
        }
    }
}

/// A fact together with the path (or source description) it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sourced<T> {
    /// Host path (`/proc/cmdline`) or the user's file (`--cpuid cpu.txt`).
    pub path: String,
    #[serde(flatten)]
    pub fact: Fact<T>,
}

impl<T> Sourced<T> {
    pub fn value(path: impl Into<String>, v: T) -> Self {
        Sourced {
            path: path.into(),
            fact: Fact::Value(v),
        }
    }
    pub fn error(path: impl Into<String>, e: ReadError) -> Self {
        Sourced {
            path: path.into(),
            fact: Fact::Error(e),
        }
    }
    pub fn get(&self) -> Option<&T> {
        self.fact.value()
    }
}

/// Bytes kept exactly: a JSON string when they are UTF-8, `{"hex": "..."}` otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawBytes(pub Vec<u8>);

impl RawBytes {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

impl From<&str> for RawBytes {
    fn from(s: &str) -> Self {
        RawBytes(s.as_bytes().to_vec())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum RawBytesRepr {
    Text(String),
    Hex { hex: String },
}

impl Serialize for RawBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(t) => RawBytesRepr::Text(t.to_string()).serialize(s),
            Err(_) => RawBytesRepr::Hex {
                hex: to_hex(&self.0),
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for RawBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match RawBytesRepr::deserialize(d)? {
            RawBytesRepr::Text(t) => Ok(RawBytes(t.into_bytes())),
            RawBytesRepr::Hex { hex } => from_hex(&hex)
                .map(RawBytes)
                .ok_or_else(|| serde::de::Error::custom("invalid hex in raw bytes")),
        }
    }
}

/// Binary data (SMBIOS tables) as one lower-case hex string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HexBytes(pub Vec<u8>);

impl Serialize for HexBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(&self.0))
    }
}

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        from_hex(&s)
            .map(HexBytes)
            .ok_or_else(|| serde::de::Error::custom("invalid hex string"))
    }
}

pub fn to_hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(b.len() * 2);
    for &x in b {
        out.push(DIGITS[(x >> 4) as usize] as char);
        out.push(DIGITS[(x & 15) as usize] as char);
    }
    out
}

pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if s.len() % 2 != 0 {
        return None;
    }
    s.chunks(2)
        .map(|p| {
            let h = (p[0] as char).to_digit(16)?;
            let l = (p[1] as char).to_digit(16)?;
            Some((h * 16 + l) as u8)
        })
        .collect()
}

/// One CPUID leaf/sub-leaf as the CPU returned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuidLeaf {
    pub leaf: u32,
    pub subleaf: u32,
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

impl CpuidLeaf {
    /// A leaf from the registers in CPUID's order: EAX, EBX, ECX, EDX.
    pub fn new(leaf: u32, subleaf: u32, [eax, ebx, ecx, edx]: [u32; 4]) -> CpuidLeaf {
        CpuidLeaf {
            leaf,
            subleaf,
            eax,
            ebx,
            ecx,
            edx,
        }
    }
}

/// Recorded CPUID of one logical CPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CpuidDump {
    /// `live`, `cpuid-r`, `libvirt-xml` or `aida64`.
    pub format: String,
    pub leaves: Vec<CpuidLeaf>,
}

impl CpuidDump {
    /// The recorded registers of (leaf, subleaf), if that pair was recorded.
    pub fn get(&self, leaf: u32, subleaf: u32) -> Option<&CpuidLeaf> {
        self.leaves
            .iter()
            .find(|l| l.leaf == leaf && l.subleaf == subleaf)
    }
}

/// SMBIOS data in whichever container it came: binary entry point + table, or dmidecode text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SmbiosRaw {
    /// `sysfs-table`, `sysfs-pair`, `dump-bin`, `rsmb` or `dmidecode-text`.
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<HexBytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<HexBytes>,
    /// dmidecode's text output, when that is what the user gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// One thread of a QEMU process (from `/proc/PID/task/TID/status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ThreadFact {
    pub tid: u32,
    /// `Name:` — "CPU 0/KVM", "IO iothread1", "qemu-system-x86", ...
    pub comm: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub cpus_allowed_list: String,
    #[serde(default)]
    pub mems_allowed_list: String,
}

/// One QEMU command line: a live process or a `--qemu-argv` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct QemuProcess {
    /// PID of a live process; absent for `--qemu-argv` files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Where the argv came from: `/proc/4242/cmdline` or the file the user named.
    pub source: String,
    /// argv exactly as the kernel (or the file) holds it, element by element.
    pub argv: Vec<RawBytes>,
    /// `VAR=value` prefix of a libvirt argv file (empty for live processes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// Target of `/proc/PID/exe`, without the " (deleted)" suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<Sourced<String>>,
    /// The binary was replaced after the process started (`exe` ends in " (deleted)").
    #[serde(default)]
    pub exe_deleted: bool,
    /// `State:` of the main thread (R, S, Z, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub state: String,
    /// Process-level Cpus_allowed_list / Mems_allowed_list / VmLck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Sourced<ProcessStatus>>,
    /// Threads with names and affinity; an error when `/proc/PID/task` could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<Sourced<Vec<ThreadFact>>>,
    /// Distinct targets of `/proc/PID/fd/*` that tell what the process really uses
    /// (`anon_inode:kvm-vm`, `/dev/vhost-net`, `/dev/vfio/12`, `anon_inode:[io_uring]`, ...).
    /// Root or the process owner only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fds: Option<Sourced<Vec<String>>>,
    /// `/proc/PID/numa_maps` (per-VMA policy, page size and node distribution). Root only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numa_maps: Option<Sourced<String>>,
    /// `/proc/PID/mountinfo`: the process's own mount namespace (hugetlbfs under libvirt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mountinfo: Option<Sourced<String>>,
    /// Number of Linux AIO rings (`/[aio] (deleted)` in `/proc/PID/maps`): runtime proof that
    /// `aio=native` is in use. Root or the process owner only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aio_rings: Option<Sourced<u32>>,
    /// `/proc/PID/fdinfo` of the fds that matter: disk images and block devices (open flags,
    /// O_DIRECT = cache.direct) and `/dev/net/tun` (`iff:` = tap name). Root or owner only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fdinfo: Option<Sourced<Vec<FdInfo>>>,
    /// The QEMU version (`7.2.22`), found without running anything: the version string in the
    /// binary's read-only data, the package database, or libvirt's start line in its log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Sourced<String>>,
}

/// One open file of a QEMU process, from `/proc/PID/fd/N` and `/proc/PID/fdinfo/N`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FdInfo {
    pub fd: u32,
    pub target: String,
    /// `flags:` in octal, as the kernel prints it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub flags: String,
    /// `iff:` of a tun/tap fd: the interface name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iff: Option<String>,
}

impl FdInfo {
    /// Opened with O_DIRECT (octal 040000 on x86)?
    pub fn o_direct(&self) -> Option<bool> {
        u32::from_str_radix(self.flags.trim(), 8)
            .ok()
            .map(|f| f & 0o40000 != 0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ProcessStatus {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub cpus_allowed_list: String,
    #[serde(default)]
    pub mems_allowed_list: String,
    /// `VmLck:` in kB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_lck_kb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
}

/// The registers read from one logical CPU: register address (`0x1fc`, see [`msr_key`]) to its
/// value, or why that register could not be read (EIO: not implemented on this CPU).
pub type MsrRegisters = BTreeMap<String, Fact<u64>>;

/// Model-specific registers of the host, per logical CPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MsrDump {
    /// `dev-cpu-msr` (read from `/dev/cpu/N/msr`), `turbostat-debug` or `rdmsr`.
    pub format: String,
    /// Logical CPU number to its registers, or why that CPU's device could not be opened.
    #[serde(with = "cpu_keys")]
    pub cpus: BTreeMap<u32, Fact<MsrRegisters>>,
}

/// CPU numbers as JSON object keys written as strings and read back from them: inside
/// `Sourced`'s flattened fact serde cannot turn a string key into a number by itself.
mod cpu_keys {
    use serde::{de::Error, Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer, T: Serialize>(
        m: &BTreeMap<u32, T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let as_str: BTreeMap<String, &T> = m.iter().map(|(k, v)| (k.to_string(), v)).collect();
        as_str.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<BTreeMap<u32, T>, D::Error> {
        BTreeMap::<String, T>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| {
                k.parse()
                    .map(|k| (k, v))
                    .map_err(|_| D::Error::custom(format!("CPU number `{k}` is not a number")))
            })
            .collect()
    }
}

/// The key of register `addr` in [`MsrRegisters`]: lower-case hex with `0x`.
pub fn msr_key(addr: u32) -> String {
    format!("{addr:#x}")
}

fn msr_not_collected() -> Sourced<MsrDump> {
    Sourced::error(
        "/dev/cpu/*/msr",
        ReadError::new(
            ReadErrorKind::NotAvailable,
            "the snapshot was written by a kvmaudit that did not read MSRs",
        ),
    )
}

/// Where the snapshot's facts came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SourceInfo {
    /// `live`, `root` (a `--root DIR`) — per-source overrides are listed separately.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// Per-source files that replaced part of the collection: `{"cpuid": "cpu.txt", ...}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, Vec<String>>,
    /// Set when the source is a sosreport (`kind` is then `sos`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sos: Option<SosInfo>,
}

/// What a sosreport says about itself (the report's host block carries it too).
pub use crate::vocab::host::SosInfo;

/// Everything a scan knows about one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    /// RFC 3339 UTC time of collection.
    pub collected_at: String,
    pub source: SourceInfo,
    pub hostname: Sourced<String>,
    pub cpuid: Sourced<CpuidDump>,
    pub smbios: Sourced<SmbiosRaw>,
    /// Kernel `.config` text (decompressed when it came from `/proc/config.gz`).
    pub kconfig: Sourced<String>,
    /// Text files keyed by host path: `/proc/cmdline`, `/sys/kernel/mm/ksm/run`, ...
    pub files: BTreeMap<String, Fact<String>>,
    /// Directory listings keyed by host path (sorted entry names).
    pub dirs: BTreeMap<String, Fact<Vec<String>>>,
    /// Symlink targets keyed by host path (`/sys/bus/pci/devices/X/driver` -> `.../vfio-pci`).
    pub links: BTreeMap<String, Fact<String>>,
    /// QEMU processes (or `--qemu-argv` files); an error when `/proc` could not be listed.
    pub qemu: Sourced<Vec<QemuProcess>>,
    /// libvirt domain XML: definitions (`/etc/libvirt/qemu/*.xml`, `--domain-xml`) and status
    /// XML of running domains (`/run/libvirt/qemu/*.xml`), as text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domain_xml: Vec<DomainXmlFile>,
    /// Model-specific registers (`/dev/cpu/N/msr`, `--msr FILE`). Snapshots written before
    /// kvmaudit read MSRs lack the field: it then reads as not collected.
    #[serde(default = "msr_not_collected")]
    pub msr: Sourced<MsrDump>,
    /// Notes the collector wants the report to carry (bounds hit, files skipped, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Where a domain XML came from, which decides what it says about the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainXmlKind {
    /// A persistent definition on the host (`/etc/libvirt/qemu/NAME.xml`).
    Defined,
    /// libvirt's status XML of a running domain (`/run/libvirt/qemu/NAME.xml`, with its pid).
    Status,
    /// A file named with `--domain-xml` (`virsh dumpxml` output, a template).
    File,
}

/// One domain XML file, read but not parsed (the model stage parses it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainXmlFile {
    pub kind: DomainXmlKind,
    pub path: String,
    #[serde(flatten)]
    pub xml: Fact<String>,
}

impl Snapshot {
    /// A text file's fact; `None` when the collector never looked at that path.
    pub fn file(&self, path: &str) -> Option<&Fact<String>> {
        self.files.get(path)
    }
    /// A text file's content, trimmed of the trailing newline sysfs adds.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.files
            .get(path)
            .and_then(|f| f.value())
            .map(|s| s.trim_end_matches('\n'))
    }
    pub fn dir(&self, path: &str) -> Option<&Fact<Vec<String>>> {
        self.dirs.get(path)
    }
    pub fn link(&self, path: &str) -> Option<&Fact<String>> {
        self.links.get(path)
    }
}
