//! What a QEMU machine type (`pc-q35-8.2`, `pc-q35-rhel9.2.0`) proves about the QEMU binary
//! that offers it.

use super::kernel::release_version;

/// What a machine type says about the binary that offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MachineVersion {
    /// The binary is at least this version (`pc-q35-6.0` → 6.0; `pc-q35-rhel9.2.0` → 7.2).
    AtLeast((u32, u32), String),
    /// An alias or unversioned machine (`q35`, `pc`, `microvm`): says nothing.
    Unversioned,
}

/// qemu-kvm releases that first shipped each RHEL machine type (RHEL X.Y → its qemu-kvm).
/// A major.minor version.
pub(crate) type Ver = (u32, u32);

pub(crate) const RHEL_MACHINES: &[(Ver, Ver)] = &[
    ((10, 0), (9, 1)),
    ((9, 6), (9, 1)),
    ((9, 4), (8, 2)),
    ((9, 2), (7, 2)),
    ((9, 0), (6, 2)),
    ((8, 6), (6, 2)),
    ((8, 5), (6, 0)),
    ((8, 4), (5, 2)),
    ((8, 2), (4, 2)),
    ((8, 1), (4, 1)),
    ((0, 0), (2, 12)),
];

pub(crate) fn machine_version(machine: &str) -> MachineVersion {
    let Some((_, last)) = machine.rsplit_once('-') else {
        return MachineVersion::Unversioned;
    };
    if let Some(rhel) = last.strip_prefix("rhel") {
        let Some(v) = release_version(rhel) else {
            return MachineVersion::Unversioned;
        };
        let qemu = RHEL_MACHINES
            .iter()
            .find(|(r, _)| v >= *r)
            .map_or((2, 12), |(_, q)| *q);
        return MachineVersion::AtLeast(
            qemu,
            format!(
                "RHEL {}.{} machine type, first offered by qemu-kvm {}.{}",
                v.0, v.1, qemu.0, qemu.1
            ),
        );
    }
    let mut nums = last.split('.');
    let (Some(a), Some(b)) = (nums.next(), nums.next()) else {
        return MachineVersion::Unversioned;
    };
    match (a.parse::<u32>(), b.parse::<u32>()) {
        (Ok(a), Ok(b)) => MachineVersion::AtLeast(
            (a, b),
            format!("machine type {machine} is only offered by QEMU >= {a}.{b}"),
        ),
        _ => MachineVersion::Unversioned,
    }
}
