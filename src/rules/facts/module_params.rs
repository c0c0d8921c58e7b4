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

#[cfg(test)]
mod tests {
    use super::{module_loaded, nx_huge_pages_on, param};
    use crate::model::host::HostModel;
    use crate::report::Profile;
    use crate::rules::context::Ctx;
    use crate::rules::testkit::SnapBuilder;

    #[test]
    fn a_parameter_names_its_path_and_why_it_has_no_number() {
        let s = SnapBuilder::new()
            .dir("/sys/module", &["kvm"])
            .file("/sys/module/kvm/parameters/halt_poll_ns", "200000")
            .file("/sys/module/kvm/parameters/halt_poll_ns_grow", "two")
            .file("/sys/module/kvm/parameters/nx_huge_pages", "force")
            .build();
        let h = HostModel::build(&s);
        let ctx = Ctx::new(&s, &h, Profile::Throughput);
        let p = param(&ctx, "kvm", "halt_poll_ns");
        assert_eq!(p.path, "/sys/module/kvm/parameters/halt_poll_ns");
        assert_eq!(p.number(), Ok(200_000));
        assert_eq!(
            param(&ctx, "kvm", "halt_poll_ns_grow").number(),
            Err("/sys/module/kvm/parameters/halt_poll_ns_grow: unexpected \"two\"".into())
        );
        assert_eq!(
            param(&ctx, "kvm_intel", "ple_gap").number(),
            Err("/sys/module/kvm_intel/parameters/ple_gap: not collected".into())
        );
        assert_eq!(module_loaded(&ctx, "kvm"), Ok(true));
        assert_eq!(module_loaded(&ctx, "vhost_net"), Ok(false));
        assert_eq!(
            nx_huge_pages_on(&ctx),
            Some(("force".into(), "not recorded".into()))
        );
    }

    #[test]
    fn an_unreadable_module_list_is_not_a_module_that_is_absent() {
        let s = SnapBuilder::new().dir_denied("/sys/module").build();
        let h = HostModel::build(&s);
        let ctx = Ctx::new(&s, &h, Profile::Throughput);
        assert_eq!(
            module_loaded(&ctx, "kvm"),
            Err("/sys/module unreadable".into())
        );
    }
}
