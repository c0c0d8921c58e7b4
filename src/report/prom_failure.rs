//! The textfile's scan-health families: `kvmaudit_scan_success` and
//! `kvmaudit_last_scan_timestamp_seconds`, and the textfile a scan that failed (exit 1) leaves
//! at its `--prom` path.
//!
//! Without it a failed run leaves yesterday's textfile in place and every alert keeps reading
//! yesterday's healthy numbers until the staleness alert fires a day and a half later. The
//! failure textfile says "failed" at once (`kvmaudit_scan_success 0`) and carries the previous
//! file's last-success time over, so the staleness alert keeps counting from the last scan
//! that worked. It has no score, coverage or finding series: alerts comparing them with
//! their past find nothing to compare and stay quiet instead of reading a drop.

use super::prom::Writer;
use std::path::Path;

/// The largest previous textfile read back for its timestamp: a textfile with every rule's
/// series is ~40 KiB; anything far larger is not ours.
const PREVIOUS_CAP: u64 = 4 << 20;

const SUCCESS: &str = "kvmaudit_scan_success";
const LAST_SCAN: &str = "kvmaudit_last_scan_timestamp_seconds";

/// `kvmaudit_scan_success` and `kvmaudit_last_scan_timestamp_seconds` (when known).
pub fn success_families(w: &mut Writer, last_scan: Option<i64>) {
    health(w, 1.0, last_scan.map(|t| t as f64));
}

fn health(w: &mut Writer, success: f64, last_scan: Option<f64>) {
    w.family(
        SUCCESS,
        "gauge",
        "1 when the last scan completed and wrote this textfile; 0 when it failed (kvmaudit \
         exited 1) and the findings, score and coverage series are absent.",
    );
    w.sample(SUCCESS, &[], success);
    w.family(
        LAST_SCAN,
        "gauge",
        "When the report of the last successful scan was generated, in seconds since the Unix \
         epoch (kept across failed scans).",
    );
    if let Some(t) = last_scan {
        w.sample(LAST_SCAN, &[], t);
    }
}

/// The last-success time in a previous textfile's text, if it has a plausible one.
pub fn last_scan_in(text: &str) -> Option<f64> {
    text.lines()
        .filter_map(|l| l.strip_prefix(LAST_SCAN)?.strip_prefix(' '))
        .filter_map(|v| v.trim().parse::<f64>().ok())
        .find(|v| v.is_finite() && *v > 0.0 && *v < 1e11)
}

/// The textfile for a scan that failed. `previous` is the textfile at the same path before,
/// when it could be read.
pub fn render_failure(previous: Option<&str>) -> String {
    let mut w = Writer::new();
    health(&mut w, 0.0, previous.and_then(last_scan_in));
    w.family(
        "kvmaudit_info",
        "gauge",
        "Always 1; labels carry the kvmaudit version, profile and report schema version.",
    );
    w.sample(
        "kvmaudit_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
    w.finish()
}

/// Replace the textfile at `path` with the failure textfile. Best effort: the scan's own error
/// is what the caller reports, so an error here is dropped.
pub fn write_failure(path: &Path) {
    if path.as_os_str() == "-" {
        return;
    }
    let previous = crate::input::read_input_file(path, PREVIOUS_CAP, "a Prometheus textfile")
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let _ = crate::util::write_output(path, render_failure(previous.as_deref()).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_keeps_the_last_success_time_and_says_failed() {
        let before = "# HELP x y\nkvmaudit_last_scan_timestamp_seconds 1795694400\n\
                      kvmaudit_scan_success 1\n";
        let text = render_failure(Some(before));
        assert!(text.contains("\nkvmaudit_scan_success 0\n"), "{text}");
        assert!(text.contains("\nkvmaudit_last_scan_timestamp_seconds 1795694400\n"));
        assert!(!text.contains("kvmaudit_score"));
    }

    #[test]
    fn failure_without_a_readable_previous_file_has_no_timestamp() {
        for prev in [
            None,
            Some("garbage"),
            Some("kvmaudit_last_scan_timestamp_seconds NaN\n"),
        ] {
            let text = render_failure(prev);
            assert!(text.contains("kvmaudit_scan_success 0"));
            assert!(
                !text.contains("\nkvmaudit_last_scan_timestamp_seconds "),
                "{text}"
            );
        }
        // A similarly named metric is not ours.
        assert_eq!(
            last_scan_in("kvmaudit_last_scan_timestamp_seconds_x 5\n"),
            None
        );
    }
}
