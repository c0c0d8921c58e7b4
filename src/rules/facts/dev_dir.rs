//! The device nodes in `/dev` that rules ask about by name (`pmem*`, `daxN.M`).

use crate::rules::context::Ctx;

const DEV: &str = "/dev";

/// The entries of `/dev` starting with `prefix`; `None` when `/dev` was not listed.
pub(crate) fn named(ctx: &Ctx, prefix: &str) -> Option<Vec<String>> {
    ctx.dir(DEV).ok().map(|d| {
        d.iter()
            .filter(|n| n.starts_with(prefix))
            .cloned()
            .collect()
    })
}
