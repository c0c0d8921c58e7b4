//! Small helpers with no better home.

use std::time::{SystemTime, UNIX_EPOCH};

/// Current UTC time as RFC 3339 (`2026-11-26T12:00:00Z`).
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Seconds since the epoch as RFC 3339 UTC.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Seconds since the epoch of an RFC 3339 timestamp (`2026-11-26T12:00:00Z`, with optional
/// fractional seconds and a `Z` or `±HH:MM` offset); `None` when it is not one.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &r[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let rb = rest.as_bytes();
            if rb.len() != 6 || !matches!(rb[0], b'+' | b'-') || rb[3] != b':' {
                return None;
            }
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            let o = oh * 3600 + om * 60;
            if rb[0] == b'-' {
                -o
            } else {
                o
            }
        }
    };
    Some(days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

/// Howard Hinnant's civil-to-days algorithm (proleptic Gregorian), the inverse of
/// [`civil_from_days`].
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch, now.
pub fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Write `bytes` to output `path`, atomically and never through a link or into a device:
/// see [`crate::output`]. `-` writes to standard output.
pub fn write_output(path: &std::path::Path, bytes: &[u8]) -> crate::error::Result<()> {
    crate::output::write(path, bytes)
}

/// [`write_output`] for output produced by `fill` as it goes: see [`crate::output::write_with`].
pub fn write_output_with(
    path: &std::path::Path,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> crate::error::Result<()> {
    crate::output::write_with(path, fill)
}

/// Run `work` on `threads` threads, this one included (rather than waiting for the others),
/// and return each thread's result; a panicking thread gives `Err`. A helper thread that
/// cannot be started is left out: the workers are expected to share one counter of work, so
/// the others do its share.
pub fn on_threads<T: Send>(
    threads: usize,
    work: impl Fn() -> T + Sync,
) -> Vec<std::thread::Result<T>> {
    if threads <= 1 {
        return vec![std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            &work,
        ))];
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(s, &work).ok())
            .collect();
        let mine = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&work));
        std::iter::once(mine)
            .chain(handles.into_iter().map(|h| h.join()))
            .collect()
    })
}

/// `*` matches any run of characters.
///
/// Iterative, with one backtrack point (the last `*`): O(pattern × subject) at worst. The
/// recursive form took exponential time on `a*a*a*...b` against a long VM name, and VM names
/// come from the audited host's command lines.
pub fn glob(pat: &str, s: &str) -> bool {
    let (p, s) = (pat.as_bytes(), s.as_bytes());
    let (mut pi, mut si) = (0usize, 0usize);
    // Where the last `*` was, and the subject position it is currently made to cover up to.
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more byte and retry from there.
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi.min(p.len())..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_dates() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_795_694_400), "2026-11-26T12:00:00Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn parses_what_it_writes_and_offsets() {
        for t in [0u64, 951_782_400, 1_795_694_400, 4_102_444_800] {
            assert_eq!(super::parse_rfc3339(&super::rfc3339(t)), Some(t as i64));
        }
        let p = super::parse_rfc3339;
        assert_eq!(p("2026-11-26T13:00:00+01:00"), Some(1_795_694_400));
        assert_eq!(p("2026-11-26T12:00:00.250Z"), Some(1_795_694_400));
        for bad in [
            "",
            "2026-11-26",
            "2026-13-26T12:00:00Z",
            "2026-11-26T12:00:00",
            "x026-11-26T12:00:00Z",
            "2026-11-26T12:00:00+0100",
            "2026-11-26T12:00:00.Z",
            "2026-11-26T1é:00:00Z",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    #[test]
    fn on_threads_shares_one_counter_and_survives_a_panic() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        for threads in [1, 2, 4] {
            let next = AtomicUsize::new(0);
            let parts = super::on_threads(threads, || {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= 100 {
                        break mine;
                    }
                    mine.push(i);
                }
            });
            assert_eq!(parts.len(), threads);
            let mut all: Vec<usize> = parts.into_iter().flat_map(Result::unwrap).collect();
            all.sort_unstable();
            assert_eq!(all, (0..100).collect::<Vec<_>>());
        }
        let r = super::on_threads(2, || -> u8 { panic!("worker") });
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|x| x.is_err()));
    }

    #[test]
    fn globs() {
        for (p, s, want) in [
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("a*", "abc", true),
            ("*c", "abc", true),
            ("a*c", "ac", true),
            ("a*c", "ab", false),
            ("*a*b", "xaxxb", true),
            ("a**b", "ab", true),
            ("qemu.blk.*", "qemu.blk.cache", true),
            ("vm:db-*", "vm:web-1", false),
            ("*x*", "abc", false),
            ("ab*", "a", false),
        ] {
            assert_eq!(super::glob(p, s), want, "{p} vs {s}");
        }
        let t = std::time::Instant::now();
        assert!(!super::glob(
            &format!("{}b", "a*".repeat(30)),
            &"a".repeat(5000)
        ));
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }
}
