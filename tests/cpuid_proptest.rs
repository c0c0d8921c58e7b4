//! Fuzz-style properties: no input makes `parse` or `CpuModel::from_cpuid` panic or hang.
//! `from_cpuid` catches raw-cpuid panics itself, so the properties also demand that no decode
//! failure note appears: the data must not reach raw-cpuid's panicking paths at all.

mod common;

use kvmaudit::model::cpu::CpuModel;
use kvmaudit::parse::cpuid;
use kvmaudit::snapshot::{CpuidDump, CpuidLeaf};
use proptest::prelude::*;
use std::sync::mpsc;
use std::time::Duration;

const FIXTURES: [&str; 6] = [
    "x86_64-cpuid-Ice-Lake-Server.xml",
    "x86_64-cpuid-Cooperlake.xml",
    "x86_64-cpuid-Xeon-Platinum-8268.xml",
    "x86_64-cpuid-EPYC-7502-32-Core.xml",
    "icelake-sp-synthetic.aida64.txt",
    "kvm-guest-2vcpu.cpuid-r.txt",
];

fn fixture_bytes() -> Vec<Vec<u8>> {
    FIXTURES
        .iter()
        .map(|n| std::fs::read(common::fixture(&format!("cpuid/{n}"))).expect(n))
        .collect()
}

/// Runs `f` on another thread and fails if it does not finish in time (a hang, not slowness:
/// one call takes microseconds).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} did not finish in 10 s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what} panicked"),
    }
}

fn model_of(dump: &CpuidDump) -> CpuModel {
    let m = CpuModel::from_cpuid(dump);
    assert!(
        !m.notes.iter().any(|n| n.contains("failed")),
        "decoder failure on {dump:?}: {:?}",
        m.notes
    );
    m
}

/// Parses and, when that works, decodes; the point is that neither panics.
fn parse_and_decode(bytes: &[u8]) {
    if let Ok(d) = cpuid::parse(bytes) {
        assert!(!d.leaves.is_empty(), "Ok with no leaves");
        model_of(&d);
    }
}

fn leaf(leaf: u32, subleaf: u32, r: [u32; 4]) -> CpuidLeaf {
    CpuidLeaf::new(leaf, subleaf, r)
}

/// Leaves where decoding branches: basic, power, topology, hypervisor, extended, AMD topology.
fn interesting_leaf() -> impl Strategy<Value = u32> {
    prop_oneof![
        0u32..0x20,
        Just(0x4000_0000u32),
        Just(0x4000_0001),
        Just(0x4000_0100),
        Just(0x4000_0101),
        0x8000_0000u32..0x8000_0020,
        any::<u32>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        parse_and_decode(&bytes);
    }

    #[test]
    fn format_shaped_garbage_never_panics(
        text in "(( {0,3}0x[0-9a-fA-F]{0,11}( 0x[0-9a-f]{0,9})?: ?(eax|ebx|ecx|edx)=0x[0-9a-f]{0,10}( [a-z]{3}=0x[0-9a-f]{0,10}){0,4}|CPUID [0-9A-F]{0,9}:? [0-9A-F-]{0,40}( \\[SL [0-9A-Fa-z]{0,3}\\]?)?|<cpuid eax_in='0x[0-9a-f]{0,9}' ecx_in='[0-9a-fx]{0,4}' eax='0x[0-9a-z]{0,9}' ebx='0x1' ecx='0' edx='0'/?>|CPU [0-9]{0,2}:|------\\[ Logical CPU #[0-9] \\]------)\r?\n){0,12}"
    ) {
        parse_and_decode(text.as_bytes());
    }

    #[test]
    fn truncated_fixtures_never_panic(file in 0..FIXTURES.len(), cut in any::<prop::sample::Index>()) {
        let all = fixture_bytes();
        let bytes = &all[file];
        parse_and_decode(&bytes[..cut.index(bytes.len() + 1)]);
    }

    #[test]
    fn byte_flipped_fixtures_never_panic(
        file in 0..FIXTURES.len(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
    ) {
        let mut bytes = fixture_bytes().swap_remove(file);
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        parse_and_decode(&bytes);
    }

    #[test]
    fn random_topology_leaves_never_panic_or_hang(
        max_basic in prop_oneof![Just(0x1Fu32), any::<u32>()],
        leaf1 in any::<[u32; 4]>(),
        topo in proptest::collection::vec(
            (prop_oneof![Just(0xBu32), Just(0x1F)], 0u32..12, any::<[u32; 4]>()), 0..24),
    ) {
        let mut leaves = vec![
            leaf(0, 0, [max_basic, 0x756e6547, 0x6c65746e, 0x49656e69]),
            leaf(1, 0, leaf1),
        ];
        leaves.extend(topo.into_iter().map(|(l, s, r)| leaf(l, s, r)));
        let dump = CpuidDump { format: "test".into(), leaves };
        let m = within("from_cpuid", move || model_of(&dump));
        if let Some(n) = m.threads_per_core {
            prop_assert!(n > 0 && n <= 0xFFFF);
        }
    }

    #[test]
    fn random_dumps_never_panic_or_hang(
        leaves in proptest::collection::vec((interesting_leaf(), 0u32..4, any::<[u32; 4]>()), 0..64),
    ) {
        let dump = CpuidDump {
            format: "test".into(),
            leaves: leaves.into_iter().map(|(l, s, r)| leaf(l, s, r)).collect(),
        };
        within("from_cpuid", move || model_of(&dump));
    }
}

#[test]
fn every_truncation_of_the_small_fixtures_is_safe() {
    // Exhaustive where it is cheap: every cut of the first and last 600 bytes.
    for bytes in fixture_bytes() {
        let n = bytes.len();
        for cut in (0..n.min(600)).chain(n.saturating_sub(600)..=n) {
            parse_and_decode(&bytes[..cut]);
        }
    }
}
