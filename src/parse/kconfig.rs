//! Kernel `.config` with three states per symbol: set (with its value), explicitly not set
//! (`# CONFIG_X is not set`), and absent. Packaging-input configs omit derived symbols
//! (`CONFIG_HZ`), so "absent" must never be read as "n" (dependencies.md, procfs trap).

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Symbol<'a> {
    /// `CONFIG_X=value` (quotes kept off strings).
    Set(&'a str),
    /// `# CONFIG_X is not set`
    NotSet,
    /// The symbol does not appear at all.
    Absent,
}

#[derive(Debug, Clone, Default)]
pub struct KernelConfig {
    values: HashMap<String, Option<String>>,
}

impl KernelConfig {
    /// Parse `.config` text. Unknown lines are ignored: comments and blank lines are normal.
    pub fn parse(text: &str) -> KernelConfig {
        let mut values = HashMap::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("# CONFIG_") {
                if let Some(name) = rest.strip_suffix(" is not set") {
                    values.insert(name.trim().to_string(), None);
                }
            } else if let Some(rest) = line.strip_prefix("CONFIG_") {
                if let Some((name, val)) = rest.split_once('=') {
                    let v = val.trim();
                    let v = v
                        .strip_prefix('"')
                        .and_then(|s| s.strip_suffix('"'))
                        .unwrap_or(v);
                    values.insert(name.trim().to_string(), Some(v.to_string()));
                }
            }
        }
        KernelConfig { values }
    }

    /// State of `name`, given with or without the `CONFIG_` prefix.
    pub fn get(&self, name: &str) -> Symbol<'_> {
        let name = name.strip_prefix("CONFIG_").unwrap_or(name);
        match self.values.get(name) {
            Some(Some(v)) => Symbol::Set(v),
            Some(None) => Symbol::NotSet,
            None => Symbol::Absent,
        }
    }

    /// `y` or `m` (a tristate that is available in some form).
    pub fn enabled(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Symbol::Set(v) => Some(v == "y" || v == "m"),
            Symbol::NotSet => Some(false),
            Symbol::Absent => None,
        }
    }

    /// `CONFIG_HZ`, derived from `CONFIG_HZ_<n>=y` when the packaging input lacks it.
    pub fn hz(&self) -> Option<u32> {
        if let Symbol::Set(v) = self.get("HZ") {
            return v.parse().ok();
        }
        [100u32, 250, 300, 1000]
            .into_iter()
            .find(|hz| self.get(&format!("HZ_{hz}")) == Symbol::Set("y"))
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_states() {
        let k = KernelConfig::parse(
            "# x86_64\nCONFIG_KVM=m\n# CONFIG_INTEL_IOMMU_DEFAULT_ON is not set\nCONFIG_HZ_1000=y\nCONFIG_LOCALVERSION=\"\"\n",
        );
        assert_eq!(k.get("CONFIG_KVM"), Symbol::Set("m"));
        assert_eq!(k.get("INTEL_IOMMU_DEFAULT_ON"), Symbol::NotSet);
        assert_eq!(k.get("NO_SUCH"), Symbol::Absent);
        assert_eq!(k.enabled("KVM"), Some(true));
        assert_eq!(k.enabled("INTEL_IOMMU_DEFAULT_ON"), Some(false));
        assert_eq!(k.enabled("NO_SUCH"), None);
        assert_eq!(k.hz(), Some(1000));
        assert_eq!(k.get("LOCALVERSION"), Symbol::Set(""));
    }
}
