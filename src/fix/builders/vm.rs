//! Fix builders for VM findings of libvirt-managed domains: one `virt-xml DOMAIN --edit …
//! --define` edit of the persistent definition (Debian package virtinst), which takes effect at
//! the VM's next start. The script runs them only with `--with-vm-changes`; otherwise it shows
//! them. Every value is a constant or a number; device selectors come from libvirt's own
//! aliases, never from free text.

use crate::report::{Datum, Finding};

/// One virt-xml edit: `virt-xml DOMAIN --edit SELECT --OPTION VALUE --define`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmEdit {
    pub rule: String,
    /// `--edit`'s argument: empty for options that map to one XML block (`--numatune`), a
    /// 1-based device number, or a device match such as `target=vda`.
    pub select: String,
    /// The XML option without dashes: `numatune`, `memorybacking`, `disk`, `network`.
    pub option: &'static str,
    /// Its value (plain tokens: letters, digits, `.=,_-`).
    pub value: String,
}

/// What a VM builder gets.
pub struct VmInput<'a> {
    pub finding: &'a Finding,
    pub vcpus: Option<u32>,
    pub guest_numa_nodes: Option<u32>,
}

/// The edit for one finding, or why there is none (advice).
pub type VmBuilder = fn(&VmInput) -> Result<VmEdit, String>;

fn edit(x: &VmInput, select: String, option: &'static str, value: String) -> VmEdit {
    VmEdit {
        rule: x.finding.rule.clone(),
        select,
        option,
        value,
    }
}

/// `<numatune><memory mode='strict' nodeset='N'/>` for a VM whose vCPUs already run on node N
/// (the rule's typed data); a VM with guest NUMA nodes spans host nodes by design.
pub(super) fn numatune(x: &VmInput) -> Result<VmEdit, String> {
    if x.guest_numa_nodes.is_some_and(|n| n > 1) {
        return Err("the guest has several NUMA nodes: bind each to its own host node (<numatune><memnode>), by hand".into());
    }
    let node = x
        .finding
        .data
        .iter()
        .find_map(|d| match d {
            Datum::NumaNode { node } => Some(*node),
            _ => None,
        })
        .filter(|n| *n < 1024)
        .ok_or("the finding names no single host node the VM runs on: pin its vCPUs first")?;
    Ok(edit(
        x,
        String::new(),
        "numatune",
        format!("mode=strict,nodeset={node}"),
    ))
}

/// `<memoryBacking><nosharepages/>` (QEMU `-machine mem-merge=off`).
pub(super) fn nosharepages(x: &VmInput) -> Result<VmEdit, String> {
    Ok(edit(
        x,
        String::new(),
        "memorybacking",
        "nosharepages=on".into(),
    ))
}

/// The device the finding's target names, as virt-xml selects it: libvirt's alias
/// `virtio-diskN` belongs to the disk whose target is `vd` + the N-th letter (libvirt derives N
/// from the target name); `netN` is the (N+1)-th interface.
fn device(x: &VmInput, kind: &str) -> Result<String, String> {
    let t = &x.finding.target;
    let id = t
        .rsplit_once(&format!("/{kind}:"))
        .map(|(_, id)| id)
        .ok_or("the finding names no device")?;
    let num = |p: &str| id.strip_prefix(p).and_then(|n| n.parse::<u32>().ok());
    match kind {
        "drive" => num("virtio-disk")
            .filter(|n| *n < 26)
            .and_then(|n| char::from_u32(u32::from(b'a') + n))
            .map(|c| format!("target=vd{c}"))
            .ok_or_else(|| "the disk has no libvirt virtio-diskN alias to select it by".into()),
        _ => num("net")
            .filter(|n| *n < 4096)
            .map(|n| (n + 1).to_string())
            .ok_or_else(|| "the NIC has no libvirt netN alias to select it by".into()),
    }
}

/// `<driver cache='none'/>` on the disk.
pub(super) fn disk_cache(x: &VmInput) -> Result<VmEdit, String> {
    Ok(edit(
        x,
        device(x, "drive")?,
        "disk",
        "driver.cache=none".into(),
    ))
}

/// `<driver cache='none' io='native'/>` on the disk (native AIO needs O_DIRECT).
pub(super) fn disk_aio(x: &VmInput) -> Result<VmEdit, String> {
    Ok(edit(
        x,
        device(x, "drive")?,
        "disk",
        "driver.cache=none,driver.io=native".into(),
    ))
}

/// `<driver name='vhost'/>` on the interface.
pub(super) fn net_vhost(x: &VmInput) -> Result<VmEdit, String> {
    Ok(edit(
        x,
        device(x, "net")?,
        "network",
        "driver.name=vhost".into(),
    ))
}

/// `<driver name='vhost' queues='N'/>`, one queue per vCPU.
pub(super) fn net_queues(x: &VmInput) -> Result<VmEdit, String> {
    let n = x
        .vcpus
        .filter(|n| (2..=256).contains(n))
        .ok_or("the VM's vCPU count is unknown or 1: no queue count to set")?;
    Ok(edit(
        x,
        device(x, "net")?,
        "network",
        format!("driver.name=vhost,driver.queues={n}"),
    ))
}
