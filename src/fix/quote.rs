//! Getting host data into a script, a comment, a config line or an XML file without letting it
//! change the meaning of what surrounds it.
//!
//! Three contexts, three rules:
//! - shell words: [`sh`] (`shell_words::quote`), always, for every value that came from the host;
//! - comments and messages: [`comment`] turns every control character (a newline would end the
//!   comment and start a command) into a visible escape;
//! - lines of configuration files (tmpfiles.d, sysctl.d, modprobe.d, fstab, the kernel command
//!   line): these formats have their own escapes and specifiers, so host data goes there only
//!   when [`plain_path`] / [`plain_token`] accept it; otherwise the persistent form is skipped and
//!   the script says so.

use std::borrow::Cow;

/// One shell word, quoted when needed (`'a b'`, `'it'\''s'`, by `shell_words::quote`). A value
/// with control characters (a newline) becomes a bash ANSI-C string (`$'a\nb'`) instead, so that
/// every step of the script stays on one line a reviewer can read; bidi overrides and line
/// separators are written as `\uXXXX` there, so the line reads as what it does.
pub fn sh(s: &str) -> Cow<'_, str> {
    if !s.chars().any(crate::safe_text::is_hazard) {
        return shell_words::quote(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str("$'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            c if crate::safe_text::is_hazard(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    Cow::Owned(out)
}

/// Text for a `#` comment or an echo'd message: control characters (newline, carriage return,
/// escape, DEL, C1 controls), the Unicode line/paragraph separators and the bidi overrides (the
/// list of [`crate::safe_text::is_hazard`]) become `\n`, `\xNN` or `\u{...}` escapes, so the
/// text stays on one line and reads as what it is.
pub fn comment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if crate::safe_text::is_hazard(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A path that may appear verbatim in a configuration file line: absolute, made of
/// `[A-Za-z0-9._:+@-]` components (`%` would be a tmpfiles specifier, whitespace a field
/// separator, a backslash an escape), no empty, `.` or `..` component.
pub fn plain_path(p: &str) -> bool {
    let Some(rest) = p.strip_prefix('/') else {
        return false;
    };
    !rest.is_empty()
        && rest.split('/').all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:+@-".contains(&b))
        })
}

/// A value or kernel argument that may appear verbatim in a configuration line:
/// `[A-Za-z0-9._:,=+@/-]`, not empty.
pub fn plain_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:,=+@/-".contains(&b))
}

/// A host path the script may write to at run time: absolute, under one of `prefixes`, no
/// empty, `.` or `..` component (so a crafted name cannot climb out of sysfs), no NUL. Other
/// characters are allowed: the script quotes them. A glob character (`*`, `?`, `[`) refuses
/// the path: a report's `/proc/irq/*` names many files, and no step is made from it.
pub fn safe_host_path(p: &str, prefixes: &[&str]) -> bool {
    if p.contains(['\0', '*', '?', '[']) || !prefixes.iter().any(|pre| p.starts_with(pre)) {
        return false;
    }
    match p.strip_prefix('/') {
        Some(rest) => rest
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".."),
        None => false,
    }
}

/// Text for an XML comment: no `--` (forbidden inside comments), no control characters.
pub fn xml_comment(s: &str) -> String {
    let mut t = comment(s);
    while t.contains("--") {
        t = t.replace("--", "- -");
    }
    if t.ends_with('-') {
        t.push(' ');
    }
    t
}

/// Text for XML character data or an attribute value.
pub fn xml_text(s: &str) -> String {
    quick_xml::escape::escape(comment(s).as_str()).into_owned()
}

/// A file name made from a domain name: `[A-Za-z0-9._-]` kept, anything else `_`; when
/// something had to change (or the name is empty or starts with a dot) a short hash of the
/// original keeps different names apart.
pub fn file_stem(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .take(80)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned == name && !name.is_empty() && !name.starts_with('.') {
        cleaned
    } else {
        format!("{}-{:08x}", cleaned.trim_start_matches('.'), fnv1a(name))
    }
}

fn fnv1a(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "pol'icy\"0 $(touch /tmp/x) `id` a b\nc";

    #[test]
    fn comment_keeps_one_line() {
        let c = comment(HOSTILE);
        assert!(!c.contains('\n'));
        assert!(c.contains("\\n"));
        assert_eq!(comment("a\u{2028}b\x1b"), "a\\u{2028}b\\x1b");
        // Bidi overrides would make a reviewer read the comment in another order.
        assert_eq!(comment("vm\u{202e}\u{2066}cba"), "vm\\u{202e}\\u{2066}cba");
        assert_eq!(sh("a\u{202e}b"), "$'a\\u202eb'");
    }

    #[test]
    fn sh_round_trips_through_bash() {
        for v in [
            HOSTILE,
            "plain",
            "a b",
            "it's",
            "tab\there\\ \x01\x7f\u{85}é",
            "bidi\u{202e}\u{2069}\u{2028}x",
            "",
        ] {
            let q = sh(v);
            assert!(!q.contains('\n'), "{q}");
            let out = std::process::Command::new("bash")
                .arg("-c")
                .arg(format!("printf %s {q}"))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), v, "{q}");
        }
        assert_eq!(sh("plain"), "plain");
        assert_eq!(sh("a b"), "'a b'");
    }

    #[test]
    fn plain_checks() {
        assert!(plain_path(
            "/sys/devices/system/cpu/cpufreq/policy0/scaling_governor"
        ));
        assert!(!plain_path("/sys/a b"));
        assert!(!plain_path("/sys/a%n"));
        assert!(!plain_path("/sys/../etc"));
        assert!(!plain_path("relative"));
        assert!(plain_token("intel_iommu=on"));
        assert!(plain_token("0-3,8-11"));
        assert!(!plain_token("a b"));
        assert!(!plain_token("$(x)"));
        assert!(!plain_token(""));
    }

    #[test]
    fn host_paths() {
        assert!(safe_host_path("/sys/x/policy 'a'/y", &["/sys/"]));
        assert!(!safe_host_path("/sys/x/../../etc/shadow", &["/sys/"]));
        assert!(!safe_host_path("/etc/shadow", &["/sys/"]));
        assert!(!safe_host_path("/sys//x", &["/sys/"]));
        assert!(!safe_host_path(
            "/proc/irq/*/smp_affinity_list",
            &["/proc/irq/"]
        ));
        assert!(!safe_host_path(
            "/sys/block/sd?/queue/rq_affinity",
            &["/sys/"]
        ));
        assert!(!safe_host_path(
            "/sys/block/sd[a-z]/queue/rq_affinity",
            &["/sys/"]
        ));
    }

    #[test]
    fn xml_escapes() {
        assert_eq!(xml_comment("a--b-"), "a- -b- ");
        assert_eq!(xml_text("<a&'\n"), "&lt;a&amp;&apos;\\n");
    }

    #[test]
    fn stems() {
        assert_eq!(file_stem("guest1"), "guest1");
        let s = file_stem("../evil name");
        assert!(!s.contains('/') && !s.starts_with('.'), "{s}");
        assert_ne!(file_stem("a b"), file_stem("a_b"));
        assert!(!file_stem("").is_empty());
    }
}
