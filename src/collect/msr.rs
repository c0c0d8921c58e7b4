//! Model-specific registers from `/dev/cpu/N/msr`, recorded into an [`MsrDump`].
//!
//! The device exists only when the `msr` module is loaded, and only root may read it.
//! kvmaudit never loads the module (collection changes nothing on the host): without it the
//! fact says that `modprobe msr` enables the MSR checks. Each CPU's device is opened once and
//! the registers of [`crate::model::msr::REGISTERS`] are read at their offsets (the file offset
//! is the register address); EIO for one register means the CPU does not implement it.
//! Under `--root` the same paths are regular files holding the 8 bytes of each register at its
//! offset (a sparse file does it), which is how fixture trees carry MSRs.

use super::fsroot::FsRoot;
use crate::model::msr::REGISTERS;
use crate::snapshot::{msr_key, Fact, MsrDump, ReadError, ReadErrorKind, Sourced};
use std::collections::BTreeMap;

/// `MsrDump::format` of registers read from the devices.
pub const FORMAT_DEVICE: &str = "dev-cpu-msr";
/// The path a dump read from the host names.
pub const SOURCE: &str = crate::model::msr::DEVICE_SOURCE;
/// Most CPUs read (Linux's NR_CPUS maximum); a tree listing more is cut there.
const MAX_CPUS: usize = 8192;

/// Every CPU's registers, or why none could be read.
pub fn read(fs: &FsRoot) -> Sourced<MsrDump> {
    let listing = match fs.list_dir("/dev/cpu") {
        Fact::Value(l) => l,
        Fact::Error(e) => return Sourced::error(SOURCE, e),
    };
    let mut ids: Vec<u32> = listing.iter().filter_map(|n| n.parse().ok()).collect();
    ids.sort_unstable();
    ids.truncate(MAX_CPUS);
    let offsets: Vec<u64> = REGISTERS.iter().map(|(a, _)| u64::from(*a)).collect();
    let mut cpus = BTreeMap::new();
    for id in ids {
        let regs = match fs.read_u64_at(&format!("/dev/cpu/{id}/msr"), &offsets) {
            Fact::Value(vals) => Fact::Value(
                REGISTERS
                    .iter()
                    .zip(vals)
                    .map(|((addr, _), v)| (msr_key(*addr), v))
                    .collect(),
            ),
            Fact::Error(e) => Fact::Error(e),
        };
        cpus.insert(id, regs);
    }
    if cpus.is_empty() {
        return Sourced::error(
            SOURCE,
            ReadError::new(ReadErrorKind::Absent, "/dev/cpu lists no CPU"),
        );
    }
    // All CPUs failing the same way (module not loaded, not root) is one fact about the host,
    // not one per CPU.
    let first_err = cpus.values().find_map(|f| f.error().cloned());
    if let Some(e) = first_err {
        if cpus
            .values()
            .all(|f| f.error().is_some_and(|x| x.kind == e.kind))
        {
            return Sourced::error(SOURCE, e);
        }
    }
    Sourced::value(
        SOURCE,
        MsrDump {
            format: FORMAT_DEVICE.into(),
            cpus,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::msr::{ENERGY_PERF_BIAS, POWER_CTL};
    use std::os::unix::fs::FileExt;

    fn tree_with(cpus: &[(u32, &[(u32, u64)])]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for (cpu, regs) in cpus {
            let dir = tmp.path().join(format!("dev/cpu/{cpu}"));
            std::fs::create_dir_all(&dir).unwrap();
            let f = std::fs::File::create(dir.join("msr")).unwrap();
            for (addr, v) in *regs {
                f.write_all_at(&v.to_le_bytes(), u64::from(*addr)).unwrap();
            }
        }
        tmp
    }

    #[test]
    fn reads_sparse_tree_files_at_register_offsets() {
        let tmp = tree_with(&[
            (0, &[(POWER_CTL, 0x80000), (ENERGY_PERF_BIAS, 6)]),
            (1, &[(POWER_CTL, 0x2)]),
        ]);
        let s = read(&FsRoot::under(tmp.path()));
        let d = s.get().unwrap();
        assert_eq!(d.format, FORMAT_DEVICE);
        let c0 = d.cpus[&0].value().unwrap();
        assert_eq!(c0["0x1fc"], Fact::Value(0x80000));
        // 0x1B0 lies before 0x1FC, inside the file: a hole reads as what was written.
        assert_eq!(c0["0x1b0"], Fact::Value(6));
        // 0x770 is past the end of cpu0's file: not recorded, not zero.
        assert_eq!(
            c0["0x770"].error().map(|e| e.kind),
            Some(ReadErrorKind::NotAvailable)
        );
        assert_eq!(d.cpus[&1].value().unwrap()["0x1fc"], Fact::Value(2));
        // `collect -o` then `scan --snapshot` reads the same registers back.
        let json = serde_json::to_string(&s).unwrap();
        let back: Sourced<MsrDump> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn a_tree_without_msr_devices_says_modprobe_would_help() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("dev/cpu/0")).unwrap();
        std::fs::write(tmp.path().join("dev/cpu/0/cpuid"), b"").unwrap();
        let s = read(&FsRoot::under(tmp.path()));
        let e = s.fact.error().unwrap();
        assert_eq!(e.kind, ReadErrorKind::Absent);
        let why = match crate::model::msr::Msrs::new(&s).read(POWER_CTL) {
            crate::model::msr::Reading::Unavailable(w) => w,
            r => panic!("{r:?}"),
        };
        assert!(why.contains("modprobe msr"), "{why}");
    }

    #[test]
    fn live_read_never_fails_loudly() {
        // Whatever this machine has (no module, not root, an AMD CPU), the fact is a value or a
        // reason, and collection goes on.
        let s = read(&FsRoot::live());
        match &s.fact {
            Fact::Value(d) => assert!(!d.cpus.is_empty()),
            Fact::Error(e) => assert!(!e.kind.as_str().is_empty()),
        }
    }
}
