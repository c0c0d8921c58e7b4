//! Assembling a [`VmModel`] from a parsed command line: identity, machine, accelerators, CPU,
//! SMP and overcommit here; memory, block, network and other devices in sibling modules.

use super::devices::Globals;
use super::{
    Accel, AccelEntry, CpuConfig, CpuFeature, GlobalDefault, Machine, MemLock, Overcommit,
    OvercommitOption, Smp, VmModel,
};
use crate::parse::qemu::props::{scalar_string, BadValue, Props};
use crate::parse::qemu::{parse_command_line, CommandLine};
use crate::snapshot::RawBytes;

/// Everything a section builder needs: the command line and somewhere to put notes.
pub(super) struct Ctx<'a> {
    pub cl: &'a CommandLine,
    pub globals: Globals,
    pub notes: Vec<String>,
}

impl Ctx<'_> {
    /// Unwraps a typed property read, turning a malformed value into a note.
    pub fn take<T>(&mut self, r: Result<Option<T>, BadValue>, ctx: &str) -> Option<T> {
        match r {
            Ok(v) => v,
            Err(b) => {
                self.notes.push(format!(
                    "{ctx}: {}={:?} is not {}",
                    b.key, b.value, b.expected
                ));
                None
            }
        }
    }
}

pub(super) fn build(argv: &[RawBytes]) -> VmModel {
    let cl = parse_command_line(argv);
    let mut ctx = Ctx {
        cl: &cl,
        globals: Globals::from_cl(&cl),
        notes: cl.notes.clone(),
    };
    let mut vm = VmModel {
        binary: cl.binary.clone(),
        ..VmModel::default()
    };
    if argv.is_empty() {
        ctx.notes.push("empty argv".to_string());
    }
    identity(&mut ctx, &mut vm);
    vm.machine = machine(&mut ctx);
    vm.accel = accel(&mut ctx, &vm.machine);
    vm.cpu = cpu(&cl);
    vm.smp = smp(&mut ctx);
    vm.overcommit = overcommit(&mut ctx);
    super::memory::build(&mut ctx, &mut vm);
    super::devices::build(&mut ctx, &mut vm);
    super::block::build(&mut ctx, &mut vm);
    super::net::build(&mut ctx, &mut vm);
    vm.globals = cl
        .globals
        .iter()
        .map(|g| GlobalDefault {
            driver: g.driver.clone(),
            property: g.property.clone(),
            value: g.value.clone(),
        })
        .collect();
    if cl.has("readconfig") {
        ctx.notes.push(
            "-readconfig adds options from a file that is not part of argv; they are not modelled"
                .to_string(),
        );
    }
    vm.notes = ctx.notes;
    vm
}

fn identity(ctx: &mut Ctx<'_>, vm: &mut VmModel) {
    let cl = ctx.cl;
    if let Some(o) = cl.all(&["name"]).last() {
        vm.name = o.props.str("guest");
        vm.process_name = o.props.str("process");
        vm.debug_threads = ctx.take(o.props.bool("debug-threads"), "-name");
    }
    vm.uuid = cl.all(&["uuid"]).last().and_then(|o| o.raw.clone());
    vm.libvirt = cl
        .all(&["object"])
        .any(|o| o.props.str("id").as_deref() == Some("masterKey0"));
}

fn machine(ctx: &mut Ctx<'_>) -> Machine {
    let mut m = Machine::default();
    let mut merged = Props::new();
    for o in ctx.cl.all(&["machine", "M"]) {
        for (k, v) in o.props.iter() {
            merged.push(k, v.clone());
        }
    }
    for (k, v) in merged.iter() {
        if k != "type" {
            m.props.insert(
                k.to_string(),
                scalar_string(v).unwrap_or_else(|| v.to_string()),
            );
        }
    }
    m.machine_type = merged.str("type");
    m.mem_merge = ctx.take(merged.bool("mem-merge"), "-machine");
    m.nvdimm = ctx.take(merged.bool("nvdimm"), "-machine");
    m.memory_backend = merged.str("memory-backend");
    m.accel = merged.str("accel");
    m
}

/// Accelerators in the order QEMU would try them.
fn accel(ctx: &mut Ctx<'_>, machine: &Machine) -> Accel {
    let mut list = Vec::new();
    // Repeated -machine options merge, so only the last `accel=` counts.
    let machine_accel_at = ctx
        .cl
        .all(&["machine", "M"])
        .filter(|o| o.props.contains("accel"))
        .map(|o| o.index)
        .last();
    for o in &ctx.cl.options {
        match o.name.as_str() {
            "accel" => {
                let mut props = std::collections::BTreeMap::new();
                for (k, v) in o.props.iter() {
                    if k != "accel" {
                        props.insert(k.to_string(), scalar_string(v).unwrap_or_default());
                    }
                }
                list.push(AccelEntry {
                    name: o.props.str("accel").unwrap_or_default(),
                    source: "accel".into(),
                    props,
                });
            }
            "enable-kvm" => list.push(simple_accel("kvm", "enable-kvm")),
            "no-kvm" => list.push(simple_accel("tcg", "no-kvm")),
            "machine" | "M" if Some(o.index) == machine_accel_at => {
                if let Some(a) = o.props.str("accel") {
                    for name in a.split(':').filter(|s| !s.is_empty()) {
                        list.push(simple_accel(name, "machine"));
                    }
                }
            }
            _ => {}
        }
    }
    if machine.accel.is_some() && ctx.cl.has("accel") {
        ctx.notes.push(
            "both -accel and -machine accel= are given; QEMU refuses that combination".to_string(),
        );
    }
    Accel {
        specified: !list.is_empty(),
        list,
    }
}

fn simple_accel(name: &str, source: &str) -> AccelEntry {
    AccelEntry {
        name: name.to_string(),
        source: source.to_string(),
        props: Default::default(),
    }
}

/// `-cpu` is not QemuOpts: features are split on plain commas (no `,,` escape) and may be
/// `+feat`, `-feat`, `feat=value` or a bare `feat`.
fn cpu(cl: &CommandLine) -> Option<CpuConfig> {
    let raw = cl.all(&["cpu"]).last()?.raw.as_deref()?;
    let mut parts = raw.split(',');
    let model = parts.next().unwrap_or_default().to_string();
    let features = parts
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = if let Some(n) = p.strip_prefix('+') {
                (n, "on")
            } else if let Some(n) = p.strip_prefix('-') {
                (n, "off")
            } else if let Some((n, v)) = p.split_once('=') {
                (n, v)
            } else {
                (p, "on")
            };
            CpuFeature {
                name: name.to_string(),
                value: value.to_string(),
            }
        })
        .collect();
    Some(CpuConfig { model, features })
}

fn smp(ctx: &mut Ctx<'_>) -> Smp {
    let Some(o) = ctx.cl.all(&["smp"]).last() else {
        return Smp::default();
    };
    let p = &o.props;
    let mut get = |k: &str| {
        let r = p.u32(k);
        ctx.take(r, "-smp")
    };
    Smp {
        cpus: get("cpus"),
        maxcpus: get("maxcpus"),
        drawers: get("drawers"),
        books: get("books"),
        sockets: get("sockets"),
        dies: get("dies"),
        clusters: get("clusters"),
        cores: get("cores"),
        threads: get("threads"),
    }
}

fn overcommit(ctx: &mut Ctx<'_>) -> Overcommit {
    let mut oc = Overcommit::default();
    for o in ctx.cl.all(&["overcommit", "realtime"]) {
        let (mem_lock, cpu_pm) = if o.name == "realtime" {
            // -realtime mlock defaulted to on when the key was absent (QEMU < 6.0).
            let ml = match o.props.get("mlock") {
                None => Some(MemLock::On),
                Some(v) => mem_lock_value(&scalar_string(v).unwrap_or_default()),
            };
            (ml, None)
        } else {
            let ml = o.props.str("mem-lock").map(|s| (mem_lock_value(&s), s));
            let ml = match ml {
                Some((Some(v), _)) => Some(v),
                Some((None, s)) => {
                    ctx.notes.push(format!(
                        "-overcommit: mem-lock={s:?} is not on/off/on-fault"
                    ));
                    None
                }
                None => None,
            };
            let pm = o.props.bool("cpu-pm");
            (ml, ctx.take(pm, "-overcommit"))
        };
        oc.occurrences.push(OvercommitOption {
            option: o.name.clone(),
            index: o.index,
            mem_lock,
            cpu_pm,
        });
    }
    for occ in &oc.occurrences {
        oc.mem_lock = occ.mem_lock.or(oc.mem_lock);
        oc.cpu_pm = occ.cpu_pm.or(oc.cpu_pm);
    }
    legacy_overcommit_note(ctx, &oc);
    oc
}

/// Before QEMU 9.1 each `-overcommit` reset the keys it did not name to off, so only the last
/// occurrence counted. Say so when that would change the answer.
fn legacy_overcommit_note(ctx: &mut Ctx<'_>, oc: &Overcommit) {
    let Some(last) = oc
        .occurrences
        .iter()
        .rev()
        .find(|o| o.option == "overcommit")
    else {
        return;
    };
    if last.cpu_pm.is_none() && oc.cpu_pm == Some(true) {
        ctx.notes.push(
            "cpu-pm=on is set by an earlier -overcommit only; QEMU < 9.1 resets it to off".into(),
        );
    }
    if last.mem_lock.is_none() && matches!(oc.mem_lock, Some(MemLock::On | MemLock::OnFault)) {
        ctx.notes.push(
            "mem-lock is set by an earlier -overcommit only; QEMU < 9.1 resets it to off".into(),
        );
    }
}

fn mem_lock_value(s: &str) -> Option<MemLock> {
    if s == "on-fault" {
        return Some(MemLock::OnFault);
    }
    crate::parse::qemu::props::parse_bool(s).map(|b| if b { MemLock::On } else { MemLock::Off })
}
