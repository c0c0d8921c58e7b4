//! Write a fleet of realistic synthetic reports for the fleet benchmark (benches/fleet.sh):
//! `cargo run --release --example fleet_corpus -- DIR N`.
//!
//! Host `hostNNNNN` has 0-8 VMs (every rule of the catalogue, per disk and NIC), a report
//! 0-48 h old (so about a quarter are stale at the default 36 h); 2 % of the hosts also have an
//! older report (superseded), and 1 % of the files are corrupt or another tool's JSON.

use kvmaudit::report::sample::{report, Rng, Spec};
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(n)) = (
        args.first().map(PathBuf::from),
        args.get(1).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: fleet_corpus DIR N");
        std::process::exit(1);
    };
    let now = kvmaudit::util::now_epoch().max(0) as u64;
    let mut rng = Rng::new(n);
    let mut bytes = 0u64;
    for i in 0..n {
        // Spread the files over rack directories, like fetched reports often are.
        let rack = dir.join(format!("rack{:02}", i % 40));
        if let Err(e) = std::fs::create_dir_all(&rack) {
            eprintln!("{}: {e}", rack.display());
            std::process::exit(1);
        }
        let host = format!("host{i:05}");
        let mut spec = Spec::new(i, host.clone());
        spec.vms = (i % 9) as usize;
        spec.generated_at = kvmaudit::util::rfc3339(now - rng.below(48 * 3600));
        let mut files = vec![(rack.join(format!("{host}.json")), spec.clone())];
        if rng.chance(0.02) {
            let mut old = spec.clone();
            old.seed += 1_000_000;
            old.generated_at = kvmaudit::util::rfc3339(now - 7 * 86_400);
            files.push((rack.join(format!("{host}-last-week.json")), old));
        }
        for (path, spec) in files {
            let mut text = serde_json::to_vec_pretty(&report(&spec)).unwrap_or_default();
            text.push(b'\n');
            bytes += text.len() as u64;
            if let Err(e) = std::fs::write(&path, text) {
                eprintln!("{}: {e}", path.display());
                std::process::exit(1);
            }
        }
        if rng.chance(0.01) {
            let junk: &[u8] = if rng.chance(0.5) {
                b"{\"schema_version\": 1, \"tool\": {\"name\": \"kvmaudit\"}, \"results\": ["
            } else {
                b"{\"name\": \"some-other-tool\", \"version\": \"2.0\"}"
            };
            let _ = std::fs::write(rack.join(format!("junk{i:05}.json")), junk);
        }
    }
    println!(
        "{n} hosts, {:.1} MiB of reports in {}",
        bytes as f64 / 1048576.0,
        dir.display()
    );
}
