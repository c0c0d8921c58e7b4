//! What a finding is about, typed: the unit (host, host device, VM, drive, NIC, passed-through
//! device) and, for a VM's units, which VM.
//!
//! Targets used to be strings (`vm:NAME/drive:ID`) that every consumer parsed back to find the
//! VM; they disagreed when a name held a `/`, and same-named VMs were pooled. The engine now
//! builds a [`Target`] for each unit it hands a rule; the display string (`vm:LABEL/drive:ID`,
//! kept in the JSON for waiver globs and readers) is rendered once, at the edge, by
//! [`Target::render`] with the VM's label.

/// A finding's target. No `Display` on purpose: a VM target rendered without its VM's label
/// would be ambiguous; use [`Target::render`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The host as a whole.
    Host,
    /// A PCI function of the host, by its address (`host/dev:0000:65:00.0`).
    HostDevice(String),
    /// One VM, by its index in `Report::vms` (and `HostModel::vms`).
    Vm(usize),
    /// A VM's disk, by the id QEMU knows it by (`vm:LABEL/drive:ID`).
    Drive(usize, String),
    /// A VM's NIC (`vm:LABEL/net:ID`).
    Nic(usize, String),
    /// A host device passed through to a VM (`vm:LABEL/hostdev:ID`).
    Hostdev(usize, String),
    /// A target written as text by a caller outside the engine (tests, old reports); never a
    /// VM's, so it scores against the host.
    Text(String),
}

impl Target {
    /// The target of a VM.
    pub fn vm(index: usize) -> Target {
        Target::Vm(index)
    }

    /// A PCI function of the host.
    pub fn host_device(bdf: &str) -> Target {
        Target::HostDevice(bdf.to_string())
    }

    /// The VM's index in `Report::vms` (and `HostModel::vms`), `None` for host targets.
    pub fn vm_index(&self) -> Option<usize> {
        match self {
            Target::Vm(i) | Target::Drive(i, _) | Target::Nic(i, _) | Target::Hostdev(i, _) => {
                Some(*i)
            }
            Target::Host | Target::HostDevice(_) | Target::Text(_) => None,
        }
    }

    /// The display string: `host`, `host/dev:BDF`, `vm:LABEL`, `vm:LABEL/drive:ID`,
    /// `vm:LABEL/net:ID`, `vm:LABEL/hostdev:ID`. `label` gives a VM's display label by index
    /// (unique per report).
    pub fn render<'l>(&self, label: impl Fn(usize) -> &'l str) -> String {
        match self {
            Target::Host => "host".to_string(),
            Target::HostDevice(bdf) => format!("host/dev:{bdf}"),
            Target::Vm(i) => format!("vm:{}", label(*i)),
            Target::Drive(i, id) => format!("vm:{}/drive:{id}", label(*i)),
            Target::Nic(i, id) => format!("vm:{}/net:{id}", label(*i)),
            Target::Hostdev(i, id) => format!("vm:{}/hostdev:{id}", label(*i)),
            Target::Text(t) => t.clone(),
        }
    }

    /// The part below the VM (`drive:ID`, `net:ID`, `hostdev:ID`), `None` for a VM itself and
    /// for host targets.
    pub fn vm_part(&self) -> Option<String> {
        match self {
            Target::Drive(_, id) => Some(format!("drive:{id}")),
            Target::Nic(_, id) => Some(format!("net:{id}")),
            Target::Hostdev(_, id) => Some(format!("hostdev:{id}")),
            _ => None,
        }
    }
}

/// Checks name the host as `"host"`; any other text is kept as written (host scope).
impl From<&str> for Target {
    fn from(text: &str) -> Target {
        match text {
            "host" => Target::Host,
            other => Target::Text(other.to_string()),
        }
    }
}

impl From<String> for Target {
    fn from(text: String) -> Target {
        Target::from(text.as_str())
    }
}

impl From<&String> for Target {
    fn from(text: &String) -> Target {
        Target::from(text.as_str())
    }
}

impl From<&Target> for Target {
    fn from(t: &Target) -> Target {
        t.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendering_puts_the_label_in_and_keeps_the_vm() {
        let label = |i: usize| if i == 3 { "prod/evil" } else { "?" };
        let d = Target::Drive(3, "vd0".into());
        assert_eq!(d.render(label), "vm:prod/evil/drive:vd0");
        assert_eq!(d.vm_index(), Some(3));
        assert_eq!(
            Target::Nic(3, "net0".into()).render(label),
            "vm:prod/evil/net:net0"
        );
        assert_eq!(
            Target::Hostdev(3, "hostdev0".into()).render(label),
            "vm:prod/evil/hostdev:hostdev0"
        );
        assert_eq!(Target::vm(3).render(label), "vm:prod/evil");
        let dev = Target::host_device("0000:3b:00.0");
        assert_eq!(dev.render(label), "host/dev:0000:3b:00.0");
        assert_eq!(dev.vm_index(), None);
        assert_eq!(Target::from("host"), Target::Host);
        assert_eq!(Target::from("host").render(label), "host");
    }
}
