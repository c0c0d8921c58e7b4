//! Print a synthetic (but realistically shaped) report, for trying the renderers by hand:
//! `cargo run --example sample_report -- [json|table|html] [SEED] [HOSTNAME] [VMS]`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let what = args.first().map(String::as_str).unwrap_or("json");
    let seed = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let host = args.get(2).cloned().unwrap_or_else(|| "hv01".into());
    let mut spec = kvmaudit::report::sample::Spec::new(seed, host);
    if let Some(n) = args.get(3).and_then(|s| s.parse().ok()) {
        spec.vms = n;
    }
    let r = kvmaudit::report::sample::report(&spec);
    match what {
        "table" => print!("{}", kvmaudit::report::table::render(&r)),
        "html" => print!("{}", kvmaudit::report::html::render(&r).unwrap_or_default()),
        _ => println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default()),
    }
}
