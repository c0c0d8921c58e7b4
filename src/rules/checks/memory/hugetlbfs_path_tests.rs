use proptest::prelude::*;

/// The definition the fast version must keep.
fn reference(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.contains("hugepage") || p.contains("hugetlb") || p.contains("/huge")
}

#[test]
fn known_paths() {
    for p in [
        "/dev/hugepages/libvirt/qemu/1-vm",
        "/mnt/HUGE/x",
        "/HugeTLBfs",
        "/hugetlbfs",
        "huge",
        "/huge",
        "xhugetlb",
        "/var/lib/libvirt/images/vm.qcow2",
        "/hug",
        "",
        "é/Huge",
    ] {
        assert_eq!(super::path_looks_hugetlbfs(p), reference(p), "{p}");
    }
}

proptest! {
    #[test]
    fn same_as_lowercase_contains(s in "[/hugeHUGEpaPAtlbTLBx\\u{e9}]{0,24}") {
        prop_assert_eq!(super::path_looks_hugetlbfs(&s), reference(&s));
    }
}
