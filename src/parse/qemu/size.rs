//! QEMU size strings (`qemu_strtosz`): `4096`, `4G`, `219136k`, `1.5G`, `0x1000`.

/// Parses a size. Suffixes `B`, `k`/`K`, `M`, `G`, `T`, `P`, `E` are binary multiples (case
/// does not matter); a bare number is multiplied by `default_unit` (1 for object sizes,
/// 1 MiB for `-m` and `-numa mem=`). Returns `None` for garbage, negative values or overflow.
pub fn parse_size(s: &str, default_unit: u64) -> Option<u64> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        // Hex has no fraction; a suffix is allowed but 'B'/'E' are hex digits, so QEMU accepts none.
        return u64::from_str_radix(hex, 16).ok()?.checked_mul(default_unit);
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let unit = match suffix {
        "" => default_unit,
        _ => suffix_unit(suffix)?,
    };
    let (int_part, frac_part) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int: u128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().ok()?
    };
    let mut total = int.checked_mul(u128::from(unit))?;
    if !frac_part.is_empty() {
        // Exact rational arithmetic on at most 18 fraction digits: no float rounding surprises.
        let digits = frac_part
            .get(..frac_part.len().min(18))
            .unwrap_or(frac_part);
        let frac: u128 = digits.parse().ok()?;
        let scale = 10u128.checked_pow(u32::try_from(digits.len()).ok()?)?;
        total = total.checked_add(frac.checked_mul(u128::from(unit))? / scale)?;
    }
    u64::try_from(total).ok()
}

fn suffix_unit(suffix: &str) -> Option<u64> {
    let shift = match suffix {
        "b" | "B" => 0,
        "k" | "K" => 10,
        "m" | "M" => 20,
        "g" | "G" => 30,
        "t" | "T" => 40,
        "p" | "P" => 50,
        "e" | "E" => 60,
        _ => return None,
    };
    Some(1u64 << shift)
}

/// `-m` and `-numa mem=`: QEMU appends "M" when the value ends in a digit, so a bare number is
/// MiB even after `size=`.
pub fn parse_mib_default(s: &str) -> Option<u64> {
    parse_size(s, 1 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096", 1), Some(4096));
        assert_eq!(parse_mib_default("4096"), Some(4 << 30));
        assert_eq!(parse_mib_default("219136k"), Some(219136 * 1024));
        assert_eq!(parse_size("2M", 1), Some(2 << 20));
        assert_eq!(parse_size("1.5G", 1), Some(3 << 29));
        assert_eq!(parse_size("128k", 1), Some(131072));
        assert_eq!(parse_size("1T", 1), Some(1 << 40));
        assert_eq!(parse_size("0x1000", 1), Some(4096));
        assert_eq!(parse_size("", 1), None);
        assert_eq!(parse_size("-1", 1), None);
        assert_eq!(parse_size("12Q", 1), None);
        assert_eq!(parse_size("99999999999E", 1), None);
        assert_eq!(parse_size(".", 1), None);
    }
}
