//! host.pmem.devdax: devdax namespaces bound to device_dax, and every VM backend exists.

use super::{dax_name, need_pmem};
use crate::rules::context::Ctx;
use crate::rules::facts::pmem::{
    dax_devices, dev_node_listed, namespaces, regions, DaxDevice, Namespace, DAX, ND,
};
use crate::rules::facts::units::human;
use crate::rules::outcome::Outcome;

/// The dax devices by the driver that owns them.
struct ByDriver {
    device_dax: Vec<String>,
    kmem: Vec<String>,
}

pub(super) fn pmem_devdax(ctx: &Ctx) -> Vec<Outcome> {
    if let Err(o) = need_pmem(ctx, "host") {
        return vec![o];
    }
    match regions(ctx) {
        Ok(r) if r.iter().any(|r| r.is_app_direct()) => {}
        Ok(_) | Err(None) => {
            return vec![Outcome::na(
                "host",
                "no App Direct region: there is nothing to carve devdax namespaces from",
            )]
        }
        Err(Some(why)) => return vec![Outcome::unknown("host", why.clone())],
    }
    let namespaces = match namespaces(ctx) {
        Ok(n) => n,
        Err(why) => return vec![Outcome::unknown("host", why)],
    };
    let daxes = match dax_devices(ctx) {
        Ok(d) => d,
        Err(why) => return vec![Outcome::unknown("host", why)],
    };
    let by_driver = ByDriver {
        device_dax: owned_by(&daxes, "device_dax"),
        kmem: owned_by(&daxes, "kmem"),
    };
    let missing = unusable_backends(ctx, &daxes, &by_driver.kmem);
    let devdax_ns = namespaces
        .iter()
        .filter(|n| n.mode == "dax" || n.mode == "devdax")
        .count();
    let o = verdict(&missing, &by_driver, devdax_ns);
    vec![evidence(o, &namespaces, &daxes)]
}

fn owned_by(daxes: &[DaxDevice], driver: &str) -> Vec<String> {
    daxes
        .iter()
        .filter(|d| d.driver.as_deref() == Some(driver))
        .map(|d| d.name.clone())
        .collect()
}

/// VM backends that name a `/dev/daxX.Y` which does not exist or became system RAM.
fn unusable_backends(ctx: &Ctx, daxes: &[DaxDevice], kmem: &[String]) -> Vec<String> {
    let mut missing = Vec::new();
    for vm in &ctx.host.vms {
        for d in vm.model.nvdimms() {
            let Some(path) = d.backend.as_ref().and_then(|b| b.mem_path.as_deref()) else {
                continue;
            };
            let Some(name) = dax_name(path) else { continue };
            let exists = dev_node_listed(ctx, name) || daxes.iter().any(|x| x.name == name);
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
    missing
}

fn verdict(missing: &[String], by: &ByDriver, devdax_ns: usize) -> Outcome {
    if !missing.is_empty() {
        Outcome::fail(
            "host",
            format!(
                "vNVDIMM backends are missing or unusable: {}",
                missing.join("; ")
            ),
        )
    } else if !by.device_dax.is_empty() {
        let mut o = Outcome::pass(
            "host",
            format!("device-DAX available for VMs: {}", by.device_dax.join(", ")),
        );
        if !by.kmem.is_empty() {
            o.message.push_str(&format!(
                "; {} became system RAM (kmem) and cannot back a vNVDIMM",
                by.kmem.join(", ")
            ));
        }
        o
    } else if !by.kmem.is_empty() {
        Outcome::warn(
            "host",
            format!(
                "{} bound to kmem: the PMem became system RAM and cannot back a vNVDIMM",
                by.kmem.join(", ")
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
    }
}

/// The namespaces' modes and the dax devices' drivers.
fn evidence(o: Outcome, namespaces: &[Namespace], daxes: &[DaxDevice]) -> Outcome {
    let ns_desc: Vec<String> = namespaces
        .iter()
        .map(|n| format!("{} mode {} {}", n.name, n.mode, human(n.size)))
        .collect();
    let dax_desc: Vec<String> = daxes
        .iter()
        .map(|d| {
            format!(
                "{} → {}",
                d.name,
                d.driver.as_deref().unwrap_or("no driver")
            )
        })
        .collect();
    o.ev(
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
    )
}
