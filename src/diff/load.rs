//! The two sides of `diff`: a JSON report (`scan --json`) as it is, or a snapshot
//! (`collect -o`) evaluated here, so that two snapshots taken months apart are compared by the
//! same rules.

use super::Side;
use crate::error::{Error, Result};
use crate::file_kind::{self, FileKind};
use crate::report::{Profile, Report};
use std::path::Path;

/// The report of `path` and how it is shown. A snapshot is evaluated with `profile` and no
/// waivers; a report keeps its own profile.
pub fn load(path: &Path, profile: Profile) -> Result<(Report, Side)> {
    let bytes = crate::input::read_input_file(
        path,
        crate::collect::MAX_INPUT,
        "a kvmaudit report or snapshot",
    )?;
    let (report, kind) = match file_kind::detect(&bytes) {
        Some(FileKind::Snapshot) => {
            drop(bytes);
            let sources = crate::collect::Sources {
                snapshot: Some(path.to_path_buf()),
                ..Default::default()
            };
            let snap = crate::collect::gather(&sources)?;
            let today = crate::util::now_rfc3339();
            let r = crate::rules::evaluate(&snap, profile, &[], &today[..10]);
            (r, "snapshot")
        }
        Some(FileKind::Fleet) => {
            return Err(Error::parse(
                path,
                "is a fleet roll-up (from `fleet --json`); diff compares two reports or \
                 snapshots of one host (fleet --baseline DIR compares roll-ups)",
            ))
        }
        _ => (crate::cli::parse_report(path, &bytes)?, "report"),
    };
    let side = Side {
        path: path.display().to_string(),
        kind,
        generated_at: report.generated_at.clone(),
        hostname: report.host.hostname.clone(),
        machine_id: report.host.machine_id.clone(),
        smbios_uuid: report.host.smbios_uuid.clone(),
    };
    Ok((report, side))
}
