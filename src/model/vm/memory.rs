//! `-m`, `-mem-path`, memory backend objects and guest NUMA nodes.

use super::build::Ctx;
use super::{BackendKind, Memory, MemoryBackend, NumaNode, VmModel};
use crate::parse::qemu::props::{scalar_string, Props};
use crate::parse::qemu::size::parse_mib_default;
use serde_json::Value;

/// Upper bound on list expansion (`cpus=0-4294967295` must not allocate gigabytes). QEMU
/// itself allows at most a few thousand vCPUs and 1024 NUMA nodes.
const MAX_LIST: usize = 16384;

pub(super) fn build(ctx: &mut Ctx<'_>, vm: &mut VmModel) {
    vm.memory = memory(ctx);
    for o in ctx.cl.all(&["object"]) {
        let qom = o.props.str("qom-type").unwrap_or_default();
        if qom.starts_with("memory-backend-") {
            let b = backend(ctx, &qom, &o.props);
            vm.memory_backends.push(b);
        }
    }
    for o in ctx.cl.all(&["numa"]) {
        if o.props.str("type").as_deref() == Some("node") {
            let n = numa_node(ctx, &o.props);
            vm.numa_nodes.push(n);
        }
    }
    vm.memory.ram_backend_ids = match &vm.machine.memory_backend {
        Some(id) => vec![id.clone()],
        None => vm
            .numa_nodes
            .iter()
            .filter_map(|n| n.memdev.clone())
            .collect(),
    };
    let known = super::devices::backend_index(vm);
    for id in &vm.memory.ram_backend_ids {
        if !known.contains_key(id) {
            ctx.notes.push(format!(
                "guest RAM backend {id:?} is not defined by any -object"
            ));
        }
    }
}

fn memory(ctx: &mut Ctx<'_>) -> Memory {
    let cl = ctx.cl;
    let mut m = Memory {
        mem_path: cl.all(&["mem-path"]).last().and_then(|o| o.raw.clone()),
        mem_prealloc: cl.has("mem-prealloc"),
        ..Memory::default()
    };
    if let Some(o) = cl.all(&["m"]).last() {
        let p = &o.props;
        m.size_bytes = match p.get("size") {
            // QEMU appends "M" to a value that ends in a digit: bare numbers are MiB.
            Some(Value::String(s)) => {
                let v = parse_mib_default(s);
                if v.is_none() {
                    ctx.notes.push(format!("-m: size={s:?} is not a size"));
                }
                v
            }
            Some(other) => scalar_string(other).and_then(|s| parse_mib_default(&s)),
            None => None,
        };
        m.slots = ctx.take(p.u32("slots"), "-m");
        m.maxmem_bytes = ctx.take(p.size("maxmem", 1), "-m");
    }
    m
}

fn backend(ctx: &mut Ctx<'_>, qom: &str, p: &Props) -> MemoryBackend {
    let what = format!("-object {qom}");
    let kind = match qom {
        "memory-backend-file" => BackendKind::File,
        "memory-backend-ram" => BackendKind::Ram,
        "memory-backend-memfd" => BackendKind::Memfd,
        "memory-backend-epc" => BackendKind::Epc,
        _ => BackendKind::Other,
    };
    let host_nodes = number_list(ctx, p, "host-nodes", &what);
    MemoryBackend {
        id: p.str("id").unwrap_or_default(),
        kind,
        qom_type: qom.to_string(),
        mem_path: p.str("mem-path"),
        size_bytes: ctx.take(p.size("size", 1), &what),
        prealloc: ctx.take(p.bool("prealloc"), &what),
        host_nodes,
        policy: p.str("policy"),
        merge: ctx.take(p.bool("merge"), &what),
        share: ctx.take(p.bool("share"), &what),
        hugetlb: ctx.take(p.bool("hugetlb"), &what),
        hugetlbsize_bytes: ctx.take(p.size("hugetlbsize", 1), &what),
        align_bytes: ctx.take(p.size("align", 1), &what),
        pmem: ctx.take(p.bool("pmem"), &what),
        readonly: match ctx.take(p.bool("readonly"), &what) {
            Some(b) => Some(b),
            None => ctx.take(p.bool("rom"), &what),
        },
        dump: ctx.take(p.bool("dump"), &what),
        reserve: ctx.take(p.bool("reserve"), &what),
    }
}

fn numa_node(ctx: &mut Ctx<'_>, p: &Props) -> NumaNode {
    let mem_bytes = p.str("mem").and_then(|s| {
        let v = parse_mib_default(&s);
        if v.is_none() {
            ctx.notes
                .push(format!("-numa node: mem={s:?} is not a size"));
        }
        v
    });
    NumaNode {
        nodeid: ctx.take(p.u32("nodeid"), "-numa node"),
        cpus: number_list(ctx, p, "cpus", "-numa node"),
        memdev: p.str("memdev"),
        mem_bytes,
        initiator: ctx.take(p.u32("initiator"), "-numa node"),
    }
}

/// A list of numbers from every way QEMU accepts one: JSON arrays, repeated keys
/// (`cpus=0-1,cpus=4`), ranges `a-b`, and indexed keys (`host-nodes.0=1`).
fn number_list(ctx: &mut Ctx<'_>, p: &Props, key: &str, what: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    let indexed = p.children(key);
    for v in p.get_all(key).chain(indexed.iter().map(|(_, v)| v)) {
        push_numbers(v, &mut out, &mut bad);
    }
    if !bad.is_empty() {
        ctx.notes
            .push(format!("{what}: {key} has unreadable entries {bad:?}"));
    }
    if out.len() >= MAX_LIST {
        ctx.notes
            .push(format!("{what}: {key} truncated to {MAX_LIST} entries"));
    }
    out
}

fn push_numbers(v: &Value, out: &mut Vec<u32>, bad: &mut Vec<String>) {
    match v {
        Value::Array(items) => {
            for i in items {
                push_numbers(i, out, bad);
            }
        }
        Value::Number(n) => match n.as_u64().and_then(|x| u32::try_from(x).ok()) {
            Some(x) => push_bounded(out, x),
            None => bad.push(n.to_string()),
        },
        Value::String(s) => {
            for part in s.split([',', ':']).filter(|s| !s.is_empty()) {
                if !push_range(part, out) {
                    bad.push(part.to_string());
                }
            }
        }
        other => bad.push(other.to_string()),
    }
}

fn push_range(part: &str, out: &mut Vec<u32>) -> bool {
    let (a, b) = match part.split_once('-') {
        Some((a, b)) => (a.trim().parse::<u32>(), b.trim().parse::<u32>()),
        None => {
            let x = part.trim().parse::<u32>();
            (x.clone(), x)
        }
    };
    match (a, b) {
        (Ok(a), Ok(b)) if a <= b => {
            for x in a..=b {
                if out.len() >= MAX_LIST {
                    break;
                }
                out.push(x);
            }
            true
        }
        _ => false,
    }
}

fn push_bounded(out: &mut Vec<u32>, x: u32) {
    if out.len() < MAX_LIST {
        out.push(x);
    }
}
