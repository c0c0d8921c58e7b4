//! The running kernel's version, as rules compare it with the release that brought a feature.

/// `6.1.0-50-amd64` → (6, 1).
pub(crate) fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// `6.1.0-50-amd64` → (6, 1); `5.14.0-362.el9.x86_64` → (5, 14).
pub(crate) fn release_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Where the kernel configuration was read from (`/boot/config-…`, `/proc/config.gz`, the
/// `--kconfig` file), for evidence.
pub(crate) fn kconfig_source<'a>(ctx: &crate::rules::context::Ctx<'a>) -> &'a str {
    &ctx.snap.kconfig.path
}

/// Why the kernel configuration could not be read (empty when it was).
pub(crate) fn kconfig_why_missing(ctx: &crate::rules::context::Ctx) -> String {
    ctx.snap
        .kconfig
        .fact
        .error()
        .map(|e| e.describe())
        .unwrap_or_default()
}

/// The kernel release the configuration belongs to: the running kernel, else the release
/// named in the configuration's header.
pub(crate) fn kconfig_release(ctx: &crate::rules::context::Ctx) -> Option<String> {
    ctx.host.kernel_release.clone().or_else(|| {
        ctx.snap
            .kconfig
            .get()
            .and_then(|t| crate::parse::kconfig::header_release(t))
            .map(str::to_string)
    })
}
