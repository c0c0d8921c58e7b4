//! The per-VM model: what one QEMU command line configures, with references resolved.
//!
//! [`VmModel::from_argv`] never fails. Whatever it cannot read becomes a line in
//! [`VmModel::notes`] and leaves the field it would have filled `None`/empty, so a rule can say
//! "unknown" instead of guessing. Units are in the field names (`_bytes`) or doc comments.
//!
//! The model is built from argv only. Facts that live outside argv (libvirt's cgroup pinning,
//! the QEMU mount namespace, fds) are for the rules to combine from the snapshot.

mod block;
mod build;
mod chain;
mod devices;
mod helpers;
mod memory;
mod net;

pub use helpers::{HugepageUse, KvmUse, RamPiece, RamRole, RamSource};
pub use net::is_emulated_nic_model;

use crate::snapshot::RawBytes;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything the per-VM rules read about one QEMU process.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VmModel {
    /// argv[0] as given (lossy UTF-8): `/usr/bin/qemu-system-x86_64`, `/usr/libexec/qemu-kvm`.
    pub binary: String,
    /// `-name guest=X` or `-name X` (`,,` unescaped).
    pub name: Option<String>,
    /// `-name ...,process=X`: the process title QEMU sets.
    pub process_name: Option<String>,
    /// `-name ...,debug-threads=on`: threads are named `CPU n/KVM`, `IO iothreadN`.
    pub debug_threads: Option<bool>,
    /// `-uuid`.
    pub uuid: Option<String>,
    /// libvirt started this QEMU (its master-key secret object `masterKey0` is on the command
    /// line): the persistent definition to change is the libvirt domain's.
    pub libvirt: bool,
    pub machine: Machine,
    pub accel: Accel,
    pub cpu: Option<CpuConfig>,
    pub smp: Smp,
    pub memory: Memory,
    /// Every `-object memory-backend-*`, in argv order.
    pub memory_backends: Vec<MemoryBackend>,
    /// `-numa node,...` entries, in argv order.
    pub numa_nodes: Vec<NumaNode>,
    pub overcommit: Overcommit,
    /// One entry per block *device* (a `-device` with a drive, `-drive if=...`, `-hda`, a
    /// positional image, vhost-user-blk), with its backend chain resolved.
    pub disks: Vec<Disk>,
    /// Storage controllers (virtio-scsi, emulated SCSI HBAs, AHCI).
    pub controllers: Vec<Controller>,
    /// Guest NICs (`-device` NIC models, `-nic`, `-net nic`) with their backend resolved.
    pub nics: Vec<Nic>,
    /// Network backends no NIC refers to (guestfwd channels, leftovers).
    pub unattached_netdevs: Vec<NetBackend>,
    /// `-device vfio-pci` (host PCI passthrough).
    pub vfio_devices: Vec<VfioDevice>,
    /// `pc-dimm`, `nvdimm`, `virtio-mem-*`, `virtio-pmem-*` with their backend resolved.
    pub memory_devices: Vec<MemoryDevice>,
    /// `-object iothread`.
    pub iothreads: Vec<IoThread>,
    /// Every `-device`, in argv order (driver, id, bus and the virtio ring layout).
    pub devices: Vec<Device>,
    /// `-global driver.property=value` defaults, in argv order.
    pub globals: Vec<GlobalDefault>,
    /// What could not be parsed or resolved, one sentence each.
    pub notes: Vec<String>,
}

impl VmModel {
    /// Builds the model from argv (argv[0] is the binary). Never fails; see [`VmModel::notes`].
    pub fn from_argv(argv: &[RawBytes]) -> VmModel {
        build::build(argv)
    }
}

/// `-machine`/`-M` options, merged across occurrences (later keys win).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Machine {
    /// `pc`, `q35`, `pc-q35-6.0`, `s390-ccw-virtio`, ... (`None`: the binary's default).
    #[serde(rename = "type")]
    pub machine_type: Option<String>,
    /// Every other property as written (`usb=off`, `dump-guest-core=off`, `pflash0=...`).
    pub props: BTreeMap<String, String>,
    /// `mem-merge=on|off` (QEMU default on: guest RAM is advised MADV_MERGEABLE for KSM).
    pub mem_merge: Option<bool>,
    /// `nvdimm=on|off` (needed for vNVDIMM devices).
    pub nvdimm: Option<bool>,
    /// `memory-backend=ID`: the backend object that holds guest RAM.
    pub memory_backend: Option<String>,
    /// `accel=kvm:tcg` as written (also listed in [`Accel::list`]).
    pub accel: Option<String>,
}

/// Accelerators in the order QEMU tries them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Accel {
    /// From `-accel X`, `-machine accel=a:b`, `-enable-kvm`/`--enable-kvm` (= kvm), in argv order.
    pub list: Vec<AccelEntry>,
    /// False when the command line names no accelerator at all (the binary's default applies:
    /// TCG for upstream `qemu-system-*`, KVM for `*kvm` wrappers).
    pub specified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AccelEntry {
    /// `kvm`, `tcg`, `xen`, `hvf`, ...
    pub name: String,
    /// `accel` (`-accel`), `machine` (`-machine accel=`), `enable-kvm`, `no-kvm`.
    pub source: String,
    /// Other `-accel` properties (`dirty-ring-size=4096`, `kernel-irqchip=split`).
    pub props: BTreeMap<String, String>,
}

/// `-cpu MODEL,feature,...`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuConfig {
    /// `host`, `qemu64`, `Icelake-Server`, ...
    pub model: String,
    /// Features in order: `+vmx` is `vmx=on`, `-svm` is `svm=off`, bare `x` is `x=on`.
    pub features: Vec<CpuFeature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuFeature {
    pub name: String,
    pub value: String,
}

impl CpuConfig {
    /// The last value given for a feature, as a boolean when it is one.
    pub fn feature(&self, name: &str) -> Option<bool> {
        self.features
            .iter()
            .rev()
            .find(|f| f.name == name)
            .and_then(|f| crate::parse::qemu::props::parse_bool(&f.value))
    }

    /// `kvm-hint-dedicated=on`: the guest is told its vCPUs are dedicated (haltpoll driver).
    pub fn kvm_hint_dedicated(&self) -> Option<bool> {
        self.feature("kvm-hint-dedicated")
    }
}

/// `-smp` topology. `None` = not given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Smp {
    /// Boot vCPUs (`-smp 4` / `cpus=4`).
    pub cpus: Option<u32>,
    pub maxcpus: Option<u32>,
    pub drawers: Option<u32>,
    pub books: Option<u32>,
    pub sockets: Option<u32>,
    pub dies: Option<u32>,
    pub clusters: Option<u32>,
    pub cores: Option<u32>,
    pub threads: Option<u32>,
}

/// `-m`, `-mem-path`, `-mem-prealloc` and which backends hold boot RAM.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Memory {
    /// Boot RAM in bytes (`-m 4096` = 4 GiB: a bare number is MiB). `None`: machine default.
    pub size_bytes: Option<u64>,
    /// `slots=` for hotplug.
    pub slots: Option<u32>,
    /// `maxmem=` in bytes.
    pub maxmem_bytes: Option<u64>,
    /// `-mem-path DIR`: legacy file-backed RAM (hugetlbfs when DIR is on one).
    pub mem_path: Option<String>,
    /// `-mem-prealloc` given.
    pub mem_prealloc: bool,
    /// Backend ids that hold boot RAM: `-machine memory-backend=` or the `memdev=` of each
    /// `-numa node` (node order). Empty: anonymous RAM or `-mem-path`.
    pub ram_backend_ids: Vec<String>,
}

/// `-object memory-backend-{file,ram,memfd,epc}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryBackend {
    pub id: String,
    pub kind: BackendKind,
    /// `qom-type` as written.
    pub qom_type: String,
    /// `mem-path` (file backends): a hugetlbfs directory, `/dev/daxX.Y`, a pmem file, ...
    pub mem_path: Option<String>,
    /// `size` in bytes.
    pub size_bytes: Option<u64>,
    pub prealloc: Option<bool>,
    /// `host-nodes` (host NUMA nodes the memory may come from), expanded.
    pub host_nodes: Vec<u32>,
    /// `policy`: `default`, `preferred`, `bind`, `interleave`.
    pub policy: Option<String>,
    /// `merge` (KSM); `None` inherits the machine's `mem-merge`.
    pub merge: Option<bool>,
    /// `share` (MAP_SHARED: vhost-user, virtiofs, devdax need it).
    pub share: Option<bool>,
    /// memfd: `hugetlb=on`.
    pub hugetlb: Option<bool>,
    /// memfd: `hugetlbsize` in bytes (host default huge page size when absent).
    pub hugetlbsize_bytes: Option<u64>,
    /// file: `align` in bytes (devdax needs the namespace alignment).
    pub align_bytes: Option<u64>,
    /// file: `pmem=on` (persistent memory semantics).
    pub pmem: Option<bool>,
    /// `readonly` / `rom`.
    pub readonly: Option<bool>,
    /// `dump` (include in core dumps).
    pub dump: Option<bool>,
    /// `reserve` (swap/hugetlb reservation).
    pub reserve: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    File,
    #[default]
    Ram,
    Memfd,
    Epc,
    Other,
}

/// `-numa node,...`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NumaNode {
    pub nodeid: Option<u32>,
    /// Guest vCPU indexes (all `cpus=` ranges, expanded).
    pub cpus: Vec<u32>,
    /// `memdev=ID`: the backend holding this node's RAM.
    pub memdev: Option<String>,
    /// Legacy `mem=` in bytes (bare number = MiB); cannot carry host-nodes or huge pages.
    pub mem_bytes: Option<u64>,
    pub initiator: Option<u32>,
}

/// `mem-lock` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemLock {
    On,
    Off,
    OnFault,
}

/// Every `-overcommit` (and legacy `-realtime mlock=`) and the effective result.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Overcommit {
    pub occurrences: Vec<OvercommitOption>,
    /// Effective mem-lock: each key keeps the last value any occurrence gave it (QEMU ≥ 9.1;
    /// older QEMU let the last `-overcommit` reset keys it did not name — see notes).
    /// `None`: never given (QEMU default off).
    pub mem_lock: Option<MemLock>,
    /// Effective cpu-pm, same rule. `None`: never given (default off).
    pub cpu_pm: Option<bool>,
}

impl Overcommit {
    /// Effective (mem-lock, cpu-pm) as QEMU ≥ 9.1 applies them: each key keeps the last value
    /// any occurrence gave it, off when none did.
    pub fn merged(&self) -> (MemLock, bool) {
        (
            self.mem_lock.unwrap_or(MemLock::Off),
            self.cpu_pm.unwrap_or(false),
        )
    }

    /// Effective (mem-lock, cpu-pm) as QEMU < 9.1 applied them: each `-overcommit` set both
    /// keys from its own options, off when it did not name them (`enable_mlock =
    /// qemu_opt_get_bool(opts, "mem-lock", false)`, the same for cpu-pm, until "vl: Allow
    /// multiple -overcommit commands" in 9.1); `-realtime mlock=` set mem-lock only.
    pub fn before_9_1(&self) -> (MemLock, bool) {
        let (mut mem_lock, mut cpu_pm) = (MemLock::Off, false);
        for o in &self.occurrences {
            if o.option == "realtime" {
                mem_lock = o.mem_lock.unwrap_or(mem_lock);
            } else {
                mem_lock = o.mem_lock.unwrap_or(MemLock::Off);
                cpu_pm = o.cpu_pm.unwrap_or(false);
            }
        }
        (mem_lock, cpu_pm)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OvercommitOption {
    /// `overcommit` or `realtime`.
    pub option: String,
    /// argv index of the option.
    pub index: usize,
    pub mem_lock: Option<MemLock>,
    pub cpu_pm: Option<bool>,
}

/// How a disk was declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiskOrigin {
    /// `-device ...,drive=X` (or vhost-user-blk with a chardev).
    #[default]
    Device,
    /// `-drive if=ide|virtio|scsi|...` creating its own device.
    Drive,
    /// `-hda`..`-hdd`, `-cdrom`, `-fda`/`-fdb`.
    Shorthand,
    /// A bare image path on the command line.
    Positional,
}

/// The bus family the guest sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiskBus {
    VirtioBlk,
    VhostUserBlk,
    VirtioScsi,
    /// Emulated SCSI HBA (lsi, megasas, mptsas, pvscsi, ...).
    Scsi,
    Ide,
    Sata,
    Usb,
    Nvme,
    Floppy,
    Pflash,
    Sd,
    #[default]
    Other,
}

/// Host cache mode derived from cache.direct / cache.no-flush / the device write cache
/// (catalogue §5.11 table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheMode {
    /// direct on, no-flush off, write cache on.
    None,
    /// direct on, no-flush off, write cache off.
    Directsync,
    /// direct off, no-flush off, write cache on (QEMU's default).
    Writeback,
    /// direct off, no-flush off, write cache off.
    Writethrough,
    /// no-flush on: guest flushes are ignored.
    Unsafe,
}

impl CacheMode {
    pub fn derive(direct: bool, no_flush: bool, write_cache: bool) -> CacheMode {
        match (direct, no_flush, write_cache) {
            (_, true, _) => CacheMode::Unsafe,
            (true, false, true) => CacheMode::None,
            (true, false, false) => CacheMode::Directsync,
            (false, false, true) => CacheMode::Writeback,
            (false, false, false) => CacheMode::Writethrough,
        }
    }
}

/// Host I/O submission engine of a file-posix protocol node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aio {
    Threads,
    Native,
    IoUring,
    /// Anything else, as written.
    Other(String),
}

impl Aio {
    pub fn parse(s: &str) -> Aio {
        match s {
            "threads" => Aio::Threads,
            "native" => Aio::Native,
            "io_uring" => Aio::IoUring,
            other => Aio::Other(other.to_string()),
        }
    }
}

/// One block node of a disk's backend chain (top = format, bottom = protocol).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BlockNode {
    /// `node-name` (blockdev) or the drive id (legacy `-drive`); `None` for inline children.
    pub node_name: Option<String>,
    /// `qcow2`, `raw`, `throttle`, `file`, `host_device`, `rbd`, `nbd`, ... (`None`: probed).
    pub driver: Option<String>,
    /// `filename` (or a protocol-specific description such as `nbd://host:10809/export`).
    pub filename: Option<String>,
    pub cache_direct: Option<bool>,
    pub cache_no_flush: Option<bool>,
    pub aio: Option<String>,
    pub read_only: Option<bool>,
}

/// A guest block device and what backs it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Disk {
    /// Device `id` (`virtio-disk0`); for `-drive if=...` the drive's `id`.
    pub id: Option<String>,
    pub origin: DiskOrigin,
    /// Device model: `virtio-blk-pci`, `scsi-hd`, `ide-hd`, `ide-cd`, `vhost-user-blk-pci`, ...
    /// (implied by `if=` for `-drive`).
    pub device_driver: Option<String>,
    pub bus: DiskBus,
    /// Controller id for SCSI/IDE/SATA disks (`scsi0` from `bus=scsi0.0`).
    pub controller: Option<String>,
    /// The `drive=` reference, or the `-drive id`.
    pub drive: Option<String>,
    /// Legacy `-drive if=` value (explicit or defaulted).
    pub interface: Option<String>,
    pub read_only: bool,
    pub cdrom: bool,
    /// Backend chain, top (format) first, protocol last. Empty for vhost-user-blk.
    pub chain: Vec<BlockNode>,
    /// Format driver of the top node (`qcow2`, `raw`; `None` when probed or absent).
    pub format: Option<String>,
    /// Protocol driver at the bottom: `file`, `host_device`, `host_cdrom`, `nvme`, `rbd`,
    /// `nbd`, `iscsi`, `gluster`, ...
    pub protocol: Option<String>,
    /// Image path or network target of the protocol node.
    pub path: Option<String>,
    /// Backing image path, when the command line names it (`-blockdev` `backing=`).
    pub backing: Option<String>,
    /// Effective O_DIRECT (cache.direct, inherited down the chain). `None` without a chain.
    pub cache_direct: Option<bool>,
    /// Effective cache.no-flush.
    pub cache_no_flush: Option<bool>,
    /// Guest-visible write cache (device `write-cache`, else the drive's cache mode; blockdev
    /// default on).
    pub write_cache: Option<bool>,
    /// Cache mode derived from the three above.
    pub cache_mode: Option<CacheMode>,
    /// I/O engine of a file/host_device/host_cdrom protocol node (default threads); `None` for
    /// other protocols.
    pub aio: Option<Aio>,
    /// IOThreads serving the disk: device `iothread=`, `iothread-vq-mapping`, or (SCSI) the
    /// controller's.
    pub iothreads: Vec<String>,
    /// `num-queues` (virtio-blk, vhost-user-blk) or the controller's `num_queues` (virtio-scsi).
    /// `None` = machine-type default (vCPU count on ≥ 5.2 machine types, 1 before).
    pub num_queues: Option<u32>,
    pub queue_size: Option<u32>,
    /// `packed` ring (the device's, or the virtio-scsi controller's).
    pub packed: Option<bool>,
}

/// A storage controller.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Controller {
    pub id: Option<String>,
    pub driver: String,
    pub bus: DiskBus,
    pub iothreads: Vec<String>,
    /// virtio-scsi `num_queues`.
    pub num_queues: Option<u32>,
    pub packed: Option<bool>,
}

/// How a NIC was declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NicOrigin {
    #[default]
    Device,
    /// `-nic TYPE,...` (frontend and backend in one).
    Nic,
    /// Legacy `-net nic,...`.
    Net,
}

/// A network backend (`-netdev`, the backend half of `-nic`, or a legacy `-net TYPE`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NetBackend {
    pub id: Option<String>,
    /// `tap`, `user`, `bridge`, `vhost-user`, `vhost-vdpa`, `socket`, `stream`, `passt`, ...
    #[serde(rename = "type")]
    pub backend_type: String,
    /// Kernel vhost-net: `vhost=on`, `vhostforce=on`, or `vhostfd(s)=` present. `Some(false)`
    /// for a tap/bridge without them (QEMU default off); `None` for other backend types.
    pub vhost: Option<bool>,
    /// Queue pairs: `queues=`, else the number of `fds=`/`vhostfds=` entries. `None`: not
    /// given (one queue).
    pub queues: Option<u32>,
    /// `poll-us` (vhost busy-poll budget, microseconds).
    pub poll_us: Option<u32>,
    /// `ifname` of the tap (libvirt passes fds instead).
    pub ifname: Option<String>,
    /// vhost-user `chardev`, vhost-vdpa `vhostdev`.
    pub endpoint: Option<String>,
}

/// A guest NIC.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Nic {
    /// Device `id` (`net0`) or the `-nic`/`-net` id.
    pub id: Option<String>,
    pub origin: NicOrigin,
    /// `virtio-net-pci`, `e1000`, ... (`model=` for `-nic`/`-net`; `None`: machine default,
    /// an emulated model such as e1000/e1000e).
    pub model: Option<String>,
    /// `netdev=` link.
    pub netdev_id: Option<String>,
    pub backend: Option<NetBackend>,
    pub mac: Option<String>,
    /// virtio-net `mq`.
    pub mq: Option<bool>,
    /// MSI-X `vectors`.
    pub vectors: Option<u32>,
    pub packed: Option<bool>,
}

impl Nic {
    /// Queue pairs of the backend (`None` when not given: one).
    pub fn queues(&self) -> Option<u32> {
        self.backend.as_ref().and_then(|b| b.queues)
    }
    /// Kernel vhost for the backend, as [`NetBackend::vhost`].
    pub fn vhost(&self) -> Option<bool> {
        self.backend.as_ref().and_then(|b| b.vhost)
    }
}

/// `-device vfio-pci,host=...`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VfioDevice {
    pub id: Option<String>,
    pub driver: String,
    /// Host address normalized to `0000:3d:01.1` (from `host=` or a PCI `sysfsdev=`).
    pub host_bdf: Option<String>,
    /// `sysfsdev=` as written (mdev paths have no BDF).
    pub sysfsdev: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemoryDeviceKind {
    #[default]
    PcDimm,
    Nvdimm,
    VirtioMem,
    VirtioPmem,
}

/// A memory device plugged into the guest, with its backend resolved.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryDevice {
    pub id: Option<String>,
    pub kind: MemoryDeviceKind,
    pub driver: String,
    pub memdev: Option<String>,
    /// Guest NUMA node.
    pub node: Option<u32>,
    pub slot: Option<u32>,
    /// nvdimm `label-size` in bytes.
    pub label_size_bytes: Option<u64>,
    /// The backend object `memdev` names (a copy, for convenience).
    pub backend: Option<MemoryBackend>,
}

/// `-object iothread`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IoThread {
    pub id: String,
    /// `poll-max-ns` (adaptive polling budget; QEMU default 32768 ns).
    pub poll_max_ns: Option<u64>,
    pub thread_pool_min: Option<u64>,
    pub thread_pool_max: Option<u64>,
}

/// One `-device`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Device {
    pub driver: String,
    pub id: Option<String>,
    pub bus: Option<String>,
    /// virtio `packed` (device property or a matching `-global`).
    pub packed: Option<bool>,
    /// `numa_node` of a PCI expander bridge (`pxb`, `pxb-pcie`): the guest NUMA node the
    /// devices behind it belong to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numa_node: Option<u32>,
}

impl VmModel {
    /// The guest NUMA node a `-device` (by id) sits on, when it is behind a PCI expander
    /// bridge with a `numa_node` (libvirt `<controller model='pcie-expander-bus'><target>
    /// <node>N</node>`); `None` when the guest is not told.
    pub fn guest_numa_node_of(&self, device_id: &str) -> Option<u32> {
        let by_id = |id: &str| self.devices.iter().find(|d| d.id.as_deref() == Some(id));
        let mut dev = by_id(device_id)?;
        // Bus chains are short (root port → switch → expander); the bound stops a loop.
        for _ in 0..16 {
            if dev.numa_node.is_some() && dev.driver.starts_with("pxb") {
                return dev.numa_node;
            }
            // A bus is named after the device providing it (`pci.2`), or that device's id
            // plus a bus number (`scsi0.0`, `virtio-serial0.0`).
            let bus = dev.bus.as_deref()?;
            dev = by_id(bus).or_else(|| {
                let (id, n) = bus.rsplit_once('.')?;
                n.parse::<u32>().ok().and_then(|_| by_id(id))
            })?;
        }
        None
    }
}

/// One `-global`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GlobalDefault {
    pub driver: String,
    pub property: String,
    pub value: String,
}
