//! The cpuidle driver the kernel runs (`intel_idle`, `acpi_idle`, `haltpoll`, or none when
//! `idle=` overrides cpuidle).

use crate::rules::context::Ctx;

const CURRENT_DRIVER: &str = "/sys/devices/system/cpu/cpuidle/current_driver";

/// The current cpuidle driver with the path it was read from, when readable.
pub(crate) fn current_driver(ctx: &Ctx) -> Option<(&'static str, String)> {
    ctx.text(CURRENT_DRIVER)
        .map(|d| (CURRENT_DRIVER, d.to_string()))
}
