//! Formats of individual sysfs values.

/// The active choice of a bracketed list: `always [madvise] never` → `madvise`.
pub fn bracketed(s: &str) -> Option<&str> {
    let start = s.find('[')?;
    let end = s[start..].find(']')? + start;
    Some(&s[start + 1..end])
}

/// A boolean module parameter: `Y`/`N`, `1`/`0`.
pub fn bool_param(s: &str) -> Option<bool> {
    match s.trim() {
        "Y" | "y" | "1" => Some(true),
        "N" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// `hugepages-1048576kB` → 1048576.
pub fn hugepage_dir_kb(name: &str) -> Option<u64> {
    name.strip_prefix("hugepages-")?
        .strip_suffix("kB")?
        .parse()
        .ok()
}

/// A `Key:  value kB` line from a node's `meminfo` (`Node 0 MemTotal:  1234 kB`).
pub fn node_meminfo_kb(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        let k = k.split_whitespace().last()?;
        if k != key {
            return None;
        }
        v.split_whitespace().next()?.parse().ok()
    })
}

/// A number sysfs writes in decimal or `0x` hex (nd region and namespace sizes).
pub fn dec_or_hex(s: &str) -> Option<u64> {
    let t = s.trim();
    t.strip_prefix("0x")
        .map_or_else(|| t.parse().ok(), |h| u64::from_str_radix(h, 16).ok())
}

/// A device's `power/pm_qos_resume_latency_us` in µs: `0` means no constraint (`None`),
/// `n/a` a limit of 0 (no idle state but polling may be used).
pub fn resume_latency_us(s: &str) -> Option<Option<u64>> {
    match s.trim() {
        "n/a" => Some(Some(0)),
        "0" => Some(None),
        v => v.parse().ok().map(Some),
    }
}

/// The MWAIT hint a state's `desc` names: intel_idle writes `MWAIT 0x01`, acpi_idle
/// `ACPI FFH MWAIT 0x1` (FFH = the _CST entry is an MWAIT hint).
pub fn mwait_hint(desc: &str) -> Option<u32> {
    let at = desc.find("MWAIT 0x")? + "MWAIT 0x".len();
    let hex: String = desc[at..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    u32::from_str_radix(&hex, 16).ok()
}

/// A hexadecimal register value as sysfs prints it (`d2008c40660462`, `0x1f`).
pub fn hex_u64(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok()
}

/// A PCI link speed: `8.0 GT/s PCIe` → 8.0; `Unknown` → None.
pub fn link_speed_gts(s: &str) -> Option<f64> {
    s.split_whitespace().next()?.parse().ok()
}

/// A PCI link width: `16` or `x16` → 16.
pub fn link_width(s: &str) -> Option<u32> {
    s.trim().trim_start_matches('x').parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_or_hex_sizes() {
        assert_eq!(dec_or_hex("0x3f0000000\n"), Some(0x0003_f000_0000));
        assert_eq!(dec_or_hex(" 4096 "), Some(4096));
        assert_eq!(dec_or_hex("0xzz"), None);
        assert_eq!(dec_or_hex(""), None);
    }

    #[test]
    fn values() {
        assert_eq!(bracketed("always [madvise] never\n"), Some("madvise"));
        assert_eq!(bracketed("madvise"), None);
        assert_eq!(bool_param("Y\n"), Some(true));
        assert_eq!(hugepage_dir_kb("hugepages-2048kB"), Some(2048));
        assert_eq!(resume_latency_us("0\n"), Some(None));
        assert_eq!(resume_latency_us("n/a"), Some(Some(0)));
        assert_eq!(resume_latency_us("20"), Some(Some(20)));
        assert_eq!(resume_latency_us("x"), None);
        assert_eq!(
            node_meminfo_kb(
                "Node 0 MemTotal:       65842100 kB\nNode 0 MemFree: 1 kB",
                "MemTotal"
            ),
            Some(65842100)
        );
    }
}
