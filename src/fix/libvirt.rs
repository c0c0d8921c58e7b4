//! VM-level findings become advice, never edits of running VMs: the libvirt domain XML element
//! to set and the equivalent QEMU option (catalogue §7.2), per VM, as script comments; with
//! `--libvirt-xml DIR` also one suggested XML fragment file per domain.

use super::quote;
use crate::report::{Finding, Report, Status};

/// Where a suggested element goes in a domain definition, in libvirt's element order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    Vcpu,
    Iothreads,
    Cputune,
    Numatune,
    MemoryBacking,
    Os,
    Features,
    Cpu,
    Devices,
    QemuCommandline,
}

impl Section {
    /// `inner` inside this section's element(s).
    pub fn wrap(self, inner: &str) -> String {
        let indented: String = inner
            .lines()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n");
        let inner = indented.as_str();
        match self {
            Section::Vcpu | Section::Iothreads | Section::Cpu => {
                inner.trim_start().replace("\n  ", "\n")
            }
            Section::Cputune => format!("<cputune>\n{inner}\n</cputune>"),
            Section::Numatune => format!("<numatune>\n{inner}\n</numatune>"),
            Section::MemoryBacking => format!("<memoryBacking>\n{inner}\n</memoryBacking>"),
            Section::Os => format!("<os>\n{inner}\n</os>"),
            Section::Features => format!("<features>\n{inner}\n</features>"),
            Section::Devices => format!("<devices>\n{inner}\n</devices>"),
            Section::QemuCommandline => format!("<qemu:commandline>\n{inner}\n</qemu:commandline>"),
        }
    }
}

/// One suggestion for one finding.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub section: Section,
    /// The element(s) to set, inside `section` (constant text plus numbers; no host strings).
    pub xml: String,
    /// The QEMU command-line form.
    pub qemu: String,
    /// Extra words (direction, restart needed, ...).
    pub note: String,
}

fn s(section: Section, xml: &str, qemu: &str, note: &str) -> Option<Suggestion> {
    Some(Suggestion {
        section,
        xml: xml.to_string(),
        qemu: qemu.to_string(),
        note: note.to_string(),
    })
}

/// The suggestion for a VM finding, `None` when there is no XML/QEMU form (e.g. guest rules).
/// `guest_numa_nodes`: the VM's guest NUMA node count when it has two or more.
pub fn suggest(
    f: &Finding,
    vcpus: Option<u32>,
    guest_numa_nodes: Option<u32>,
) -> Option<Suggestion> {
    use Section::*;
    if let Some(n) = guest_numa_nodes.filter(|n| *n > 1) {
        if let Some(sg) = spanning_numa(f, n) {
            return Some(sg);
        }
    }
    let n = vcpus.filter(|n| *n > 1).unwrap_or(4);
    let restart =
        "takes effect when the VM is restarted (virsh shutdown + start; not a reboot from inside)";
    // A failure can mean "set but harmful" (remove it) or, under the latency profile,
    // "missing" (add it): the finding's typed data says which.
    let fail = f.status == Status::Fail;
    let is_set = |key: &str| overcommit_option(f, key).is_some_and(|v| v != "off");
    match f.rule.as_str() {
        "qemu.accel.kvm" => s(Os, "<!-- set on the root element: <domain type='kvm'> (as above) -->", "-accel kvm (or -enable-kvm)", restart),
        "base.qemu.version" => s(Os, "<type arch='x86_64' machine='pc-q35-9.0'>hvm</type>", "-machine pc-q35-9.0 (after upgrading QEMU to >= 6.0)", "upgrade QEMU, then restart the VM (or live-migrate it to an upgraded host)"),
        "qemu.numa.vm-placement" | "qemu.numa.memory-locality" if known_node(f).is_some() => {
            let node = known_node(f).unwrap_or(0);
            Some(Suggestion {
                section: Numatune,
                xml: format!("<memory mode='strict' nodeset='{node}'/>"),
                qemu: format!("numactl --cpunodebind={node} --membind={node} qemu-system-x86_64 ... (or host-nodes={node},policy=bind on the memory backend)"),
                note: format!("the VM's vCPUs run on host node {node}; live: virsh numatune DOMAIN --mode strict --nodeset {node} --live --config; memory already allocated moves only after a restart (or migratepages)"),
            })
        }
        "qemu.numa.vm-placement" | "qemu.numa.memory-locality" => s(
            Numatune,
            "<memory mode='strict' nodeset='NODE'/>",
            "numactl --cpunodebind=NODE --membind=NODE qemu-system-x86_64 ... (or host-nodes=NODE,policy=bind on the memory backend)",
            "replace NODE by the NUMA node of the VM's devices; also pin vCPUs to that node's CPUs (<vcpu placement='static' cpuset='...'/> or <cputune><vcpupin .../>); live: virsh numatune DOMAIN --mode strict --nodeset NODE --live --config; memory already allocated moves only after a restart (or migratepages)",
        ),
        "qemu.numa.device-locality" => s(Numatune, "<memory mode='strict' nodeset='DEVICE_NODE'/>", "numactl --cpunodebind=DEVICE_NODE --membind=DEVICE_NODE ...", "place the VM on its device's node, or give it a device on its own node"),
        "qemu.mem.hugepages" => s(MemoryBacking, "<hugepages>\n  <page size='1' unit='G'/>\n</hugepages>", "-object memory-backend-file,id=pc.ram,mem-path=/dev/hugepages1G,size=RAM,prealloc=on -machine memory-backend=pc.ram", "needs a host pool large enough on the VM's node (host.hugepages.pool); restart the VM"),
        "qemu.mem.merge" => s(MemoryBacking, "<nosharepages/>", "-machine mem-merge=off", restart),
        "qemu.overcommit.mem-lock" if fail && is_set("mem-lock") => s(MemoryBacking, "<!-- remove <locked/> -->", "-overcommit mem-lock=off", "memory is overcommitted: locking guest RAM risks OOM kills; restart the VM"),
        "qemu.overcommit.mem-lock" => s(MemoryBacking, "<locked/>", "-overcommit mem-lock=on", "also raise the memlock limit (<memtune><hard_limit>); restart the VM"),
        "qemu.overcommit.cpu-pm" if fail && is_set("cpu-pm") => s(QemuCommandline, "<!-- remove the -overcommit cpu-pm=on passthrough -->", "-overcommit cpu-pm=off", "the VM shares pCPUs: cpu-pm=on steals time from the others; restart the VM"),
        "qemu.overcommit.cpu-pm" | "host.kvm.exitless-timer" => s(QemuCommandline, "<qemu:arg value='-overcommit'/>\n<qemu:arg value='cpu-pm=on'/>", "-overcommit cpu-pm=on", "only for VMs with dedicated pCPUs; needs xmlns:qemu on <domain>; restart the VM"),
        "qemu.net.virtio-model" => s(Devices, "<interface type='...'>\n  <model type='virtio'/>\n</interface>", "-device virtio-net-pci,netdev=ID", "the guest needs the virtio_net driver; restart the VM"),
        "qemu.net.vhost" => s(Devices, "<interface type='...'>\n  <driver name='vhost'/>\n</interface>", "-netdev tap,...,vhost=on", "modprobe vhost_net on the host first; restart the VM or re-plug the NIC"),
        "qemu.net.multiqueue" => Some(Suggestion {
            section: Devices,
            xml: format!("<interface type='...'>\n  <driver name='vhost' queues='{n}'/>\n</interface>"),
            qemu: format!("-netdev tap,...,vhost=on,queues={n} -device virtio-net-pci,mq=on,vectors={},...", n.saturating_mul(2).saturating_add(2)),
            note: "one queue per vCPU; in the guest: ethtool -L IFACE combined N; restart the VM".into(),
        }),
        "qemu.net.packed" => s(Devices, "<interface type='...'>\n  <driver packed='on'/>\n</interface>", "-device virtio-net-pci,...,packed=on", "kernel vhost-net masks packed rings: keep vhost, which is the bigger win; restart the VM"),
        "qemu.net.poll-us" => s(QemuCommandline, "<!-- poll-us has no libvirt attribute: pass the netdev through <qemu:commandline> -->", "-netdev tap,...,vhost=on,poll-us=50", "tens of microseconds, on dedicated-CPU hosts only; restart the VM"),
        "qemu.blk.virtio-bus" => s(Devices, "<!-- in this disk's <target>: bus='virtio' and a vd* name (libvirt renames it) -->", "-device virtio-blk-pci,drive=ID", "the guest needs virtio_blk (Windows: install the driver first); restart the VM"),
        "qemu.blk.cache" => s(Devices, "<disk type='...' device='disk'>\n  <driver name='qemu' cache='none'/>\n</disk>", "-drive ...,cache=none (or -blockdev ...\"cache\":{\"direct\":true,\"no-flush\":false})", "needs a filesystem with O_DIRECT (not tmpfs); restart the VM"),
        "qemu.blk.aio" => s(Devices, "<disk type='...' device='disk'>\n  <driver name='qemu' cache='none' io='native'/>\n</disk>", "-drive ...,cache=none,aio=native (or aio=io_uring)", "native needs cache=none; io_uring needs QEMU >= 5.0 and Linux >= 5.1; restart the VM"),
        "qemu.blk.num-queues" => Some(Suggestion {
            section: Devices,
            xml: format!("<disk type='...' device='disk'>\n  <driver name='qemu' queues='{n}'/>\n</disk>"),
            qemu: format!("-device virtio-blk-pci,...,num-queues={n}"),
            note: "one queue per vCPU; restart the VM".into(),
        }),
        "qemu.blk.packed" => s(Devices, "<disk type='...' device='disk'>\n  <driver name='qemu' packed='on'/>\n</disk>", "-device virtio-blk-pci,...,packed=on", "restart the VM"),
        "qemu.blk.iothread" => s(Iothreads, "<iothreads>1</iothreads>\n<!-- and in the <disk>: <driver name='qemu' iothread='1'/>; pin it: <cputune><iothreadpin iothread='1' cpuset='...'/></cputune> -->", "-object iothread,id=iothread1 -device virtio-blk-pci,...,iothread=iothread1", "pin the iothread to CPUs of the VM's node that its vCPUs do not use; restart the VM"),
        "qemu.pmem.nvdimm" => s(Devices, "<memory model='nvdimm' access='shared'>\n  <source><path>/dev/daxX.Y</path><alignsize unit='KiB'>2048</alignsize></source>\n  <target><size unit='GiB'>SIZE</size><node>NODE</node><label><size unit='KiB'>128</size></label></target>\n</memory>", "-machine ...,nvdimm=on -object memory-backend-file,id=mem1,mem-path=/dev/daxX.Y,share=on,size=SIZE,align=2M -device nvdimm,memdev=mem1,label-size=128k", "needs <maxMemory slots='...'>; restart the VM"),
        "qemu.qat.passthrough" => s(Devices, "<hostdev mode='subsystem' type='pci' managed='yes'>\n  <source><address domain='0x0000' bus='0xBB' slot='0xSS' function='0xF'/></source>\n</hostdev>", "-device vfio-pci,host=DDDD:BB:SS.F", "use a VF on the VM's NUMA node; VFs hot-plug (virsh attach-device)"),
        "guest.haltpoll.driver" => s(Features, "<kvm>\n  <hint-dedicated state='on'/>\n</kvm>\n<!-- with <cpu mode='host-passthrough'/> -->", "-cpu host,kvm-hint-dedicated=on", "host side of the guest halt-polling driver; the rest is inside the guest; restart the VM"),
        _ => None,
    }
}

/// The effective value of `-overcommit KEY=` the finding's typed data states.
fn overcommit_option<'a>(f: &'a Finding, key: &str) -> Option<&'a str> {
    f.data.iter().find_map(|d| match d {
        crate::report::Datum::OvercommitOption { key: k, value } if k == key => {
            Some(value.as_str())
        }
        _ => None,
    })
}

/// The host node the finding's typed data names for the VM (its vCPUs' node).
fn known_node(f: &Finding) -> Option<u32> {
    f.data.iter().find_map(|d| match d {
        crate::report::Datum::NumaNode { node } => Some(*node),
        _ => None,
    })
}

/// A disk or NIC a device finding is about, as the fragment names it: libvirt's alias
/// (`virtio-disk0`, `net0`) from the finding's target, and the disk's target name when libvirt
/// derives it from the alias (`virtio-diskN` is `vd` + the N-th letter).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Device {
    /// `disk` or `interface`.
    element: &'static str,
    /// The id QEMU knows the device by (the finding's `drive:`/`net:` part).
    id: String,
}

/// The `<driver>` attributes a device finding asks for, with the device; `None` for other
/// rules (and for a VM without enough vCPUs to size queues).
fn device_attrs(f: &Finding, vcpus: Option<u32>) -> Option<(Device, Vec<(&'static str, String)>)> {
    let n = vcpus.filter(|n| *n > 1).unwrap_or(4).to_string();
    let (element, kind) = match f.rule.as_str() {
        r if r.starts_with("qemu.blk.") => ("disk", "/drive:"),
        r if r.starts_with("qemu.net.") => ("interface", "/net:"),
        _ => return None,
    };
    let attrs: Vec<(&'static str, String)> = match f.rule.as_str() {
        "qemu.blk.cache" => vec![("cache", "none".into())],
        "qemu.blk.aio" => vec![("cache", "none".into()), ("io", "native".into())],
        "qemu.blk.num-queues" => vec![("queues", n)],
        "qemu.blk.packed" | "qemu.net.packed" => vec![("packed", "on".into())],
        "qemu.net.vhost" => vec![("name", "vhost".into())],
        "qemu.net.virtio-model" => vec![("model", "virtio".into())],
        "qemu.net.multiqueue" => vec![("name", "vhost".into()), ("queues", n)],
        _ => return None,
    };
    let id = f.target.rsplit_once(kind)?.1.to_string();
    Some((Device { element, id }, attrs))
}

/// A device's findings: their comments, and the `<driver>` attributes they ask for.
type DeviceParts = (Vec<String>, Vec<(&'static str, String)>);

/// One `<disk>`/`<interface>` element for every finding on that device: the comments of each
/// finding, then one `<driver>` with the attributes they ask for, and what identifies it.
fn device_element(dev: &Device, comments: &[String], attrs: &[(&'static str, String)]) -> String {
    let mut out = format!(
        "<{}>
",
        dev.element
    );
    for c in comments {
        for l in c.lines() {
            out.push_str(&format!(
                "  {l}
"
            ));
        }
    }
    let mut driver = if dev.element == "disk" {
        vec![("name", "qemu".to_string())]
    } else {
        vec![]
    };
    let mut model = None;
    for (k, v) in attrs {
        if *k == "model" {
            model = Some(v.clone());
            continue;
        }
        match driver.iter_mut().find(|(dk, _)| dk == k) {
            Some(slot) => slot.1 = v.clone(),
            None => driver.push((k, v.clone())),
        }
    }
    let driver: String = driver
        .iter()
        .map(|(k, v)| format!(" {k}='{}'", quote::xml_text(v)))
        .collect();
    if let Some(m) = model {
        out.push_str(&format!("  <model type='{}'/>\n", quote::xml_text(&m)));
    }
    if !driver.is_empty() {
        out.push_str(&format!("  <driver{driver}/>\n"));
    }
    let letter = dev
        .id
        .strip_prefix("virtio-disk")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| *n < 26)
        .and_then(|n| char::from_u32(u32::from(b'a') + n));
    match (dev.element, letter) {
        ("disk", Some(c)) => out.push_str(&format!(
            "  <target dev='vd{c}' bus='virtio'/>
"
        )),
        _ => out.push_str(&format!(
            "  <alias name='{}'/>
",
            quote::xml_text(&dev.id)
        )),
    }
    out.push_str(&format!("</{}>", dev.element));
    out
}

/// NUMA advice for a VM with `n` guest NUMA nodes: bind each guest node to one host node,
/// never squeeze the guest onto a single host node (its guest topology would then lie about
/// locality, and one node may not hold it).
fn spanning_numa(f: &Finding, n: u32) -> Option<Suggestion> {
    if !matches!(
        f.rule.as_str(),
        "qemu.numa.vm-placement" | "qemu.numa.memory-locality" | "qemu.numa.device-locality"
    ) {
        return None;
    }
    let xml = (0..n.min(8))
        .map(|c| format!("<memnode cellid='{c}' mode='strict' nodeset='HOST_NODE_{c}'/>"))
        .collect::<Vec<_>>()
        .join("\n");
    Some(Suggestion {
        section: Section::Numatune,
        xml,
        qemu: "host-nodes=HOST_NODE,policy=bind on each -numa node's memdev backend, and each guest node's vCPU threads pinned to that host node's CPUs".into(),
        note: format!(
            "the guest has {n} NUMA nodes: keep them and bind each to its own host node (HOST_NODE_c = the host node of the devices guest node c uses), with <vcpupin> of each cell's vCPUs to that node's CPUs; do not confine the whole VM to one host node; memory already allocated moves only after a restart"
        ),
    })
}

/// One domain's suggested XML fragment. Host strings (the domain name, device ids, messages)
/// appear only in escaped comments.
pub fn fragment(
    key: &super::plan::VmKey,
    findings: &[Finding],
    report: &Report,
    generated_at: &str,
) -> Option<String> {
    let entry = key.entry(report);
    let vcpus = entry.and_then(|v| v.vcpus);
    let guest_nodes = entry.and_then(|v| v.guest_numa_nodes);
    let vm = key.domain(report);
    let mut parts: Vec<(Section, String)> = Vec::new();
    // Device findings merge into one element per disk/NIC (two findings on one disk must not
    // become two <disk> elements).
    let mut devices: std::collections::BTreeMap<Device, DeviceParts> = Default::default();
    for f in findings {
        let Some(sg) = suggest(f, vcpus, guest_nodes) else {
            continue;
        };
        if let Some((dev, attrs)) = device_attrs(f, vcpus) {
            let e = devices.entry(dev).or_default();
            e.0.push(format!(
                "<!-- {} {} [{}]: {} -->\n<!-- QEMU: {}; {} -->",
                quote::xml_comment(&f.rule),
                quote::xml_comment(&f.target),
                f.status.as_str(),
                quote::xml_comment(&f.message),
                quote::xml_comment(&sg.qemu),
                quote::xml_comment(&sg.note),
            ));
            e.1.extend(attrs);
            continue;
        }
        let mut body = format!(
            "<!-- {} {} [{}]: {} -->\n<!-- QEMU: {}; {} -->\n",
            quote::xml_comment(&f.rule),
            quote::xml_comment(&f.target),
            f.status.as_str(),
            quote::xml_comment(&f.message),
            quote::xml_comment(&sg.qemu),
            quote::xml_comment(&sg.note),
        );
        body.push_str(&sg.xml);
        parts.push((sg.section, body));
    }
    for (dev, (comments, attrs)) in &devices {
        parts.push((Section::Devices, device_element(dev, comments, attrs)));
    }
    if parts.is_empty() {
        return None;
    }
    parts.sort_by_key(|(s, _)| *s);
    let mut out = String::new();
    out.push_str("<?xml version='1.0' encoding='UTF-8'?>\n");
    out.push_str(&format!(
        "<!-- kvmaudit {}: suggested changes for libvirt domain {} on host {}, generated {}.\n     Not a complete definition: merge these elements into `virsh edit` of the domain, then restart it. -->\n",
        env!("CARGO_PKG_VERSION"),
        quote::xml_comment(vm),
        quote::xml_comment(report.host.hostname.as_deref().unwrap_or("unknown")),
        quote::xml_comment(generated_at),
    ));
    out.push_str("<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n");
    out.push_str(&format!("  <name>{}</name>\n", quote::xml_text(vm)));
    let mut i = 0;
    while i < parts.len() {
        let sec = parts[i].0;
        let mut inner = Vec::new();
        while i < parts.len() && parts[i].0 == sec {
            inner.push(parts[i].1.clone());
            i += 1;
        }
        for line in sec.wrap(&inner.join("\n")).lines() {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("</domain>\n");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Remediation, Severity};

    fn finding(rule: &str, target: &str, status: Status) -> Finding {
        Finding {
            rule: rule.into(),
            title: "".into(),
            section: "".into(),
            scope: "vm".into(),
            target: target.into(),
            vm_index: Some(0),
            status,
            severity: Severity::Medium,
            evidence: vec![],
            message: "msg -- with <tags> & a\nnewline".into(),
            data: Vec::new(),
            remediation: Remediation {
                summary: "".into(),
                reboot: false,
                automatable: false,
                mode: "no".into(),
                disruption: "vm".into(),
            },
            pending_reboot: false,
            blocker: false,
            waiver: None,
        }
    }

    #[test]
    fn fragment_is_well_formed_with_hostile_names() {
        let snap = crate::rules::testkit::SnapBuilder::new()
            .vm("qemu-system-x86_64 -name guest1", &[])
            .build();
        let mut r =
            crate::rules::evaluate(&snap, crate::report::Profile::Throughput, &[], "2026-01-01");
        let vm = "ev'il\"<vm> -- $(touch x)\nname";
        r.vms[0].name = vm.into();
        r.vms[0].vcpus = None;
        let fs = vec![
            finding("qemu.blk.cache", &format!("vm:{vm}/drive:d0"), Status::Warn),
            finding(
                "qemu.net.multiqueue",
                &format!("vm:{vm}/net:n0"),
                Status::Warn,
            ),
            finding("qemu.mem.hugepages", &format!("vm:{vm}"), Status::Fail),
        ];
        let key = super::super::plan::VmKey {
            label: vm.into(),
            index: Some(0),
        };
        let x = fragment(&key, &fs, &r, "2026-01-01T00:00:00Z").unwrap();
        let mut reader = quick_xml::Reader::from_str(&x);
        let mut depth = 0i32;
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(quick_xml::events::Event::Start(_)) => depth += 1,
                Ok(quick_xml::events::Event::End(_)) => depth -= 1,
                Ok(_) => {}
                Err(e) => panic!("not well-formed: {e}\n{x}"),
            }
        }
        assert_eq!(depth, 0);
        assert!(x.contains("queues='4'"), "{x}");
        assert!(x.find("<memoryBacking>").unwrap() < x.find("<devices>").unwrap());
    }

    /// A VM with several guest NUMA nodes is never told to squeeze onto one host node
    /// (issue 12 item 1): each guest node is bound to its own host node instead.
    #[test]
    fn numa_advice_keeps_a_multi_node_guest_spanning() {
        for rule in [
            "qemu.numa.vm-placement",
            "qemu.numa.memory-locality",
            "qemu.numa.device-locality",
        ] {
            let f = finding(rule, "vm:a", Status::Warn);
            let single = suggest(&f, Some(8), None).unwrap();
            assert!(
                single.qemu.contains("numactl --cpunodebind"),
                "{}",
                single.qemu
            );
            let sg = suggest(&f, Some(8), Some(2)).unwrap();
            assert!(!sg.qemu.contains("numactl"), "{}", sg.qemu);
            assert!(!sg.xml.contains("<memory "), "{}", sg.xml);
            assert_eq!(
                sg.xml,
                "<memnode cellid='0' mode='strict' nodeset='HOST_NODE_0'/>\n<memnode cellid='1' mode='strict' nodeset='HOST_NODE_1'/>"
            );
            assert!(sg.note.contains("do not confine"), "{}", sg.note);
        }
        // Other rules keep their advice.
        let f = finding("qemu.mem.merge", "vm:a", Status::Warn);
        assert_eq!(
            suggest(&f, Some(8), Some(2)).unwrap().qemu,
            "-machine mem-merge=off"
        );
    }

    #[test]
    fn queue_vectors_saturate_for_a_crafted_vcpu_count() {
        let f = finding("qemu.net.multiqueue", "vm:a/net:n0", Status::Warn);
        let q = suggest(&f, Some(u32::MAX), None).unwrap().qemu;
        assert!(q.contains(&format!("vectors={}", u32::MAX)), "{q}");
    }

    /// The direction comes from the finding's typed value, never its message: a message
    /// that reads like the opposite does not change the advice.
    #[test]
    fn latency_failures_for_missing_options_suggest_adding_them() {
        use crate::report::Datum;
        let opt = |key: &str, value: &str| Datum::OvercommitOption {
            key: key.into(),
            value: value.into(),
        };
        let mut f = finding("qemu.overcommit.mem-lock", "vm:a", Status::Fail);
        f.message = "mem-lock is on (misleading prose)".into();
        f.data = vec![opt("mem-lock", "off")];
        assert_eq!(
            suggest(&f, Some(2), None).unwrap().qemu,
            "-overcommit mem-lock=on"
        );
        for on in ["on", "on-fault"] {
            f.data = vec![opt("mem-lock", on)];
            assert_eq!(
                suggest(&f, Some(2), None).unwrap().qemu,
                "-overcommit mem-lock=off",
                "{on}"
            );
        }
        // Another key's value says nothing about this one.
        f.data = vec![opt("cpu-pm", "on")];
        assert_eq!(
            suggest(&f, Some(2), None).unwrap().qemu,
            "-overcommit mem-lock=on"
        );
        let mut f = finding("qemu.overcommit.cpu-pm", "vm:a", Status::Fail);
        f.message = "cpu-pm=on (misleading prose)".into();
        f.data = vec![opt("cpu-pm", "off")];
        assert_eq!(
            suggest(&f, Some(2), None).unwrap().qemu,
            "-overcommit cpu-pm=on"
        );
        f.data = vec![opt("cpu-pm", "on")];
        assert_eq!(
            suggest(&f, Some(2), None).unwrap().qemu,
            "-overcommit cpu-pm=off"
        );
    }

    /// The checks state the value the planner reads: a real scan's findings carry it.
    #[test]
    fn overcommit_findings_carry_their_option_value() {
        let snap = crate::rules::testkit::SnapBuilder::new()
            .topology(1, 4, 1)
            .vm(
                "qemu-system-x86_64 -name guest=a -accel kvm -smp 2 -m 1G -overcommit mem-lock=on,cpu-pm=on",
                &[("CPU 0/KVM", "0-3", "0"), ("CPU 1/KVM", "0-3", "0")],
            )
            .build();
        let r = crate::rules::evaluate(&snap, crate::report::Profile::Latency, &[], "2026-01-01");
        for (rule, key) in [
            ("qemu.overcommit.mem-lock", "mem-lock"),
            ("qemu.overcommit.cpu-pm", "cpu-pm"),
        ] {
            let f = r.results.iter().find(|f| f.rule == rule).unwrap();
            assert_eq!(
                overcommit_option(f, key),
                Some("on"),
                "{rule}: {:?}",
                f.data
            );
        }
    }
}
