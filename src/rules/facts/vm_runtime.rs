//! What a running QEMU process shows about itself beyond its argv: the binary it runs
//! (`/proc/PID/exe`) and the accelerator its fds and thread names prove. An argv file has
//! none of it; the sources then name the argv file or the `/proc/PID/...` pattern.

use crate::model::host::Vm;
use crate::rules::context::Ctx;
use crate::snapshot::Fact;

/// The placeholders evidence rows name when there is no process to name.
const FD_PATTERN: &str = "/proc/PID/fd";
const TASK_PATTERN: &str = "/proc/PID/task";

/// Where the running binary was read: `/proc/PID/exe`, or the VM's source for an argv file.
pub(crate) fn exe_source(vm: &Vm) -> String {
    vm.pid
        .map_or_else(|| vm.source.clone(), |p| format!("/proc/{p}/exe"))
}

/// The fd directory of the VM's process, or the pattern when there is no pid.
pub(crate) fn fd_source(vm: &Vm) -> String {
    vm.pid
        .map_or_else(|| FD_PATTERN.to_string(), |p| format!("/proc/{p}/fd"))
}

/// Runtime evidence of the accelerator: KVM fds or "CPU n/KVM" thread names.
pub(crate) enum RuntimeAccel {
    /// (source, what shows it)
    Kvm(String, String),
    Tcg(String, String),
    /// The fd list was read and holds no KVM fd (source).
    NoKvmFds(String),
    /// Nothing proves either; why.
    None(String),
}

/// What the VM's process shows about its accelerator.
pub(crate) fn accel(ctx: &Ctx, vm: &Vm) -> RuntimeAccel {
    let facts = ctx.facts(vm);
    let proc_ = ctx.process(vm);
    let mut why = Vec::new();
    let fds = proc_.and_then(|p| p.fds.as_ref());
    let fd_src = fds.map_or_else(|| FD_PATTERN.to_string(), |f| f.path.clone());
    if let Some(list) = fds.and_then(|f| f.get()) {
        let kvm: Vec<&String> = list
            .iter()
            .filter(|t| t.starts_with("anon_inode:kvm-vm") || t.starts_with("anon_inode:kvm-vcpu"))
            .collect();
        if !kvm.is_empty() {
            let vcpus = kvm.iter().filter(|t| t.contains("kvm-vcpu")).count();
            return RuntimeAccel::Kvm(
                fd_src,
                format!(
                    "anon_inode:kvm-vm{} and {vcpus} kvm-vcpu fd(s)",
                    if kvm.iter().any(|t| t.starts_with("anon_inode:kvm-vm")) {
                        ""
                    } else {
                        " missing"
                    }
                ),
            );
        }
    }
    if let Some(t) = facts.threads.as_ref() {
        let src = proc_
            .and_then(|p| p.threads.as_ref())
            .map_or_else(|| TASK_PATTERN.to_string(), |s| s.path.clone());
        if t.kvm_named {
            return RuntimeAccel::Kvm(src, "vCPU threads named 'CPU n/KVM'".into());
        }
        if t.tcg_named {
            return RuntimeAccel::Tcg(src, "vCPU threads named 'CPU n/TCG'".into());
        }
    }
    match fds.map(|f| &f.fact) {
        // A QEMU always holds some telling fd (/dev/kvm, images, tap): an empty list means the
        // links could not be read, not that there is nothing.
        Some(Fact::Value(list)) if !list.is_empty() => {
            return RuntimeAccel::NoKvmFds(fd_src);
        }
        Some(Fact::Value(_)) => why.push("no fd target could be read".into()),
        Some(Fact::Error(e)) => why.push(format!("fds: {}", e.describe())),
        None => why.push(if vm.pid.is_some() {
            "fds not recorded".into()
        } else {
            "an argv file, not a running process".into()
        }),
    }
    RuntimeAccel::None(why.join("; "))
}
