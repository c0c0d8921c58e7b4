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
    /// Written by kconfig itself (see [`KernelConfig::is_complete`]).
    generated: bool,
}

/// The first line kconfig writes into every `.config` (`make olddefconfig`, `/boot/config-*`,
/// `/proc/config.gz`). Packaging inputs (RHEL's `kernel-x86_64-rhel.config`, Fedora's) lack it.
const GENERATED_HEADER: &str = "# Automatically generated file; DO NOT EDIT.";

/// Fewer symbols than this cannot be a whole x86 `.config` (a 4.x one already lists ~7000).
const MIN_COMPLETE_SYMBOLS: usize = 1000;

impl KernelConfig {
    /// Parse `.config` text. Unknown lines are ignored: comments and blank lines are normal.
    pub fn parse(text: &str) -> KernelConfig {
        let mut values = HashMap::new();
        let mut generated = false;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if n < 8 && line == GENERATED_HEADER {
                generated = true;
            }
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
        KernelConfig { values, generated }
    }

    /// Whether this is a whole `.config` as kconfig writes it, where every symbol whose
    /// dependencies are met appears (set or `is not set`), so an absent symbol is off. That
    /// takes kconfig's header and the compiler line it records (`CONFIG_CC_VERSION_TEXT`, since
    /// 5.8; `CONFIG_CC_IS_GCC`/`CLANG` before), with a plausible number of symbols. Packaging
    /// inputs and fragments omit selected and defaulted symbols: there absence says nothing.
    pub fn is_complete(&self) -> bool {
        self.generated
            && ["CC_VERSION_TEXT", "CC_IS_GCC", "CC_IS_CLANG"]
                .iter()
                .any(|s| self.values.contains_key(*s))
            && self.values.len() >= MIN_COMPLETE_SYMBOLS
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

/// The kernel release a `.config`'s header names (`# Linux/x86 6.1.0 Kernel Configuration`
/// → `6.1.0`), from the first of its first lines that names one.
pub fn header_release(text: &str) -> Option<&str> {
    text.lines().take(8).find_map(|l| {
        let rest = l.strip_prefix("# Linux/")?;
        let mut w = rest.split_whitespace();
        w.next()?;
        let v = w.next()?;
        // A release starts with its major and minor numbers (`6.1`, `5.14`).
        let mut nums = v.split(|c: char| !c.is_ascii_digit());
        let major_minor = [nums.next()?, nums.next()?];
        major_minor
            .iter()
            .all(|n| n.parse::<u32>().is_ok())
            .then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_the_release() {
        let t = "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 6.1.0-50-amd64 Kernel Configuration\n#\n";
        assert_eq!(header_release(t), Some("6.1.0-50-amd64"));
        assert_eq!(header_release("# Linux/x86\n"), None);
        assert_eq!(header_release("# Linux/x86 Kernel Configuration\n"), None);
        assert_eq!(header_release("CONFIG_X=y\n"), None);
        assert_eq!(
            header_release("# Linux/x86 6 x\n# Linux/x86 5.14.0 y\n"),
            Some("5.14.0")
        );
    }

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
        assert!(!k.is_complete());
    }

    /// The distribution configs of fixtures/kconfig: Debian's installed /boot/config-* is
    /// kconfig's output; RHEL's and Fedora's packaging inputs are not (RHEL 9.3's has
    /// CONFIG_DEV_DAX=m but no CONFIG_DAX line, which DEV_DAX depends on).
    #[test]
    fn completeness_of_real_configs() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/kconfig/");
        let read =
            |f: &str| KernelConfig::parse(&std::fs::read_to_string(format!("{dir}{f}")).unwrap());
        assert!(read("debian12-config-6.1.0-50-amd64").is_complete());
        let rhel = read("el9_3-kernel-5.14.0-362.24.1-x86_64-rhel.config");
        assert!(!rhel.is_complete());
        assert_eq!(rhel.get("DEV_DAX"), Symbol::Set("m"));
        assert_eq!(rhel.get("DAX"), Symbol::Absent);
        assert!(!read("fedora40-kernel-6.8.2-300.fc40-x86_64-fedora.config").is_complete());
        // The header alone does not make a fragment complete.
        let frag = KernelConfig::parse(&format!(
            "#\n{GENERATED_HEADER}\n#\nCONFIG_CC_VERSION_TEXT=\"gcc\"\nCONFIG_KVM=m\n"
        ));
        assert!(!frag.is_complete());
    }
}
