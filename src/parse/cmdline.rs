//! Kernel command line: `/proc/cmdline`, `GRUB_CMDLINE_LINUX*`, BLS `options`,
//! `/etc/kernel/cmdline`. Values may be double-quoted (`foo="a b"`), which procfs's
//! `KernelCmdline` ignores (dependencies.md).

/// One parameter: `name` or `name=value` (quotes removed from the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub value: Option<String>,
}

/// Split a kernel command line the way the kernel's `next_arg()` does: whitespace separates,
/// double quotes group.
pub fn split(cmdline: &str) -> Vec<Param> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut any = false;
    for c in cmdline.chars() {
        match c {
            '"' => {
                in_quote = !in_quote;
                any = true;
            }
            c if c.is_whitespace() && !in_quote => {
                if any {
                    out.push(to_param(&cur));
                    cur.clear();
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(to_param(&cur));
    }
    out
}

fn to_param(tok: &str) -> Param {
    match tok.split_once('=') {
        Some((n, v)) => Param {
            name: n.to_string(),
            value: Some(v.to_string()),
        },
        None => Param {
            name: tok.to_string(),
            value: None,
        },
    }
}

/// A parsed command line with lookups; later occurrences win, as for most kernel parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cmdline {
    pub params: Vec<Param>,
}

impl Cmdline {
    pub fn parse(s: &str) -> Cmdline {
        Cmdline { params: split(s) }
    }

    /// Parameter names compare with `-` and `_` equivalent, as the kernel does.
    fn same(a: &str, b: &str) -> bool {
        a.len() == b.len()
            && a.bytes().zip(b.bytes()).all(|(x, y)| {
                let n = |c: u8| if c == b'-' { b'_' } else { c };
                n(x) == n(y)
            })
    }

    pub fn has(&self, name: &str) -> bool {
        self.params.iter().any(|p| Self::same(&p.name, name))
    }

    /// The last value given for `name` (`Some("")` for `name=`, `None` if absent or bare).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|p| Self::same(&p.name, name))
            .and_then(|p| p.value.as_deref())
    }

    /// All values of a repeatable parameter (`hugepagesz=1G hugepages=8 hugepagesz=2M ...`).
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.params
            .iter()
            .filter(move |p| Self::same(&p.name, name))
            .filter_map(|p| p.value.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_lookups() {
        let c = Cmdline::parse(
            "BOOT_IMAGE=/vmlinuz ro  intel_iommu=on iommu=pt foo=\"a b\" nohz_full=2-7 quiet\n",
        );
        assert_eq!(c.value("intel_iommu"), Some("on"));
        assert_eq!(c.value("foo"), Some("a b"));
        assert!(c.has("quiet"));
        assert_eq!(c.value("quiet"), None);
        assert_eq!(c.value("nohz-full"), Some("2-7"));
        assert_eq!(c.params.len(), 7);
    }
}
