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
pub mod cache;
pub mod groups;
pub mod input;
pub mod links;
pub mod model;
pub mod read;
pub mod render;

use crate::error::{Error, Result};
use cache::Cache;
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
    /// Reuse and rewrite the roll-up cache at this path (`--cache`, [`cache`]).
    pub cache: Option<PathBuf>,
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
    let r = roll_up_with(paths, stale_after, now, progress, &Cache::none(now), None);
    (r.fleet, r.usable)
}

/// What a roll-up made, and how it went with the cache.
struct RollUp {
    fleet: Fleet,
    usable: bool,
    /// Files whose outcome came from the cache.
    hits: usize,
    /// The first error writing the next cache; the roll-up itself is complete regardless.
    cache_error: Option<std::io::Error>,
}

/// Roll up `paths`, reusing `cache` for unchanged files and writing the next cache to `keep`.
fn roll_up_with(
    paths: &[PathBuf],
    stale_after: u64,
    now: i64,
    progress: bool,
    cache: &Cache,
    mut keep: Option<&mut cache::Writer>,
) -> RollUp {
    let inputs = input::expand(paths);
    let mut b = Builder::new(now);
    b.files = inputs.files.len();
    for s in inputs.skipped {
        b.skip(s);
    }
    let mut bar = Progress::new(progress, inputs.files.len());
    let (mut hits, mut cache_error) = (0, None);
    read_all(&inputs.files, cache, |path, r, done| {
        hits += usize::from(r.hit);
        if let (Some(w), Some((id, bytes)), None) = (keep.as_deref_mut(), &r.entry, &cache_error) {
            cache_error = w.add(path, *id, bytes).err();
        }
        match r.outcome {
            Ok(h) => b.add(h),
            Err(s) => b.skip(s),
        }
        bar.update(done);
    });
    bar.finish();
    let usable = !b.is_empty();
    RollUp {
        fleet: b.finish(stale_after),
        usable,
        hits,
        cache_error,
    }
}

/// Files a reader thread takes at a time: results cross to the fold a batch at a time, as one
/// per file they cost a thread wake-up each (an eighth of a 100,000-file roll-up's time).
const READ_BATCH: usize = 32;

/// Read the files on a few threads; `fold` sees each result on the calling thread.
fn read_all(
    files: &[PathBuf],
    cache: &Cache,
    mut fold: impl FnMut(&Path, cache::ReadResult, usize),
) {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
        .min(files.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::sync_channel::<Vec<(usize, cache::ReadResult)>>(16);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || loop {
                let start = next.fetch_add(READ_BATCH, Ordering::Relaxed);
                let end = files.len().min(start.saturating_add(READ_BATCH));
                if start >= end {
                    break;
                }
                let results = (start..end)
                    .map(|i| (i, read_one(&files[i], cache)))
                    .collect();
                if tx.send(results).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut done = 0;
        for batch in rx.iter() {
            for (i, r) in batch {
                done += 1;
                fold(&files[i], r, done);
            }
        }
    });
}

/// One report from the cache when unchanged, else read; a panic in the reader is a skip, not
/// the roll-up's end.
fn read_one(path: &Path, cache: &Cache) -> cache::ReadResult {
    std::panic::catch_unwind(|| {
        cache.lookup(path).unwrap_or_else(|| {
            let (outcome, id) = read::read_identified(path);
            let entry = cache.entry(id, &outcome);
            cache::ReadResult {
                outcome,
                entry,
                hit: false,
            }
        })
    })
    .unwrap_or_else(|_| cache::ReadResult {
        outcome: Err(model::Skipped::new(
            path,
            model::SkipKind::Corrupt,
            "internal error while reading this report; please report it",
        )),
        entry: None,
        hit: false,
    })
}

/// The roll-up with `--cache PATH`: the old cache is read, the new one written as reports are
/// read and put in place (through [`crate::output`]) only when it was written whole.
fn roll_up_cached(o: &Options, path: &Path, progress: bool) -> RollUp {
    let now = crate::util::now_epoch();
    let (cache, why) = Cache::open(path, now);
    if let Some(why) = why {
        eprintln!(
            "kvmaudit: note: {}",
            crate::safe_text::one_line(
                &format!("not reading the cache {}: {why}", path.display()),
                crate::safe_text::STDERR_LINE_CHARS
            )
        );
    }
    let mut done = None;
    let written = crate::output::write_with(path, |w| {
        let mut keep = cache::Writer::new(w)?;
        let mut r = roll_up_with(
            &o.paths,
            o.stale_after,
            now,
            progress,
            &cache,
            Some(&mut keep),
        );
        let failed = r.cache_error.take();
        done = Some(r);
        failed.map_or(Ok(()), Err)
    });
    let mut r = match done {
        Some(r) => r,
        // The cache could not even be started: roll up without writing one.
        None => roll_up_with(&o.paths, o.stale_after, now, progress, &cache, None),
    };
    if let Err(e) = written {
        r.cache_error = Some(std::io::Error::other(e.to_string()));
    }
    r
}

/// Write the outputs asked for; false when one could not be written (each error said).
fn write_outputs(
    outputs: &[(&Option<PathBuf>, &str)],
    fleet: &Fleet,
    comparison: Option<&baseline::Comparison>,
) -> bool {
    let wanted: Vec<(&Path, &str)> = outputs
        .iter()
        .filter_map(|(p, what)| Some(((*p).as_deref()?, *what)))
        .collect();
    // Two lanes: outputs built whole (HTML, Prometheus) on one thread while those streamed
    // (JSON, CSV) are written on this one (at 100,000 hosts, a second off the run; more
    // lanes would hold two built outputs in memory at once). Stdout outputs come last, in
    // order, so they never interleave.
    let streamed = |what: &str| streamer(what, comparison).is_some();
    let to_file = |path: &Path| path.as_os_str() != "-";
    let results: Vec<(usize, Result<()>)> = std::thread::scope(|scope| {
        let wanted = &wanted;
        let built = scope.spawn(move || {
            wanted
                .iter()
                .enumerate()
                .filter(|(_, (p, w))| to_file(p) && !streamed(w))
                .map(|(i, &(p, w))| (i, write_output(p, w, fleet, comparison)))
                .collect::<Vec<_>>()
        });
        let mut done: Vec<(usize, Result<()>)> = wanted
            .iter()
            .enumerate()
            .filter(|(_, (p, w))| to_file(p) && streamed(w))
            .map(|(i, &(p, w))| (i, write_output(p, w, fleet, comparison)))
            .collect();
        done.extend(built.join().unwrap_or_else(|_| {
            vec![(
                usize::MAX,
                Err(Error::Usage(
                    "internal error writing an output; please report it".into(),
                )),
            )]
        }));
        done.extend(
            wanted
                .iter()
                .enumerate()
                .filter(|(_, (p, _))| !to_file(p))
                .map(|(i, &(p, w))| (i, write_output(p, w, fleet, comparison))),
        );
        done
    });
    let mut results = results;
    results.sort_by_key(|(i, _)| *i);
    let results = results.into_iter().map(|(_, r)| r);
    let mut failed = false;
    for e in results.into_iter().filter_map(|r| r.err()) {
        eprintln!(
            "kvmaudit: error: {}",
            crate::safe_text::one_line(&e.to_string(), crate::safe_text::STDERR_LINE_CHARS)
        );
        failed = true;
    }
    !failed
}

/// How output `what` is written as it is made, when it is: the JSON of 100,000 hosts is a few
/// hundred MB, its CSV 50 MB, never held whole.
fn streamer(what: &str, comparison: Option<&baseline::Comparison>) -> Option<WriteTo> {
    match what {
        "json" if comparison.is_none() => Some(render::json_to),
        "csv" => Some(render::csv_to),
        _ => None,
    }
}

/// Write output `what` (json, csv, html or prom) of the roll-up to `path`.
fn write_output(
    path: &Path,
    what: &str,
    fleet: &Fleet,
    comparison: Option<&baseline::Comparison>,
) -> Result<()> {
    if let Some(write) = streamer(what, comparison) {
        return crate::util::write_output_with(path, |w| write(w, fleet));
    }
    let bytes = match what {
        "json" => Ok(match comparison {
            Some(c) => baseline::json(fleet, c),
            None => render::json(fleet),
        }),
        "html" => render::html(fleet).map(String::into_bytes),
        _ => Ok(render::prom(fleet).into_bytes()),
    };
    bytes.and_then(|b| crate::util::write_output(path, &b))
}

/// An output written as it is made.
type WriteTo = fn(&mut dyn Write, &Fleet) -> std::io::Result<()>;

fn to_stdout(p: &Option<PathBuf>) -> bool {
    p.as_deref().is_some_and(|p| p.as_os_str() == "-")
}

/// Run `kvmaudit fleet`; returns the exit status.
pub fn run(o: &Options) -> Result<i32> {
    let progress = o.progress && std::io::stderr().is_terminal();
    let RollUp {
        mut fleet,
        usable,
        hits,
        cache_error,
    } = match &o.cache {
        None => roll_up_with(
            &o.paths,
            o.stale_after,
            crate::util::now_epoch(),
            progress,
            &Cache::none(0),
            None,
        ),
        Some(path) => roll_up_cached(o, path, progress),
    };
    if let Some(path) = &o.cache {
        let shown = crate::safe_text::one_line(
            &path.display().to_string(),
            crate::safe_text::STDERR_LINE_CHARS,
        );
        match cache_error {
            None => eprintln!(
                "kvmaudit: fleet: {hits} of {} file(s) unchanged since the last roll-up, read from the cache {shown}",
                fleet.summary.files
            ),
            Some(e) => eprintln!(
                "kvmaudit: warning: the cache {shown} was not updated: {}",
                crate::safe_text::one_line(&e.to_string(), crate::safe_text::STDERR_LINE_CHARS)
            ),
        }
    }
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
    let outputs: [(&Option<PathBuf>, &str); 4] = [
        (&o.json, "json"),
        (&o.csv, "csv"),
        (&o.html, "html"),
        (&o.prom, "prom"),
    ];
    let failed = !write_outputs(&outputs, &fleet, comparison.as_ref());
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

    /// A corpus of reports of `n` hosts, one of them twice (one superseded), plus junk.
    fn corpus(dir: &Path, n: u64) {
        use crate::report::sample;
        for i in 0..n {
            let mut spec = sample::Spec::new(i, format!("hv{i:02}"));
            spec.vms = (i % 4) as usize;
            let r = sample::report(&spec);
            std::fs::write(
                dir.join(format!("hv{i:02}.json")),
                serde_json::to_vec(&r).unwrap(),
            )
            .unwrap();
        }
        let mut spec = sample::Spec::new(1, "hv01");
        spec.generated_at = "2026-11-20T12:00:00Z".into();
        let old = serde_json::to_vec(&sample::report(&spec)).unwrap();
        std::fs::write(dir.join("hv01-old.json"), old).unwrap();
        std::fs::write(dir.join("junk.json"), b"{\"schema_version\": 1, \"tool\"").unwrap();
        std::fs::write(dir.join("npm.json"), b"{\"name\": \"left-pad\"}").unwrap();
    }

    #[test]
    fn a_roll_up_from_the_cache_is_the_roll_up_from_the_files() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let reports = d.path().join("reports");
        std::fs::create_dir(&reports).unwrap();
        corpus(&reports, 12);
        let paths = vec![reports.clone()];
        // "Now" well after the files were written, so none is too fresh to cache.
        let now = crate::util::now_epoch() + 3600;
        let plain = roll_up_with(&paths, 36 * 3600, now, false, &Cache::none(now), None);
        let expected = render::json(&plain.fleet);

        let cache_path = d.path().join("fleet.cache");
        let run = |cache: &Cache| {
            let mut bytes = Vec::new();
            let mut w = cache::Writer::new(&mut bytes).unwrap();
            let r = roll_up_with(&paths, 36 * 3600, now, false, cache, Some(&mut w));
            assert_eq!(w.written, 15, "every file's outcome is kept");
            std::fs::write(&cache_path, &bytes).unwrap();
            std::fs::set_permissions(&cache_path, std::fs::Permissions::from_mode(0o600)).unwrap();
            r
        };
        let cold = run(&Cache::open(&cache_path, now).0);
        assert_eq!(cold.hits, 0);
        assert_eq!(render::json(&cold.fleet), expected);
        let warm = run(&Cache::open(&cache_path, now).0);
        assert_eq!(warm.hits, 15);
        assert_eq!(render::json(&warm.fleet), expected);
        assert_eq!(render::csv(&warm.fleet), render::csv(&plain.fleet));
        assert_eq!(render::prom(&warm.fleet), render::prom(&plain.fleet));

        // A report replaced by another host's: read, not served from the cache.
        std::fs::copy(reports.join("hv05.json"), reports.join("hv04.json")).unwrap();
        let changed = run(&Cache::open(&cache_path, now).0);
        assert_eq!(changed.hits, 14);
        let again = roll_up_with(&paths, 36 * 3600, now, false, &Cache::none(now), None);
        assert_eq!(render::json(&changed.fleet), render::json(&again.fleet));
        assert_ne!(render::json(&again.fleet), expected);
    }
}
