//! What the hypervisor can decide about a VM's guest halt polling without a guest channel.

use super::NO_CHANNEL;
use crate::model::host::Vm;
use crate::model::vm::KvmUse;
use crate::rules::context::Ctx;
use crate::rules::outcome::Outcome;

/// Whether a VM is a candidate for guest halt polling: `Err(outcome)` when it is not (or cannot
/// be told), with the outcome to report.
pub(super) fn vm_dedicated(ctx: &Ctx, vm: &Vm) -> Result<(), Outcome> {
    let target = ctx.vm_target(vm);
    if vm.model.is_kvm() == KvmUse::No {
        return Err(Outcome::na(
            target,
            "the VM does not run on KVM: guest halt polling is a KVM guest feature",
        ));
    }
    match ctx.dedicated(vm) {
        Some(true) => Ok(()),
        Some(false) => Err(Outcome::na(
            target,
            "the VM's vCPUs are not dedicated: guest-side halt polling would burn shared host CPU",
        )),
        None => Err(Outcome::unknown(
            target,
            format!("whether the VM's vCPUs are dedicated cannot be told, and {NO_CHANNEL}"),
        )),
    }
}

/// `-cpu ...,kvm-hint-dedicated=on` as written.
pub(super) fn hint_on(vm: &Vm) -> bool {
    vm.model.cpu.as_ref().and_then(|c| c.kvm_hint_dedicated()) == Some(true)
}

pub(super) fn hint_obs(vm: &Vm) -> String {
    match vm.model.cpu.as_ref() {
        Some(c) => format!(
            "-cpu {}: kvm-hint-dedicated={}",
            c.model,
            if hint_on(vm) { "on" } else { "off/unset" }
        ),
        None => "no -cpu option: kvm-hint-dedicated unset".into(),
    }
}
