//! The host a remediation script is made for: hostname, /etc/machine-id and the SMBIOS system
//! UUID, from the snapshot. The script compares them with the running host before any change.
//!
//! The smallest reader `fix` needs: the fleet work adds a `HostIdentity` to the model and the
//! report; this one reads the same facts and keeps only well-formed values.

use crate::model::identity::smbios_uuid;
pub use crate::model::identity::HostIdentity;
use crate::model::platform::Platform;
use crate::snapshot::Snapshot;

/// The identity a script is bound to: the model's ([`HostIdentity::from_snapshot`]), with the
/// hostname kept only when a script may embed it, and the SMBIOS UUID as sysfs shows it when
/// it was read: that file is what the script compares at run time (the table's UUID else).
pub fn of_snapshot(snap: &Snapshot) -> HostIdentity {
    let platform = snap.smbios.get().map(Platform::from_smbios);
    let mut id = HostIdentity::from_snapshot(snap, platform.as_ref());
    id.hostname = id.hostname.as_deref().and_then(hostname);
    if let Some(u) = snap
        .text("/sys/class/dmi/id/product_uuid")
        .map(|t| t.trim().to_ascii_lowercase())
        .and_then(|t| smbios_uuid(&t))
    {
        id.smbios_uuid = Some(u);
    }
    id
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::identity::machine_id;

    #[test]
    fn only_well_formed_values_are_kept() {
        assert_eq!(hostname(" hv-icx02\n").as_deref(), Some("hv-icx02"));
        assert_eq!(hostname("a b"), None);
        assert_eq!(hostname("x$(id)"), None);
        assert_eq!(
            machine_id("0123456789abcdef0123456789abcdef\n").as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(machine_id("00000000000000000000000000000000"), None);
        assert_eq!(machine_id("123"), None);
        assert_eq!(
            smbios_uuid("5d6c7b8a-3f4e-1042-9876-543210fedcba").as_deref(),
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
