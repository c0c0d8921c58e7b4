//! Persistent configuration (what the next boot or module load applies), read once per scan:
//! the kernel command lines of GRUB, `/etc/kernel/cmdline` and BLS entries, modprobe.d options,
//! sysctl.d settings and the active tuned profile. Rules compare it with the running values to
//! tell a fix that is configured but waits for a reboot; before, each of them parsed the files
//! again (14 call sites).

use crate::parse::cmdline::Cmdline;
use crate::rules::persistent::{self as read, ModOption};
use crate::snapshot::Snapshot;

/// The active tuned profile's file.
pub const TUNED_ACTIVE: &str = "/etc/tuned/active_profile";

#[derive(Debug, Clone, Default)]
pub struct PersistentConfig {
    /// (file, command line), GRUB first, then `/etc/kernel/cmdline`, then BLS entries.
    pub cmdlines: Vec<(String, Cmdline)>,
    /// modprobe.d `options` lines, in the order the files are read (the last one wins).
    pub modprobe: Vec<ModOption>,
    /// (file, dotted key, value) of sysctl.d files, in systemd-sysctl order (the last wins).
    pub sysctl: Vec<(String, String, String)>,
    /// The active tuned profile ([`TUNED_ACTIVE`], trimmed), when readable.
    pub tuned_profile: Option<String>,
}

impl PersistentConfig {
    pub fn read(s: &Snapshot) -> PersistentConfig {
        PersistentConfig {
            cmdlines: read::kernel_cmdlines(s),
            modprobe: read::modprobe_options(s),
            sysctl: read::sysctl_settings(s),
            tuned_profile: s.text(TUNED_ACTIVE).map(|t| t.trim().to_string()),
        }
    }

    /// The first persistent command line that holds `name`, with that line's value
    /// (`""` for a bare flag) and, when `want` is given, only where the value is `want`.
    pub fn cmdline_param(&self, name: &str, want: Option<&str>) -> Option<(String, String)> {
        self.cmdlines.iter().find_map(|(p, c)| {
            if !c.has(name) {
                return None;
            }
            let v = c.value(name).unwrap_or("").to_string();
            match want {
                Some(w) if v != w => None,
                _ => Some((p.clone(), v)),
            }
        })
    }

    /// A module parameter's configured value and the file that sets it (see
    /// [`read::module_param_in`]).
    pub fn module_param(&self, module: &str, param: &str) -> Option<(String, String)> {
        read::module_param_in(&self.cmdlines, &self.modprobe, module, param)
    }

    /// The value `key` (dotted) gets at the next boot, and the file that sets it.
    pub fn sysctl(&self, key: &str) -> Option<(String, String)> {
        read::sysctl_in(&self.sysctl, key)
    }
}
