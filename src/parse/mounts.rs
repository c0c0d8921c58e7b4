//! Mount tables: `/proc/mounts` and `/proc/PID/mountinfo`, with the kernel's `\\ooo` escapes
//! undone in paths.

/// One mount: from `/proc/mounts` or a `mountinfo` line (options merged with super options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub source: String,
    pub target: String,
    pub fstype: String,
    pub opts: Vec<String>,
}

impl Mount {
    pub fn opt(&self, key: &str) -> Option<&str> {
        self.opts.iter().find_map(|o| {
            o.strip_prefix(key)
                .and_then(|r| r.strip_prefix('='))
                .or_else(|| (o == key).then_some(""))
        })
    }
    pub fn has_opt(&self, key: &str) -> bool {
        self.opt(key).is_some()
    }
}

/// The kernel escapes space, tab, newline and backslash in mount paths as `\ooo`.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b.get(i + 1..i + 4);
        if b[i] == b'\\' {
            if let Some(oct) = oct.filter(|o| o.iter().all(|c| (b'0'..=b'7').contains(c))) {
                let v = oct
                    .iter()
                    .fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `/proc/mounts` (`source target fstype opts 0 0`).
pub fn parse_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let source = unescape(w.next()?);
            let target = unescape(w.next()?);
            let fstype = w.next()?.to_string();
            let opts = w
                .next()
                .unwrap_or("")
                .split(',')
                .map(str::to_string)
                .collect();
            Some(Mount {
                source,
                target,
                fstype,
                opts,
            })
        })
        .collect()
}

/// `/proc/PID/mountinfo`: `id parent maj:min root target opts [tags] - fstype source superopts`.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let lw: Vec<&str> = left.split_whitespace().collect();
            let target = unescape(lw.get(4)?);
            let mut opts: Vec<String> = lw
                .get(5)
                .map(|o| o.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            let mut rw = right.split_whitespace();
            let fstype = rw.next()?.to_string();
            let source = unescape(rw.next().unwrap_or("none"));
            if let Some(sup) = rw.next() {
                opts.extend(sup.split(',').map(str::to_string));
            }
            Some(Mount {
                source,
                target,
                fstype,
                opts,
            })
        })
        .collect()
}
