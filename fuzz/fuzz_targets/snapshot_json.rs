//! Snapshot JSON (`scan --snapshot FILE`): deserialize, evaluate every rule under both
//! profiles, and render the report as JSON and as the terminal table.
#![no_main]
use kvmaudit::report::Profile;
use kvmaudit::snapshot::Snapshot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kvmaudit_fuzz::install_panic_hook();
    let Ok(snap) = serde_json::from_slice::<Snapshot>(data) else {
        return;
    };
    for profile in [Profile::Throughput, Profile::Latency] {
        let report = kvmaudit::rules::evaluate(&snap, profile, &[], "2026-06-01");
        let _ = serde_json::to_vec(&report);
        let _ = kvmaudit::report::table::render(&report);
    }
});
