//! Kernel module state and parameters as the rules read them: whether `kvm`, `kvm_intel`,
//! `kvm_amd` or `vhost_net` is loaded (`/sys/module/NAME`) and a parameter's value with the
//! path it came from (`/sys/module/NAME/parameters/PARAM`), so a rule names its evidence
//! without spelling host paths itself.

use crate::rules::context::{Ctx, Got};

/// Where the kernel lists loaded (and parameterised built-in) modules.
pub(crate) const MODULES: &str = "/sys/module";

/// `/sys/module/NAME`, as evidence that a module is not loaded.
pub(crate) fn module_dir(module: &str) -> String {
    format!("{MODULES}/{module}")
}

/// Whether a module is loaded: `Err` with the words rules report when the module list is
/// unreadable (it then says nothing either way).
pub(crate) fn module_loaded(ctx: &Ctx, module: &str) -> Result<bool, String> {
    ctx.module_present(module)
        .ok_or_else(|| format!("{MODULES} unreadable"))
}

/// One module parameter: its sysfs path and what the snapshot holds there.
#[derive(Debug, Clone)]
pub(crate) struct Param<'a> {
    pub path: String,
    pub got: Got<'a>,
}

/// `module`'s parameter `name`.
pub(crate) fn param<'a>(ctx: &Ctx<'a>, module: &str, name: &str) -> Param<'a> {
    let path = format!("{MODULES}/{module}/parameters/{name}");
    let got = ctx.get(&path);
    Param { path, got }
}

impl Param<'_> {
    /// The trimmed value, when readable.
    pub fn value(&self) -> Option<String> {
        self.got.val().map(|v| v.trim().to_string())
    }

    /// The value as an unsigned number, or the words of an unknown verdict
    /// (`PATH: unexpected "x"`, `PATH: absent`).
    pub fn number(&self) -> Result<u64, String> {
        match self.got {
            Got::Val(v) => v
                .trim()
                .parse()
                .map_err(|_| format!("{}: unexpected {v:?}", self.path)),
            other => Err(format!("{}: {}", self.path, other.why())),
        }
    }
}

/// The `kvm` halt-polling parameters reported beside `halt_poll_ns`.
pub(crate) const HALT_POLL_TUNING: [&str; 3] = [
    "halt_poll_ns_grow",
    "halt_poll_ns_grow_start",
    "halt_poll_ns_shrink",
];

/// `kvm.nx_huge_pages` when it is on (Y or force), with the iTLB multihit vulnerability
/// state that explains it (KVM splits executable huge pages into 4 KiB EPT entries).
pub(crate) fn nx_huge_pages_on(ctx: &Ctx) -> Option<(String, String)> {
    let v = ctx
        .module_param("kvm", "nx_huge_pages")
        .val()?
        .trim()
        .to_string();
    let on = crate::parse::sysfs::bool_param(&v) == Some(true) || v == "force";
    if !on {
        return None;
    }
    let vuln = ctx
        .text("/sys/devices/system/cpu/vulnerabilities/itlb_multihit")
        .unwrap_or("not recorded")
        .to_string();
    Some((v, vuln))
}
