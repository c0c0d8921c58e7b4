//! `kvmaudit fleet PATH...`: many JSON reports rolled up into one view — a table on stdout,
//! JSON, CSV, an HTML page and a Prometheus textfile.
//!
//! Reports are read one at a time (by a few worker threads) and reduced at once to what the
//! roll-up needs ([`model::HostReport`]), so 10,000 reports fit comfortably in memory. Files
//! that are not usable reports are listed as skipped with the reason; they never abort the run.
//!
//! Exit status: 0 when the roll-up was rendered (even with skipped files); 2 with
//! `--fail-on SEVERITY` when a host has a failed finding at or above it; 1 when no usable
//! report was found or an output could not be written.

pub mod baseline;
pub mod groups;
pub mod input;
pub mod links;
pub mod model;
pub mod read;
pub mod render;

use crate::error::{Error, Result};
use model::{Builder, Fleet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// The default `--stale-after`: a daily timer plus half a day of slack.
pub const DEFAULT_STALE_AFTER: &str = "36h";

/// What `fleet` was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub html: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub csv: Option<PathBuf>,
    pub prom: Option<PathBuf>,
    /// Reports older than this many seconds are stale.
    pub stale_after: u64,
    /// Show a progress bar on stderr (only honoured when stderr is a terminal).
    pub progress: bool,
    /// Summarise hosts per group in every output.
    pub group_by: Option<groups::GroupKey>,
    /// Exit 2 when a host has a failed finding at or above this severity.
    pub fail_on: Option<crate::report::Severity>,
    /// Link template for host reports (`{host}`, `{file}`), checked by [`links::parse_template`].
    pub report_url: Option<String>,
    /// Which rows the terminal table lists.
    pub filter: render::TableFilter,
    /// Reports of an earlier roll-up to compare with (`--baseline`): regressed hosts make the
    /// exit status 2.
    pub baseline: Option<PathBuf>,
}

/// `36h`, `90m`, `2d`, `1w`, `1d12h`, `3600s` or plain seconds (`3600`).
pub fn parse_duration(s: &str) -> std::result::Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => {
                return Err(format!(
                    "`{s}`: unknown unit `{c}` (use s, m, h, d or w, e.g. 36h)"
                ))
            }
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("`{s}`: a number must come before `{c}`"))?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("`{s}`: too long"))?;
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!("`{s}`: the last number has no unit"));
    }
    Ok(total)
}

/// `3d 4h`, `5h 12m`, `42m`, `15s`.
pub fn fmt_age(secs: Option<i64>) -> String {
    let Some(s) = secs else {
        return "unknown".into();
    };
    if s < 0 {
        return "in the future".into();
    }
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    }
}

/// A hand-rolled progress bar on stderr, redrawn at most every 100 ms.
struct Progress {
    on: bool,
    total: usize,
    last: std::time::Instant,
}

impl Progress {
    fn new(on: bool, total: usize) -> Progress {
        Progress {
            on: on && total > 0,
            total,
            last: std::time::Instant::now() - std::time::Duration::from_secs(1),
        }
    }

    fn update(&mut self, done: usize) {
        if !self.on || (done < self.total && self.last.elapsed().as_millis() < 100) {
            return;
        }
        self.last = std::time::Instant::now();
        let width = 30;
        let filled = done * width / self.total.max(1);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\rreading reports [{}{}] {done}/{}",
            "#".repeat(filled),
            "-".repeat(width - filled),
            self.total
        );
        let _ = err.flush();
    }

    fn finish(&mut self) {
        if self.on {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }
}

/// Read every input and fold it. `now` decides staleness.
pub fn roll_up(paths: &[PathBuf], stale_after: u64, now: i64, progress: bool) -> (Fleet, bool) {
    let inputs = input::expand(paths);
    let mut b = Builder::new(now);
    b.files = inputs.files.len();
    for s in inputs.skipped {
        b.skip(s);
    }
    let mut bar = Progress::new(progress, inputs.files.len());
    read_all(&inputs.files, |r, done| {
        match r {
            Ok(h) => b.add(h),
            Err(s) => b.skip(s),
        }
        bar.update(done);
    });
    bar.finish();
    let usable = !b.is_empty();
    (b.finish(stale_after), usable)
}

/// Read the files on a few threads; `fold` sees each result on the calling thread.
fn read_all(
    files: &[PathBuf],
    mut fold: impl FnMut(std::result::Result<model::HostReport, model::Skipped>, usize),
) {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
        .min(files.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::sync_channel(256);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                let r = std::panic::catch_unwind(|| read::read(path)).unwrap_or_else(|_| {
                    Err(model::Skipped::new(
                        path,
                        model::SkipKind::Corrupt,
                        "internal error while reading this report; please report it",
                    ))
                });
                if tx.send(r).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (done, r) in rx.iter().enumerate() {
            fold(r, done + 1);
        }
    });
}

/// An output written as it is made.
type WriteTo = fn(&mut dyn Write, &Fleet) -> std::io::Result<()>;

fn to_stdout(p: &Option<PathBuf>) -> bool {
    p.as_deref().is_some_and(|p| p.as_os_str() == "-")
}

/// Run `kvmaudit fleet`; returns the exit status.
pub fn run(o: &Options) -> Result<i32> {
    let progress = o.progress && std::io::stderr().is_terminal();
    let (mut fleet, usable) = roll_up(&o.paths, o.stale_after, crate::util::now_epoch(), progress);
    if let Some(k) = &o.group_by {
        groups::attach(&mut fleet, k);
    }
    // One stat per host for the sibling .html: only when an output shows links.
    if o.report_url.is_some() || o.html.is_some() || o.json.is_some() || o.csv.is_some() {
        links::attach(&mut fleet, o.report_url.as_deref(), o.html.as_deref());
    }
    if !usable {
        for s in &fleet.skipped {
            // Paths and reasons come from the uploaded files: one bounded, escaped line each.
            let line = format!("skipped {}: {}", s.path, s.reason);
            eprintln!(
                "kvmaudit: {}",
                crate::safe_text::one_line(&line, crate::safe_text::STDERR_LINE_CHARS)
            );
        }
        return Err(Error::Usage(format!(
            "fleet: no usable kvmaudit report among {} file(s)",
            fleet.summary.files
        )));
    }
    let comparison = match &o.baseline {
        Some(dir) => {
            let (base, usable) = roll_up(
                std::slice::from_ref(dir),
                o.stale_after,
                crate::util::now_epoch(),
                false,
            );
            if !usable {
                return Err(Error::Usage(format!(
                    "fleet --baseline {}: no usable kvmaudit report there",
                    dir.display()
                )));
            }
            Some(baseline::compare(
                &base,
                &[dir.display().to_string()],
                &fleet,
            ))
        }
        None => None,
    };
    let mut failed = false;
    let outputs: [(&Option<PathBuf>, &str); 4] = [
        (&o.json, "json"),
        (&o.csv, "csv"),
        (&o.html, "html"),
        (&o.prom, "prom"),
    ];
    for (path, what) in outputs {
        let Some(path) = path else { continue };
        // The JSON of 100,000 hosts is a few hundred MB, its CSV 50 MB: written as they are
        // made, never held whole.
        let streamed: Option<WriteTo> = match what {
            "json" if comparison.is_none() => Some(render::json_to),
            "csv" => Some(render::csv_to),
            _ => None,
        };
        if let Some(write) = streamed {
            if let Err(e) = crate::util::write_output_with(path, |w| write(w, &fleet)) {
                eprintln!(
                    "kvmaudit: error: {}",
                    crate::safe_text::one_line(&e.to_string(), crate::safe_text::STDERR_LINE_CHARS)
                );
                failed = true;
            }
            continue;
        }
        let bytes = match what {
            "json" => Ok(match &comparison {
                Some(c) => baseline::json(&fleet, c),
                None => render::json(&fleet),
            }),
            "html" => render::html(&fleet).map(String::into_bytes),
            _ => Ok(render::prom(&fleet).into_bytes()),
        };
        if let Err(e) = bytes.and_then(|b| crate::util::write_output(path, &b)) {
            eprintln!(
                "kvmaudit: error: {}",
                crate::safe_text::one_line(&e.to_string(), crate::safe_text::STDERR_LINE_CHARS)
            );
            failed = true;
        }
    }
    if !outputs.iter().any(|(p, _)| to_stdout(p)) {
        let mut table =
            render::table_filtered(&fleet, crate::report::table::Style::for_stdout(), &o.filter);
        if let Some(c) = &comparison {
            table.push_str(&baseline::table(c));
        }
        crate::util::write_output(Path::new("-"), table.as_bytes())?;
    }
    if !fleet.skipped.is_empty() {
        let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
        for s in &fleet.skipped {
            *kinds.entry(s.kind.as_str()).or_default() += 1;
        }
        let parts: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        eprintln!(
            "kvmaudit: fleet: {} host(s) rolled up; {} path(s) skipped ({})",
            fleet.summary.hosts,
            fleet.skipped.len(),
            parts.join(", ")
        );
    }
    let regressed = comparison.as_ref().is_some_and(|c| !c.regressed.is_empty());
    Ok(if failed {
        1
    } else if regressed {
        2
    } else {
        gate(&fleet, o.fail_on)
    })
}

/// `--fail-on`, as `scan` reads it: 2 when some host has a failed (not waived) finding at or
/// above the severity, else 0. Without `--fail-on` the roll-up gates nothing.
pub fn gate(f: &Fleet, fail_on: Option<crate::report::Severity>) -> i32 {
    match fail_on {
        Some(t)
            if f.hosts
                .iter()
                .any(|h| h.fail_severity.is_some_and(|s| s >= t)) =>
        {
            2
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("36h"), Ok(129_600));
        assert_eq!(parse_duration("1d12h"), Ok(129_600));
        assert_eq!(parse_duration("90m"), Ok(5400));
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert_eq!(parse_duration("1w"), Ok(604_800));
        for bad in ["", "h", "36x", "12h30", "99999999999999999999w", "-1h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ages() {
        assert_eq!(fmt_age(Some(3 * 86_400 + 4 * 3600 + 5)), "3d 4h");
        assert_eq!(fmt_age(Some(3720)), "1h 2m");
        assert_eq!(fmt_age(Some(59)), "59s");
        assert_eq!(fmt_age(Some(-5)), "in the future");
        assert_eq!(fmt_age(None), "unknown");
    }
}
