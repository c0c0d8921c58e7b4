//! The running kernel's command line (`/proc/cmdline`, parsed once into the host model) as
//! rules cite it. What the next boot applies is in [`super::persistent`].

use crate::parse::cmdline::Cmdline;
use crate::rules::context::Ctx;

/// The running command line's path, as evidence names it.
pub(crate) const PROC_CMDLINE: &str = "/proc/cmdline";

/// The running command line, or the words of an unknown verdict (`/proc/cmdline: absent`).
pub(crate) fn running<'a>(ctx: &Ctx<'a>) -> Result<&'a Cmdline, String> {
    ctx.host
        .cmdline
        .as_ref()
        .ok_or_else(|| format!("{PROC_CMDLINE}: {}", ctx.get(PROC_CMDLINE).why()))
}

/// Why the running command line is missing, in the file's own words (`absent`, `permission
/// denied`), for a message that names the file itself.
pub(crate) fn why_missing(ctx: &Ctx) -> String {
    ctx.get(PROC_CMDLINE).why()
}

/// The value of `name=` on the running command line.
pub(crate) fn running_value<'a>(ctx: &Ctx<'a>, name: &str) -> Option<&'a str> {
    ctx.host.cmdline.as_ref().and_then(|c| c.value(name))
}
