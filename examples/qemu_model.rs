//! Prints the VM model of QEMU argv files as JSON, or (with `--time`) how long parsing them
//! takes: `cargo run --release --example qemu_model -- --time fixtures/libvirt-args/v11.3.0/qemuxmlconfdata/*.args`.

use kvmaudit::model::vm::VmModel;
use kvmaudit::parse::qemu::parse_argv_file;
use std::time::Instant;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let time = args.first().is_some_and(|a| a == "--time");
    if time {
        args.remove(0);
    }
    let files: Vec<(String, Vec<u8>)> = args
        .iter()
        .filter_map(|p| match std::fs::read(p) {
            Ok(b) => Some((p.clone(), b)),
            Err(e) => {
                eprintln!("{p}: {e}");
                None
            }
        })
        .collect();
    let start = Instant::now();
    let mut models = Vec::new();
    for (path, bytes) in &files {
        match parse_argv_file(bytes) {
            Ok(f) => models.push((path, VmModel::from_argv(&f.argv))),
            Err(e) => eprintln!("{path}: {e}"),
        }
    }
    let elapsed = start.elapsed();
    if time {
        println!(
            "parsed {} files into VM models in {:?}",
            models.len(),
            elapsed
        );
        return;
    }
    for (path, m) in models {
        println!("# {path}");
        match serde_json::to_string_pretty(&m) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("{path}: {e}"),
        }
    }
}
