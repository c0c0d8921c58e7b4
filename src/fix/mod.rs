//! `kvmaudit fix --generate-script`: failed/warn findings → a plan of typed steps → one bash
//! script an admin reviews and then runs (design.md, "Remediation script").
//!
//! - [`plan`]: which findings become steps, which stay advice;
//! - [`builders`]: one fix builder per rule, in one registry keyed by rule id (host steps, and
//!   virt-xml edits of libvirt domains); they read facts and the findings' typed data;
//! - [`step`]: the step kinds (sysfs/procfs writes, config lines, kernel arguments, mounts);
//! - [`bash`]: the script (dry run by default, `--apply`, backups, rollback.sh);
//! - [`libvirt`]: VM-level advice and the optional per-domain XML fragments;
//! - [`facts`], [`quote`]: the host facts and how host data is kept inert.
//!
//! The generator reads; it writes nothing but its output (and the XML fragments when asked).

pub mod bash;
pub mod builders;
pub mod facts;
pub mod identity;
pub mod libvirt;
pub mod plan;
pub mod quote;
pub mod step;

use crate::report::Report;
use crate::snapshot::Snapshot;

/// What to generate.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only these rule ids (all when empty).
    pub only: Vec<String>,
    /// Also produce one libvirt XML fragment per domain.
    pub libvirt_xml: bool,
    /// Where the findings came from, for the header.
    pub source: String,
    /// RFC 3339 time for the header.
    pub generated_at: String,
    /// Extra notes for the reviewer (printed in the header).
    pub notes: Vec<String>,
    /// The host the script is bound to; by default the snapshot's (else the report's name).
    pub identity: Option<identity::HostIdentity>,
}

/// The generator's output.
#[derive(Debug, Clone)]
pub struct Generated {
    pub script: String,
    /// (file name, content) per domain, when asked for.
    pub fragments: Vec<(String, String)>,
    pub plan: plan::Plan,
}

/// Build the script for `report`. `snapshot` holds the facts steps are made from; without it
/// they come from the report's evidence.
pub fn generate(report: &Report, snapshot: Option<&Snapshot>, opts: &Options) -> Generated {
    let rebuilt;
    let facts = match snapshot {
        Some(s) => facts::Facts::new(s, false),
        None => {
            rebuilt = facts::snapshot_from_report(report);
            facts::Facts::new(&rebuilt, true)
        }
    };
    let mut plan = plan::build(report, &facts, &opts.only);
    plan.notes.splice(0..0, opts.notes.iter().cloned());
    let bound = opts.identity.clone().unwrap_or_else(|| match snapshot {
        Some(s) => identity::of_snapshot(s),
        None => identity::HostIdentity {
            hostname: report.host.hostname.as_deref().and_then(identity::hostname),
            ..Default::default()
        },
    });
    let script = bash::render(
        &plan,
        report,
        &bash::Header {
            generated_at: &opts.generated_at,
            source: opts.source.clone(),
            identity: &bound,
        },
    );
    let mut fragments = Vec::new();
    if opts.libvirt_xml {
        let mut used = std::collections::BTreeSet::new();
        for (vm, list) in &plan.vm_findings {
            if let Some(xml) = libvirt::fragment(vm, list, report, &opts.generated_at) {
                let mut name = format!("{}.xml", quote::file_stem(&vm.label));
                let mut i = 2;
                while !used.insert(name.clone()) {
                    name = format!("{}-{i}.xml", quote::file_stem(&vm.label));
                    i += 1;
                }
                fragments.push((name, xml));
            }
        }
    }
    Generated {
        script,
        fragments,
        plan,
    }
}
