//! Host facts as the collector records them, fed to every rule: the sysfs/procfs value
//! formats as their real consumers (host model, topology, persistent configuration, rules)
//! read them. Far more effective than mutating snapshot JSON for reaching those parsers.
//!
//! Input: records separated by the byte 0x1E. A record's first line is the host path, the rest
//! its content. `@PATH` records a symlink target, `PATH/` a directory listing (one name a line).
#![no_main]
use kvmaudit::report::Profile;
use kvmaudit::rules::testkit::SnapBuilder;
use kvmaudit::snapshot::Fact;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kvmaudit_fuzz::install_panic_hook();
    let text = String::from_utf8_lossy(data);
    let mut snap = SnapBuilder::new().build();
    for rec in text.split('\u{1e}') {
        let (path, body) = rec.split_once('\n').unwrap_or((rec, ""));
        if let Some(link) = path.strip_prefix('@') {
            snap.links
                .insert(link.to_string(), Fact::Value(body.trim_end().to_string()));
        } else if let Some(dir) = path.strip_suffix('/').filter(|d| !d.is_empty()) {
            let mut names: Vec<String> = body.lines().map(str::to_string).collect();
            names.sort();
            snap.dirs.insert(dir.to_string(), Fact::Value(names));
        } else if !path.is_empty() {
            snap.files
                .insert(path.to_string(), Fact::Value(body.to_string()));
        }
    }
    let report = kvmaudit::rules::evaluate(&snap, Profile::Throughput, &[], "2026-06-01");
    let _ = serde_json::to_vec(&report);
});
