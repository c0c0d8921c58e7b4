//! Kernel same-page merging (`/sys/kernel/mm/ksm`): whether the kernel has it, its `run`
//! state (read once per scan: host.ksm.state, host.ksm.tuning and qemu.mem.merge ask), its
//! counters and controls, and whether ksmtuned is configured.

use crate::rules::context::{Ctx, Got};

pub(crate) const KSM_DIR: &str = "/sys/kernel/mm/ksm";
/// ksmtuned's configuration: when it runs it rewrites `run` and `pages_to_scan`.
pub(crate) const KSMTUNED_CONF: &str = "/etc/ksmtuned.conf";

#[derive(Debug, Clone)]
pub(crate) struct Ksm {
    /// `Err(None)`: the kernel has no KSM; `Err(Some(why))`: the directory is unreadable.
    pub present: Result<(), Option<String>>,
    /// `run` (0 stopped, 1 running, 2 stopped and unmerged), or why unreadable.
    pub run: Result<u32, String>,
    /// ksmtuned's configuration "present" or "absent" (`None`: unreadable).
    pub ksmtuned: Option<&'static str>,
}

/// `KSM_DIR/NAME`.
pub(crate) fn file(name: &str) -> String {
    format!("{KSM_DIR}/{name}")
}

/// The KSM state, read once per scan.
pub(crate) fn ksm<'c>(ctx: &'c Ctx) -> &'c Ksm {
    ctx.cache.ksm.get_or_init(|| read(ctx))
}

fn read(ctx: &Ctx) -> Ksm {
    let present = match ctx.dir(KSM_DIR) {
        Ok(_) => Ok(()),
        Err(None) => Err(None),
        Err(Some(e)) => Err(Some(format!("{KSM_DIR}: {}", e.describe()))),
    };
    let p = file("run");
    let run = match ctx.get(&p) {
        Got::Val(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{p}: unexpected {v:?}")),
        other => Err(format!("{p}: {}", other.why())),
    };
    let ksmtuned = match ctx.get(KSMTUNED_CONF) {
        Got::Val(_) => Some("present"),
        Got::Absent => Some("absent"),
        _ => None,
    };
    Ksm {
        present,
        run,
        ksmtuned,
    }
}

/// A KSM counter (`pages_sharing`, `full_scans`, ...), when readable as a number.
pub(crate) fn counter(ctx: &Ctx, name: &str) -> Option<u64> {
    ctx.text(&file(name)).and_then(|t| t.parse().ok())
}

/// A KSM control's text (`pages_to_scan`, `merge_across_nodes`, ...), when readable.
pub(crate) fn control(ctx: &Ctx, name: &str) -> Option<String> {
    ctx.text(&file(name)).map(str::to_string)
}

/// Why a KSM control has no value (`KSM_DIR/NAME: absent`).
pub(crate) fn why_missing(ctx: &Ctx, name: &str) -> String {
    let p = file(name);
    format!("{p}: {}", ctx.get(&p).why())
}

#[cfg(test)]
mod tests {
    use super::{control, counter, file, ksm, why_missing, KSMTUNED_CONF, KSM_DIR};
    use crate::model::host::HostModel;
    use crate::report::Profile;
    use crate::rules::context::Ctx;
    use crate::rules::testkit::SnapBuilder;

    #[test]
    fn run_state_counters_and_ksmtuned() {
        let s = SnapBuilder::new()
            .dir(KSM_DIR, &["run", "pages_sharing"])
            .file(&file("run"), "1")
            .file(&file("pages_sharing"), "2048")
            .absent(KSMTUNED_CONF)
            .build();
        let h = HostModel::build(&s);
        let ctx = Ctx::new(&s, &h, Profile::Throughput);
        let k = ksm(&ctx);
        assert_eq!(k.present, Ok(()));
        assert_eq!(k.run, Ok(1));
        assert_eq!(k.ksmtuned, Some("absent"));
        assert!(std::ptr::eq(k, ksm(&ctx)), "read once per scan");
        assert_eq!(counter(&ctx, "pages_sharing"), Some(2048));
        assert_eq!(control(&ctx, "merge_across_nodes"), None);
        assert_eq!(
            why_missing(&ctx, "merge_across_nodes"),
            "/sys/kernel/mm/ksm/merge_across_nodes: not collected"
        );
    }

    #[test]
    fn a_kernel_without_ksm_and_a_garbled_run() {
        let s = SnapBuilder::new()
            .absent_dir(KSM_DIR)
            .file(&file("run"), "on")
            .build();
        let h = HostModel::build(&s);
        let ctx = Ctx::new(&s, &h, Profile::Throughput);
        let k = ksm(&ctx);
        assert_eq!(k.present, Err(None));
        assert_eq!(
            k.run,
            Err("/sys/kernel/mm/ksm/run: unexpected \"on\"".into())
        );
        assert_eq!(k.ksmtuned, None);
    }
}
