//! The QEMU argv parser and VM model against libvirt 11.3.0's 390 expected argv files
//! (fixtures/libvirt-args, see SOURCE.md there).

mod common;

use common::libvirt_args::{self, manifest, read};
use kvmaudit::model::vm::{
    Aio, BackendKind, CacheMode, DiskBus, MemLock, MemoryDeviceKind, VmModel,
};
use kvmaudit::parse::qemu::parse_argv_file;

#[test]
fn manifest_lists_all_390_files() {
    let m = manifest();
    assert_eq!(m.len(), 390);
    let on_disk = std::fs::read_dir(libvirt_args::root().join("v11.3.0/qemuxmlconfdata"))
        .expect("corpus dir")
        .count();
    assert_eq!(on_disk, 390);
}

/// Independent oracle: `shell-words` on the file with its ` \` continuations joined must give
/// exactly our env prefix followed by our argv.
#[test]
fn tokens_match_shell_words_for_every_file() {
    let mut failures = Vec::new();
    for (rel, _) in manifest() {
        let bytes = read(&rel);
        let ours = match parse_argv_file(&bytes) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{rel}: parse error {e}"));
                continue;
            }
        };
        let text = String::from_utf8(bytes).expect("corpus files are UTF-8");
        let joined = text.replace(" \\\n", " ");
        let words = shell_words::split(&joined).expect("shell-words splits every corpus file");
        let (env, argv) = words.split_at(ours.env.len().min(words.len()));
        let our_argv: Vec<String> = ours.argv.iter().map(|a| a.to_string_lossy()).collect();
        if env != ours.env.as_slice() || argv != our_argv.as_slice() {
            failures.push(format!(
                "{rel}: tokens differ (ours {} env + {} argv, shell-words {} words)",
                ours.env.len(),
                our_argv.len(),
                words.len()
            ));
        }
        if !ours.env.iter().all(|e| e.contains('=')) {
            failures.push(format!("{rel}: env prefix {:?}", ours.env));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn model(rel: &str) -> VmModel {
    let f = parse_argv_file(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    VmModel::from_argv(&f.argv)
}

/// One check per manifest tag: (tag, "what the model must show", predicate, reverse holds).
/// `reverse` = the predicate must be false for files without the tag (only where the tag's
/// regex and the model property mean the same thing).
type Check = (&'static str, &'static str, fn(&VmModel, &str) -> bool, bool);

fn checks() -> Vec<Check> {
    vec![
        (
            "cache-none/direct",
            "a disk with cache mode none or cache.direct on",
            |m, _| {
                m.disks
                    .iter()
                    .any(|d| d.cache_mode == Some(CacheMode::None) || d.cache_direct == Some(true))
            },
            false,
        ),
        (
            "aio-native",
            "a disk with aio=native",
            |m, _| m.disks.iter().any(|d| d.aio == Some(Aio::Native)),
            true,
        ),
        (
            "aio-io_uring",
            "a disk with aio=io_uring",
            |m, _| m.disks.iter().any(|d| d.aio == Some(Aio::IoUring)),
            true,
        ),
        (
            "iothread",
            "an iothread object or a disk/controller bound to one",
            |m, _| {
                !m.iothreads.is_empty()
                    || m.disks.iter().any(|d| !d.iothreads.is_empty())
                    || m.controllers.iter().any(|c| !c.iothreads.is_empty())
            },
            true,
        ),
        (
            "num-queues",
            "a virtio-blk disk with num_queues",
            |m, _| {
                m.disks
                    .iter()
                    .any(|d| d.bus == DiskBus::VirtioBlk && d.num_queues.is_some())
            },
            true,
        ),
        (
            // The tag is the regex "packed" (a `packed` key on any virtio device, true or false).
            "packed",
            "a device with an explicit packed setting",
            |m, _| m.devices.iter().any(|d| d.packed.is_some()),
            true,
        ),
        (
            "vhost-net",
            "a NIC with kernel vhost",
            |m, _| m.nics.iter().any(|n| n.vhost() == Some(true)),
            true,
        ),
        (
            "vhostfds/multiq",
            "a vhost NIC with more than one queue",
            |m, _| {
                m.nics
                    .iter()
                    .any(|n| n.vhost() == Some(true) && n.queues().unwrap_or(1) > 1)
            },
            true,
        ),
        (
            // `queues` appears on NIC backends, virtio-blk num-queues, virtio-scsi num_queues and
            // cryptodev objects; the last are not modelled, so such files must say cryptodev.
            "queues",
            "an explicit queue count on a NIC, disk or controller",
            |m, raw| {
                m.nics.iter().any(|n| n.queues().is_some())
                    || m.disks.iter().any(|d| d.num_queues.is_some())
                    || m.controllers.iter().any(|c| c.num_queues.is_some())
                    || raw.contains("cryptodev")
            },
            false,
        ),
        (
            "mq",
            "a NIC with mq on",
            |m, _| m.nics.iter().any(|n| n.mq == Some(true)),
            true,
        ),
        (
            "hugepages-path",
            "a memory backend or -mem-path under a hugepages path",
            |m, _| {
                m.memory_backends
                    .iter()
                    .filter_map(|b| b.mem_path.as_deref())
                    .chain(m.memory.mem_path.as_deref())
                    .any(|p| p.contains("/hugepages"))
            },
            true,
        ),
        (
            "memory-backend-memfd",
            "a memfd backend",
            |m, _| {
                m.memory_backends
                    .iter()
                    .any(|b| b.kind == BackendKind::Memfd)
            },
            true,
        ),
        (
            "memory-backend-file",
            "a file backend",
            |m, _| {
                m.memory_backends
                    .iter()
                    .any(|b| b.kind == BackendKind::File)
            },
            true,
        ),
        (
            "mem-lock=on/mlock=on",
            "effective mem-lock on",
            |m, _| m.overcommit.mem_lock == Some(MemLock::On),
            true,
        ),
        (
            "mem-path/mem-prealloc",
            "-mem-path or -mem-prealloc",
            |m, _| m.memory.mem_path.is_some() || m.memory.mem_prealloc,
            true,
        ),
        (
            "host-nodes/policy",
            "a backend with host-nodes or a policy",
            |m, _| {
                m.memory_backends
                    .iter()
                    .any(|b| !b.host_nodes.is_empty() || b.policy.is_some())
            },
            true,
        ),
        (
            "vfio-pci",
            "vfio-pci devices, each with a normalized host BDF",
            |m, _| {
                !m.vfio_devices.is_empty()
                    && m.vfio_devices.iter().all(|v| {
                        v.host_bdf
                            .as_deref()
                            .is_some_and(|b| b.len() == 12 && b.as_bytes().get(4) == Some(&b':'))
                    })
            },
            true,
        ),
        (
            "nvdimm",
            "an nvdimm device with its backend resolved",
            |m, _| {
                m.memory_devices
                    .iter()
                    .any(|d| d.kind == MemoryDeviceKind::Nvdimm && d.backend.is_some())
            },
            true,
        ),
        (
            "numa",
            "guest NUMA nodes",
            |m, _| !m.numa_nodes.is_empty(),
            true,
        ),
        (
            "pc-dimm",
            "a pc-dimm with its backend",
            |m, _| {
                m.memory_devices
                    .iter()
                    .any(|d| d.kind == MemoryDeviceKind::PcDimm && d.backend.is_some())
            },
            true,
        ),
        (
            "virtio-scsi",
            "a virtio-scsi controller",
            |m, _| m.controllers.iter().any(|c| c.bus == DiskBus::VirtioScsi),
            true,
        ),
        ("smp-dies", "-smp dies=", |m, _| m.smp.dies.is_some(), true),
        (
            "cpu-host",
            "-cpu host",
            |m, _| m.cpu.as_ref().is_some_and(|c| c.model == "host"),
            true,
        ),
        (
            "accel-kvm",
            "KVM in the accelerator list",
            |m, _| m.accel.list.iter().any(|a| a.name == "kvm"),
            true,
        ),
        (
            "tap",
            "a tap backend",
            |m, _| {
                m.nics
                    .iter()
                    .filter_map(|n| n.backend.as_ref())
                    .chain(m.unattached_netdevs.iter())
                    .any(|b| b.backend_type == "tap")
            },
            true,
        ),
    ]
}

#[test]
fn models_agree_with_manifest_tags() {
    let checks = checks();
    let mut failures = Vec::new();
    for (rel, tags) in manifest() {
        let raw = String::from_utf8_lossy(&read(&rel)).into_owned();
        let m = model(&rel);
        for (tag, meaning, pred, reverse) in &checks {
            let tagged = tags.iter().any(|t| t == tag);
            let holds = pred(&m, &raw);
            if tagged && !holds {
                failures.push(format!("{rel}: tagged {tag} but the model lacks {meaning}"));
            }
            if !tagged && holds && *reverse {
                failures.push(format!(
                    "{rel}: not tagged {tag} but the model has {meaning}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Invariants every corpus model must satisfy, whatever its tags.
#[test]
fn corpus_models_are_internally_consistent() {
    let mut failures = Vec::new();
    for (rel, _) in manifest() {
        let m = model(&rel);
        let raw = String::from_utf8_lossy(&read(&rel)).into_owned();
        // libvirt writes no malformed option: nothing may end up in notes.
        if !m.notes.is_empty() {
            failures.push(format!("{rel}: notes {:?}", m.notes));
        }
        if m.name.is_none() || m.machine.machine_type.is_none() || m.accel.list.is_empty() {
            failures.push(format!("{rel}: name/machine/accel missing"));
        }
        if m.memory.size_bytes.is_none() {
            failures.push(format!("{rel}: -m not read"));
        }
        // Every disk device written by libvirt resolves to a backend chain (vhost-user excepted).
        for d in &m.disks {
            if d.chain.is_empty() && d.bus != DiskBus::VhostUserBlk {
                failures.push(format!("{rel}: disk {:?} has no chain", d.id));
            }
        }
        // Every iothread a disk or controller names is an -object iothread.
        let bound = m
            .disks
            .iter()
            .flat_map(|d| d.iothreads.iter())
            .chain(m.controllers.iter().flat_map(|c| c.iothreads.iter()));
        for t in bound {
            if !m.iothreads.iter().any(|o| &o.id == t) {
                failures.push(format!("{rel}: iothread {t:?} is not defined"));
            }
        }
        // A packed setting on a disk's or NIC's own device shows up on the disk/NIC.
        for dev in m.devices.iter().filter(|d| d.packed.is_some()) {
            let disk = m.disks.iter().find(|d| d.id.is_some() && d.id == dev.id);
            let nic = m.nics.iter().find(|n| n.id.is_some() && n.id == dev.id);
            if let Some(d) = disk {
                if d.packed != dev.packed {
                    failures.push(format!("{rel}: disk {:?} packed lost", d.id));
                }
            }
            if let Some(n) = nic {
                if n.packed != dev.packed {
                    failures.push(format!("{rel}: nic {:?} packed lost", n.id));
                }
            }
        }
        // Every `"driver":"virtio-net..."` device is a NIC.
        let virtio_nics = raw.matches("\"driver\":\"virtio-net").count();
        let model_virtio = m
            .nics
            .iter()
            .filter(|n| {
                n.model
                    .as_deref()
                    .is_some_and(|x| x.starts_with("virtio-net"))
            })
            .count();
        if virtio_nics != model_virtio {
            failures.push(format!(
                "{rel}: {virtio_nics} virtio-net devices, {model_virtio} NICs"
            ));
        }
        // The vCPU count is known for every libvirt command line (it always writes -smp).
        if m.vcpus().is_none_or_zero() {
            failures.push(format!("{rel}: vcpus unknown"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

trait NoneOrZero {
    fn is_none_or_zero(&self) -> bool;
}

impl NoneOrZero for Option<u32> {
    fn is_none_or_zero(&self) -> bool {
        !matches!(self, Some(n) if *n > 0)
    }
}

/// The model survives a JSON round trip (it is part of the snapshot/report).
#[test]
fn models_round_trip_through_json() {
    for (rel, _) in manifest() {
        let m = model(&rel);
        let json = serde_json::to_string(&m).expect("serialize");
        let back: VmModel = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, m, "{rel}");
    }
}
