//! The CPU's VMX capabilities as the kernel reports them (the `vmx flags` line of
//! `/proc/cpuinfo`, parsed into the CPU model): PLE, posted interrupts and the like.

use crate::rules::context::Ctx;

/// How evidence names the source of the VMX flags.
pub(crate) const VMX_FLAGS: &str = "/proc/cpuinfo vmx flags";

/// Whether the kernel lists `flag` among the VMX flags (`None`: no such line was read).
pub(crate) fn vmx_flag(ctx: &Ctx, flag: &str) -> Option<bool> {
    ctx.host
        .cpu
        .vmx_flags
        .as_ref()
        .map(|f| f.iter().any(|x| x == flag))
}
