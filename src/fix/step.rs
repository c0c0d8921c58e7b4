//! The typed steps of a remediation plan. Each one is checked against the running host by the
//! script before it changes anything, so running the script twice changes nothing the second
//! time; each one knows how to undo itself (the script records the prior state first).

/// kvmaudit's child profile on hosts that run tuned.
pub const TUNED_CONF: &str = "/etc/tuned/kvmaudit/tuned.conf";

/// Whether a step runs by default or only with the script's `--with-guarded` flag
/// (catalogue "Auto" column; `no` never becomes a step, only advice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Gate {
    Yes,
    Guarded,
}

impl Gate {
    pub fn as_str(self) -> &'static str {
        match self {
            Gate::Yes => "yes",
            Gate::Guarded => "guarded",
        }
    }
}

/// How the current value of a sysfs/procfs attribute is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// The first line, as is (`performance`, `0`).
    Plain,
    /// The bracketed word of a select-one attribute (`always [madvise] never` → `madvise`).
    Bracketed,
}

impl ReadMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReadMode::Plain => "plain",
            ReadMode::Bracketed => "bracketed",
        }
    }
}

/// A kvmaudit-owned (or well-known) configuration file the script edits line by line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConfFile {
    /// `/etc/sysctl.d/90-kvmaudit.conf`: `key = value`.
    Sysctl,
    /// `/etc/modprobe.d/kvmaudit.conf`: `options MODULE param=value`.
    Modprobe,
    /// `/etc/tmpfiles.d/kvmaudit.conf`: `w PATH - - - - VALUE`, re-applied at every boot.
    Tmpfiles,
    /// `/etc/fstab` (hugetlbfs mounts only).
    Fstab,
    /// `/etc/udev/rules.d/60-kvmaudit.rules` (guest block-queue settings, SR-IOV VF counts,
    /// vfio-pci overrides).
    Udev,
    /// `/etc/modules-load.d/kvmaudit.conf`: one module name a line, loaded at boot.
    ModulesLoad,
}

impl ConfFile {
    pub fn path(&self) -> &'static str {
        match self {
            ConfFile::Sysctl => "/etc/sysctl.d/90-kvmaudit.conf",
            ConfFile::Modprobe => "/etc/modprobe.d/kvmaudit.conf",
            ConfFile::Tmpfiles => "/etc/tmpfiles.d/kvmaudit.conf",
            ConfFile::Fstab => "/etc/fstab",
            ConfFile::Udev => "/etc/udev/rules.d/60-kvmaudit.rules",
            ConfFile::ModulesLoad => "/etc/modules-load.d/kvmaudit.conf",
        }
    }
}

/// What a step changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Write `value` to a sysfs/procfs attribute unless it already reads `value`.
    SetValue {
        path: String,
        value: String,
        read: ReadMode,
    },
    /// Disable one cpuidle state of one CPU: `STATE_DIR/disable` ← 1, after checking that
    /// `STATE_DIR/name` is still `name` (state indexes are per driver, names are what matter).
    CpuidleDisable { state_dir: String, name: String },
    /// Grow a huge page pool to at least `count` pages (never shrink one, it may be in use),
    /// after checking that `meminfo` shows enough free memory for `page_kb`-sized pages.
    HugepagesAtLeast {
        path: String,
        count: u64,
        page_kb: u64,
        meminfo: String,
    },
    /// The tmpfiles.d line that re-applies a pool size at boot, written only once the running
    /// pool has reached `count` (a size the host could not give now must not be asked of it at
    /// every boot, where it would take all free memory of the node).
    HugepagesPersist { path: String, count: u64 },
    /// Make `line` the only line of `file` that starts with `key` (followed by a space, `=` or
    /// the end of the line).
    ConfLine {
        file: ConfFile,
        key: String,
        line: String,
    },
    /// Persistent kernel command line: `set` tokens (`key=value` or a bare flag) replace any
    /// token with the same key; `remove` keys disappear. grubby, else (BLS entries with
    /// `$kernelopts`) grub2-editenv, else kvmaudit's /etc/default/grub.d drop-in (sourced
    /// after every other GRUB file) plus the distribution's regeneration, else
    /// /etc/kernel/cmdline.
    KernelArgs {
        set: Vec<String>,
        remove: Vec<String>,
    },
    /// Mount hugetlbfs with `pagesize` (`1G`, `2M`) on `dir` unless such a mount exists.
    HugetlbMount { dir: String, pagesize: String },
    /// Comment out the lines of a sysctl.d file that set `key` to something else and would be
    /// applied after kvmaudit's own file (which they would override at boot).
    SysctlCommentOut { file: String, key: String },
    /// `key=value` in `[section]` of kvmaudit's tuned profile (/etc/tuned/kvmaudit/tuned.conf,
    /// `include=` the profile active before), which the script activates at the end: on a host
    /// that runs tuned, tuned owns these settings and would undo a tmpfiles.d or sysctl.d line.
    TunedOption {
        section: String,
        key: String,
        value: String,
    },
    /// The module must be reloaded for `param` to become `value` (modprobe.d already says so).
    /// The script refuses the reload while VMs use the module, unless `--force`.
    ModuleReload {
        module: String,
        param: String,
        value: String,
    },
    /// KSM's merge_across_nodes ← `value`. The kernel refuses the change while pages are
    /// merged, so the script unmerges (run ← 2), writes it, and restores `run`.
    KsmMergeAcrossNodes { value: String },
    /// Bind PCI function `device` to `driver` as driverctl does: driver_override, unbind from
    /// the current driver, drivers_probe.
    PciDriverOverride { device: String, driver: String },
}

/// What else it takes for a change to be effective.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// Immediately effective.
    Nothing,
    /// A host (or guest) reboot: the kernel command line.
    Reboot,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The rule id whose finding this step fixes.
    pub rule: String,
    pub gate: Gate,
    pub kind: Kind,
    pub after: After,
}

impl Step {
    pub fn new(rule: &str, gate: Gate, kind: Kind) -> Step {
        Step {
            rule: rule.to_string(),
            gate,
            kind,
            after: After::Nothing,
        }
    }
    pub fn after(mut self, a: After) -> Step {
        self.after = a;
        self
    }
    /// The tuned profile option that re-applies a sysfs write whenever tuned starts: the
    /// cpu and vm plugins' own options where tuned has one (so that they override the parent
    /// profile's), else a `[sysfs]` line.
    pub fn tuned_for(rule: &str, gate: Gate, path: &str, value: &str) -> Option<Step> {
        if !super::quote::plain_path(path) || !super::quote::plain_token(value) {
            return None;
        }
        let cpufreq = |attr: &str| {
            super::facts::path_matches(
                &format!("/sys/devices/system/cpu/cpufreq/policy*/{attr}"),
                path,
            )
        };
        let (section, key, value) = if cpufreq("scaling_governor") {
            ("cpu", "governor".to_string(), value.to_string())
        } else if cpufreq("energy_performance_preference") {
            ("cpu", "energy_performance_preference".into(), value.into())
        } else if super::facts::path_matches(
            "/sys/devices/system/cpu/cpu*/power/energy_perf_bias",
            path,
        ) && value == "0"
        {
            ("cpu", "energy_perf_bias".into(), "performance".into())
        } else if path == "/sys/kernel/mm/transparent_hugepage/enabled" {
            ("vm", "transparent_hugepages".into(), value.into())
        } else {
            ("sysfs", path.to_string(), value.to_string())
        };
        Some(Step::new(
            rule,
            gate,
            Kind::TunedOption {
                section: section.into(),
                key,
                value,
            },
        ))
    }
    /// A tmpfiles.d line that re-applies a sysfs write at boot, when the path is plain enough
    /// to appear in that file.
    pub fn tmpfiles_for(rule: &str, gate: Gate, path: &str, value: &str) -> Option<Step> {
        if !super::quote::plain_path(path) || !super::quote::plain_token(value) {
            return None;
        }
        Some(Step::new(
            rule,
            gate,
            Kind::ConfLine {
                file: ConfFile::Tmpfiles,
                key: format!("w {path}"),
                line: format!("w {path} - - - - {value}"),
            },
        ))
    }
    /// The host paths this step may write (for reviewers and for tests that isolate them).
    pub fn touches(&self) -> Vec<String> {
        match &self.kind {
            Kind::SetValue { path, .. } | Kind::HugepagesAtLeast { path, .. } => {
                vec![path.clone()]
            }
            Kind::CpuidleDisable { state_dir, .. } => vec![format!("{state_dir}/disable")],
            Kind::ConfLine { file, .. } => vec![file.path().to_string()],
            Kind::HugepagesPersist { .. } => vec![ConfFile::Tmpfiles.path().to_string()],
            Kind::KernelArgs { .. } => vec![
                "/etc/default/grub".into(),
                "/etc/default/grub.d/99-kvmaudit.cfg".into(),
                "/boot/grub2/grubenv".into(),
                "/etc/kernel/cmdline".into(),
                "/boot/loader/entries/*.conf".into(),
            ],
            Kind::HugetlbMount { dir, .. } => vec![dir.clone()],
            Kind::SysctlCommentOut { file, .. } => vec![file.clone()],
            Kind::ModuleReload { .. } => vec![],
            Kind::KsmMergeAcrossNodes { .. } => vec![
                "/sys/kernel/mm/ksm/run".into(),
                "/sys/kernel/mm/ksm/merge_across_nodes".into(),
            ],
            Kind::PciDriverOverride { device, .. } => vec![
                format!("/sys/bus/pci/devices/{device}/driver_override"),
                format!("/sys/bus/pci/devices/{device}/driver/unbind"),
                "/sys/bus/pci/drivers_probe".into(),
            ],
            Kind::TunedOption { .. } => vec![
                TUNED_CONF.into(),
                "/etc/tuned/active_profile".into(),
                "/etc/tuned/profile_mode".into(),
            ],
        }
    }
}
