//! Where a sosreport keeps what kvmaudit reads, for sos 3.x and 4.x.
//!
//! Command outputs live in `sos_commands/PLUGIN/COMMAND_WITH_UNDERSCORES`; files are copied to
//! their host path under the report's top directory. Names below come from sos's plugin
//! sources (sos/report/plugins/*.py in 4.x, sos/plugins/*.py in 3.x): the plugin directory
//! names are the same in both; 3.x's process plugin names its main listing `ps_auxwww`, 4.x's
//! `ps_auxwwwm` (threads shown after each process); 4.x writes `sos report: VERSION` in
//! version.txt, 3.x `sosreport: VERSION`. Several outputs also have a symlink at the top
//! (`root_symlink`): `uname`, `lsmod`, `ps`, `dmidecode`, `hostname`, `installed-debs`.

/// `cpuid -r` (processor plugin).
pub const CPUID: &[&str] = &["sos_commands/processor/cpuid_-r"];
/// `dmidecode` text (hardware plugin).
pub const DMIDECODE: &[&str] = &["sos_commands/hardware/dmidecode", "dmidecode"];
/// `uname -a` (kernel plugin).
pub const UNAME: &[&str] = &["sos_commands/kernel/uname_-a", "uname"];
/// `sysctl -a` (kernel plugin).
pub const SYSCTL: &[&str] = &["sos_commands/kernel/sysctl_-a"];
/// `lsmod` (kernel plugin).
pub const LSMOD: &[&str] = &["sos_commands/kernel/lsmod", "lsmod"];
/// The process listing with full command lines (process plugin): 4.x, 3.x, then the forest
/// form both write, then the top-level link.
pub const PS: &[&str] = &[
    "sos_commands/process/ps_auxwwwm",
    "sos_commands/process/ps_auxwww",
    "sos_commands/process/ps_auxfwww",
    "ps",
];
/// The host name (host plugin in 4.x, general plugin in 3.x, top-level link).
pub const HOSTNAME: &[&str] = &[
    "sos_commands/host/hostname",
    "sos_commands/general/hostname",
    "hostname",
];
/// `lscpu` (processor plugin): recorded as found; the sysfs CPU tree sos copies carries the
/// same topology and is what the rules read.
pub const LSCPU: &[&str] = &["sos_commands/processor/lscpu"];
/// Package databases: RPM (`installed-rpms`, rpm plugin) and dpkg (`dpkg -l`, dpkg plugin).
pub const INSTALLED_RPMS: &[&str] = &["installed-rpms", "sos_commands/rpm/package-data"];
pub const DPKG_L: &[&str] = &["sos_commands/dpkg/dpkg_-l", "installed-debs"];
/// The processor plugin's directory: `cpupower_*` and `turbostat_--debug_*` outputs.
pub const PROCESSOR_DIR: &str = "sos_commands/processor";
/// Prefix of the processor plugin's `turbostat --debug sleep 10` output (its file name ends
/// with the rest of the command: `turbostat_--debug_sleep_10`).
pub const TURBOSTAT_PREFIX: &str = "turbostat_--debug";
/// Prefix of `cpupower frequency-info`, `cpupower info`, `cpupower idle-info`.
pub const CPUPOWER_PREFIX: &str = "cpupower_";
/// libvirt's per-domain QEMU logs (libvirt plugin copies `/var/log/libvirt/qemu/*.log*`).
pub const LIBVIRT_QEMU_LOGS: &str = "/var/log/libvirt/qemu";
/// The report's version file, and what makes a directory a sosreport.
pub const VERSION_TXT: &str = "version.txt";
pub const COMMANDS_DIR: &str = "sos_commands";

/// The sos version named in version.txt (`sos report: 4.5.6`, `sosreport: 3.9`), and which
/// layout that is.
pub fn parse_version(text: &str) -> Option<(String, &'static str)> {
    let line = text.lines().next()?.trim();
    let (key, v) = line.split_once(':')?;
    let v = v.trim();
    if v.is_empty() || !matches!(key.trim(), "sos report" | "sosreport") {
        return None;
    }
    let layout = match v.split('.').next().and_then(|m| m.parse::<u32>().ok()) {
        Some(n) if n >= 4 => "sos 4.x",
        Some(3) => "sos 3.x",
        _ => "sos (unknown major version)",
    };
    Some((crate::safe_text::one_line(v, 64), layout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_both_layouts() {
        assert_eq!(
            parse_version("sos report: 4.0\n"),
            Some(("4.0".into(), "sos 4.x"))
        );
        assert_eq!(
            parse_version("sosreport: 3.9.1\nkvm: 3.9.1\n"),
            Some(("3.9.1".into(), "sos 3.x"))
        );
        assert_eq!(parse_version("hello"), None);
        assert_eq!(parse_version("sos report: \n"), None);
    }
}
