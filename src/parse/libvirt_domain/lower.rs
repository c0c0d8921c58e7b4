//! Lowering a domain to the QEMU command line libvirt generates for it (the options kvmaudit
//! models), so that [`crate::model::vm::VmModel::from_argv`] builds the VM model from either
//! form and the two can never disagree on a derivation (cache modes, backend chains, what a
//! controller lends its disks).
//!
//! What libvirt decides only when it starts the domain (the versioned machine type a `pc`
//! alias expands to, host-model CPU expansion, auto placement, the hugetlbfs mount of a page
//! size, tap and vhost fds) is lowered to the closest static form and said in a note.
//! Device ids follow libvirt's alias scheme (`virtio-disk0`, `scsi0-0-0`, `net0`, `hostdev0`)
//! so that findings name the same targets in both forms.

use super::tree::Element;
use super::units::{bytes_of, kib_of};
use serde_json::{json, Map, Value};

/// The command line being built, with the notes for what could not be lowered.
pub(super) struct Argv {
    pub args: Vec<String>,
    pub notes: Vec<String>,
}

impl Argv {
    pub fn opt(&mut self, name: &str, value: impl Into<String>) {
        self.args.push(format!("-{name}"));
        self.args.push(value.into());
    }
    pub fn json(&mut self, name: &str, v: Map<String, Value>) {
        self.opt(name, Value::Object(v).to_string());
    }
}

/// QemuOpts value: a comma inside a value is written twice.
pub(super) fn esc(s: &str) -> String {
    s.replace(',', ",,")
}

/// Lowers everything outside `<devices>`, then the devices.
pub(super) fn lower(dom: &Element) -> Argv {
    let mut a = Argv {
        args: Vec::new(),
        notes: Vec::new(),
    };
    let binary = dom
        .text_at(&["devices", "emulator"])
        .unwrap_or("/usr/bin/qemu-system-x86_64")
        .to_string();
    a.args.push(binary);
    if let Some(n) = dom.text_at(&["name"]) {
        // libvirt always asks for named threads ("CPU 0/KVM"), which the thread rules read.
        a.opt("name", format!("guest={},debug-threads=on", esc(n)));
    }
    let mem = memory_plan(dom, &mut a.notes);
    machine(dom, &mem, &mut a);
    match dom.attr("type") {
        Some("kvm") => a.opt("accel", "kvm"),
        Some("qemu") => a.opt("accel", "tcg"),
        Some(other) => a.notes.push(format!(
            "<domain type='{other}'>: not a QEMU accelerator kvmaudit models"
        )),
        None => a.notes.push("<domain> has no type (kvm or qemu)".into()),
    }
    cpu(dom, &mut a);
    mem_size(dom, &mut a);
    let locked = dom.at(&["memoryBacking", "locked"]).is_some();
    // libvirt always writes mem-lock (off when <locked/> is absent) and never cpu-pm.
    a.opt(
        "overcommit",
        if locked {
            "mem-lock=on"
        } else {
            "mem-lock=off"
        },
    );
    smp(dom, &mut a);
    ram_backends(dom, &mem, &mut a);
    iothreads(dom, &mut a);
    if let Some(u) = dom.text_at(&["uuid"]) {
        a.opt("uuid", u);
    }
    super::devices::lower(dom, &mem, &mut a);
    if dom.child("qemu:commandline").is_some() {
        a.notes.push(
            "<qemu:commandline> passes extra QEMU arguments that are not modelled from the XML"
                .into(),
        );
    }
    a
}

/// How guest RAM is backed, from `<memoryBacking>`, as libvirt chooses the backend type.
pub(super) struct MemPlan {
    /// Page size in KiB per guest NUMA cell (`None` key: every cell, or the only one); empty
    /// without `<hugepages>`.
    pub hugepages: Vec<(Option<Vec<u32>>, Option<u64>)>,
    pub huge: bool,
    pub source: Option<String>,
    pub shared: bool,
    pub prealloc: bool,
    pub numa_cells: Vec<Cell>,
    pub name: String,
}

pub(super) struct Cell {
    pub id: u32,
    pub cpus: Option<String>,
    pub bytes: Option<u64>,
    pub shared: Option<bool>,
}

fn memory_plan(dom: &Element, notes: &mut Vec<String>) -> MemPlan {
    let mb = dom.child("memoryBacking");
    let hp = mb.and_then(|m| m.child("hugepages"));
    let mut hugepages = Vec::new();
    if let Some(hp) = hp {
        for p in hp.all("page") {
            let size = kib_of(p.attr("size"), p.attr("unit").or(Some("KiB")));
            let nodes = p.attr("nodeset").map(|s| {
                crate::parse::cpulist::parse(s)
                    .unwrap_or_default()
                    .into_iter()
                    .collect()
            });
            hugepages.push((nodes, size));
        }
        if hugepages.is_empty() {
            hugepages.push((None, None));
        }
    }
    let cells = dom
        .at(&["cpu", "numa"])
        .map(|n| {
            n.all("cell")
                .enumerate()
                .map(|(i, c)| Cell {
                    id: c
                        .attr("id")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(i as u32),
                    cpus: c.attr("cpus").map(str::to_string),
                    bytes: bytes_of(c.attr("memory"), c.attr("unit").or(Some("KiB"))),
                    shared: c.attr("memAccess").map(|m| m == "shared"),
                })
                .collect()
        })
        .unwrap_or_default();
    let source = mb
        .and_then(|m| m.child("source"))
        .and_then(|s| s.attr("type"))
        .map(str::to_string);
    let shared = mb
        .and_then(|m| m.child("access"))
        .and_then(|s| s.attr("mode"))
        == Some("shared");
    let immediate = mb
        .and_then(|m| m.child("allocation"))
        .and_then(|s| s.attr("mode"))
        == Some("immediate");
    if hp.is_some() {
        notes.push(
            "huge pages: the hugetlbfs mount libvirt uses is chosen when the domain starts; /dev/hugepages is assumed"
                .into(),
        );
    }
    MemPlan {
        huge: hp.is_some(),
        hugepages,
        source,
        shared,
        prealloc: hp.is_some() || immediate,
        numa_cells: cells,
        name: dom.text_at(&["name"]).unwrap_or("domain").to_string(),
    }
}

impl MemPlan {
    /// Page size (KiB, `None` = host default) for a cell, when that cell uses huge pages.
    fn page_for(&self, cell: Option<u32>) -> Option<Option<u64>> {
        if !self.huge {
            return None;
        }
        let mut default = None;
        for (nodes, size) in &self.hugepages {
            match (nodes, cell) {
                (Some(n), Some(c)) if n.contains(&c) => return Some(*size),
                (Some(_), _) => {}
                (None, _) => default = Some(*size),
            }
        }
        // Pages listed only for other cells: this cell has ordinary pages.
        default
    }

    /// The backend properties for one piece of guest RAM (`cell` None = the whole RAM).
    pub fn backend(
        &self,
        id: &str,
        size: Option<u64>,
        cell: Option<u32>,
        cell_shared: Option<bool>,
    ) -> Map<String, Value> {
        let shared = cell_shared.unwrap_or(self.shared);
        let page = self.page_for(cell);
        let mut m = Map::new();
        match (page, self.source.as_deref()) {
            (Some(size_kib), Some("memfd")) => {
                m.insert("qom-type".into(), json!("memory-backend-memfd"));
                m.insert("id".into(), json!(id));
                m.insert("hugetlb".into(), json!(true));
                if let Some(k) = size_kib {
                    m.insert("hugetlbsize".into(), json!(k.saturating_mul(1024)));
                }
            }
            (Some(size_kib), _) => {
                m.insert("qom-type".into(), json!("memory-backend-file"));
                m.insert("id".into(), json!(id));
                let dir = match size_kib {
                    Some(1_048_576) => "/dev/hugepages1G",
                    _ => "/dev/hugepages",
                };
                m.insert(
                    "mem-path".into(),
                    json!(format!("{dir}/libvirt/qemu/{}", self.name)),
                );
            }
            (None, Some("memfd")) => {
                m.insert("qom-type".into(), json!("memory-backend-memfd"));
                m.insert("id".into(), json!(id));
            }
            (None, Some("file")) => {
                m.insert("qom-type".into(), json!("memory-backend-file"));
                m.insert("id".into(), json!(id));
                m.insert(
                    "mem-path".into(),
                    json!(format!("/var/lib/libvirt/qemu/ram/{}/{id}", self.name)),
                );
            }
            (None, _) if shared => {
                // Shared access needs a shareable backend: libvirt makes it a file under its
                // memory_backing_dir.
                m.insert("qom-type".into(), json!("memory-backend-file"));
                m.insert("id".into(), json!(id));
                m.insert(
                    "mem-path".into(),
                    json!(format!("/var/lib/libvirt/qemu/ram/{}/{id}", self.name)),
                );
            }
            (None, _) => {
                m.insert("qom-type".into(), json!("memory-backend-ram"));
                m.insert("id".into(), json!(id));
            }
        }
        if shared {
            m.insert("share".into(), json!(true));
        }
        if self.prealloc {
            m.insert("prealloc".into(), json!(true));
        }
        if let Some(s) = size {
            m.insert("size".into(), json!(s));
        }
        m
    }
}

fn machine(dom: &Element, mem: &MemPlan, a: &mut Argv) {
    let Some(t) = dom.at(&["os", "type"]) else {
        a.notes
            .push("<os><type> is missing: machine type unknown".into());
        return;
    };
    let mut m = match t.attr("machine") {
        Some(mt) => esc(mt),
        None => {
            a.notes
                .push("<os><type> names no machine: QEMU's default machine applies".into());
            String::new()
        }
    };
    if matches!(t.attr("machine"), Some("pc" | "q35")) {
        a.notes.push(format!(
            "machine '{}' is an alias: the versioned machine type is chosen when the domain starts",
            t.attr("machine").unwrap_or("")
        ));
    }
    let mut props = vec!["usb=off".to_string(), "dump-guest-core=off".to_string()];
    if dom.at(&["memoryBacking", "nosharepages"]).is_some() {
        props.push("mem-merge=off".into());
    }
    if dom
        .at(&["devices"])
        .is_some_and(|d| d.all("memory").any(|m| m.attr("model") == Some("nvdimm")))
    {
        props.push("nvdimm=on".into());
    }
    if mem.numa_cells.is_empty() {
        props.push("memory-backend=pc.ram".into());
    }
    for p in props {
        if m.is_empty() {
            m = p;
        } else {
            m.push(',');
            m.push_str(&p);
        }
    }
    if !m.is_empty() {
        a.opt("machine", m);
    }
}

fn cpu(dom: &Element, a: &mut Argv) {
    let c = dom.child("cpu");
    let x86 = dom
        .at(&["os", "type"])
        .and_then(|t| t.attr("arch"))
        .map_or(true, |arch| matches!(arch, "x86_64" | "i686"));
    let model = match c.and_then(|c| c.attr("mode")) {
        Some("host-passthrough") => Some("host".to_string()),
        Some("maximum") => Some("max".to_string()),
        Some("host-model") => {
            a.notes.push(
                "<cpu mode='host-model'>: the CPU model is expanded from the host when the domain starts"
                    .into(),
            );
            Some("host".to_string())
        }
        _ => c
            .and_then(|c| c.text_at(&["model"]))
            .map(str::to_string)
            .or_else(|| x86.then(|| "qemu64".to_string())),
    };
    let Some(mut spec) = model.map(|m| esc_cpu(&m)) else {
        return;
    };
    let mut feat = |name: &str, on: bool| {
        spec.push(',');
        spec.push_str(&esc_cpu(name));
        spec.push_str(if on { "=on" } else { "=off" });
    };
    if let Some(c) = c {
        for f in c.all("feature") {
            let Some(name) = f.attr("name") else { continue };
            let on = !matches!(f.attr("policy"), Some("disable" | "forbid"));
            feat(name, on);
        }
    }
    if let Some(fs) = dom.child("features") {
        let state = |e: &Element| e.attr("state").map(|s| s == "on");
        if let Some(on) = fs.child("pmu").and_then(state) {
            feat("pmu", on);
        }
        if let Some(on) = fs.child("pvspinlock").and_then(state) {
            feat("kvm-pv-unhalt", on);
        }
        if let Some(on) = fs
            .child("apic")
            .and_then(|e| e.attr("eoi"))
            .map(|s| s == "on")
        {
            feat("kvm-pv-eoi", on);
        }
        if let Some(k) = fs.child("kvm") {
            if k.child("hidden").and_then(state) == Some(true) {
                feat("kvm", false);
            }
            if let Some(on) = k.child("hint-dedicated").and_then(state) {
                feat("kvm-hint-dedicated", on);
            }
            if let Some(on) = k.child("poll-control").and_then(state) {
                feat("kvm-poll-control", on);
            }
        }
        if let Some(hv) = fs.child("hyperv") {
            for f in &hv.children {
                if state(f) == Some(true) {
                    feat(&format!("hv-{}", f.name), true);
                }
            }
        }
    }
    a.opt("cpu", spec);
}

/// `-cpu` is split on plain commas (no `,,` escape): a comma cannot be carried.
fn esc_cpu(s: &str) -> String {
    s.replace(',', "_")
}

fn mem_size(dom: &Element, a: &mut Argv) {
    let m = dom.child("memory");
    let kib = m.and_then(|m| kib_of(Some(m.text.as_str()), m.attr("unit").or(Some("KiB"))));
    let Some(kib) = kib else {
        a.notes.push("<memory> is missing or not a size".into());
        return;
    };
    match dom.child("maxMemory") {
        Some(mx) => {
            let max = kib_of(Some(mx.text.as_str()), mx.attr("unit").or(Some("KiB")));
            let mut s = format!("size={kib}k");
            if let Some(slots) = mx.attr("slots") {
                s.push_str(&format!(",slots={}", esc(slots)));
            }
            if let Some(max) = max {
                s.push_str(&format!(",maxmem={max}k"));
            }
            a.opt("m", s);
        }
        None => a.opt("m", format!("size={kib}k")),
    }
}

fn smp(dom: &Element, a: &mut Argv) {
    let v = dom.child("vcpu");
    let max: Option<u32> = v.and_then(|v| v.text.parse().ok());
    let Some(max) = max else {
        a.notes.push("<vcpu> is missing or not a number".into());
        return;
    };
    let current: Option<u32> = v
        .and_then(|v| v.attr("current"))
        .and_then(|c| c.parse().ok());
    let mut s = current.filter(|c| *c < max).unwrap_or(max).to_string();
    if current.is_some_and(|c| c < max) {
        s.push_str(&format!(",maxcpus={max}"));
    }
    match dom.at(&["cpu", "topology"]) {
        Some(t) => {
            for k in ["sockets", "dies", "clusters", "cores", "threads"] {
                if let Some(n) = t.attr(k).and_then(|n| n.parse::<u32>().ok()) {
                    s.push_str(&format!(",{k}={n}"));
                }
            }
        }
        None => s.push_str(&format!(",sockets={max},cores=1,threads=1")),
    }
    a.opt("smp", s);
}

fn ram_backends(dom: &Element, mem: &MemPlan, a: &mut Argv) {
    let numatune = dom.child("numatune");
    let global = numatune.and_then(|n| n.child("memory"));
    if global.and_then(|g| g.attr("placement")) == Some("auto") {
        a.notes.push(
            "<numatune placement='auto'>: numad picks the host nodes when the domain starts".into(),
        );
    }
    let bind = |m: &mut Map<String, Value>, cell: Option<u32>| {
        let memnode = cell.and_then(|c| {
            numatune?
                .all("memnode")
                .find(|n| n.attr("cellid").and_then(|v| v.parse::<u32>().ok()) == Some(c))
        });
        let (mode, nodeset) = match memnode {
            Some(n) => (n.attr("mode"), n.attr("nodeset")),
            None => match global {
                Some(g) => (g.attr("mode"), g.attr("nodeset")),
                None => return,
            },
        };
        // 'restrictive' leaves the policy to cgroups: nothing on the backend.
        let policy = match mode.unwrap_or("strict") {
            "strict" => "bind",
            "preferred" => "preferred",
            "interleave" => "interleave",
            _ => return,
        };
        let Some(nodes) = nodeset.and_then(|n| crate::parse::cpulist::parse(n).ok()) else {
            return;
        };
        m.insert(
            "host-nodes".into(),
            json!(nodes.into_iter().collect::<Vec<u32>>()),
        );
        m.insert("policy".into(), json!(policy));
    };
    if mem.numa_cells.is_empty() {
        let kib = dom
            .child("memory")
            .and_then(|m| kib_of(Some(m.text.as_str()), m.attr("unit").or(Some("KiB"))));
        let mut b = mem.backend("pc.ram", kib.map(|k| k.saturating_mul(1024)), None, None);
        bind(&mut b, None);
        a.json("object", b);
        return;
    }
    for c in &mem.numa_cells {
        let id = format!("ram-node{}", c.id);
        let mut b = mem.backend(&id, c.bytes, Some(c.id), c.shared);
        bind(&mut b, Some(c.id));
        a.json("object", b);
        let mut n = format!("node,nodeid={}", c.id);
        if let Some(cpus) = &c.cpus {
            for part in cpus.split(',').filter(|p| !p.is_empty()) {
                n.push_str(&format!(",cpus={}", esc(part)));
            }
        }
        n.push_str(&format!(",memdev={id}"));
        a.opt("numa", n);
    }
}

fn iothreads(dom: &Element, a: &mut Argv) {
    let ids: Vec<String> = match dom.child("iothreadids") {
        Some(ids) => ids
            .all("iothread")
            .filter_map(|t| t.attr("id"))
            .map(str::to_string)
            .collect(),
        None => {
            let n: u32 = dom
                .text_at(&["iothreads"])
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            (1..=n.min(4096)).map(|i| i.to_string()).collect()
        }
    };
    for id in ids {
        let mut m = Map::new();
        m.insert("qom-type".into(), json!("iothread"));
        m.insert("id".into(), json!(format!("iothread{id}")));
        a.json("object", m);
    }
}
