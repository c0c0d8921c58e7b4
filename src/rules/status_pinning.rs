//! Thread placement of a running libvirt domain from its status XML, for when the threads
//! themselves could not be read (a sosreport carries no `/proc/PID/task`; hidepid; a budget).
//!
//! libvirt applies `<cputune>` to the threads right after QEMU starts, and its status XML is
//! what it applied. Live thread affinity stays the better evidence and wins whenever read.

use super::context::VmThreads;
use crate::model::host::{HostModel, Vm, VmState};
use std::collections::BTreeSet;

/// The VM's threads as its status XML pins them; `None` without a status XML, or when an
/// unpinned thread's CPUs (all online CPUs) are unknown.
pub fn threads_from_status(host: &HostModel, vm: &Vm) -> Option<VmThreads> {
    if vm.state != VmState::Running {
        return None;
    }
    let tune = vm.cputune.as_ref()?;
    let online = host.topology.online.clone();
    // Without a pin, a thread may run where `<vcpu cpuset>` says, else on any online CPU.
    let unpinned = || -> Option<BTreeSet<u32>> { tune.vcpu_default.clone().or(online.clone()) };
    let mut t = VmThreads::default();
    for i in 0..vm.model.vcpus()? {
        let set = match tune.vcpupin.get(&i) {
            Some(s) => s.clone(),
            None => unpinned()?,
        };
        t.vcpus.insert(i, set);
    }
    for io in &vm.model.iothreads {
        let pin = io
            .id
            .strip_prefix("iothread")
            .and_then(|n| n.parse::<u32>().ok())
            .and_then(|n| tune.iothreadpin.get(&n));
        let set = match pin {
            Some(s) => s.clone(),
            None => tune.emulatorpin.clone().or_else(unpinned)?,
        };
        t.iothreads.insert(io.id.clone(), set);
    }
    t.emulator.push(tune.emulatorpin.clone().or_else(unpinned)?);
    Some(t)
}
