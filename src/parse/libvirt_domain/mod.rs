//! libvirt domain XML: persistent definitions (`/etc/libvirt/qemu/NAME.xml`, `virsh dumpxml`)
//! and the status XML of running domains (`/run/libvirt/qemu/NAME.xml`, a `<domstatus pid=..>`
//! wrapping the live definition).
//!
//! A domain becomes the same [`VmModel`] a QEMU command line builds: it is lowered to the
//! command line libvirt would generate ([`lower`]) and that goes through
//! [`VmModel::from_argv`]. What argv never carries — `<cputune>` pinning — is kept beside it
//! in [`CpuTune`].

mod cputune;
mod devices;
mod lower;
mod tree;
mod units;

pub use cputune::CpuTune;

use crate::error::ParseError;
use crate::model::vm::VmModel;
use crate::snapshot::RawBytes;

/// Largest domain XML accepted (real ones are 2–30 KB; a status XML with many devices ~200 KB).
pub const MAX_DOMAIN_XML: u64 = 4 * 1024 * 1024;

/// One parsed domain definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    pub name: Option<String>,
    pub uuid: Option<String>,
    /// `<domain type=...>`: `kvm`, `qemu`, ...
    pub domain_type: Option<String>,
    /// `<domstatus pid=...>`: the QEMU process of a running domain (status XML only).
    pub status_pid: Option<u32>,
    /// The command line libvirt would generate, as far as kvmaudit models it.
    pub argv: Vec<RawBytes>,
    pub cputune: CpuTune,
    /// What the lowering could not express, one sentence each.
    pub notes: Vec<String>,
}

impl Domain {
    /// The VM model of this domain, with the lowering's notes first.
    pub fn model(&self) -> VmModel {
        let mut m = VmModel::from_argv(&self.argv);
        let mut notes = self.notes.clone();
        notes.append(&mut m.notes);
        m.notes = notes;
        m
    }
}

/// Parses a `<domain>` or a `<domstatus>` document.
pub fn parse(bytes: &[u8]) -> Result<Domain, ParseError> {
    if bytes.len() as u64 > MAX_DOMAIN_XML {
        return Err(ParseError::new(format!(
            "{} bytes: larger than the {MAX_DOMAIN_XML} bytes a domain XML may have",
            bytes.len()
        )));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ParseError::new(format!(
            "not UTF-8 (byte {}): not a domain XML",
            e.valid_up_to()
        ))
    })?;
    let root = tree::parse(text).map_err(ParseError::new)?;
    let (dom, status_pid) = match root.name.as_str() {
        "domain" => (&root, None),
        "domstatus" => {
            let pid = root
                .attr("pid")
                .and_then(|p| p.parse::<u32>().ok())
                .filter(|p| *p > 0);
            let dom = root.child("domain").ok_or_else(|| {
                ParseError::new("<domstatus> holds no <domain>: not a libvirt status XML")
            })?;
            (dom, pid)
        }
        other => {
            return Err(ParseError::new(format!(
                "root element <{other}>: not a libvirt domain (<domain> or <domstatus>)"
            )))
        }
    };
    let lowered = lower::lower(dom);
    Ok(Domain {
        name: dom.text_at(&["name"]).map(str::to_string),
        uuid: dom.text_at(&["uuid"]).map(str::to_string),
        domain_type: dom.attr("type").map(str::to_string),
        status_pid,
        argv: lowered
            .args
            .iter()
            .map(|s| RawBytes::from(s.as_str()))
            .collect(),
        cputune: CpuTune::from_domain(dom),
        notes: lowered.notes,
    })
}

#[cfg(test)]
mod tests;
