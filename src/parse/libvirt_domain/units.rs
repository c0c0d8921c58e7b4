//! libvirt's scaled integers (`<memory unit='GiB'>4</memory>`): units are case-insensitive;
//! `KB`/`MB`/... are powers of 1000, `k`/`KiB`/`M`/`MiB`/... powers of 1024; no unit is the
//! element's default (KiB for memory).

/// A size in bytes; `None` for a missing, non-numeric or overflowing value or an unknown unit.
pub fn bytes_of(value: Option<&str>, unit: Option<&str>) -> Option<u64> {
    let n: u64 = value?.trim().parse().ok()?;
    let mult: u64 = match unit.unwrap_or("KiB").to_ascii_lowercase().as_str() {
        "b" | "bytes" => 1,
        "kb" => 1000,
        "k" | "kib" => 1 << 10,
        "mb" => 1_000_000,
        "m" | "mib" => 1 << 20,
        "gb" => 1_000_000_000,
        "g" | "gib" => 1 << 30,
        "tb" => 1_000_000_000_000,
        "t" | "tib" => 1 << 40,
        "pb" => 1_000_000_000_000_000,
        "p" | "pib" => 1 << 50,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// A size in KiB, rounded down (libvirt keeps memory in KiB).
pub fn kib_of(value: Option<&str>, unit: Option<&str>) -> Option<u64> {
    bytes_of(value, unit).map(|b| b / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_scale_and_overflow_is_unknown() {
        assert_eq!(bytes_of(Some("4"), Some("GiB")), Some(4 << 30));
        assert_eq!(bytes_of(Some("219136"), None), Some(219136 * 1024));
        assert_eq!(bytes_of(Some("2"), Some("MB")), Some(2_000_000));
        assert_eq!(kib_of(Some("2048"), Some("KiB")), Some(2048));
        assert_eq!(bytes_of(Some("99999999999999999"), Some("PiB")), None);
        assert_eq!(bytes_of(Some("-1"), None), None);
        assert_eq!(bytes_of(Some("1"), Some("furlong")), None);
    }
}
