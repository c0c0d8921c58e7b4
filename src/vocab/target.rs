//! What a finding is about, typed: the display string and, for a VM's findings, which VM.
//!
//! Targets used to be strings only (`vm:NAME/drive:ID`) that every consumer parsed back to
//! find the VM; they disagreed when a name held a `/`, and same-named VMs were pooled. The
//! engine now builds a [`Target`] that carries the VM's index in `Report::vms`; the string is
//! for display and waiver globs, never for grouping.

/// A finding's target: its display text and the VM it belongs to (`None`: the host).
///
/// No `Display` on purpose: formatting a VM target into a bigger string would drop the VM and
/// score its findings against the host. Use [`Target::child`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    text: String,
    vm: Option<usize>,
}

impl Target {
    /// The target of a VM: `vm:LABEL`, LABEL being the VM's display label (unique per report).
    pub fn vm(index: usize, label: &str) -> Target {
        Target {
            text: format!("vm:{label}"),
            vm: Some(index),
        }
    }

    /// A part of this target (`drive:ID`, `net:ID`, ...), which keeps its VM.
    pub fn child(&self, part: &str) -> Target {
        Target {
            text: format!("{}/{part}", self.text),
            vm: self.vm,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The VM's index in `Report::vms` (and `HostModel::vms`), `None` for host targets.
    pub fn vm_index(&self) -> Option<usize> {
        self.vm
    }

    pub fn into_parts(self) -> (String, Option<usize>) {
        (self.text, self.vm)
    }
}

/// Host targets are written as strings by the checks (`host`, `host/dev:BDF`, `node:0`).
impl From<String> for Target {
    fn from(text: String) -> Target {
        Target { text, vm: None }
    }
}

impl From<&str> for Target {
    fn from(text: &str) -> Target {
        Target::from(text.to_string())
    }
}

impl From<&String> for Target {
    fn from(text: &String) -> Target {
        Target::from(text.clone())
    }
}

impl From<&Target> for Target {
    fn from(t: &Target) -> Target {
        t.clone()
    }
}

impl PartialEq<str> for Target {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for Target {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_keeps_its_vm_and_a_host_string_has_none() {
        let t = Target::vm(3, "prod/evil");
        let d = t.child("drive:vd0");
        assert_eq!(d.as_str(), "vm:prod/evil/drive:vd0");
        assert_eq!(d.vm_index(), Some(3));
        assert_eq!(Target::from("host/dev:0000:3b:00.0").vm_index(), None);
    }
}
