//! libvirt domains next to the running QEMU processes: status XML adds `<cputune>` to the
//! process it names by pid; definitions with no running process become VMs of their own,
//! "defined, not running".
//!
//! A running domain is never also listed as defined: a definition is running when a QEMU
//! process or a status XML carries its uuid (its name, when either side has no uuid).

use super::host::{Vm, VmState};
use crate::parse::libvirt_domain::{self, Domain};
use crate::snapshot::{DomainXmlKind, Fact, Snapshot};

/// (running VMs with their status pinning, defined-not-running VMs, notes).
pub fn attach(s: &Snapshot, mut running: Vec<Vm>) -> (Vec<Vm>, Vec<Vm>, Vec<String>) {
    let mut notes = Vec::new();
    let mut statuses: Vec<Domain> = Vec::new();
    let mut definitions: Vec<(String, Domain)> = Vec::new();
    for f in &s.domain_xml {
        let text = match &f.xml {
            Fact::Value(t) => t,
            Fact::Error(e) => {
                notes.push(format!("{}: {}: domain not audited", f.path, e.describe()));
                continue;
            }
        };
        match libvirt_domain::parse(text.as_bytes()) {
            Ok(d) if f.kind == DomainXmlKind::Status => statuses.push(d),
            Ok(d) => definitions.push((f.path.clone(), d)),
            Err(e) => notes.push(format!(
                "{}: not a libvirt domain XML ({}): domain not audited",
                f.path, e.0
            )),
        }
    }
    for st in &statuses {
        let Some(pid) = st.status_pid else { continue };
        if let Some(vm) = running.iter_mut().find(|v| v.pid == Some(pid)) {
            vm.cputune = Some(st.cputune.clone());
        }
    }
    let is_running = |d: &Domain| {
        let same = |uuid: Option<&str>, name: Option<&str>| match (d.uuid.as_deref(), uuid) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => d.name.is_some() && d.name.as_deref() == name,
        };
        running
            .iter()
            .any(|v| same(v.model.uuid.as_deref(), v.model.name.as_deref()))
            || statuses
                .iter()
                .any(|st| same(st.uuid.as_deref(), st.name.as_deref()))
    };
    let first = running.len();
    let mut defined = Vec::new();
    for (path, d) in definitions {
        // The running VM is audited from its process; its definition would repeat it.
        if is_running(&d) {
            continue;
        }
        defined.push(Vm {
            index: first + defined.len(),
            pid: None,
            source: path,
            model: d.model(),
            label: String::new(),
            state: VmState::DefinedNotRunning,
            cputune: Some(d.cputune),
        });
    }
    (running, defined, notes)
}
