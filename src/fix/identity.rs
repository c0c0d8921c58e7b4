//! The host a remediation script is made for: hostname, /etc/machine-id and the SMBIOS system
//! UUID, from the snapshot. The script compares them with the running host before any change.
//!
//! The smallest reader `fix` needs: the fleet work adds a `HostIdentity` to the model and the
//! report; this one reads the same facts and keeps only well-formed values.

use crate::snapshot::Snapshot;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostIdentity {
    pub hostname: Option<String>,
    pub machine_id: Option<String>,
    pub smbios_uuid: Option<String>,
}

impl HostIdentity {
    pub fn from_snapshot(snap: &Snapshot) -> HostIdentity {
        let file = |p: &str| snap.files.get(p).and_then(|f| f.value()).map(|v| v.trim());
        HostIdentity {
            hostname: snap.hostname.get().and_then(|h| hostname(h)),
            machine_id: file("/etc/machine-id").and_then(machine_id),
            smbios_uuid: file("/sys/class/dmi/id/product_uuid").and_then(smbios_uuid),
        }
    }

    /// Nothing known: nothing to compare.
    pub fn is_empty(&self) -> bool {
        self.hostname.is_none() && self.machine_id.is_none() && self.smbios_uuid.is_none()
    }

    /// What differs between two identities, for what both know ("hostname a ≠ b").
    pub fn differences(&self, other: &HostIdentity) -> Vec<String> {
        let mut out = Vec::new();
        for (what, a, b) in [
            ("hostname", &self.hostname, &other.hostname),
            ("machine-id", &self.machine_id, &other.machine_id),
            ("SMBIOS system UUID", &self.smbios_uuid, &other.smbios_uuid),
        ] {
            if let (Some(a), Some(b)) = (a, b) {
                if a != b {
                    out.push(format!("{what} {a} ≠ {b}"));
                }
            }
        }
        out
    }
}

/// A hostname as a script may embed it: a DNS name (letters, digits, `-`, `.`), ≤ 253 bytes.
pub fn hostname(h: &str) -> Option<String> {
    let h = h.trim();
    (!h.is_empty()
        && h.len() <= 253
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)))
    .then(|| h.to_string())
}

/// `/etc/machine-id`: 32 lowercase hex digits (all zeros is not an id).
pub fn machine_id(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_lowercase();
    (s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) && s.bytes().any(|b| b != b'0'))
        .then_some(s)
}

/// An SMBIOS system UUID (8-4-4-4-12 hex digits, lowercased); the placeholders firmware ships
/// (all zeros, all F) identify nothing.
pub fn smbios_uuid(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_lowercase();
    let shape = s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    let placeholder = hex.bytes().all(|b| b == b'0') || hex.bytes().all(|b| b == b'f');
    (shape && !placeholder).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_values_are_kept() {
        assert_eq!(hostname(" hv-icx02\n").as_deref(), Some("hv-icx02"));
        assert_eq!(hostname("a b"), None);
        assert_eq!(hostname("x$(id)"), None);
        assert_eq!(
            machine_id("0123456789ABCDEF0123456789abcdef\n").as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(machine_id("00000000000000000000000000000000"), None);
        assert_eq!(machine_id("123"), None);
        assert_eq!(
            smbios_uuid("5D6C7B8A-3F4E-1042-9876-543210FEDCBA").as_deref(),
            Some("5d6c7b8a-3f4e-1042-9876-543210fedcba")
        );
        assert_eq!(smbios_uuid("00000000-0000-0000-0000-000000000000"), None);
        assert_eq!(smbios_uuid("ffffffff-ffff-ffff-ffff-ffffffffffff"), None);
        assert_eq!(smbios_uuid("not-a-uuid"), None);
        let a = HostIdentity {
            hostname: Some("a".into()),
            machine_id: None,
            smbios_uuid: Some("u1".into()),
        };
        let b = HostIdentity {
            hostname: Some("b".into()),
            machine_id: Some("m".into()),
            smbios_uuid: Some("u1".into()),
        };
        assert_eq!(a.differences(&b), vec!["hostname a ≠ b".to_string()]);
    }
}
