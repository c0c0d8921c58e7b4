//! Terminal rendering of a report (comfy-table).

use super::Report;
use comfy_table::{presets::UTF8_FULL, Table};

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|x| x.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The host identity, VMs and findings as plain text tables.
pub fn render(r: &Report) -> String {
    let h = &r.host;
    let mut t = Table::new();
    t.load_style(UTF8_FULL);
    t.set_header(vec!["host", &opt(&h.hostname)]);
    let cpu = format!(
        "{} {} (family {} model {} stepping {})",
        opt(&h.cpu.vendor),
        h.cpu
            .codename
            .clone()
            .unwrap_or_else(|| "unknown part".into()),
        opt(&h.cpu.family),
        h.cpu
            .model
            .map(|m| format!("{m:#x}"))
            .unwrap_or_else(|| "unknown".into()),
        opt(&h.cpu.stepping)
    );
    t.add_row(vec!["source".to_string(), h.source.clone()]);
    t.add_row(vec!["cpu".to_string(), cpu]);
    t.add_row(vec![
        "topology".to_string(),
        format!(
            "{} sockets, {} cores, {} threads, {} NUMA nodes",
            opt(&h.cpu.sockets),
            opt(&h.cpu.cores),
            opt(&h.cpu.threads),
            opt(&h.numa_nodes)
        ),
    ]);
    t.add_row(vec![
        "platform".to_string(),
        format!(
            "{} {} (BIOS {} {})",
            opt(&h.platform.vendor),
            opt(&h.platform.product),
            opt(&h.platform.bios_vendor),
            opt(&h.platform.bios_version)
        ),
    ]);
    t.add_row(vec!["kernel".to_string(), opt(&h.kernel.release)]);
    t.add_row(vec!["profile".to_string(), r.profile.as_str().to_string()]);
    let mut out = t.to_string();
    out.push('\n');
    if !r.vms.is_empty() {
        let mut v = Table::new();
        v.load_style(UTF8_FULL);
        v.set_header(vec!["VM", "pid", "source"]);
        for vm in &r.vms {
            v.add_row(vec![vm.name.clone(), opt(&vm.pid), vm.source.clone()]);
        }
        out.push_str(&v.to_string());
        out.push('\n');
    } else {
        out.push_str("No running QEMU VMs found.\n");
    }
    for n in &r.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}
