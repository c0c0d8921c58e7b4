//! `/proc/interrupts`: the interrupt chips it names.

use std::collections::BTreeSet;

/// The MSI and IO-APIC interrupt chip words of `/proc/interrupts` (`IR-PCI-MSI`,
/// `PCI-MSIX-0000:00:00.0`, `IO-APIC`, ...): an `IR-` prefix means interrupt remapping.
pub fn chips(text: &str) -> BTreeSet<&str> {
    text.split_whitespace()
        .filter(|w| w.ends_with("PCI-MSI") || w.ends_with("IO-APIC") || w.contains("PCI-MSIX"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_remapped_and_plain_chips() {
        let t = "           CPU0       CPU1\n  0:         35          0   IO-APIC    2-edge      timer\n 24:          0          0  IR-PCI-MSI 65536-edge      nvme0q0\n";
        assert_eq!(
            chips(t).into_iter().collect::<Vec<_>>(),
            ["IO-APIC", "IR-PCI-MSI"]
        );
        assert!(chips("garbage\0\u{202e}").is_empty());
    }
}
