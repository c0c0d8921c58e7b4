//! Intel Optane persistent memory (guide §4): kernel support, App Direct provisioning,
//! device-DAX namespaces, vNVDIMM wiring and what the guest sees.
//!
//! Every rule here needs `pmem_present` (ACPI NFIT, an nd bus, or an Optane DIMM in SMBIOS).

use super::{Check, CheckFn};
use crate::report::target::Target;
use crate::rules::context::Ctx;
use crate::rules::outcome::Outcome;

mod appdirect;
mod devdax;
mod kconfig;
mod nvdimm;
mod visible;

pub const CHECKS: &[(&str, CheckFn)] = &[
    ("host.pmem.kconfig", Check::host(kconfig::pmem_kconfig)),
    (
        "host.pmem.appdirect",
        Check::host(appdirect::pmem_appdirect),
    ),
    ("host.pmem.devdax", Check::host(devdax::pmem_devdax)),
    ("qemu.pmem.nvdimm", Check::vm(nvdimm::pmem_nvdimm)),
    (
        "guest.pmem.visible",
        Check::vm(visible::pmem_visible).unless(visible::pmem_visible_inside),
    ),
];

/// `Err(outcome)` when PMem is absent or undeterminable.
fn need_pmem(ctx: &Ctx, target: impl Into<Target>) -> Result<(), Outcome> {
    match ctx.flags.pmem_present {
        Some(true) => Ok(()),
        Some(false) => Err(Outcome::na(
            target,
            "no persistent memory (no ACPI NFIT table, no nd bus, no Optane DIMM in SMBIOS)",
        )),
        None => Err(Outcome::unknown(
            target,
            "whether persistent memory is present could not be read (ACPI table list, /sys/bus/nd, SMBIOS)",
        )),
    }
}

/// `/dev/dax0.1` → `dax0.1`.
fn dax_name(path: &str) -> Option<&str> {
    let n = path.strip_prefix("/dev/")?;
    (n.starts_with("dax") && !n.contains('/')).then_some(n)
}

#[cfg(test)]
mod tests;
