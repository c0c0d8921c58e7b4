//! NICs and their backends: `-device` NIC models linked by `netdev=`, `-nic`, legacy `-net`.

use super::build::Ctx;
use super::{NetBackend, Nic, NicOrigin, VmModel};
use crate::parse::qemu::props::Props;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Emulated NIC models: every packet is a trap into QEMU's device emulation. They may appear
/// without a `netdev=`; qemu.net.virtio-model fails them on data NICs.
const EMULATED_NIC_MODELS: &[&str] = &[
    "e1000",
    "e1000e",
    "e1000-82540em",
    "e1000-82544gc",
    "e1000-82545em",
    "igb",
    "rtl8139",
    "ne2k_pci",
    "ne2k_isa",
    "pcnet",
    "vmxnet3",
    "usb-net",
    "tulip",
    "i82550",
    "i82551",
    "i82557a",
    "i82557b",
    "i82557c",
    "i82558a",
    "i82558b",
    "i82559a",
    "i82559b",
    "i82559c",
    "i82559er",
    "i82562",
    "i82801",
];

/// Other NIC models that may appear without a `netdev=`, which the rules do not count as
/// emulated (qemu.net.virtio-model reports them unrecognised).
const OTHER_NIC_MODELS: &[&str] = &["spapr-vlan", "lan9118", "smc91c111", "sungem"];

/// Whether `model` is one of QEMU's emulated NIC models, whose every packet traps into QEMU.
pub fn is_emulated_nic_model(model: &str) -> bool {
    EMULATED_NIC_MODELS.contains(&model)
}

fn is_nic_driver(driver: &str) -> bool {
    driver.starts_with("virtio-net")
        || is_emulated_nic_model(driver)
        || OTHER_NIC_MODELS.contains(&driver)
}

/// `model=virtio` is QEMU's alias for the virtio-net PCI device.
fn normalize_model(m: String) -> String {
    if m == "virtio" {
        "virtio-net-pci".to_string()
    } else {
        m
    }
}

pub(super) fn build(ctx: &mut Ctx<'_>, vm: &mut VmModel) {
    let cl = ctx.cl;
    let mut list: Vec<NetBackend> = Vec::new();
    for o in cl.all(&["netdev"]) {
        let b = backend(ctx, &o.props);
        list.push(b);
    }
    let netdevs = Netdevs::new(list);
    // Legacy hubs: `-net TYPE[,vlan=N]` backends (vlan 0 when absent).
    let mut hubs: BTreeMap<String, Vec<NetBackend>> = BTreeMap::new();
    for o in cl.all(&["net"]) {
        let t = o.props.str("type").unwrap_or_default();
        if t != "nic" && t != "none" && !o.props.contains("netdev") {
            let vlan = o.props.str("vlan").unwrap_or_else(|| "0".into());
            let b = backend(ctx, &o.props);
            hubs.entry(vlan).or_default().push(b);
        }
    }
    let mut used: HashSet<String> = HashSet::new();
    let mut used_hubs: HashSet<String> = HashSet::new();
    for o in &cl.options {
        let nic = match o.name.as_str() {
            "device" => {
                let Some(driver) = o.props.str("driver") else {
                    continue;
                };
                if !(is_nic_driver(&driver) || o.props.contains("netdev"))
                    || driver.starts_with("vfio")
                {
                    continue;
                }
                let p = ctx.globals.apply(&driver, &o.props);
                device_nic(ctx, &driver, &p, &netdevs, &mut used)
            }
            "nic" => match inline_nic(ctx, &o.props) {
                Some(n) => n,
                None => continue,
            },
            "net" if o.props.str("type").as_deref() == Some("nic") => {
                net_nic(ctx, &o.props, &netdevs, &hubs, &mut used, &mut used_hubs)
            }
            _ => continue,
        };
        vm.nics.push(nic);
    }
    vm.unattached_netdevs = netdevs
        .list
        .into_iter()
        .filter(|b| !matches!(&b.id, Some(id) if used.contains(id)))
        .collect();
    for (vlan, list) in hubs {
        if !used_hubs.contains(&vlan) {
            vm.unattached_netdevs.extend(list);
        }
    }
}

/// `-netdev` backends by id (first definition wins).
struct Netdevs {
    list: Vec<NetBackend>,
    by_id: HashMap<String, usize>,
}

impl Netdevs {
    fn new(list: Vec<NetBackend>) -> Self {
        let mut by_id = HashMap::new();
        for (i, b) in list.iter().enumerate() {
            if let Some(id) = &b.id {
                by_id.entry(id.clone()).or_insert(i);
            }
        }
        Netdevs { list, by_id }
    }

    fn get(&self, id: &str) -> Option<NetBackend> {
        self.by_id.get(id).and_then(|i| self.list.get(*i)).cloned()
    }
}

fn device_nic(
    ctx: &mut Ctx<'_>,
    driver: &str,
    p: &Props,
    netdevs: &Netdevs,
    used: &mut HashSet<String>,
) -> Nic {
    let what = format!("-device {driver}");
    let netdev_id = p.str("netdev");
    let backend = netdev_id.as_deref().and_then(|id| netdevs.get(id));
    if let Some(id) = &netdev_id {
        if backend.is_none() {
            ctx.notes
                .push(format!("{what}: netdev={id:?} names no -netdev"));
        }
        used.insert(id.clone());
    }
    Nic {
        id: p.str("id"),
        origin: NicOrigin::Device,
        model: Some(driver.to_string()),
        netdev_id,
        backend,
        mac: p.str("mac"),
        mq: ctx.take(p.bool("mq"), &what),
        vectors: ctx.take(p.u32("vectors"), &what),
        packed: ctx.take(p.bool("packed"), &what),
    }
}

/// `-nic TYPE,model=...,mac=...,<backend options>`; `-nic none` only disables the default NIC.
fn inline_nic(ctx: &mut Ctx<'_>, p: &Props) -> Option<Nic> {
    let t = p.str("type").unwrap_or_default();
    if t == "none" {
        return None;
    }
    let model = p.str("model").map(normalize_model);
    let globals_for = model.clone().unwrap_or_default();
    let dp = ctx.globals.apply(&globals_for, p);
    Some(Nic {
        id: p.str("id"),
        origin: NicOrigin::Nic,
        netdev_id: p.str("id"),
        backend: Some(backend(ctx, p)),
        mac: p.str("mac"),
        packed: ctx.take(dp.bool("packed"), "-nic"),
        model,
        ..Nic::default()
    })
}

/// `-net nic,model=...[,netdev=ID | ,vlan=N]`.
fn net_nic(
    ctx: &mut Ctx<'_>,
    p: &Props,
    netdevs: &Netdevs,
    hubs: &BTreeMap<String, Vec<NetBackend>>,
    used: &mut HashSet<String>,
    used_hubs: &mut HashSet<String>,
) -> Nic {
    let netdev_id = p.str("netdev");
    let backend = match &netdev_id {
        Some(id) => {
            used.insert(id.clone());
            let b = netdevs.get(id);
            if b.is_none() {
                ctx.notes
                    .push(format!("-net nic: netdev={id:?} names no -netdev"));
            }
            b
        }
        None => {
            let vlan = p.str("vlan").unwrap_or_else(|| "0".into());
            let list = hubs.get(&vlan);
            if list.is_some_and(|l| l.len() > 1) {
                ctx.notes.push(format!(
                    "-net nic on hub {vlan} has several backends; the first is reported"
                ));
            }
            used_hubs.insert(vlan);
            list.and_then(|l| l.first()).cloned()
        }
    };
    Nic {
        id: p.str("id").or_else(|| p.str("name")),
        origin: NicOrigin::Net,
        model: p.str("model").map(normalize_model),
        netdev_id,
        backend,
        mac: p.str("macaddr"),
        ..Nic::default()
    }
}

fn backend(ctx: &mut Ctx<'_>, p: &Props) -> NetBackend {
    let t = p.str("type").unwrap_or_default();
    let what = format!("-netdev {t}");
    let fd_count = |k: &str| {
        p.str(k)
            .map(|s| s.split(':').filter(|x| !x.is_empty()).count())
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
    };
    let queues = ctx
        .take(p.u32("queues"), &what)
        .or_else(|| fd_count("fds").max(fd_count("vhostfds")));
    let vhost = if matches!(t.as_str(), "tap" | "bridge") {
        Some(vhost_on(ctx, p, &what))
    } else {
        None
    };
    NetBackend {
        id: p.str("id"),
        vhost,
        queues,
        poll_us: ctx.take(p.u32("poll-us"), &what),
        ifname: p.str("ifname"),
        endpoint: p.str("chardev").or_else(|| p.str("vhostdev")),
        backend_type: t,
    }
}

/// Kernel vhost-net for a tap: `vhost=on`, `vhostforce=on`, or vhost fds handed over (libvirt).
/// An explicit `vhost=off` wins.
fn vhost_on(ctx: &mut Ctx<'_>, p: &Props, what: &str) -> bool {
    let explicit = ctx.take(p.bool("vhost"), what);
    let force = ctx.take(p.bool("vhostforce"), what).unwrap_or(false);
    let fds = p.contains("vhostfd") || p.contains("vhostfds");
    match explicit {
        Some(false) => {
            if fds || force {
                ctx.notes.push(format!(
                    "{what}: vhost=off together with vhostfd/vhostforce"
                ));
            }
            false
        }
        Some(true) => true,
        None => force || fds,
    }
}
