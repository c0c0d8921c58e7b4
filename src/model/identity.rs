//! Who a host is, beyond its hostname: `/etc/machine-id` and the SMBIOS system UUID.
//!
//! Hostnames repeat across a fleet (re-imaged hosts, copy-pasted configs, a compromised host
//! naming itself after another), so the fleet roll-up and the remediation script bind to this
//! identity instead. Both values come from files another host may have written (a `--root`
//! tree, a snapshot), so they are accepted only in their one canonical spelling; anything else
//! is unknown, never "close enough".

use super::platform::Platform;
use crate::snapshot::Snapshot;
use serde::{Deserialize, Serialize};

/// The host's identity, computed once from the snapshot (see [`HostIdentity::from_snapshot`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HostIdentity {
    pub hostname: Option<String>,
    /// `/etc/machine-id`: 32 lowercase hex digits.
    pub machine_id: Option<String>,
    /// The SMBIOS type 1 system UUID, lowercase 8-4-4-4-12; placeholders are unknown.
    pub smbios_uuid: Option<String>,
}

impl HostIdentity {
    pub fn from_snapshot(s: &Snapshot, platform: Option<&Platform>) -> HostIdentity {
        HostIdentity {
            hostname: s.hostname.get().cloned(),
            machine_id: s.text("/etc/machine-id").and_then(machine_id),
            smbios_uuid: platform.and_then(|p| p.system_uuid.clone()),
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

/// A machine-id as systemd writes it (machine-id(5)): 32 lowercase hex digits and a newline.
/// All zeros is no identity (an image that was never booted).
pub fn machine_id(text: &str) -> Option<String> {
    let t = text.strip_suffix('\n').unwrap_or(text);
    let ok = t.len() == 32
        && t.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && t.bytes().any(|b| b != b'0');
    ok.then(|| t.to_string())
}

/// A system UUID in canonical form, lowercased (dmidecode prints it in capitals). All-zero and
/// all-FF are SMBIOS's "not settable" and "not present" placeholders, not identities.
pub fn smbios_uuid(text: &str) -> Option<String> {
    let t = text.trim();
    let b = t.as_bytes();
    let ok = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    if !ok {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    let hex = lower.bytes().filter(|c| *c != b'-');
    let placeholder = hex.clone().all(|c| c == b'0') || hex.clone().all(|c| c == b'f');
    (!placeholder).then_some(lower)
}

/// The text form of a type 1 UUID field. From SMBIOS 2.6 on the first three fields are
/// little-endian; before, dmidecode (and the firmware of the day) read them big-endian.
pub fn uuid_from_bytes(raw: &[u8; 16], little_endian: bool) -> Option<String> {
    let mut b = *raw;
    if little_endian {
        b[0..4].reverse();
        b[4..6].reverse();
        b[6..8].reverse();
    }
    let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    let h = hex.concat();
    smbios_uuid(&format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_ids_in_their_one_spelling_only() {
        let good = "0123456789abcdef0123456789abcdef";
        assert_eq!(machine_id(&format!("{good}\n")).as_deref(), Some(good));
        assert_eq!(machine_id(good).as_deref(), Some(good));
        for bad in [
            "",
            "uninitialized\n",
            "0123456789ABCDEF0123456789ABCDEF\n",
            "0123456789abcdef0123456789abcde\n",
            "0123456789abcdef0123456789abcdef0\n",
            " 0123456789abcdef0123456789abcdef\n",
            "0123456789abcdef0123456789abcdef\n\n",
            "00000000000000000000000000000000\n",
            "0123456789abcdef0123456789abcdeg\n",
        ] {
            assert_eq!(machine_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn uuids_lowercased_and_placeholders_dropped() {
        assert_eq!(
            smbios_uuid("4C4C4544-0037-3010-8052-B4C04F4E4D32").as_deref(),
            Some("4c4c4544-0037-3010-8052-b4c04f4e4d32")
        );
        for bad in [
            "Not Settable",
            "Not Present",
            "00000000-0000-0000-0000-000000000000",
            "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
            "4C4C4544-0037-3010-8052-B4C04F4E4D3",
            "4C4C4544+0037-3010-8052-B4C04F4E4D32",
            "4C4C4544-0037-3010-8052-B4C04F4E4D3Z",
        ] {
            assert_eq!(smbios_uuid(bad), None, "{bad:?}");
        }
        let raw = [
            0x44, 0x45, 0x4c, 0x4c, 0x37, 0x00, 0x10, 0x30, 0x80, 0x52, 0xb4, 0xc0, 0x4f, 0x4e,
            0x4d, 0x32,
        ];
        assert_eq!(
            uuid_from_bytes(&raw, true).as_deref(),
            Some("4c4c4544-0037-3010-8052-b4c04f4e4d32")
        );
        assert_eq!(
            uuid_from_bytes(&raw, false).as_deref(),
            Some("44454c4c-3700-1030-8052-b4c04f4e4d32")
        );
        assert_eq!(uuid_from_bytes(&[0; 16], true), None);
        assert_eq!(uuid_from_bytes(&[0xff; 16], true), None);
    }
}
