//! host.pmem.appdirect: persistent memory is provisioned in App Direct mode.

use super::need_pmem;
use crate::rules::context::Ctx;
use crate::rules::facts::pmem::{regions, Region, ND};
use crate::rules::facts::units::human;
use crate::rules::outcome::Outcome;

pub(super) fn pmem_appdirect(ctx: &Ctx) -> Vec<Outcome> {
    if let Err(o) = need_pmem(ctx, "host") {
        return vec![o];
    }
    let regs = match regions(ctx) {
        Ok(r) => r,
        Err(None) => {
            return vec![Outcome::unknown(
                "host",
                "PMem is present but there is no nd bus (nfit/libnvdimm not loaded?): App Direct and Memory Mode cannot be told apart",
            )
            .ev(ND, "absent", "region* with devtype nd_pmem")]
        }
        Err(Some(why)) => return vec![Outcome::unknown("host", why.clone())],
    };
    let pmem: Vec<&Region> = regs.iter().filter(|r| r.is_app_direct()).collect();
    let desc = regs
        .iter()
        .map(|r| {
            format!(
                "{} {} {}{}",
                r.name,
                r.devtype.as_deref().unwrap_or("?"),
                r.size.map(human).unwrap_or_else(|| "size ?".into()),
                r.node
                    .as_deref()
                    .map(|n| format!(" node {n}"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let o = if !pmem.is_empty() {
        let total: u64 = pmem
            .iter()
            .filter_map(|r| r.size)
            .fold(0u64, u64::saturating_add);
        Outcome::pass(
            "host",
            format!(
                "{} of persistent memory is provisioned in App Direct mode ({} region{})",
                human(total),
                pmem.len(),
                if pmem.len() == 1 { "" } else { "s" }
            ),
        )
    } else {
        Outcome::fail(
            "host",
            "PMem is present but no App Direct (nd_pmem) region exists: the modules are in Memory Mode (or a new goal is pending a reboot)",
        )
    };
    let mut o = o.ev(
        format!("{ND}/region*"),
        if desc.is_empty() {
            "no regions".into()
        } else {
            desc
        },
        "a region with devtype nd_pmem and non-zero size",
    );
    if let Some(p) = &ctx.host.platform {
        let optane: Vec<String> = p
            .memory_devices
            .iter()
            .filter(|d| {
                d.technology
                    .as_deref()
                    .is_some_and(|t| t.to_ascii_lowercase().contains("optane"))
            })
            .map(|d| {
                format!(
                    "{}: non-volatile {} volatile {}",
                    d.locator,
                    d.non_volatile_size.map(human).unwrap_or_else(|| "?".into()),
                    d.volatile_size.map(human).unwrap_or_else(|| "?".into())
                )
            })
            .collect();
        if !optane.is_empty() {
            o = o.ev(
                "SMBIOS type 17",
                optane.join("; "),
                "non-volatile capacity > 0",
            );
        }
    }
    vec![o]
}
