//! host.pmem.devdax: devdax namespaces bound to device_dax, and every VM backend exists.

use super::{dax_name, is_pmem_region, need_pmem, num, regions, DAX, ND};
use crate::rules::context::Ctx;
use crate::rules::facts::units::human;
use crate::rules::outcome::Outcome;

fn dax_driver(ctx: &Ctx, dax: &str) -> Option<String> {
    ctx.link(&format!("{DAX}/{dax}/driver")).map(|l| {
        l.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(l)
            .to_string()
    })
}

pub(super) fn pmem_devdax(ctx: &Ctx) -> Vec<Outcome> {
    if let Err(o) = need_pmem(ctx, "host") {
        return vec![o];
    }
    match regions(ctx) {
        Ok(r) if r.iter().any(is_pmem_region) => {}
        Ok(_) | Err(None) => {
            return vec![Outcome::na(
                "host",
                "no App Direct region: there is nothing to carve devdax namespaces from",
            )]
        }
        Err(Some(why)) => return vec![Outcome::unknown("host", why)],
    }
    let names = match ctx.dir(ND) {
        Ok(n) => n,
        Err(_) => return vec![Outcome::unknown("host", format!("{ND} unreadable"))],
    };
    let mut ns_desc = Vec::new();
    let mut devdax_ns = 0;
    for n in names.iter().filter(|n| n.starts_with("namespace")) {
        let size = num(ctx, &format!("{ND}/{n}/size")).unwrap_or(0);
        if size == 0 {
            continue; // seed namespace
        }
        let mode = ctx
            .text(&format!("{ND}/{n}/mode"))
            .unwrap_or("?")
            .to_string();
        if mode == "dax" || mode == "devdax" {
            devdax_ns += 1;
        }
        ns_desc.push(format!("{n} mode {mode} {}", human(size)));
    }
    let daxes: Vec<String> = match ctx.dir(DAX) {
        Ok(d) => d.iter().filter(|n| n.starts_with("dax")).cloned().collect(),
        Err(None) => Vec::new(),
        Err(Some(e)) => return vec![Outcome::unknown("host", format!("{DAX}: {}", e.describe()))],
    };
    let mut device_dax = Vec::new();
    let mut kmem = Vec::new();
    let mut dax_desc = Vec::new();
    for d in &daxes {
        let drv = dax_driver(ctx, d);
        match drv.as_deref() {
            Some("device_dax") => device_dax.push(d.clone()),
            Some("kmem") => kmem.push(d.clone()),
            _ => {}
        }
        dax_desc.push(format!("{d} → {}", drv.as_deref().unwrap_or("no driver")));
    }
    // VM backends that name a /dev/daxX.Y.
    let mut missing = Vec::new();
    for vm in &ctx.host.vms {
        for d in vm.model.nvdimms() {
            let Some(path) = d.backend.as_ref().and_then(|b| b.mem_path.as_deref()) else {
                continue;
            };
            let Some(name) = dax_name(path) else { continue };
            let exists = ctx.dir_has("/dev", name) == Some(true) || daxes.iter().any(|x| x == name);
            if !exists {
                missing.push(format!("{}: {path}", vm.name()));
            } else if kmem.iter().any(|k| k == name) {
                missing.push(format!(
                    "{}: {path} is bound to kmem (system RAM)",
                    vm.name()
                ));
            }
        }
    }
    let o = if !missing.is_empty() {
        Outcome::fail(
            "host",
            format!(
                "vNVDIMM backends are missing or unusable: {}",
                missing.join("; ")
            ),
        )
    } else if !device_dax.is_empty() {
        let mut o = Outcome::pass(
            "host",
            format!("device-DAX available for VMs: {}", device_dax.join(", ")),
        );
        if !kmem.is_empty() {
            o.message.push_str(&format!(
                "; {} became system RAM (kmem) and cannot back a vNVDIMM",
                kmem.join(", ")
            ));
        }
        o
    } else if !kmem.is_empty() {
        Outcome::warn(
            "host",
            format!(
                "{} bound to kmem: the PMem became system RAM and cannot back a vNVDIMM",
                kmem.join(", ")
            ),
        )
    } else {
        Outcome::warn(
            "host",
            format!(
                "no devdax namespace bound to device_dax{}: create one with ndctl create-namespace --mode=devdax",
                if devdax_ns > 0 { " (a dax namespace exists but no daxX.Y device is bound)" } else { "" }
            ),
        )
    };
    vec![o
        .ev(
            format!("{ND}/namespace*/mode"),
            if ns_desc.is_empty() {
                "no namespaces".into()
            } else {
                ns_desc.join(", ")
            },
            "mode dax (devdax)",
        )
        .ev(
            format!("{DAX}/*/driver"),
            if dax_desc.is_empty() {
                "no dax devices".into()
            } else {
                dax_desc.join(", ")
            },
            "device_dax",
        )]
}
