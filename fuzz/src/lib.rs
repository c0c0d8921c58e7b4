//! Shared by the fuzz targets: which panics count as crashes.
//!
//! kvmaudit runs third-party decoders (raw-cpuid, smbios-lib, procfs) under `catch_unwind`
//! on purpose (see shared/docs/dependencies.md): their panics on hostile data are caught and
//! reported as "unknown". libfuzzer-sys's own panic hook aborts on *every* panic, caught or
//! not, which would make each of those designed catches a "crash". [`install_panic_hook`]
//! replaces it with one that aborts on panics raised anywhere but in a crates.io dependency
//! — kvmaudit's own code and the standard library — and lets a dependency's panic unwind to
//! the `catch_unwind` that kvmaudit put around the call. A dependency panic that kvmaudit did
//! *not* catch still reaches libfuzzer-sys's outer `catch_unwind`, which aborts: a crash.

use std::sync::Once;

static HOOK: Once = Once::new();

/// Install the panic policy above (once per process; call it at the top of every target).
pub fn install_panic_hook() {
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_dependency = info
                .location()
                .map(|l| is_dependency_source(l.file()))
                .unwrap_or(false);
            if !in_dependency {
                default(info);
                std::process::abort();
            }
        }));
    });
}

/// Source files of crates.io dependencies live under cargo's registry cache.
pub fn is_dependency_source(file: &str) -> bool {
    file.contains("/.cargo/registry/") || file.contains("/cargo/registry/")
}

/// Split `data` at its first byte into a selector and the rest.
pub fn selector(data: &[u8]) -> Option<(u8, &[u8])> {
    data.split_first().map(|(s, rest)| (*s, rest))
}
