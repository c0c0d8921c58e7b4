//! Tickless CPUs: the `nohz_full` set the running kernel applies (sysfs), what the running
//! command line asked for, and how evidence names the vCPU thread affinity judged against it.

use crate::model::host::Vm;
use crate::parse::cpulist;
use crate::rules::context::{Ctx, Got};
use crate::rules::facts::boot_cmdline::running_value;
use std::collections::BTreeSet;

/// The kernel's `nohz_full` CPU list.
pub(crate) const NOHZ_FULL: &str = "/sys/devices/system/cpu/nohz_full";

/// The `nohz_full` CPUs the running kernel applies.
#[derive(Debug, Clone)]
pub(crate) struct NohzFull {
    pub path: &'static str,
    /// Empty when the kernel has none (or was built without NO_HZ_FULL).
    pub active: BTreeSet<u32>,
    /// What the file holds, in words for evidence.
    pub observed: String,
}

/// The active `nohz_full` set, or the words of an unknown verdict (unreadable, or not a CPU
/// list). A missing file is a kernel without NO_HZ_FULL: no tickless CPUs.
pub(crate) fn nohz_full(ctx: &Ctx) -> Result<NohzFull, String> {
    let (active, observed) = match ctx.get(NOHZ_FULL) {
        Got::Val(v) => match cpulist::parse(v) {
            Ok(s) => (s, v.trim().to_string()),
            Err(_) => return Err(format!("{NOHZ_FULL}: unexpected {v:?}")),
        },
        Got::Absent => (
            BTreeSet::new(),
            "absent (kernel without NO_HZ_FULL)".to_string(),
        ),
        other => return Err(format!("{NOHZ_FULL}: {}", other.why())),
    };
    Ok(NohzFull {
        path: NOHZ_FULL,
        active,
        observed,
    })
}

/// `nohz_full=` of the running command line.
pub(crate) fn requested(ctx: &Ctx) -> Option<String> {
    running_value(ctx, "nohz_full").map(str::to_string)
}

/// How evidence names the CPU affinity of a VM's vCPU threads.
pub(crate) fn vcpu_affinity_source(vm: &Vm) -> String {
    format!(
        "/proc/{}/task/*/status Cpus_allowed_list",
        vm.pid.map_or("PID".into(), |p| p.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::{nohz_full, requested, NOHZ_FULL};
    use crate::model::host::HostModel;
    use crate::report::Profile;
    use crate::rules::context::Ctx;
    use crate::rules::testkit::SnapBuilder;

    fn with(b: SnapBuilder, check: impl Fn(&Ctx)) {
        let s = b.build();
        let h = HostModel::build(&s);
        check(&Ctx::new(&s, &h, Profile::Latency));
    }

    #[test]
    fn the_active_set_the_missing_file_and_a_bad_list() {
        with(
            SnapBuilder::new()
                .file(NOHZ_FULL, "1-3,5")
                .file("/proc/cmdline", "ro nohz_full=1-3,5"),
            |ctx| {
                let n = nohz_full(ctx).expect("readable");
                assert_eq!(n.active.into_iter().collect::<Vec<_>>(), [1, 2, 3, 5]);
                assert_eq!(n.observed, "1-3,5");
                assert_eq!(requested(ctx).as_deref(), Some("1-3,5"));
            },
        );
        with(SnapBuilder::new().absent(NOHZ_FULL), |ctx| {
            let n = nohz_full(ctx).expect("absent is none");
            assert!(n.active.is_empty());
            assert_eq!(n.observed, "absent (kernel without NO_HZ_FULL)");
            assert_eq!(requested(ctx), None);
        });
        with(SnapBuilder::new().file(NOHZ_FULL, "x-y"), |ctx| {
            assert_eq!(
                nohz_full(ctx).err().as_deref(),
                Some("/sys/devices/system/cpu/nohz_full: unexpected \"x-y\"")
            );
        });
        with(SnapBuilder::new().denied(NOHZ_FULL), |ctx| {
            assert!(nohz_full(ctx).is_err());
        });
    }
}
