//! What a scan run inside a guest reads about the guest itself: its cpuidle driver and
//! governor (guest halt polling), the haltpoll governor's parameters and its virtio block
//! queues. The guest rules judge these; on a hypervisor they stay unread.

use crate::parse::sysfs;
use crate::rules::context::{Ctx, Got};

pub(crate) const CPUIDLE_DRIVER: &str = "/sys/devices/system/cpu/cpuidle/current_driver";
const BLOCK: &str = "/sys/block";

/// What the guest says about halt polling.
pub(crate) struct GuestIdle<'a> {
    pub(crate) driver: Got<'a>,
    pub(crate) governor: Got<'a>,
    pub(crate) governor_src: &'static str,
    /// CPUID.0x40000001:EDX[0] KVM_HINTS_REALTIME.
    pub(crate) hint: Option<bool>,
    /// `cpuidle_haltpoll.force=1` on the cmdline or as the loaded module's parameter.
    pub(crate) force: bool,
    /// A hypervisor other than KVM (no KVM leaves).
    pub(crate) other_hypervisor: Option<String>,
}

impl GuestIdle<'_> {
    pub(crate) fn active(&self) -> bool {
        self.driver.val().map(str::trim) == Some("haltpoll")
            && self.governor.val().map(str::trim) == Some("haltpoll")
    }
    /// The guest is meant to poll: the host marks its vCPUs dedicated, or the admin forces it.
    pub(crate) fn intended(&self) -> bool {
        self.hint == Some(true) || self.force
    }
}

pub(crate) fn guest_idle<'a>(ctx: &Ctx<'a>) -> GuestIdle<'a> {
    const RO: &str = "/sys/devices/system/cpu/cpuidle/current_governor_ro";
    const RW: &str = "/sys/devices/system/cpu/cpuidle/current_governor";
    let (governor_src, governor) = match ctx.get(RO) {
        g @ Got::Val(_) => (RO, g),
        _ => (RW, ctx.get(RW)),
    };
    let cmd_force = ctx
        .host
        .cmdline
        .as_ref()
        .and_then(|c| c.value("cpuidle_haltpoll.force"))
        .and_then(sysfs::bool_param)
        == Some(true);
    let param_force = ctx
        .module_param("cpuidle_haltpoll", "force")
        .val()
        .and_then(sysfs::bool_param)
        == Some(true);
    let cpu = &ctx.host.cpu;
    let other_hypervisor = match (&cpu.hypervisor_vendor, cpu.kvm_hint_realtime) {
        (Some(v), None) if v != "KVMKVMKVM" => Some(v.clone()),
        _ => None,
    };
    GuestIdle {
        driver: ctx.get(CPUIDLE_DRIVER),
        governor,
        governor_src,
        hint: cpu.kvm_hint_realtime,
        force: cmd_force || param_force,
        other_hypervisor,
    }
}

/// One haltpoll governor parameter as read, with where it was read.
pub(crate) struct HaltpollParam<'a> {
    pub(crate) got: Got<'a>,
    pub(crate) source: String,
}

/// The haltpoll governor's module parameter `name`.
pub(crate) fn haltpoll_param<'a>(ctx: &Ctx<'a>, name: &str) -> HaltpollParam<'a> {
    HaltpollParam {
        got: ctx.module_param("haltpoll", name),
        source: format!("/sys/module/haltpoll/parameters/{name}"),
    }
}

/// One virtio-blk disk of the guest (`vd*`) and its block-queue settings.
pub(crate) struct GuestDisk<'a> {
    pub(crate) name: &'a str,
    pub(crate) rq_affinity: Got<'a>,
    pub(crate) rq_affinity_source: String,
    /// Hardware queues (`mq/` entries), `None` when unreadable.
    pub(crate) hw_queues: Option<u32>,
}

/// The guest's virtio-blk disks: `Err(Some(why))` when /sys/block could not be read, an empty
/// list when there is none (or no /sys/block in the snapshot).
pub(crate) fn virtio_disks<'a>(ctx: &Ctx<'a>) -> Result<Vec<GuestDisk<'a>>, String> {
    let names: Vec<&'a String> = match ctx.dir(BLOCK) {
        Ok(names) => names.iter().filter(|n| n.starts_with("vd")).collect(),
        Err(None) => Vec::new(),
        Err(Some(e)) => return Err(format!("{BLOCK} could not be read ({})", e.describe())),
    };
    Ok(names
        .into_iter()
        .map(|d| {
            let rq_affinity_source = format!("{BLOCK}/{d}/queue/rq_affinity");
            GuestDisk {
                name: d.as_str(),
                rq_affinity: ctx.get(&rq_affinity_source),
                rq_affinity_source,
                hw_queues: ctx
                    .dir(&format!("{BLOCK}/{d}/mq"))
                    .ok()
                    .map(|l| l.len() as u32),
            }
        })
        .collect())
}
