//! PCI addresses as QEMU accepts them in `vfio-pci,host=` / `sysfsdev=`.

/// Normalizes `[domain:]bus:slot.function` (hex, any case, domain optional) to the sysfs form
/// `0000:3d:01.1`. Returns `None` when it is not a PCI address.
pub fn normalize_bdf(s: &str) -> Option<String> {
    let s = s.trim();
    let (rest, func) = s.rsplit_once('.')?;
    let mut parts = rest.rsplitn(3, ':');
    let slot = parts.next()?;
    let bus = parts.next()?;
    let domain = parts.next().unwrap_or("0");
    let domain = hex_field(domain, 8)?;
    let bus = hex_field(bus, 2)?;
    let slot = hex_field(slot, 2)?;
    let func = hex_field(func, 1)?;
    if slot > 0x1f || func > 7 {
        return None;
    }
    Some(format!("{domain:04x}:{bus:02x}:{slot:02x}.{func:x}"))
}

/// The address at the end of a sysfs path (`/sys/bus/pci/devices/0000:3d:01.1`).
pub fn bdf_from_sysfs(path: &str) -> Option<String> {
    let base = path.trim_end_matches('/').rsplit('/').next()?;
    normalize_bdf(base)
}

fn hex_field(s: &str, max_digits: usize) -> Option<u32> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(normalize_bdf("3d:01.1").as_deref(), Some("0000:3d:01.1"));
        assert_eq!(
            normalize_bdf("0000:3D:01.1").as_deref(),
            Some("0000:3d:01.1")
        );
        assert_eq!(
            normalize_bdf("2424:21:1c.6").as_deref(),
            Some("2424:21:1c.6")
        );
        assert_eq!(
            normalize_bdf("10000:00:00.0").as_deref(),
            Some("10000:00:00.0")
        );
        assert_eq!(normalize_bdf("1:2.3").as_deref(), Some("0000:01:02.3"));
        assert_eq!(normalize_bdf("3d:01"), None);
        assert_eq!(normalize_bdf("3d:20.0"), None);
        assert_eq!(normalize_bdf("zz:01.0"), None);
        assert_eq!(normalize_bdf(""), None);
        assert_eq!(
            bdf_from_sysfs("/sys/bus/pci/devices/0000:3d:01.1/").as_deref(),
            Some("0000:3d:01.1")
        );
        assert_eq!(
            bdf_from_sysfs("/sys/bus/mdev/devices/c2177883-f1bb-47f0-914d-32a22e3a8804"),
            None
        );
    }
}
