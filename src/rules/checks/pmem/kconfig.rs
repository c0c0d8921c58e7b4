//! host.pmem.kconfig: the kernel has the PMem/device-DAX stack (catalogue §5.13, corrected).

use super::need_pmem;
use crate::parse::kconfig::{KernelConfig, Symbol};
use crate::report::Status;
use crate::rules::context::Ctx;
use crate::rules::facts::kernel::kernel_version;
use crate::rules::facts::kernel::{kconfig_release, kconfig_source, kconfig_why_missing};
use crate::rules::outcome::Outcome;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// y or m.
    Tristate,
    /// y only.
    Bool,
}

/// The corrected list of catalogue §5.13: what PMem + device-DAX need.
const REQUIRED: &[(&str, Kind)] = &[
    ("ACPI_NFIT", Kind::Tristate),
    ("LIBNVDIMM", Kind::Tristate),
    ("BLK_DEV_PMEM", Kind::Tristate),
    ("ND_BTT", Kind::Tristate),
    ("BTT", Kind::Bool),
    ("ND_PFN", Kind::Tristate),
    ("NVDIMM_PFN", Kind::Bool),
    ("NVDIMM_DAX", Kind::Bool),
    ("DAX", Kind::Tristate),
    ("DEV_DAX", Kind::Tristate),
    ("DEV_DAX_PMEM", Kind::Tristate),
    ("FS_DAX", Kind::Bool),
    ("ZONE_DEVICE", Kind::Bool),
    ("TRANSPARENT_HUGEPAGE", Kind::Bool),
];

/// Symbols that only exist before a release: (symbol, kind, first release without it).
const VERSIONED: &[(&str, Kind, (u32, u32))] = &[
    ("ND_BLK", Kind::Tristate, (5, 18)),
    ("DAX_DRIVER", Kind::Bool, (5, 17)),
];

/// Symbols a config may leave out because another one proves them on: (symbol, symbols that
/// depend on it or `select` it). Packaging configs (RHEL's) omit selected symbols, e.g.
/// `CONFIG_DEV_DAX=m` without a `CONFIG_DAX` line although DEV_DAX sits inside `if DAX`.
const IMPLIED_BY: &[(&str, &[&str])] = &[
    // drivers/dax/Kconfig: DEV_DAX and DEV_DAX_PMEM are inside `if DAX`; BLK_DEV_PMEM and
    // FS_DAX `select DAX`.
    (
        "DAX",
        &["DEV_DAX", "DEV_DAX_PMEM", "BLK_DEV_PMEM", "FS_DAX"],
    ),
    // drivers/nvdimm/Kconfig before 5.17: BLK_DEV_PMEM `select DAX_DRIVER`.
    ("DAX_DRIVER", &["BLK_DEV_PMEM"]),
];

/// The enabled symbol that proves `sym` on although the config does not list it.
fn implied_by(k: &KernelConfig, sym: &str) -> Option<String> {
    let (_, deps) = IMPLIED_BY.iter().find(|(s, _)| *s == sym)?;
    deps.iter().find_map(|d| match k.get(d) {
        Symbol::Set(v) if v == "y" || v == "m" => Some(format!("{d}={v}")),
        _ => None,
    })
}

/// Reported, never demanded: derived automatically, or optional.
const REPORTED: &[&str] = &["ND_CLAIM", "FS_DAX_PMD", "DEV_DAX_KMEM", "X86_PMEM_LEGACY"];

/// The symbols this kernel release needs, and notes on the versioned ones it does not.
fn needed_for(version: Option<(u32, u32)>) -> (Vec<(&'static str, Kind)>, Vec<String>) {
    let mut needed: Vec<(&'static str, Kind)> = REQUIRED.to_vec();
    let mut notes = Vec::new();
    for (sym, kind, gone) in VERSIONED {
        match version {
            Some(v) if v < *gone => needed.push((sym, *kind)),
            Some(_) => notes.push(format!(
                "{sym} no longer exists since {}.{} (not required)",
                gone.0, gone.1
            )),
            None => notes.push(format!("{sym}: kernel release unknown, not judged")),
        }
    }
    (needed, notes)
}

/// Each needed symbol, judged against the config.
struct Judged {
    /// Off, or a bool set to m.
    missing: Vec<String>,
    /// Not mentioned by a config that is not complete: absent there is not off.
    unknown: Vec<String>,
    /// What the config says of every needed symbol, for the evidence.
    seen: Vec<String>,
}

fn judge(k: &KernelConfig, needed: &[(&str, Kind)], complete: bool) -> Judged {
    let mut missing = Vec::new();
    let mut unknown = Vec::new();
    let mut seen = Vec::new();
    for (sym, kind) in needed {
        match k.get(sym) {
            Symbol::Set(v) => {
                let ok = match kind {
                    Kind::Tristate => v == "y" || v == "m",
                    Kind::Bool => v == "y",
                };
                seen.push(format!("{sym}={v}"));
                if !ok {
                    missing.push(format!(
                        "{sym}={v} ({} needed)",
                        if *kind == Kind::Bool { "y" } else { "y or m" }
                    ));
                }
            }
            Symbol::NotSet => {
                seen.push(format!("{sym} not set"));
                missing.push(format!("{sym} is not set"));
            }
            Symbol::Absent if complete => {
                seen.push(format!("{sym} absent"));
                missing.push(format!("{sym} is absent (its dependencies are off)"));
            }
            Symbol::Absent => match implied_by(k, sym) {
                Some(by) => seen.push(format!("{sym} implied by {by}")),
                None => {
                    seen.push(format!("{sym} absent"));
                    unknown.push(sym.to_string());
                }
            },
        }
    }
    Judged {
        missing,
        unknown,
        seen,
    }
}

pub(super) fn pmem_kconfig(ctx: &Ctx) -> Vec<Outcome> {
    if let Err(o) = need_pmem(ctx, "host") {
        return vec![o];
    }
    let Some(k) = &ctx.host.kconfig else {
        return vec![Outcome::unknown(
            "host",
            format!(
                "kernel configuration unavailable ({}: {})",
                kconfig_source(ctx),
                kconfig_why_missing(ctx)
            ),
        )];
    };
    let release = kconfig_release(ctx);
    let version = release.as_deref().and_then(kernel_version);
    // A full .config lists every visible symbol; a packaging input or a fragment says nothing
    // about absent ones.
    let complete = k.is_complete();
    let (needed, notes) = needed_for(version);
    let Judged {
        missing,
        unknown,
        seen,
    } = judge(k, &needed, complete);
    let reported: Vec<String> = REPORTED
        .iter()
        .map(|s| match k.get(s) {
            Symbol::Set(v) => format!("{s}={v}"),
            Symbol::NotSet => format!("{s} not set"),
            Symbol::Absent => format!("{s} absent"),
        })
        .collect();
    let mut o = if !missing.is_empty() {
        Outcome::fail(
            "host",
            format!("the kernel lacks PMem/DAX support: {}", missing.join(", ")),
        )
    } else if !unknown.is_empty() {
        Outcome::unknown(
            "host",
            format!(
                "the configuration is not a complete .config (no kconfig header, or a packaging input) and does not mention {}: absent there is not off",
                unknown.join(", ")
            ),
        )
    } else {
        Outcome::pass(
            "host",
            format!(
                "the kernel has the whole PMem/device-DAX stack ({} symbols, ACPI_NFIT included)",
                needed.len()
            ),
        )
    };
    if !notes.is_empty() && o.status != Status::Fail {
        o.message.push_str(&format!("; {}", notes.join("; ")));
    }
    o = o
        .ev(
            format!(
                "{} (kernel {})",
                kconfig_source(ctx),
                release.as_deref().unwrap_or("?")
            ),
            seen.join(", "),
            "tristates y or m, bools y",
        )
        .ev("kconfig (derived / optional)", reported.join(", "), "");
    vec![o]
}
