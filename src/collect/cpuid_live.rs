//! CPUID of the CPU kvmaudit runs on, recorded into a [`CpuidDump`] with format `live`.
//!
//! Runs in every scan, so it executes only the leaves the CPU model and rules can use, each
//! enumeration capped: a hypervisor may return nonsense maxima or never-ending sub-leaf lists.
//! The thread is not pinned, so on a hybrid or mixed-stepping machine leaves may come from two
//! CPUs; every field kvmaudit reads is the same on all CPUs of a server part.

use crate::snapshot::{CpuidDump, CpuidLeaf, Fact};

/// `CpuidDump::format` of a dump read from the running CPU.
pub const FORMAT_LIVE: &str = "live";

/// Highest basic leaf recorded, whatever the CPU claims.
const MAX_BASIC_LEAF: u32 = 0x40;
/// Highest extended leaf recorded.
const MAX_EXTENDED_LEAF: u32 = 0x8000_0028;
/// Last leaf of the hypervisor range kvmaudit looks at (KVM, Hyper-V, Xen, VMware all fit).
const MAX_HYPERVISOR_LEAF: u32 = 0x4000_00FF;
/// Sub-leaf cap for lists that end with an "invalid" entry or are counted by sub-leaf 0.
const MAX_SUBLEAVES: u32 = 8;
/// XSAVE state components are numbered 0..=63.
const MAX_XSAVE_SUBLEAF: u32 = 63;

/// Reads the running CPU's CPUID. Never fails on x86_64; elsewhere the fact is `NotAvailable`.
pub fn read_live() -> Fact<CpuidDump> {
    #[cfg(target_arch = "x86_64")]
    {
        Fact::Value(record(&hardware_cpuid))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Fact::err(
            crate::snapshot::ReadErrorKind::NotAvailable,
            "the CPUID instruction exists only on x86_64",
        )
    }
}

#[cfg(target_arch = "x86_64")]
fn hardware_cpuid(leaf: u32, subleaf: u32) -> [u32; 4] {
    // SAFETY: CPUID is available on every x86_64 CPU and has no side effects. The intrinsic is
    // safe since Rust 1.87 but `unsafe` before; the crate's MSRV is 1.80.
    #[allow(unused_unsafe)]
    let r = unsafe { core::arch::x86_64::__cpuid_count(leaf, subleaf) };
    [r.eax, r.ebx, r.ecx, r.edx]
}

/// Enumerates the leaves through `cpuid`, which is the instruction live and a fake in tests.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) fn record(cpuid: &dyn Fn(u32, u32) -> [u32; 4]) -> CpuidDump {
    let mut rec = Recorder {
        cpuid,
        leaves: Vec::new(),
    };
    let basic = rec.read(0, 0);
    let max_basic = basic[0].min(MAX_BASIC_LEAF);
    for leaf in 1..=max_basic {
        let sub0 = rec.read(leaf, 0);
        rec.subleaves(leaf, sub0);
    }
    let hypervisor_bit = max_basic >= 1 && rec.recorded(1).is_some_and(|r| r[2] & (1 << 31) != 0);
    if hypervisor_bit {
        rec.hypervisor_leaves();
    }
    let ext = rec.read(0x8000_0000, 0);
    if (0x8000_0001..=0x8000_FFFF).contains(&ext[0]) {
        for leaf in 0x8000_0001..=ext[0].min(MAX_EXTENDED_LEAF) {
            rec.read(leaf, 0);
        }
    }
    CpuidDump {
        format: FORMAT_LIVE.to_string(),
        leaves: rec.leaves,
    }
}

struct Recorder<'a> {
    cpuid: &'a dyn Fn(u32, u32) -> [u32; 4],
    leaves: Vec<CpuidLeaf>,
}

impl Recorder<'_> {
    fn read(&mut self, leaf: u32, subleaf: u32) -> [u32; 4] {
        let r = (self.cpuid)(leaf, subleaf);
        self.keep(leaf, subleaf, r);
        r
    }

    /// Reads a sub-leaf but keeps it only when it carries data, for sparse lists such as XSAVE
    /// components where absent entries read as zeros.
    fn read_if_nonzero(&mut self, leaf: u32, subleaf: u32) {
        let r = (self.cpuid)(leaf, subleaf);
        if r != [0; 4] {
            self.keep(leaf, subleaf, r);
        }
    }

    fn keep(&mut self, leaf: u32, subleaf: u32, r: [u32; 4]) {
        self.leaves.push(CpuidLeaf::new(leaf, subleaf, r));
    }

    fn recorded(&self, leaf: u32) -> Option<[u32; 4]> {
        self.leaves
            .iter()
            .find(|l| l.leaf == leaf && l.subleaf == 0)
            .map(|l| [l.eax, l.ebx, l.ecx, l.edx])
    }

    /// The sub-leaves beyond 0 of the leaves that have them, each by its own end rule.
    fn subleaves(&mut self, leaf: u32, sub0: [u32; 4]) {
        match leaf {
            // Cache parameters: until cache type (EAX[4:0]) 0.
            0x4 => self.until(leaf, |r| r[0] & 0x1F == 0),
            // Topology: until level type (ECX[15:8]) 0.
            0xB | 0x1F if (sub0[2] >> 8) & 0xFF != 0 => {
                self.until(leaf, |r| (r[2] >> 8) & 0xFF == 0);
            }
            // Sub-leaf 0 EAX is the highest valid sub-leaf.
            0x7 | 0x14 | 0x17 | 0x18 => {
                for sub in 1..=sub0[0].min(MAX_SUBLEAVES) {
                    self.read(leaf, sub);
                }
            }
            0xD => {
                self.read(leaf, 1);
                for sub in 2..=MAX_XSAVE_SUBLEAF {
                    self.read_if_nonzero(leaf, sub);
                }
            }
            // RDT monitoring/allocation resources, SGX: sparse, short lists.
            0xF | 0x10 | 0x12 => {
                for sub in 1..=MAX_SUBLEAVES {
                    self.read_if_nonzero(leaf, sub);
                }
            }
            _ => {}
        }
    }

    /// Sub-leaves 1.. until `end` says the entry is the terminator (not recorded), capped.
    fn until(&mut self, leaf: u32, end: impl Fn([u32; 4]) -> bool) {
        for sub in 1..MAX_SUBLEAVES {
            let r = (self.cpuid)(leaf, sub);
            if end(r) {
                return;
            }
            self.leaves.push(CpuidLeaf::new(leaf, sub, r));
        }
    }

    /// 0x40000000..=max, where max is EAX of 0x40000000. KVM on old hosts reports 0, which its
    /// documentation defines as 0x40000001.
    fn hypervisor_leaves(&mut self) {
        let base = self.read(0x4000_0000, 0);
        let max = match base[0] {
            0 => 0x4000_0001,
            m if m < 0x4000_0000 => 0x4000_0000,
            m => m.min(MAX_HYPERVISOR_LEAF),
        };
        for leaf in 0x4000_0001..=max {
            self.read(leaf, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A fake CPU: Ice Lake-like basic leaves, a KVM hypervisor range, and a broken 0xB that
    /// never reports the end of its list.
    fn fake(leaf: u32, sub: u32) -> [u32; 4] {
        match (leaf, sub) {
            (0, _) => [0x1F, 0x756e6547, 0x6c65746e, 0x49656e69],
            (1, _) => [0x606a6, 0, 1 << 31 | 1 << 5, 0],
            (4, s) if s < 4 => [0x121 + s, 0, 0, 0],
            (7, 0) => [100, 0, 0, 0],
            (0xB, _) => [1, 2, 0x100, 0],
            (0xD, 0 | 1 | 5 | 9) => [sub + 1, 0, 0, 0],
            (0x1F, 0) => [0, 0, 0, 0],
            (0x4000_0000, _) => [0x4000_0001, 0x4b4d564b, 0x564b4d56, 0x4d],
            (0x4000_0001, _) => [1 << 12, 0, 0, 1],
            (0x8000_0000, _) => [0x8000_00FF, 0, 0, 0],
            _ => [0; 4],
        }
    }

    #[test]
    fn records_the_listed_leaves_with_caps() {
        let d = record(&fake);
        assert_eq!(d.format, FORMAT_LIVE);
        for leaf in 0..=0x1F {
            assert!(d.get(leaf, 0).is_some(), "basic leaf {leaf:#x}");
        }
        assert!(d.get(0x20, 0).is_none());
        assert_eq!(d.get(4, 3).map(|l| l.eax), Some(0x124));
        assert!(d.get(4, 4).is_none(), "cache type 0 ends leaf 4");
        assert!(
            d.get(7, 8).is_some() && d.get(7, 9).is_none(),
            "leaf 7 capped at 8"
        );
        assert!(
            d.get(0xB, 7).is_some() && d.get(0xB, 8).is_none(),
            "0xB capped"
        );
        assert!(d.get(0x1F, 1).is_none(), "0x1F sub-leaf 0 invalid: no more");
        assert!(
            d.get(0xD, 9).is_some() && d.get(0xD, 3).is_none(),
            "0xD sparse"
        );
        assert!(d.get(0x4000_0001, 0).is_some());
        assert!(d.get(0x4000_0002, 0).is_none());
        assert!(d.get(0x8000_0028, 0).is_some() && d.get(0x8000_0029, 0).is_none());
    }

    #[test]
    fn no_hypervisor_leaves_without_the_hypervisor_bit() {
        let calls = Cell::new(0u32);
        let bare = |leaf: u32, sub: u32| {
            calls.set(calls.get() + 1);
            match leaf {
                1 => [0x606a6, 0, 1 << 5, 0],
                0x4000_0000 => panic!("hypervisor range read on bare metal"),
                _ => fake(leaf, sub),
            }
        };
        let d = record(&bare);
        assert!(d.get(0x4000_0000, 0).is_none());
        assert!(calls.get() < 250, "{} CPUID executions", calls.get());
    }

    #[test]
    fn absurd_maxima_are_capped() {
        let wild = |leaf: u32, _sub: u32| match leaf {
            0 => [u32::MAX, 0, 0, 0],
            1 => [0, 0, 1 << 31, 0],
            0x4000_0000 => [u32::MAX, 0, 0, 0],
            0x8000_0000 => [u32::MAX, 0, 0, 0],
            _ => [u32::MAX; 4],
        };
        let d = record(&wild);
        assert!(d.leaves.len() < 700, "{} leaves", d.leaves.len());
        assert!(d.get(0x41, 0).is_none());
        assert!(
            d.get(0x8000_0001, 0).is_none(),
            "0xFFFFFFFF is no extended maximum"
        );
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn live_read_has_vendor_and_signature() {
        let fact = read_live();
        let d = fact.value().expect("x86_64 always has CPUID");
        assert!(d.get(0, 0).is_some_and(|l| l.eax >= 1));
        assert!(d.get(1, 0).is_some());
    }
}
