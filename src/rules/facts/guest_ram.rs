//! A VM's guest-RAM mappings in its numa_maps, parsed once per VM (three rules read them).

use crate::model::host::Vm;
use crate::model::vm::VmModel;
use crate::parse::numa_maps::{bytes_bound, parse_vma, words, Vma};
use crate::rules::context::Ctx;
use crate::rules::facts::mounts::path_looks_hugetlbfs;
use std::borrow::Cow;

/// The smallest mapping taken for guest RAM.
pub(crate) const MIN_GUEST_RAM: u64 = 32 << 20;

/// The mappings that hold guest RAM: hugetlb mappings, anonymous ones, memfd / devdax / tmpfs /
/// hugetlbfs files and files under a RAM backend's `mem-path`, keeping only the large ones
/// (QEMU's heap, stacks, libraries and malloc arenas are small next to guest RAM).
pub(crate) fn guest_ram_vmas<'v, 't>(vmas: &'v [Vma<'t>], model: &VmModel) -> Vec<&'v Vma<'t>> {
    let mut paths: Vec<&str> = model
        .memory_backends
        .iter()
        .filter_map(|b| b.mem_path.as_deref())
        .collect();
    if let Some(p) = model.memory.mem_path.as_deref() {
        paths.push(p);
    }
    let candidate = |v: &Vma| {
        !v.heap
            && !v.stack
            && v.bytes() > 0
            && (v.huge
                || match v.file.as_deref() {
                    None => true,
                    Some(f) => {
                        f.starts_with("/memfd:")
                            || f.starts_with("/dev/dax")
                            || f.starts_with("/dev/zero")
                            || f.starts_with("/dev/shm/")
                            || f.starts_with("/SYSV")
                            || path_looks_hugetlbfs(f)
                            || paths.iter().any(|p| !p.is_empty() && f.starts_with(p))
                    }
                })
    };
    // Nothing under MIN_GUEST_RAM is ever kept, and leaving such mappings out of the
    // candidates changes no threshold (it is MIN_GUEST_RAM unless a larger candidate exists),
    // so the size test comes first: it spares the path tests on QEMU's ~300 library and heap
    // mappings.
    let cands: Vec<&Vma> = vmas
        .iter()
        .filter(|v| v.bytes() >= MIN_GUEST_RAM && candidate(v))
        .collect();
    let largest = cands.iter().map(|v| v.bytes()).max().unwrap_or(0);
    let threshold = (largest / 4).max(MIN_GUEST_RAM);
    cands
        .into_iter()
        .filter(|v| v.bytes() >= threshold)
        .collect()
}

/// What the rules need from a VM's numa_maps: its guest-RAM mappings ([`guest_ram_vmas`]) and
/// how many mappings there are in all.
#[derive(Debug, Clone, Default)]
pub(crate) struct GuestRamMaps<'t> {
    pub mappings: usize,
    pub ram: Vec<Vma<'t>>,
}

pub(crate) fn read_guest_ram_maps<'t>(text: &'t str, model: &VmModel) -> GuestRamMaps<'t> {
    // Only mappings of MIN_GUEST_RAM or more can be guest RAM; the others (nearly all of a
    // QEMU's ~300) are only counted, without building a Vma for each.
    let mut mappings = 0;
    let mut large = Vec::new();
    for l in text.lines() {
        let Some(bound) = bytes_bound(words(l)) else {
            continue;
        };
        mappings += 1;
        if bound >= MIN_GUEST_RAM {
            large.extend(parse_vma(words(l)));
        }
    }
    let ram = guest_ram_vmas(&large, model).into_iter().cloned().collect();
    GuestRamMaps { mappings, ram }
}

/// Parse the VM's numa_maps into the context now, so that rules running later find it.
pub(crate) fn warm(ctx: &Ctx, vm: &Vm) {
    let _ = guest_ram_maps(ctx, vm);
}

/// The VM's numa_maps as the rules need it, parsed once per VM (three rules read it); `None`
/// when there is no readable numa_maps.
pub(crate) fn guest_ram_maps<'c, 'a>(
    ctx: &'c Ctx<'a>,
    vm: &Vm,
) -> Option<Cow<'c, GuestRamMaps<'a>>> {
    let text: &'a str = ctx.process(vm)?.numa_maps.as_ref()?.get()?;
    Some(match ctx.derived(vm) {
        Some(d) => Cow::Borrowed(
            d.guest_ram_maps
                .get_or_init(|| read_guest_ram_maps(text, &vm.model)),
        ),
        None => Cow::Owned(read_guest_ram_maps(text, &vm.model)),
    })
}

/// The numa_maps parser and the guest-RAM filter agree with a plain parse.
#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// The ASCII fast path splits exactly as `split_whitespace` does, Unicode or not.
        #[test]
        fn same_as_split_whitespace(
            words in proptest::collection::vec(
                "(N[0-9]=[0-9]{1,3}|huge|heap|stack|file=/[a-z\\\\0-7\u{e9}\u{a0}]{0,6}|kernelpagesize_kB=2048|[a-z:0-9-]{1,5})",
                0..8,
            ),
            seps in proptest::collection::vec("[ \t\u{b}\u{c}\r\u{a0}\u{2003}]{1,2}", 8),
        ) {
            let mut line = String::new();
            for (w, sep) in words.iter().zip(&seps) {
                line.push_str(w);
                line.push_str(sep);
            }
            let fast = crate::parse::numa_maps::parse_numa_maps(&line);
            let slow: Vec<_> = line.lines().filter_map(|l| crate::parse::numa_maps::parse_vma(l.split_whitespace())).collect();
            prop_assert_eq!(fast, slow);
        }

        /// Skipping the small mappings keeps the same guest-RAM mappings and count as parsing
        /// every line and filtering.
        #[test]
        fn guest_ram_maps_same_as_full_parse(
            lines in proptest::collection::vec(
                (
                    "[0-9a-f]{4} (default|bind:0|prefer:1)",
                    "( file=/(memfd:x|dev/shm/a|usr/lib/x|hugepages/y))?( huge)?( heap)?",
                    proptest::collection::vec((0u32..3, 0u64..40_000), 0..3),
                    "( kernelpagesize_kB=(4|2048|x))?",
                ),
                0..12,
            ),
        ) {
            let text: String = lines
                .iter()
                .map(|(a, f, nodes, k)| {
                    let n: String = nodes.iter().map(|(n, p)| format!(" N{n}={p}")).collect();
                    format!("{a}{f}{n}{k}\n")
                })
                .collect();
            let model = crate::model::vm::VmModel::default();
            let all = crate::parse::numa_maps::parse_numa_maps(&text);
            let want: Vec<_> = super::guest_ram_vmas(&all, &model).into_iter().cloned().collect();
            let got = super::read_guest_ram_maps(&text, &model);
            prop_assert_eq!(got.mappings, all.len());
            prop_assert_eq!(got.ram, want);
        }
    }
}
