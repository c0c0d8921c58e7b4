use crate::report::Profile::Throughput;
use crate::rules::testkit::{findings, status, SnapBuilder};
use crate::snapshot::{QemuProcess, ReadError, ReadErrorKind, Sourced};

const HP: &str = "/sys/kernel/mm/hugepages";
const NODE: &str = "/sys/devices/system/node";
const THP: &str = "/sys/kernel/mm/transparent_hugepage";

fn host() -> SnapBuilder {
    SnapBuilder::new()
        .icx("vmx")
        .topology(2, 4, 2)
        .file(
            "/proc/mounts",
            "/dev/sda2 / ext4 rw,relatime 0 0\n\
             udev /dev devtmpfs rw 0 0\n\
             tmpfs /dev/shm tmpfs rw 0 0\n\
             hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n\
             hugetlbfs /dev/hugepages1G hugetlbfs rw,relatime,pagesize=1024M 0 0",
        )
        .file(&format!("{THP}/enabled"), "always [madvise] never")
        .file(
            &format!("{THP}/defrag"),
            "always defer defer+madvise [madvise] never",
        )
        .file(
            &format!("{THP}/shmem_enabled"),
            "always within_size advise [never] deny force",
        )
}

/// Pools: `(kB size, [(node, nr)])`.
fn pools(mut b: SnapBuilder, sizes: &[(u64, &[(u32, u64)])]) -> SnapBuilder {
    let names: Vec<String> = sizes
        .iter()
        .map(|(kb, _)| format!("hugepages-{kb}kB"))
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    b = b.dir(HP, &refs);
    for (kb, nodes) in sizes {
        let total: u64 = nodes.iter().map(|(_, n)| n).sum();
        let d = format!("hugepages-{kb}kB");
        b = b
            .file(&format!("{HP}/{d}/nr_hugepages"), &total.to_string())
            .file(&format!("{HP}/{d}/free_hugepages"), "0")
            .file(&format!("{HP}/{d}/surplus_hugepages"), "0");
        for (n, nr) in *nodes {
            b = b.file(
                &format!("{NODE}/node{n}/hugepages/{d}/nr_hugepages"),
                &nr.to_string(),
            );
        }
    }
    b
}

fn pinned1() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("qemu-system-x86", "4", "1"),
        ("CPU 0/KVM", "5", "1"),
        ("CPU 1/KVM", "6", "1"),
    ]
}

fn mountinfo(text: &'static str) -> impl FnOnce(&mut QemuProcess) {
    move |p| p.mountinfo = Some(Sourced::value("/proc/1000/mountinfo", text.to_string()))
}

const VM_1G: &str = "qemu-system-x86_64 -name guest=db01,debug-threads=on -machine q35,memory-backend=ram0 -m 8G -smp 2 -object memory-backend-file,id=ram0,mem-path=/dev/hugepages1G/libvirt/qemu/1-db01,size=8G,host-nodes=1,policy=bind,prealloc=on";
const VM_2M_4G: &str =
    "qemu-system-x86_64 -name guest=guide -m 4G -smp 2 -mem-prealloc -mem-path /dev/hugepages";
const VM_ANON: &str = "qemu-system-x86_64 -name guest=app01,debug-threads=on -m 4G -smp 2";

#[test]
fn pool() {
    let fits = pools(host(), &[(1048576, &[(0, 0), (1, 8)])])
        .vm(VM_1G, &pinned1())
        .build();
    let f = &findings(&fits, Throughput, "host.hugepages.pool")[0];
    assert_eq!(f.status.as_str(), "pass", "{}", f.message);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.observed.contains("needs 8 × 1 GiB")),
        "{:?}",
        f.evidence
    );

    // Enough pages in total, but on the wrong node.
    let wrong_node = pools(host(), &[(1048576, &[(0, 8), (1, 0)])])
        .vm(VM_1G, &pinned1())
        .build();
    let f = &findings(&wrong_node, Throughput, "host.hugepages.pool")[0];
    assert_eq!(f.status.as_str(), "fail");
    assert!(f.message.contains("node 1"), "{}", f.message);
    // The pool size that covers the VM, for `fix` to grow the node's pool to.
    let want = |f: &crate::report::Finding, src: &str| {
        f.evidence
            .iter()
            .find(|e| e.source == src)
            .map(|e| (e.observed.clone(), e.expected.clone().unwrap_or_default()))
    };
    assert_eq!(
        want(
            f,
            "/sys/devices/system/node/node1/hugepages/hugepages-1048576kB/nr_hugepages"
        ),
        Some(("0".to_string(), "≥ 8".to_string())),
        "{:?}",
        f.evidence
    );

    // The guide's 2000 × 2 MiB for -m 4G.
    let guide = pools(host(), &[(2048, &[(0, 1000), (1, 1000)])])
        .vm(VM_2M_4G, &[])
        .build();
    let f = &findings(&guide, Throughput, "host.hugepages.pool")[0];
    assert_eq!(f.status.as_str(), "fail");
    assert!(f.message.contains("2048"), "{}", f.message);
    assert_eq!(
        want(f, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"),
        Some(("2000".to_string(), "≥ 2048".to_string())),
        "{:?}",
        f.evidence
    );

    // A 16 GiB pool while no running VM uses hugetlb pages: stranded.
    let stranded = pools(host(), &[(1048576, &[(0, 8), (1, 8)])])
        .vm(VM_ANON, &pinned1())
        .build();
    assert_eq!(
        status(&stranded, Throughput, "host.hugepages.pool", "host"),
        "warn"
    );

    let none = pools(host(), &[(2048, &[(0, 0), (1, 0)])])
        .vm(VM_ANON, &pinned1())
        .build();
    assert_eq!(
        status(&none, Throughput, "host.hugepages.pool", "host"),
        "info"
    );

    let hidden = host().dir_denied(HP).vm(VM_1G, &pinned1()).build();
    assert_eq!(
        status(&hidden, Throughput, "host.hugepages.pool", "host"),
        "unknown"
    );
}

#[test]
fn mount() {
    let ok = pools(host(), &[(1048576, &[(0, 0), (1, 8)]), (2048, &[(0, 0), (1, 0)])])
        .vm(VM_1G, &pinned1())
        .with_last_vm(mountinfo(
            "30 1 0:27 / /dev/hugepages1G/libvirt/qemu/1-db01 rw,relatime shared:2 - hugetlbfs hugetlbfs rw,pagesize=1024M",
        ))
        .build();
    let f = &findings(&ok, Throughput, "host.hugepages.mount")[0];
    assert_eq!(f.status.as_str(), "pass", "{}", f.message);

    // In the QEMU's namespace the mem-path is on tmpfs: ordinary pages.
    let tmpfs = pools(host(), &[(1048576, &[(0, 0), (1, 8)])])
        .vm(VM_1G, &pinned1())
        .with_last_vm(mountinfo("30 1 0:27 / /dev rw shared:2 - tmpfs tmpfs rw"))
        .build();
    let f = &findings(&tmpfs, Throughput, "host.hugepages.mount")[0];
    assert_eq!(f.status.as_str(), "fail");
    assert!(f.message.contains("not on hugetlbfs"), "{}", f.message);

    // A 1 GiB pool and no 1 GiB mount.
    let unmounted = pools(host(), &[(1048576, &[(0, 4), (1, 4)])])
        .file("/proc/mounts", "/dev/sda2 / ext4 rw 0 0")
        .build();
    assert_eq!(
        status(&unmounted, Throughput, "host.hugepages.mount", "host"),
        "warn"
    );

    let nothing = host().dir(HP, &[]).vm(VM_ANON, &pinned1()).build();
    assert_eq!(
        status(&nothing, Throughput, "host.hugepages.mount", "host"),
        "not_applicable"
    );
}

#[test]
fn vm_hugepages() {
    // numa_maps proof.
    let proven = host()
        .vm(VM_1G, &pinned1())
        .with_last_vm(|p| {
            p.numa_maps = Some(Sourced::value(
                "/proc/1000/numa_maps",
                "7f5e80000000 bind:1 file=/dev/hugepages1G/libvirt/qemu/1-db01/qemu_back_mem.pc.ram huge dirty=8 N1=8 kernelpagesize_kB=1048576\n".to_string(),
            ))
        })
        .file("/sys/module/kvm/parameters/nx_huge_pages", "Y")
        .file(
            "/sys/devices/system/cpu/vulnerabilities/itlb_multihit",
            "KVM: Mitigation: Split huge pages",
        )
        .build();
    let f = &findings(&proven, Throughput, "qemu.mem.hugepages")[0];
    assert_eq!(f.status.as_str(), "pass", "{}", f.message);
    assert!(f.message.contains("nx_huge_pages=Y"), "{}", f.message);

    // Argv asks for hugetlb pages but the kernel mapped 4 KiB pages and THP is never.
    let fallback = host()
        .file(&format!("{THP}/enabled"), "always madvise [never]")
        .vm(VM_1G, &pinned1())
        .with_last_vm(|p| {
            p.numa_maps = Some(Sourced::value(
                "/proc/1000/numa_maps",
                "7f0000000000 bind:1 file=/dev/hugepages1G/libvirt/qemu/1-db01/x dirty=2097152 N1=2097152 kernelpagesize_kB=4\n".to_string(),
            ))
        })
        .build();
    let f = &findings(&fallback, Throughput, "qemu.mem.hugepages")[0];
    assert_eq!(f.status.as_str(), "fail");
    assert!(f.message.contains("ordinary pages"), "{}", f.message);

    // Anonymous RAM with THP madvise: the acceptable alternative.
    let thp = host().vm(VM_ANON, &pinned1()).build();
    assert_eq!(
        status(&thp, Throughput, "qemu.mem.hugepages", "vm:app01"),
        "warn"
    );
    let small = host()
        .file(&format!("{THP}/enabled"), "always madvise [never]")
        .vm(VM_ANON, &pinned1())
        .build();
    let f = &findings(&small, Throughput, "qemu.mem.hugepages")[0];
    assert_eq!(f.status.as_str(), "fail");
    assert!(f.message.contains("4 KiB pages only"), "{}", f.message);

    // memfd RAM needs shmem_enabled, which is never here.
    let memfd = host()
        .vm(
            "qemu-system-x86_64 -name guest=vu -m 4G -object memory-backend-memfd,id=m0,size=4G,share=on -machine memory-backend=m0",
            &pinned1(),
        )
        .build();
    assert_eq!(
        status(&memfd, Throughput, "qemu.mem.hugepages", "vm:vu"),
        "fail"
    );
    // memfd with hugetlb=on is hugetlb by construction.
    let memfd_huge = host()
        .vm(
            "qemu-system-x86_64 -name guest=vu -m 4G -object memory-backend-memfd,id=m0,size=4G,hugetlb=on,hugetlbsize=2M -machine memory-backend=m0",
            &pinned1(),
        )
        .build();
    assert_eq!(
        status(&memfd_huge, Throughput, "qemu.mem.hugepages", "vm:vu"),
        "pass"
    );

    // A hugepage-looking path the host shows on devtmpfs, QEMU's namespace unreadable.
    let blind = host()
        .file("/proc/mounts", "udev /dev devtmpfs rw 0 0")
        .vm(VM_1G, &pinned1())
        .with_last_vm(|p| {
            p.mountinfo = Some(Sourced::error(
                "/proc/1000/mountinfo",
                ReadError::new(ReadErrorKind::PermissionDenied, ""),
            ))
        })
        .build();
    assert_eq!(
        status(&blind, Throughput, "qemu.mem.hugepages", "vm:db01"),
        "unknown"
    );
}

/// Argv only (no process, no mount table): libvirt's hugetlbfs layout is the evidence,
/// named as an inference; RAM partly on 4 KiB pages is a warn (issue 12 item 11).
#[test]
fn hugepages_from_libvirt_layout_without_mounts() {
    let argv_only = |args: &str| {
        let w: Vec<&str> = args.split_whitespace().collect();
        SnapBuilder::new()
            .vm_argv(&w, &[])
            .with_last_vm(|p| p.pid = None)
            .build()
    };
    let node = |id: u32, path: &str| {
        format!("-object memory-backend-file,id=ram-node{id},mem-path={path},size=4G,prealloc=on -numa node,nodeid={id},cpus={id},memdev=ram-node{id}")
    };
    let base = "qemu-system-x86_64 -name guest=Guest -machine pc-q35-9.2 -accel kvm -smp 2 -m 8G";
    let huge = "/dev/hugepages2M/libvirt/qemu/-1-Guest";
    let s = argv_only(&format!("{base} {} {}", node(0, huge), node(1, huge)));
    let f = &findings(&s, Throughput, "qemu.mem.hugepages")[0];
    assert_eq!(f.status.as_str(), "pass", "{}", f.message);
    assert!(
        f.message.contains("inferred from libvirt's"),
        "{}",
        f.message
    );
    assert!(
        f.evidence[0].observed.starts_with("hugetlb 2 MiB ("),
        "{:?}",
        f.evidence[0]
    );
    // One guest node on anonymous 4 KiB memory.
    let part = format!(
        "{base} {} -object memory-backend-ram,id=ram-node1,size=4G -numa node,nodeid=1,cpus=1,memdev=ram-node1",
        node(0, huge)
    );
    let f = &findings(&argv_only(&part), Throughput, "qemu.mem.hugepages")[0];
    assert_eq!(f.status.as_str(), "warn", "{}", f.message);
    assert!(f.message.contains("not: ram-node1"), "{}", f.message);
    // One DIMM on 4 KiB pages.
    let dimm = format!(
        "{base} -m 8G,slots=2,maxmem=16G {} {} -object memory-backend-ram,id=memdimm0,size=2G -device pc-dimm,node=0,memdev=memdimm0,id=dimm0",
        node(0, huge),
        node(1, huge)
    );
    let f = &findings(&argv_only(&dimm), Throughput, "qemu.mem.hugepages")[0];
    assert_eq!(f.status.as_str(), "warn", "{}", f.message);
    // libvirt's non-hugepage memory_backing_dir is not hugetlbfs.
    let ram_dir = format!("{base} {}", node(0, "/var/lib/libvirt/qemu/ram/-1-Guest"));
    assert_ne!(
        status(
            &argv_only(&ram_dir),
            Throughput,
            "qemu.mem.hugepages",
            "vm:Guest"
        ),
        "pass"
    );
}

#[test]
fn thp() {
    let ok = host().vm(VM_ANON, &pinned1()).build();
    assert_eq!(status(&ok, Throughput, "host.thp", "host"), "pass");

    let never = host()
        .file(&format!("{THP}/enabled"), "always madvise [never]")
        .file(
            "/etc/default/grub",
            "GRUB_CMDLINE_LINUX=\"quiet transparent_hugepage=madvise\"",
        )
        .vm(VM_ANON, &pinned1())
        .build();
    let f = &findings(&never, Throughput, "host.thp")[0];
    assert_eq!(f.status.as_str(), "fail");
    assert!(f.pending_reboot, "GRUB already fixes it");

    let shmem = host()
        .vm(
            "qemu-system-x86_64 -name guest=vu -m 4G -object memory-backend-memfd,id=m0,size=4G -machine memory-backend=m0",
            &pinned1(),
        )
        .build();
    let f = &findings(&shmem, Throughput, "host.thp")[0];
    assert_eq!(f.status.as_str(), "fail");
    assert!(f.message.contains("shmem_enabled"), "{}", f.message);

    let all_huge = host().vm(VM_1G, &pinned1()).build();
    assert_eq!(
        status(&all_huge, Throughput, "host.thp", "host"),
        "not_applicable"
    );

    let hidden = host().denied(&format!("{THP}/enabled")).build();
    assert_eq!(status(&hidden, Throughput, "host.thp", "host"), "unknown");

    // Missing from a --root tree: unknown; missing next to a listed /sys/kernel/mm (or
    // with CONFIG_TRANSPARENT_HUGEPAGE off): a kernel without THP.
    let tree = host()
        .absent(&format!("{THP}/enabled"))
        .absent(&format!("{THP}/shmem_enabled"))
        .vm(VM_ANON, &pinned1())
        .build();
    assert_eq!(status(&tree, Throughput, "host.thp", "host"), "unknown");
    let no_thp = host()
        .absent(&format!("{THP}/enabled"))
        .absent(&format!("{THP}/shmem_enabled"))
        .dir("/sys/kernel/mm", &["hugepages", "ksm"])
        .vm(VM_ANON, &pinned1())
        .build();
    assert_eq!(status(&no_thp, Throughput, "host.thp", "host"), "fail");

    let guest = SnapBuilder::new()
        .icx("vmx hypervisor")
        .dir("/dev", &[])
        .build();
    assert_eq!(
        status(&guest, Throughput, "host.thp", "host"),
        "not_applicable"
    );
}

fn ksm(run: &str, sharing: &str, across: &str) -> SnapBuilder {
    let k = "/sys/kernel/mm/ksm";
    host()
        .dir(
            k,
            &["run", "pages_sharing", "pages_shared", "merge_across_nodes"],
        )
        .file(&format!("{k}/run"), run)
        .file(&format!("{k}/pages_sharing"), sharing)
        .file(&format!("{k}/pages_shared"), "1000")
        .file(&format!("{k}/pages_to_scan"), "100")
        .file(&format!("{k}/merge_across_nodes"), across)
}

#[test]
fn ksm_state_and_tuning() {
    let running = ksm("1", "262144", "1").vm(VM_ANON, &pinned1()).build();
    let f = &findings(&running, Throughput, "host.ksm.state")[0];
    assert_eq!(f.status.as_str(), "info");
    assert!(f.message.contains("saving about 1 GiB"), "{}", f.message);
    assert!(f.message.contains("consider run=0"), "{}", f.message);
    // Multi-node, running, merging across nodes.
    assert_eq!(
        status(&running, Throughput, "host.ksm.tuning", "host"),
        "warn"
    );

    let local = ksm("1", "0", "0").build();
    assert_eq!(
        status(&local, Throughput, "host.ksm.tuning", "host"),
        "info"
    );

    let no_ksm = host().build();
    assert_eq!(
        status(&no_ksm, Throughput, "host.ksm.state", "host"),
        "not_applicable"
    );
    assert_eq!(
        status(&no_ksm, Throughput, "host.ksm.tuning", "host"),
        "not_applicable"
    );

    let hidden = ksm("1", "0", "1").denied("/sys/kernel/mm/ksm/run").build();
    assert_eq!(
        status(&hidden, Throughput, "host.ksm.state", "host"),
        "unknown"
    );
    // The warn above with one of its facts unreadable is unknown, with the reason, never
    // the milder info (issue 12 item 4).
    for path in ["run", "merge_across_nodes"] {
        let hidden = ksm("1", "262144", "1")
            .denied(&format!("/sys/kernel/mm/ksm/{path}"))
            .build();
        let f = &findings(&hidden, Throughput, "host.ksm.tuning")[0];
        assert_eq!(f.status.as_str(), "unknown", "{path}: {}", f.message);
        assert!(
            f.message
                .contains(&format!("/sys/kernel/mm/ksm/{path}: permission denied")),
            "{}",
            f.message
        );
    }
    // A readable fact that rules the warning out keeps the info.
    let stopped = ksm("0", "0", "1")
        .denied("/sys/kernel/mm/ksm/merge_across_nodes")
        .build();
    assert_eq!(
        status(&stopped, Throughput, "host.ksm.tuning", "host"),
        "info"
    );
}

#[test]
fn merge() {
    let s = host()
        .vm(&format!("{VM_ANON} -machine q35,mem-merge=off"), &pinned1())
        .vm(VM_1G, &pinned1())
        .build();
    let f = findings(&s, Throughput, "qemu.mem.merge");
    let app = f.iter().find(|f| f.target == "vm:app01").unwrap();
    assert_eq!(app.status.as_str(), "info");
    assert!(app.message.contains("mem-merge=off"), "{}", app.message);
    let db = f.iter().find(|f| f.target == "vm:db01").unwrap();
    assert!(
        db.message.contains("no guest RAM is mergeable"),
        "{}",
        db.message
    );
    assert!(
        db.evidence.iter().any(|e| e.observed.contains("hugetlb")),
        "{:?}",
        db.evidence
    );
    let empty = host().build();
    assert_eq!(
        status(&empty, Throughput, "qemu.mem.merge", "host"),
        "not_applicable"
    );
}

#[test]
fn mounts_parse() {
    let m = crate::parse::mounts::parse_mountinfo(
        "36 35 98:0 / /mnt\\040x rw,noatime master:1 - hugetlbfs none rw,pagesize=1G",
    );
    assert_eq!(m[0].target, "/mnt x");
    assert_eq!(m[0].opt("pagesize"), Some("1G"));
    assert_eq!(
        crate::rules::facts::mounts::hugetlbfs_pagesize(&m[0], None),
        Some(1 << 30)
    );
    let t = crate::parse::mounts::parse_mounts(
        "a / ext4 rw 0 0\nb /var xfs rw 0 0\nc /var ext4 rw 0 0",
    );
    assert_eq!(
        crate::rules::facts::mounts::mount_of(&t, "/var/lib/x").map(|m| m.source.as_str()),
        Some("c")
    );
    assert_eq!(
        crate::rules::facts::mounts::mount_of(&t, "/variable").map(|m| m.source.as_str()),
        Some("a")
    );
    assert_eq!(crate::parse::mounts::unescape("a\\134b\\0"), "a\\b\\0");
}
