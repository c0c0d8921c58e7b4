//! The host's asynchronous I/O engines as QEMU can use them: whether io_uring is disabled
//! system-wide and how many Linux AIO contexts exist (`fs.aio-nr`).

use crate::rules::context::{Ctx, Got};

pub(crate) const IO_URING_DISABLED: &str = "/proc/sys/kernel/io_uring_disabled";
pub(crate) const AIO_NR: &str = "/proc/sys/fs/aio-nr";

/// `kernel.io_uring_disabled` is 2: no process may create an io_uring.
pub(crate) fn io_uring_disabled(ctx: &Ctx) -> bool {
    ctx.text(IO_URING_DISABLED) == Some("2")
}

/// `fs.aio-nr` as read: the host-wide count of Linux AIO contexts.
pub(crate) fn aio_contexts<'a>(ctx: &Ctx<'a>) -> Got<'a> {
    ctx.get(AIO_NR)
}
