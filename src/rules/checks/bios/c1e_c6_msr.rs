//! bios.c1e and bios.c6 with MSR evidence: MSR_POWER_CTL bit 1 (C1E auto-promotion) and the
//! firmware package C-state limit of MSR_PKG_CST_CONFIG_CONTROL, over the OS view of cstates.rs.

use super::cstates::{cstate_rule, C1E_MSR_ONLY};
use super::idle_states::CState;
use super::msr::{combine, cpus, Field, Says};
use crate::model::msr as mr;
use crate::rules::context::Ctx;
use crate::rules::outcome::Outcome;

pub(super) fn bios_c1e(ctx: &Ctx) -> Vec<Outcome> {
    let f = Field::read(ctx, mr::POWER_CTL, "bit 1 (C1E auto-promotion)", |v| {
        u8::from(mr::c1e_promotion(v))
    });
    if f.values.is_err() {
        return cstate_rule(ctx, CState::C1e);
    }
    let on = f.cpus_where(|b| b == 1);
    let says = if !on.is_empty() {
        Says::Bad(format!("MSR_POWER_CTL bit 1 (C1E auto-promotion) is set on {}: the hardware promotes C1 to C1E whatever the idle states say", cpus(&on)))
    } else {
        Says::Good("MSR_POWER_CTL bit 1 (C1E auto-promotion) is clear on every CPU".into())
    };
    cstate_rule(ctx, CState::C1e)
        .into_iter()
        .map(|o| {
            // Bit 1 clear proves no promotion, which decides only where the OS shows no C1E
            // state (acpi_idle, no driver); intel_idle clears it itself on Ice Lake-SP.
            let decides = o.message.contains(C1E_MSR_ONLY);
            let says = match &says {
                Says::Good(_) if !decides => Says::Nothing,
                s => says_clone(s),
            };
            let mut o = combine(o, says, decides);
            o.evidence
                .retain(|e| !e.source.starts_with("MSR 0x1FC bit 1"));
            f.row_if_read(ctx, o, "0 on every CPU")
        })
        .collect()
}

fn says_clone(s: &Says) -> Says {
    match s {
        Says::Good(m) => Says::Good(m.clone()),
        Says::Bad(m) => Says::Bad(m.clone()),
        Says::Nothing => Says::Nothing,
    }
}

/// C6 from the OS view; MSR_PKG_CST_CONFIG_CONTROL adds the firmware package C-state limit,
/// which bounds what guests with cpu-pm=on can reach but not core C6 itself: it informs the
/// finding without changing its status.
pub(super) fn bios_c6(ctx: &Ctx) -> Vec<Outcome> {
    let f = Field::read(
        ctx,
        mr::PKG_CST_CONFIG_CONTROL,
        "bits 3:0 package C-state limit, bit 15 lock",
        |v| (mr::pkg_cstate_limit(v), mr::pkg_cst_locked(v)),
    );
    let limit = match &f.values {
        Ok(v) => v.values().next().copied(),
        Err(_) => None,
    };
    cstate_rule(ctx, CState::C6)
        .into_iter()
        .map(|mut o| {
            let Some((lim, locked)) = limit else { return o };
            o.message.push_str(&format!(
                "; firmware package C-state limit {lim} ({}{}){}",
                mr::icx_pkg_limit_name(lim),
                if locked { ", locked" } else { "" },
                if mr::pkg_limit_blocks_pc6(lim) {
                    ": the package never reaches PC6, even for guests with cpu-pm=on"
                } else {
                    ""
                }
            ));
            let row = match &f.values {
                Ok(v) => mr::by_value(v.iter().map(|(c, (l, k))| {
                    (*c, format!("limit {l}{}", if *k { " locked" } else { "" }))
                })),
                Err(w) => w.clone(),
            };
            o.ev(f.source(ctx), row, "limit 0-1 (no package C6)")
        })
        .collect()
}
