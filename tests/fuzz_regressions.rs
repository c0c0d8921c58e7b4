//! Inputs that once crashed, hung or blew up a parser, replayed through the same calls as the
//! fuzz targets in fuzz/fuzz_targets/ (same names), each within a time limit.
//!
//! Add a fuzz artifact as `tests/fuzz-regressions/<target>/<name>`; this test picks it up.
//! Also here: inputs built at run time (a gzip bomb), and the hostile inputs found while
//! bounding resources (repeated CPU ranges, exponential waiver globs), which fuzzing with
//! `-timeout` reports as timeouts.

use kvmaudit::report::Profile;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Generous for a debug build on a busy machine; the fixed inputs take milliseconds, the
/// broken parsers took minutes or never ended.
const LIMIT: Duration = Duration::from_secs(10);

fn exercise(target: &str, data: &[u8]) {
    match target {
        "sysfs_values" => {
            let Some((sel, rest)) = data.split_first() else {
                return;
            };
            let s = String::from_utf8_lossy(rest);
            match sel % 4 {
                0 => {
                    if let Ok(set) = kvmaudit::parse::cpulist::parse(&s) {
                        let text = kvmaudit::parse::cpulist::format(&set);
                        assert_eq!(kvmaudit::parse::cpulist::parse(&text).ok(), Some(set));
                    }
                }
                1 => {
                    let _ = kvmaudit::parse::sysfs::bracketed(&s);
                    let _ = kvmaudit::parse::sysfs::bool_param(&s);
                }
                2 => {
                    let _ = kvmaudit::parse::sysfs::node_meminfo_kb(&s, "MemTotal");
                }
                _ => {
                    let _ = kvmaudit::parse::cmdline::Cmdline::parse(&s).value("isolcpus");
                }
            }
        }
        "waivers_toml" => {
            let Ok(text) = std::str::from_utf8(data) else {
                return;
            };
            if let Ok(ws) = kvmaudit::rules::waivers::parse(text) {
                for w in &ws {
                    let _ = w.matches("qemu.blk.cache", "vm:db-1/drive:d0");
                    let _ = kvmaudit::rules::waivers::glob(&w.rule, &w.target);
                }
            }
        }
        "argv_file" => {
            if let Ok(f) = kvmaudit::parse::qemu::parse_argv_file(data) {
                let m = kvmaudit::model::vm::VmModel::from_argv(&f.argv);
                let _ = serde_json::to_string(&m);
            }
        }
        "host_files" => {
            let text = String::from_utf8_lossy(data);
            let mut snap = kvmaudit::rules::testkit::SnapBuilder::new().build();
            for rec in text.split('\u{1e}') {
                let (path, body) = rec.split_once('\n').unwrap_or((rec, ""));
                snap.files.insert(
                    path.to_string(),
                    kvmaudit::snapshot::Fact::Value(body.to_string()),
                );
            }
            let r = kvmaudit::rules::evaluate(&snap, Profile::Throughput, &[], "2026-06-01");
            let _ = serde_json::to_vec(&r);
        }
        "kconfig" => {
            if let Ok(text) = kvmaudit::collect::decode_kconfig(data) {
                let _ = kvmaudit::parse::kconfig::KernelConfig::parse(&text).hz();
            }
        }
        other => panic!("no exercise for fuzz target {other}"),
    }
}

fn timed(what: &str, f: impl FnOnce()) {
    let t = Instant::now();
    f();
    assert!(t.elapsed() < LIMIT, "{what} took {:?}", t.elapsed());
}

#[test]
fn recorded_inputs() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut n = 0;
    for target in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = target.file_name().to_string_lossy().into_owned();
        for input in std::fs::read_dir(target.path()).unwrap().flatten() {
            let data = std::fs::read(input.path()).unwrap();
            timed(&input.path().display().to_string(), || {
                exercise(&name, &data)
            });
            n += 1;
        }
    }
    assert!(n >= 2, "only {n} recorded inputs");
}

/// Hostile inputs too big to commit, built here.
#[test]
fn generated_inputs() {
    let ranges = "0-65535,".repeat(8000);
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        // 500 million set insertions before cpulist counted its members.
        ("sysfs_values", "repeated CPU ranges", [b"\x00", ranges.as_bytes()].concat()),
        (
            "host_files",
            "repeated ranges in isolated and nohz_full",
            format!(
                "/sys/devices/system/cpu/isolated\n{ranges}\u{1e}/proc/cmdline\nnohz_full={ranges} isolcpus={ranges}"
            )
            .into_bytes(),
        ),
        // A log whose every line opens a quote that never closes: still one pass.
        (
            "argv_file",
            "unterminated quotes in a log",
            [
                "2026-01-01 starting up 'oops\n".repeat(20_000).as_bytes(),
                b"/usr/bin/qemu-system-x86_64 -name guest=q -m 64\n",
            ]
            .concat(),
        ),
        // A 2 MiB command line (the most Linux starts by default): modelled in bounded time.
        (
            "argv_file",
            "2 MiB of devices",
            format!(
                "qemu-system-x86_64 {}\n",
                "-device virtio-blk-pci,drive=d0,id=v0 ".repeat(2 * 1024 * 1024 / 38)
            )
            .into_bytes(),
        ),
    ];
    for (target, what, data) in cases {
        timed(what, || exercise(target, &data));
    }
}

/// 100 MiB of zeros gzip to 100 KiB: decoding stops at the 64 MiB bound with an error instead
/// of truncating silently (and a bigger bomb cannot take more memory than the bound).
#[test]
fn kconfig_gzip_bomb() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b'\n'; 1024 * 1024];
    gz.write_all(b"CONFIG_KVM=y\n").unwrap();
    for _ in 0..100 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 1024 * 1024);
    timed("gzip bomb", || {
        let e = kvmaudit::collect::decode_kconfig(&bomb).unwrap_err();
        assert!(e.contains("more than"), "{e}");
    });
    exercise("kconfig", &bomb);
}
