//! `/proc/meminfo`, read leniently: every `Key: value [kB]` line that parses is kept, whatever
//! else the file holds. procfs's parser rejected the whole file when one field it expects was
//! missing (a trimmed sosreport copy, an old or new kernel), which lost MemTotal with it.

use std::collections::BTreeMap;

/// The readable fields of `/proc/meminfo`, in bytes (`kB` lines) or counts (`HugePages_*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meminfo {
    fields: BTreeMap<String, u64>,
}

impl Meminfo {
    /// Parse `/proc/meminfo` text. Lines that do not parse are skipped; the first value of a
    /// repeated key wins. `None` when no line parses at all.
    pub fn parse(text: &str) -> Option<Meminfo> {
        let mut fields = BTreeMap::new();
        for line in text.lines() {
            let Some((key, rest)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim();
            if key.is_empty() || key.contains(char::is_whitespace) {
                continue;
            }
            let mut words = rest.split_whitespace();
            let Some(Ok(n)) = words.next().map(str::parse::<u64>) else {
                continue;
            };
            let value = match words.next() {
                None => Some(n),
                Some("kB") if words.next().is_none() => n.checked_mul(1024),
                Some(_) => None,
            };
            if let Some(v) = value {
                fields.entry(key.to_string()).or_insert(v);
            }
        }
        (!fields.is_empty()).then_some(Meminfo { fields })
    }

    /// A field by its name in the file (`MemTotal`, `HugePages_Total`).
    pub fn get(&self, key: &str) -> Option<u64> {
        self.fields.get(key).copied()
    }

    /// `MemTotal`, bytes.
    pub fn mem_total(&self) -> Option<u64> {
        self.get("MemTotal")
    }

    /// `Hugepagesize` (the default huge page size), bytes.
    pub fn hugepagesize(&self) -> Option<u64> {
        self.get("Hugepagesize")
    }

    /// `AnonHugePages` (THP-backed anonymous memory), bytes.
    pub fn anon_hugepages(&self) -> Option<u64> {
        self.get("AnonHugePages")
    }
}

#[cfg(test)]
mod tests {
    use super::Meminfo;

    #[test]
    fn partial_file_keeps_every_readable_field() {
        // A copy that lost most fields (and has a garbled one): MemTotal and Hugepagesize stay.
        let m = Meminfo::parse(
            "MemTotal:       263744608 kB\nMemFree: lots\nHugePages_Total:      16\nHugepagesize:    1048576 kB\n",
        )
        .unwrap();
        assert_eq!(m.mem_total(), Some(263744608 * 1024));
        assert_eq!(m.hugepagesize(), Some(1 << 30));
        assert_eq!(m.get("HugePages_Total"), Some(16));
        assert_eq!(m.get("MemFree"), None);
        assert_eq!(m.anon_hugepages(), None);
    }

    #[test]
    fn odd_input() {
        assert_eq!(Meminfo::parse(""), None);
        assert_eq!(Meminfo::parse("garbage\n\u{1F600}: 1 kB x\n"), None);
        let m = Meminfo::parse("MemTotal: 18446744073709551615 kB\nA: 1 kB\nA: 2 kB\n").unwrap();
        assert_eq!(m.mem_total(), None, "overflowing kB value is dropped");
        assert_eq!(m.get("A"), Some(1024));
    }
}
