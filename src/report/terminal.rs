//! What standard output is and what it can show: its width and height (the terminal's, else
//! `COLUMNS`, else 100), whether colour is wanted (`--color`, NO_COLOR, CLICOLOR_FORCE,
//! TERM=dumb) and whether it can show Unicode (the locale). Kept apart from the table layout so
//! every text output (scan, fleet, rules) decides the same way.

use std::ffi::{OsStr, OsString};

/// Width when neither the terminal nor `COLUMNS` says (pipes, files, CI logs).
pub const DEFAULT_WIDTH: u16 = 100;
/// Narrower than this no table layout can hold its columns; a smaller `COLUMNS` is raised.
pub const MIN_WIDTH: u16 = 40;
/// A terminal wider than this is laid out at this width: wider rows are unreadable anyway.
pub const MAX_WIDTH: u16 = 1000;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// Columns and rows of the terminal on standard output, when it is one (TIOCGWINSZ).
pub fn stdout_size() -> Option<(u16, u16)> {
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we own; fd 1 is only queried.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some((ws.ws_col, ws.ws_row))
}

/// The layout width: the terminal's columns, else a positive numeric `COLUMNS`, else 100;
/// kept within [`MIN_WIDTH`, `MAX_WIDTH`].
pub fn width(tty_cols: Option<u16>, columns: Option<&OsStr>) -> u16 {
    let from_env = columns
        .and_then(|c| c.to_str())
        .and_then(|c| c.trim().parse::<u32>().ok())
        .filter(|&c| c > 0)
        .map(|c| c.min(u32::from(MAX_WIDTH)) as u16);
    tty_cols
        .filter(|&c| c > 0)
        .or(from_env)
        .unwrap_or(DEFAULT_WIDTH)
        .clamp(MIN_WIDTH, MAX_WIDTH)
}

fn set(v: &Option<OsString>) -> bool {
    v.as_deref().is_some_and(|v| !v.is_empty())
}

/// Whether to colour. `always`/`never` decide. `auto`: never with a non-empty NO_COLOR
/// (no-color.org: the user's "no" wins over everything but an explicit flag); always with a
/// CLICOLOR_FORCE other than `0` (even into a pipe, e.g. `| less -R`); never on TERM=dumb
/// (serial consoles and editors' shells show the escapes raw); else only on a terminal.
pub fn color_wanted(
    choice: ColorChoice,
    is_tty: bool,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> bool {
    match choice {
        ColorChoice::Always => return true,
        ColorChoice::Never => return false,
        ColorChoice::Auto => {}
    }
    if set(&env("NO_COLOR")) {
        return false;
    }
    let force = env("CLICOLOR_FORCE");
    if set(&force) && force.as_deref() != Some(OsStr::new("0")) {
        return true;
    }
    if env("TERM").as_deref() == Some(OsStr::new("dumb")) {
        return false;
    }
    is_tty
}

/// Whether the locale can show Unicode: the first non-empty of LC_ALL, LC_CTYPE and LANG
/// names UTF-8. `C`, `POSIX` or a legacy charset (rescue shells, serial consoles) get ASCII.
/// With none of them set, Unicode as before: that is a bare container or a service whose
/// output is read elsewhere, and its bytes should not change under it.
pub fn unicode_wanted(env: &dyn Fn(&str) -> Option<OsString>) -> bool {
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .filter_map(|k| env(k))
        .find(|v| !v.is_empty());
    match locale {
        None => true,
        Some(v) => {
            let v = v.to_string_lossy().to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        }
    }
}

/// The process environment, for the deciders above.
pub fn process_env(k: &str) -> Option<OsString> {
    std::env::var_os(k)
}

/// Text for a terminal that shows only ASCII, column for column: box drawing becomes
/// `+-|=:`, arrows `>`, the ellipsis `~`, `×` `x`, `§` `S`; any other non-ASCII character
/// becomes as many `?` as it takes columns, so tables stay aligned.
pub fn asciify(s: &str) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        let r = match c {
            '─' | '━' | '┄' | '┈' | '╌' => '-',
            '═' => '=',
            '│' | '┃' | '║' => '|',
            '┆' | '┊' | '╎' => ':',
            '┌' | '┐' | '└' | '┘' | '├' | '┤' | '┬' | '┴' | '┼' | '╞' | '╡' | '╪' | '╤' | '╧'
            | '╔' | '╗' | '╚' | '╝' | '╠' | '╣' | '╦' | '╩' | '╬' | '╒' | '╕' | '╘' | '╛' | '╟'
            | '╢' | '╫' | '┝' | '┥' | '┿' => '+',
            '→' | '⇒' | '›' | '»' => '>',
            '←' | '‹' | '«' => '<',
            '…' => '~',
            '×' => 'x',
            '§' => 'S',
            '—' | '–' | '‐' | '−' => '-',
            '·' | '•' => '*',
            '≥' | '≤' | '≈' => '~',
            '’' | '‘' => '\'',
            '“' | '”' => '"',
            '\u{a0}' => ' ',
            _ => {
                for _ in 0..c.width().unwrap_or(0) {
                    out.push('?');
                }
                continue;
            }
        };
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn width_sources_in_order() {
        assert_eq!(width(Some(132), Some(OsStr::new("80"))), 132);
        assert_eq!(width(None, Some(OsStr::new("80"))), 80);
        assert_eq!(width(None, Some(OsStr::new(" 200 "))), 200);
        assert_eq!(width(None, None), 100);
        assert_eq!(width(None, Some(OsStr::new("abc"))), 100);
        assert_eq!(width(None, Some(OsStr::new("0"))), 100);
        assert_eq!(width(None, Some(OsStr::new("10"))), MIN_WIDTH);
        assert_eq!(width(None, Some(OsStr::new("99999999"))), MAX_WIDTH);
        assert_eq!(width(Some(0), Some(OsStr::new("90"))), 90);
    }

    #[test]
    fn colour_decisions() {
        let none = env_of(&[]);
        assert!(color_wanted(ColorChoice::Auto, true, &none));
        assert!(!color_wanted(ColorChoice::Auto, false, &none));
        assert!(color_wanted(
            ColorChoice::Always,
            false,
            &env_of(&[("NO_COLOR", "1")])
        ));
        assert!(!color_wanted(ColorChoice::Never, true, &none));
        assert!(!color_wanted(
            ColorChoice::Auto,
            true,
            &env_of(&[("NO_COLOR", "1")])
        ));
        assert!(color_wanted(
            ColorChoice::Auto,
            true,
            &env_of(&[("NO_COLOR", "")])
        ));
        assert!(!color_wanted(
            ColorChoice::Auto,
            true,
            &env_of(&[("TERM", "dumb")])
        ));
        assert!(color_wanted(
            ColorChoice::Auto,
            false,
            &env_of(&[("CLICOLOR_FORCE", "1")])
        ));
        assert!(!color_wanted(
            ColorChoice::Auto,
            false,
            &env_of(&[("CLICOLOR_FORCE", "0")])
        ));
        assert!(!color_wanted(
            ColorChoice::Auto,
            false,
            &env_of(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")])
        ));
    }

    #[test]
    fn locale_decides_unicode() {
        assert!(unicode_wanted(&env_of(&[])));
        assert!(unicode_wanted(&env_of(&[("LANG", "en_US.UTF-8")])));
        assert!(unicode_wanted(&env_of(&[("LANG", "C.utf8")])));
        assert!(!unicode_wanted(&env_of(&[("LANG", "C")])));
        assert!(!unicode_wanted(&env_of(&[("LANG", "POSIX")])));
        assert!(!unicode_wanted(&env_of(&[
            ("LC_ALL", "C"),
            ("LANG", "en_US.UTF-8")
        ])));
        assert!(unicode_wanted(&env_of(&[
            ("LC_ALL", ""),
            ("LC_CTYPE", "de_DE.UTF-8"),
            ("LANG", "C")
        ])));
        assert!(!unicode_wanted(&env_of(&[("LANG", "de_DE.ISO-8859-1")])));
    }

    #[test]
    fn ascii_keeps_columns() {
        let s = "┌──┬─┐\n│ a┆→ │\n§2 … × 漢é\u{301}";
        let a = asciify(s);
        assert!(a.is_ascii(), "{a}");
        assert_eq!(a, "+--+-+\n| a:> |\nS2 ~ x ???");
        for (x, y) in s.lines().zip(a.lines()) {
            assert_eq!(
                unicode_width::UnicodeWidthStr::width(x),
                unicode_width::UnicodeWidthStr::width(y)
            );
        }
    }
}
