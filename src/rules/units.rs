//! What a rule judges, and how the engine walks it: the host, each host PCI function a rule
//! lists, each VM, each drive, NIC or host device of each VM. A check declares its unit by the
//! kind of function it registers ([`Check::host`], [`Check::host_devices`], [`Check::vm`],
//! [`Check::drive`], [`Check::nic`], [`Check::device`]) and
//! judges one unit; the engine iterates the units and builds their [`Target`]s, so that no
//! check loops over VMs or writes a target string, and the placeholder verdict for a VM
//! without drives or NICs is written once, here.

use super::context::Ctx;
use super::facts::device_nodes::{vm_devices, Dev};
use super::facts::vm_args::{disk_targets, vm_without};
use super::outcome::Outcome;
use crate::model::host::Vm;
use crate::model::vm::{Disk, Nic};
use crate::vocab::Target;

/// One PCI function of the host, as a host-device rule judges it.
pub struct HostDeviceUnit {
    pub bdf: String,
    pub target: Target,
}

/// One VM, as a VM rule judges it.
pub struct VmUnit<'a> {
    pub vm: &'a Vm,
    pub target: Target,
}

/// One disk of a VM.
pub struct DriveUnit<'a> {
    pub vm: &'a Vm,
    pub disk: &'a Disk,
    pub target: Target,
}

/// One NIC of a VM (emulated or paravirtual; passthrough functions are host devices).
pub struct NicUnit<'a> {
    pub vm: &'a Vm,
    pub nic: &'a Nic,
    pub target: Target,
}

/// One host device a VM uses (a VFIO function, a NIC's uplink, a disk's backing device).
pub struct DeviceUnit<'a> {
    pub vm: &'a Vm,
    pub(crate) dev: Dev,
}

pub type HostFn = fn(&Ctx) -> Vec<Outcome>;
/// The host PCI functions a host-device rule judges, by address.
pub type HostDevicesFn = fn(&Ctx) -> Vec<String>;
pub type HostDeviceFn = fn(&Ctx, &HostDeviceUnit) -> Outcome;
pub type VmFn = fn(&Ctx, &VmUnit) -> Outcome;
pub type DriveFn = fn(&Ctx, &DriveUnit) -> Outcome;
pub type NicFn = fn(&Ctx, &NicUnit) -> Outcome;
pub type DeviceFn = fn(&Ctx, &DeviceUnit) -> Outcome;
/// The verdicts of the whole rule at once, when the system makes per-unit verdicts moot
/// (`None`: judge unit by unit). A scan inside a guest judges the guest itself, for example.
pub type WholeFn = fn(&Ctx) -> Option<Vec<Outcome>>;
/// One verdict that holds for every VM alike (a single-node host makes NUMA placement moot):
/// each VM gets it, under its own target (`None`: judge unit by unit).
pub type EveryVmFn = fn(&Ctx) -> Option<Outcome>;

/// The unit a rule judges, with its judging function.
#[derive(Clone, Copy)]
pub enum Judge {
    /// The host as a whole; it may name host devices (`Target::HostDevice`) in its outcomes.
    Host(HostFn),
    /// Each of the host's PCI functions that the first function lists (QAT PFs, ...).
    HostDevices(HostDevicesFn, HostDeviceFn),
    Vm(VmFn),
    Drive(DriveFn),
    Nic(NicFn),
    Device(DeviceFn),
}

/// A rule's check: what it judges, and the answers that pre-empt judging unit by unit.
#[derive(Clone, Copy)]
pub struct Check {
    pub judge: Judge,
    pub whole: Option<WholeFn>,
    pub every_vm: Option<EveryVmFn>,
}

impl Check {
    const fn of(judge: Judge) -> Check {
        Check {
            judge,
            whole: None,
            every_vm: None,
        }
    }

    pub const fn host(f: HostFn) -> Check {
        Check::of(Judge::Host(f))
    }

    pub const fn host_devices(list: HostDevicesFn, f: HostDeviceFn) -> Check {
        Check::of(Judge::HostDevices(list, f))
    }

    pub const fn vm(f: VmFn) -> Check {
        Check::of(Judge::Vm(f))
    }

    pub const fn drive(f: DriveFn) -> Check {
        Check::of(Judge::Drive(f))
    }

    pub const fn nic(f: NicFn) -> Check {
        Check::of(Judge::Nic(f))
    }

    pub const fn device(f: DeviceFn) -> Check {
        Check::of(Judge::Device(f))
    }

    /// Ask `whole` first; its verdicts, when it gives them, are the rule's.
    pub const fn unless(mut self, whole: WholeFn) -> Check {
        self.whole = Some(whole);
        self
    }

    /// Ask `every` first; when it answers, every VM gets that verdict.
    pub const fn same_for_every_vm(mut self, every: EveryVmFn) -> Check {
        self.every_vm = Some(every);
        self
    }

    /// Whether the rule judges the host (not its VMs).
    pub fn judges_host(&self) -> bool {
        matches!(self.judge, Judge::Host(_) | Judge::HostDevices(..))
    }

    /// Every outcome of the rule on this system, unit by unit in a fixed order: VMs in
    /// `host.vms` order, a VM's drives, NICs and devices in command-line order.
    pub fn run(&self, ctx: &Ctx) -> Vec<Outcome> {
        if let Some(v) = self.whole.and_then(|w| w(ctx)) {
            return v;
        }
        match self.judge {
            Judge::Host(f) => return f(ctx),
            Judge::HostDevices(list, f) => {
                return list(ctx)
                    .into_iter()
                    .map(|bdf| {
                        let target = Target::host_device(&bdf);
                        f(ctx, &HostDeviceUnit { bdf, target })
                    })
                    .collect()
            }
            _ => {}
        }
        let same = self.every_vm.and_then(|e| e(ctx));
        let mut out = Vec::with_capacity(ctx.host.vms.len());
        for vm in &ctx.host.vms {
            match &same {
                Some(o) => out.push(Outcome {
                    target: ctx.vm_target(vm),
                    ..o.clone()
                }),
                None => self.judge_vm(ctx, vm, &mut out),
            }
        }
        out
    }

    /// The outcomes of one VM's units.
    fn judge_vm(&self, ctx: &Ctx, vm: &Vm, out: &mut Vec<Outcome>) {
        match self.judge {
            Judge::Host(_) | Judge::HostDevices(..) => {}
            Judge::Vm(f) => out.push(f(
                ctx,
                &VmUnit {
                    vm,
                    target: ctx.vm_target(vm),
                },
            )),
            Judge::Drive(_) if vm.model.disks.is_empty() => out.push(vm_without(ctx, vm, "disks")),
            Judge::Drive(f) => {
                let targets = disk_targets(ctx, vm);
                for (disk, target) in vm.model.disks.iter().zip(targets.iter().cloned()) {
                    out.push(f(ctx, &DriveUnit { vm, disk, target }));
                }
            }
            Judge::Nic(_) if vm.model.nics.is_empty() => {
                out.push(vm_without(ctx, vm, "emulated or paravirtual NICs"))
            }
            Judge::Nic(f) => {
                for (nic, target) in vm.model.nics.iter().zip(nic_targets(vm)) {
                    out.push(f(ctx, &NicUnit { vm, nic, target }));
                }
            }
            Judge::Device(f) => {
                let devs = vm_devices(ctx, vm);
                if devs.is_empty() {
                    out.push(Outcome::na(
                        ctx.vm_target(vm),
                        "the VM uses no host NIC, disk or PCI device",
                    ));
                }
                for dev in devs {
                    out.push(f(ctx, &DeviceUnit { vm, dev }));
                }
            }
        }
    }
}

/// Targets of a VM's NICs, parallel to `vm.model.nics`. Public so that tests name NICs
/// exactly as the engine does.
pub fn nic_targets(vm: &Vm) -> Vec<Target> {
    vm.model
        .nics
        .iter()
        .enumerate()
        .map(|(i, n)| Target::Nic(vm.index, nic_id(n, i)))
        .collect()
}

/// A NIC's id as targets name it: its `-device`/`-netdev` id, else its position (`nic1`).
pub fn nic_id(nic: &Nic, position: usize) -> String {
    nic.id.clone().unwrap_or_else(|| format!("nic{position}"))
}
