//! Property tests: no input makes the argv reader, the option syntaxes or the VM model panic.

mod common;

use kvmaudit::model::vm::VmModel;
use kvmaudit::parse::qemu::{parse_argv_file, parse_keyval, parse_size};
use kvmaudit::snapshot::RawBytes;
use proptest::prelude::*;
use std::sync::OnceLock;

/// The corpus files, read once.
fn corpus() -> &'static [Vec<u8>] {
    static FILES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = common::fixture("libvirt-args/v11.3.0/qemuxmlconfdata");
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .expect("corpus")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        paths.sort();
        paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
    })
}

fn file_at(i: usize) -> &'static [u8] {
    let files = corpus();
    files
        .get(i % files.len().max(1))
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Parse and, when that works, model: neither may panic.
fn exercise(bytes: &[u8]) {
    if let Ok(f) = parse_argv_file(bytes) {
        let m = VmModel::from_argv(&f.argv);
        let _ = m.vcpus();
        let _ = m.is_kvm();
        let _ = m.uses_hugepages();
        let _ = m.guest_ram();
        let _ = serde_json::to_string(&m);
    }
}

/// Tokens that steer the model into its interesting paths.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "-device",
            "-drive",
            "-blockdev",
            "-netdev",
            "-nic",
            "-net",
            "-object",
            "-machine",
            "-M",
            "-accel",
            "-m",
            "-smp",
            "-numa",
            "-overcommit",
            "-realtime",
            "-global",
            "-set",
            "-name",
            "-cpu",
            "-hda",
            "-cdrom",
            "-mem-path",
            "-mem-prealloc",
            "--enable-kvm",
            "-S",
            "virtio-blk-pci,drive=d0,num-queues=4",
            "if=none,id=d0,file=a,cache=none",
            "tap,id=n0,vhost=on,fds=3:4",
            "virtio-net-pci,netdev=n0,mq=on",
            "memory-backend-file,id=m,mem-path=/dev/hugepages,size=1G,host-nodes=0-3",
            "node,memdev=m,cpus=0-3",
            "q35,accel=kvm:tcg,memory-backend=m",
            "nvdimm,memdev=m",
            "vfio-pci,host=3d:01.1",
            "device.x.packed=on",
            "virtio-blk-pci.num-queues=4",
            "{\"driver\":\"qcow2\",\"node-name\":\"d0\",\"file\":{\"driver\":\"file\"}}",
            "{\"qom-type\":\"iothread\",\"id\":\"io\"}",
            "{",
            "[]",
            ",,",
            "",
            "=",
            "cpus=4294967295",
            "host-nodes=0-4294967295",
            "size=99999999999999999999G",
        ])
        .prop_map(str::to_string),
        "[-a-z0-9=,.:{}\"\\[\\] ]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&bytes);
    }

    #[test]
    fn truncated_corpus_files_never_panic(i in 0usize..390, cut in 0.0f64..1.0) {
        let f = file_at(i);
        let n = ((f.len() as f64) * cut) as usize;
        exercise(f.get(..n).unwrap_or_default());
    }

    #[test]
    fn mutated_corpus_files_never_panic(
        i in 0usize..390,
        edits in prop::collection::vec((0.0f64..1.0, any::<u8>(), 0u8..3), 1..16),
    ) {
        let mut f = file_at(i).to_vec();
        for (pos, byte, op) in edits {
            let at = ((f.len() as f64) * pos) as usize;
            match op {
                0 => { if let Some(b) = f.get_mut(at) { *b = byte; } }
                1 => f.insert(at.min(f.len()), byte),
                _ => { if at < f.len() { f.remove(at); } }
            }
        }
        exercise(&f);
    }

    #[test]
    fn random_argv_never_panics(tokens in prop::collection::vec(token(), 0..40)) {
        let mut argv = vec![RawBytes::from("qemu-system-x86_64")];
        argv.extend(tokens.iter().map(|t| RawBytes::from(t.as_str())));
        let m = VmModel::from_argv(&argv);
        let _ = (m.vcpus(), m.is_kvm(), m.uses_hugepages(), m.main_ram_backend());
    }

    #[test]
    fn random_raw_argv_never_panics(args in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 0..24)) {
        let argv: Vec<RawBytes> = args.into_iter().map(RawBytes).collect();
        let _ = VmModel::from_argv(&argv);
    }

    #[test]
    fn random_keyval_never_panics(s in "\\PC{0,80}", implied in prop::option::of("[a-z]{1,8}")) {
        let p = parse_keyval(&s, implied.as_deref());
        for (k, _) in p.iter() {
            let _ = (p.bool(k), p.u64(k), p.size(k, 1), p.children(k));
        }
        let _ = parse_size(&s, 1 << 20);
    }
}
