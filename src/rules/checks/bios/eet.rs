//! bios.eet: Energy Efficient Turbo, visible only in MSR_POWER_CTL bit 19.

use super::msr::{cpus, Field};
use super::readers::not_intel;
use crate::model::msr::{eet_disabled, POWER_CTL};
use crate::rules::context::Ctx;
use crate::rules::outcome::Outcome;

const EXPECTED: &str = "1 (energy-efficient turbo disabled) on every CPU";

/// PASS when bit 19 (disable energy-efficiency optimisation) is set on every CPU read.
pub(super) fn bios_eet(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    let f = Field::read(ctx, POWER_CTL, "bit 19", |v| u8::from(eet_disabled(v)));
    let o = match f.all(|b| b == 1) {
        Some(true) => Outcome::pass(
            "host",
            "Energy Efficient Turbo is disabled in firmware (MSR_POWER_CTL bit 19 set on every CPU)",
        ),
        Some(false) => Outcome::fail(
            "host",
            format!(
                "Energy Efficient Turbo is enabled on {} (MSR_POWER_CTL bit 19 clear): set CPU P State Control → Energy Efficient Turbo = Disabled in firmware",
                cpus(&f.cpus_where(|b| b == 0))
            ),
        ),
        None => Outcome::unknown(
            "host",
            format!(
                "only MSR 0x1FC bit 19 shows Energy Efficient Turbo, and it was not read: {}",
                f.values.as_ref().err().map_or("", String::as_str)
            ),
        ),
    };
    vec![o.ev(f.source(ctx), f.observed(), EXPECTED)]
}

#[cfg(test)]
mod tests {
    use super::super::tests::{amd, msg, st};
    use crate::rules::testkit::SnapBuilder;

    #[test]
    fn eet_is_msr_only() {
        use crate::model::msr::POWER_CTL;
        let s = SnapBuilder::new().icx("vmx").build();
        assert_eq!(st(&s, "bios.eet"), "unknown");
        assert!(msg(&s, "bios.eet").starts_with("only MSR 0x1FC bit 19 shows"));
        assert_eq!(st(&amd().build(), "bios.eet"), "not_applicable");
        // A tuned host: bit 19 set on every CPU.
        let tuned = SnapBuilder::new()
            .icx("vmx")
            .msrs(4, &[(POWER_CTL, 0x1a00ac0059)])
            .build();
        assert_eq!(st(&tuned, "bios.eet"), "pass");
        // intel/pepc's icx2s0 value: bit 19 clear.
        let untuned = SnapBuilder::new()
            .icx("vmx")
            .msrs(2, &[(POWER_CTL, 0x1a00a40059)])
            .build();
        assert_eq!(st(&untuned, "bios.eet"), "fail");
        assert!(
            msg(&untuned, "bios.eet").contains("cpu0-1"),
            "{}",
            msg(&untuned, "bios.eet")
        );
    }
}
