//! Building snapshots by hand for rule tests: one fact at a time, or a whole topology.
//! Public so that unit and integration tests share one builder.
#![doc(hidden)]

use crate::report::{Finding, Profile};
use crate::snapshot::{
    Fact, QemuProcess, RawBytes, ReadError, ReadErrorKind, Snapshot, SourceInfo, Sourced,
    ThreadFact, SNAPSHOT_VERSION,
};

pub struct SnapBuilder {
    snap: Snapshot,
    next_pid: u32,
}

impl Default for SnapBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl SnapBuilder {
    /// An empty host: nothing recorded, no VMs.
    pub fn new() -> Self {
        let na = |p: &str| ReadError::new(ReadErrorKind::Absent, format!("{p} not in test"));
        SnapBuilder {
            snap: Snapshot {
                schema_version: SNAPSHOT_VERSION,
                tool: "kvmaudit".into(),
                tool_version: "test".into(),
                collected_at: "2026-01-01T00:00:00Z".into(),
                source: SourceInfo {
                    kind: "root".into(),
                    root: Some("/test".into()),
                    overrides: Default::default(),
                    sos: None,
                },
                hostname: Sourced::value("/proc/sys/kernel/hostname", "testhost".to_string()),
                cpuid: Sourced::error("cpuid instruction", na("cpuid")),
                smbios: Sourced::error("/sys/firmware/dmi/tables/DMI", na("dmi")),
                kconfig: Sourced::error("/boot/config", na("kconfig")),
                files: Default::default(),
                dirs: Default::default(),
                links: Default::default(),
                domain_xml: Vec::new(),
                qemu: Sourced::value("/proc", Vec::new()),
                msr: Sourced::error("/dev/cpu/*/msr", na("msr")),
                notes: Vec::new(),
            },
            next_pid: 1000,
        }
    }

    pub fn file(mut self, path: &str, content: &str) -> Self {
        self.snap
            .files
            .insert(path.into(), Fact::Value(format!("{content}\n")));
        self
    }

    pub fn absent(mut self, path: &str) -> Self {
        self.snap.files.insert(
            path.into(),
            Fact::Error(ReadError::new(ReadErrorKind::Absent, "")),
        );
        self
    }

    pub fn denied(mut self, path: &str) -> Self {
        self.snap.files.insert(
            path.into(),
            Fact::Error(ReadError::new(
                ReadErrorKind::PermissionDenied,
                "Permission denied (os error 13)",
            )),
        );
        self
    }

    /// A directory the collector recorded as absent.
    pub fn absent_dir(mut self, path: &str) -> Self {
        self.snap.dirs.insert(
            path.into(),
            Fact::Error(ReadError::new(ReadErrorKind::Absent, "")),
        );
        self
    }

    pub fn dir(mut self, path: &str, names: &[&str]) -> Self {
        let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        v.sort();
        self.snap.dirs.insert(path.into(), Fact::Value(v));
        self
    }

    /// Add names to a directory listing (creating it).
    pub fn dir_add(mut self, path: &str, names: &[&str]) -> Self {
        let entry = self
            .snap
            .dirs
            .entry(path.into())
            .or_insert_with(|| Fact::Value(Vec::new()));
        if let Fact::Value(v) = entry {
            v.extend(names.iter().map(|s| s.to_string()));
            v.sort();
            v.dedup();
        }
        self
    }

    pub fn dir_denied(mut self, path: &str) -> Self {
        self.snap.dirs.insert(
            path.into(),
            Fact::Error(ReadError::new(ReadErrorKind::PermissionDenied, "")),
        );
        self
    }

    pub fn link(mut self, path: &str, target: &str) -> Self {
        self.snap
            .links
            .insert(path.into(), Fact::Value(target.into()));
        self
    }

    pub fn kconfig(mut self, text: &str) -> Self {
        self.snap.kconfig = Sourced::value("/boot/config-test", text.to_string());
        self
    }

    /// `/proc/cpuinfo` with the given vendor, family/model/stepping and flags.
    pub fn cpuinfo(self, vendor: &str, family: u32, model: u32, flags: &str) -> Self {
        let text = format!(
            "processor\t: 0\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: {model}\nmodel name\t: Test CPU\nstepping\t: 6\nflags\t\t: {flags}\n"
        );
        self.file("/proc/cpuinfo", &text)
    }

    /// An Ice Lake-SP host's cpuinfo with the usual flags (`extra` appended).
    pub fn icx(self, extra: &str) -> Self {
        self.cpuinfo(
            "GenuineIntel",
            6,
            106,
            &format!(
                "fpu vme de pse msr pae mce cx8 apic ht est ida hwp hwp_epp epb pdpe1gb {extra}"
            ),
        )
    }

    /// CPUs, topology and NUMA nodes: `sockets` packages (one node each) of `cores` cores with
    /// `threads` threads. CPU numbering as Linux does: all first threads, then the siblings.
    pub fn topology(mut self, sockets: u32, cores: u32, threads: u32) -> Self {
        let total = sockets * cores * threads;
        let cpu = "/sys/devices/system/cpu";
        let node = "/sys/devices/system/node";
        self = self.file(&format!("{cpu}/online"), &format!("0-{}", total - 1));
        let mut node_cpus: Vec<Vec<u32>> = vec![Vec::new(); sockets as usize];
        for t in 0..threads {
            for s in 0..sockets {
                for c in 0..cores {
                    let id = t * sockets * cores + s * cores + c;
                    let siblings: Vec<String> = (0..threads)
                        .map(|tt| (tt * sockets * cores + s * cores + c).to_string())
                        .collect();
                    self = self
                        .file(
                            &format!("{cpu}/cpu{id}/topology/physical_package_id"),
                            &s.to_string(),
                        )
                        .file(&format!("{cpu}/cpu{id}/topology/core_id"), &c.to_string())
                        .file(&format!("{cpu}/cpu{id}/topology/die_id"), "0")
                        .file(
                            &format!("{cpu}/cpu{id}/topology/thread_siblings_list"),
                            &siblings.join(","),
                        );
                    node_cpus[s as usize].push(id);
                }
            }
        }
        let names: Vec<String> = (0..sockets).map(|n| format!("node{n}")).collect();
        let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        self = self.dir_add(node, &refs);
        for (n, cpus) in node_cpus.iter().enumerate() {
            let set: std::collections::BTreeSet<u32> = cpus.iter().copied().collect();
            let dist: Vec<String> = (0..sockets)
                .map(|m| if m as usize == n { "10" } else { "20" }.to_string())
                .collect();
            self = self
                .file(&format!("{node}/node{n}/cpulist"), &crate::parse::cpulist::format(&set))
                .file(&format!("{node}/node{n}/distance"), &dist.join(" "))
                .file(
                    &format!("{node}/node{n}/meminfo"),
                    &format!("Node {n} MemTotal:       263921664 kB\nNode {n} MemFree:        200000000 kB"),
                );
        }
        self.meminfo(263921664u64 * u64::from(sockets))
    }

    /// A complete `/proc/meminfo` (as procfs expects it) with the given MemTotal in kB.
    pub fn meminfo(self, total_kb: u64) -> Self {
        let fields = [
            ("MemTotal", total_kb),
            ("MemFree", total_kb / 2),
            ("MemAvailable", total_kb / 2),
            ("Buffers", 1024),
            ("Cached", 4096),
            ("SwapCached", 0),
            ("Active", 4096),
            ("Inactive", 4096),
            ("Active(anon)", 1024),
            ("Inactive(anon)", 1024),
            ("Active(file)", 1024),
            ("Inactive(file)", 1024),
            ("Unevictable", 0),
            ("Mlocked", 0),
            ("SwapTotal", 0),
            ("SwapFree", 0),
            ("Dirty", 0),
            ("Writeback", 0),
            ("AnonPages", 1024),
            ("Mapped", 1024),
            ("Shmem", 0),
            ("KReclaimable", 0),
            ("Slab", 1024),
            ("SReclaimable", 512),
            ("SUnreclaim", 512),
            ("KernelStack", 64),
            ("PageTables", 64),
            ("NFS_Unstable", 0),
            ("Bounce", 0),
            ("WritebackTmp", 0),
            ("CommitLimit", total_kb / 2),
            ("Committed_AS", 1024),
            ("VmallocTotal", 34359738367),
            ("VmallocUsed", 0),
            ("VmallocChunk", 0),
            ("Percpu", 64),
            ("AnonHugePages", 0),
            ("ShmemHugePages", 0),
            ("ShmemPmdMapped", 0),
        ];
        let mut text: String = fields
            .iter()
            .map(|(k, v)| format!("{k}: {v:>16} kB\n"))
            .collect();
        text.push_str("HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0\nHugepagesize:       2048 kB\nHugetlb:               0 kB");
        self.file("/proc/meminfo", &text)
    }

    /// A running QEMU with the given argv (whitespace-separated; use `vm_argv` for exact args)
    /// and threads `(comm, cpus_allowed_list, mems_allowed_list)`. Returns the pid used.
    pub fn vm(self, argv: &str, threads: &[(&str, &str, &str)]) -> Self {
        let args: Vec<&str> = argv.split_whitespace().collect();
        self.vm_argv(&args, threads)
    }

    pub fn vm_argv(mut self, argv: &[&str], threads: &[(&str, &str, &str)]) -> Self {
        let pid = self.next_pid;
        self.next_pid += 100;
        let threads: Vec<ThreadFact> = threads
            .iter()
            .enumerate()
            .map(|(i, (comm, cpus, mems))| ThreadFact {
                tid: pid + i as u32,
                comm: comm.to_string(),
                state: "S".into(),
                cpus_allowed_list: cpus.to_string(),
                mems_allowed_list: mems.to_string(),
            })
            .collect();
        let p = QemuProcess {
            pid: Some(pid),
            source: format!("/proc/{pid}/cmdline"),
            argv: argv.iter().map(|a| RawBytes::from(*a)).collect(),
            threads: Some(Sourced::value(format!("/proc/{pid}/task"), threads)),
            ..Default::default()
        };
        if let Fact::Value(v) = &mut self.snap.qemu.fact {
            v.push(p);
        }
        self
    }

    /// Change the last VM added (fds, numa_maps, ...).
    pub fn with_last_vm(mut self, f: impl FnOnce(&mut QemuProcess)) -> Self {
        if let Fact::Value(v) = &mut self.snap.qemu.fact {
            if let Some(p) = v.last_mut() {
                f(p);
            }
        }
        self
    }

    /// MSRs as read from `/dev/cpu/N/msr`: the same register values on CPUs `0..cpus`.
    pub fn msrs(mut self, cpus: u32, regs: &[(u32, u64)]) -> Self {
        use crate::snapshot::{msr_key, Fact, MsrDump};
        let one: crate::snapshot::MsrRegisters = regs
            .iter()
            .map(|(a, v)| (msr_key(*a), Fact::Value(*v)))
            .collect();
        self.snap.msr = Sourced::value(
            "/dev/cpu/*/msr",
            MsrDump {
                format: "dev-cpu-msr".into(),
                cpus: (0..cpus).map(|c| (c, Fact::Value(one.clone()))).collect(),
            },
        );
        self
    }

    pub fn build(self) -> Snapshot {
        self.snap
    }
}

/// Evaluate the whole rule set and keep the findings of one rule.
pub fn findings(snap: &Snapshot, profile: Profile, rule: &str) -> Vec<Finding> {
    crate::rules::evaluate(snap, profile, &[], "2026-01-01")
        .results
        .into_iter()
        .filter(|f| f.rule == rule)
        .collect()
}

/// The status of `rule` on `target` as a lower-case string (`"pass"`, ...), or "missing".
pub fn status(snap: &Snapshot, profile: Profile, rule: &str, target: &str) -> String {
    findings(snap, profile, rule)
        .into_iter()
        .find(|f| f.target == target)
        .map(|f| f.status.as_str().to_string())
        .unwrap_or_else(|| "missing".into())
}
