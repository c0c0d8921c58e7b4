//! The qemu.blk.*, qemu.net.* and qemu.overcommit.* rules over libvirt 11.3.0's 390 expected
//! argv files (fixtures/libvirt-args): every file becomes a VM (as `--qemu-argv` would make
//! it: no process, no runtime facts) on a roomy two-node host, the whole rule set runs, and the
//! per-VM verdicts must agree with the MANIFEST.tsv tags. Failures name the file and the tag.

mod common;

use common::catalogue;
use common::libvirt_args::{manifest, read};
use kvmaudit::model::host::HostModel;
use kvmaudit::model::vm::{Aio, CacheMode, DiskBus, MemLock, VmModel};
use kvmaudit::parse::qemu::parse_argv_file;
use kvmaudit::report::{Finding, Profile, Status};

use kvmaudit::rules::context::Ctx;
use kvmaudit::rules::facts::vm_args as blk;
use kvmaudit::rules::testkit::SnapBuilder;
use kvmaudit::snapshot::Snapshot;
use std::collections::BTreeMap;

/// argv of one corpus file.
fn argv(rel: &str) -> Vec<String> {
    let bytes = read(rel);
    let f = parse_argv_file(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
    f.argv.iter().map(|a| a.to_string_lossy()).collect()
}

/// A 2-socket × 8-core × 2-thread host (2 × 252 GiB) running the given argv files as VMs,
/// each as `--qemu-argv` records it: no pid, no threads, no fds.
fn host_with(files: &[&str]) -> Snapshot {
    let list: Vec<(String, Vec<String>)> = files.iter().map(|r| (r.to_string(), argv(r))).collect();
    host_with_argv(&list)
}

fn host_with_argv(vms: &[(String, Vec<String>)]) -> Snapshot {
    let mut b = SnapBuilder::new().topology(2, 8, 2);
    for (rel, a) in vms {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let source = rel.to_string();
        b = b.vm_argv(&refs, &[]).with_last_vm(move |p| {
            p.pid = None;
            p.threads = None;
            p.source = source;
        });
    }
    b.build()
}

/// The findings of one file's VM, by rule, and the targets the rules give its devices.
struct Verdicts {
    by_rule: BTreeMap<String, Vec<Finding>>,
    disks: Vec<String>,
    nics: Vec<String>,
}

impl Verdicts {
    fn of(rel: &str) -> (Verdicts, VmModel) {
        Self::of_argv(rel, argv(rel))
    }

    fn of_argv(rel: &str, a: Vec<String>) -> (Verdicts, VmModel) {
        let snap = host_with_argv(&[(rel.to_string(), a)]);
        let report = kvmaudit::rules::evaluate(&snap, Profile::Throughput, &[], "2026-01-01");
        let mut by_rule: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
        for f in report.results {
            by_rule.entry(f.rule.clone()).or_default().push(f);
        }
        let host = HostModel::build(&snap);
        let ctx = Ctx::new(&snap, &host, Profile::Throughput);
        let vm = host
            .vms
            .first()
            .unwrap_or_else(|| panic!("{rel}: no VM in the snapshot"));
        let v = Verdicts {
            by_rule,
            disks: blk::disk_targets(&ctx, vm)
                .iter()
                .map(|t| t.render(|_| vm.label.as_str()))
                .collect(),
            nics: kvmaudit::rules::units::nic_targets(vm)
                .iter()
                .map(|t| t.render(|_| vm.label.as_str()))
                .collect(),
        };
        (v, vm.model.clone())
    }

    fn rule(&self, id: &str) -> &[Finding] {
        self.by_rule.get(id).map(Vec::as_slice).unwrap_or(&[])
    }

    fn at(&self, id: &str, target: &str) -> Option<&Finding> {
        self.rule(id).iter().find(|f| f.target == target)
    }

    fn disk_target(&self, i: usize) -> String {
        self.disks.get(i).cloned().unwrap_or_default()
    }

    fn nic_target(&self, i: usize) -> String {
        self.nics.get(i).cloned().unwrap_or_default()
    }

    /// `vm:NAME`: the prefix of every target of this VM.
    fn vm(&self) -> String {
        self.rule("qemu.overcommit.mem-lock")
            .first()
            .map(|f| f.target.clone())
            .unwrap_or_default()
    }
}

fn observed(f: &Finding) -> &str {
    f.evidence
        .first()
        .map(|e| e.observed.as_str())
        .unwrap_or("")
}

/// The rules judged here, by catalogue id prefix: per disk, per NIC, per VM.
fn blk() -> Vec<&'static str> {
    catalogue::with_prefix("qemu.blk.")
}
fn net() -> Vec<&'static str> {
    catalogue::with_prefix("qemu.net.")
}
fn vm_rules() -> Vec<&'static str> {
    catalogue::with_prefix("qemu.overcommit.")
}
/// Block protocols with their own caching (qemu.blk.cache is not applicable to them).
const NETWORK_PROTOCOLS: &[&str] = &[
    "rbd", "nbd", "iscsi", "gluster", "ssh", "http", "https", "ftp", "ftps", "nfs", "curl", "vxhs",
    "sheepdog",
];

#[test]
fn verdicts_agree_with_manifest_tags() {
    let mut failures: Vec<String> = Vec::new();
    let mut seen_tags: BTreeMap<&str, usize> = BTreeMap::new();
    let m = manifest();
    assert_eq!(m.len(), 390, "MANIFEST.tsv rows");
    for (rel, tags) in &m {
        let tagged = |t: &str| tags.iter().any(|x| x == t);
        for t in tags {
            *seen_tags.entry(t.as_str()).or_default() += 1;
        }
        let (v, model) = Verdicts::of(rel);
        let mut fail = |tag: &str, what: String| failures.push(format!("{rel} [{tag}]: {what}"));

        // --- coverage: one finding per device and rule, nothing broken
        for rule in [blk(), net(), vm_rules()].concat() {
            let fs = v.rule(rule);
            if fs.is_empty() {
                fail("-", format!("{rule} gave no finding"));
            }
            let mut targets: Vec<&str> = fs.iter().map(|f| f.target.as_str()).collect();
            targets.sort_unstable();
            let n = targets.len();
            targets.dedup();
            if targets.len() != n {
                fail("-", format!("{rule} repeats a target"));
            }
            for f in fs {
                if f.message.contains("internal error") || f.message.is_empty() {
                    fail("-", format!("{rule} {}: {:?}", f.target, f.message));
                }
                if !f.target.starts_with(&v.vm()) {
                    fail("-", format!("{rule} on foreign target {}", f.target));
                }
                // argv alone never proves a negotiated ring layout.
                if f.status == Status::Pass
                    && (rule == "qemu.net.packed" || rule == "qemu.blk.packed")
                {
                    fail(
                        "-",
                        format!("{rule} passes {} without runtime proof", f.target),
                    );
                }
            }
        }
        for rule in blk() {
            for i in 0..model.disks.len() {
                let t = v.disk_target(i);
                if v.at(rule, &t).is_none() {
                    fail("-", format!("{rule}: no finding for {t}"));
                }
            }
        }
        for rule in net() {
            for i in 0..model.nics.len() {
                let t = v.nic_target(i);
                if v.at(rule, &t).is_none() {
                    fail("-", format!("{rule}: no finding for {t}"));
                }
            }
        }

        // --- cache-none/direct ⇔ some local data disk's cache mode passes; on network
        //     protocols (nfs, nbd, ...) cache.direct is not judged (their own caching)
        let cache_pass = v
            .rule("qemu.blk.cache")
            .iter()
            .any(|f| f.status == Status::Pass);
        let data = |d: &kvmaudit::model::vm::Disk| !d.cdrom && !d.read_only;
        let network = |d: &kvmaudit::model::vm::Disk| {
            d.protocol
                .as_deref()
                .is_some_and(|p| NETWORK_PROTOCOLS.contains(&p))
        };
        let local_direct = model
            .disks
            .iter()
            .any(|d| d.cache_direct == Some(true) && data(d) && !network(d));
        if tagged("cache-none/direct") && local_direct && !cache_pass {
            fail("cache-none/direct", "no disk passes qemu.blk.cache".into());
        }
        if tagged("cache-none/direct") && !local_direct {
            for (i, d) in model.disks.iter().enumerate() {
                let t = v.disk_target(i);
                if d.cache_direct == Some(true)
                    && v.at("qemu.blk.cache", &t)
                        .is_none_or(|f| f.status != Status::NotApplicable)
                {
                    fail(
                        "cache-none/direct",
                        format!(
                            "{t}: direct on a network or non-data disk should be not applicable"
                        ),
                    );
                }
            }
        }
        if !tagged("cache-none/direct") && cache_pass {
            fail(
                "cache-none/direct",
                "untagged, yet a disk passes qemu.blk.cache".into(),
            );
        }
        // cache=unsafe ⇔ blocker
        for (i, d) in model.disks.iter().enumerate() {
            let t = v.disk_target(i);
            let is_unsafe = d.cache_mode == Some(CacheMode::Unsafe) && data(d) && !network(d);
            let blocker = v.at("qemu.blk.cache", &t).is_some_and(|f| f.blocker);
            if is_unsafe != blocker {
                fail(
                    "cache",
                    format!("{t}: cache=unsafe is {is_unsafe}, blocker is {blocker}"),
                );
            }
        }

        // --- aio-native / aio-io_uring ⇒ that disk is not judged "threads"
        for tag in ["aio-native", "aio-io_uring"] {
            let engine = if tag == "aio-native" {
                Aio::Native
            } else {
                Aio::IoUring
            };
            let disks: Vec<usize> = (0..model.disks.len())
                .filter(|i| model.disks[*i].aio.as_ref() == Some(&engine))
                .collect();
            if tagged(tag) && disks.is_empty() {
                fail(tag, "no disk with that engine in the model".into());
            }
            for i in disks {
                let t = v.disk_target(i);
                match v.at("qemu.blk.aio", &t) {
                    Some(f)
                        if f.status == Status::Warn && observed(f).starts_with("aio=threads") =>
                    {
                        fail(tag, format!("{t} judged as aio=threads"))
                    }
                    Some(f) if f.status == Status::Pass => {
                        fail(tag, format!("{t} passes without runtime proof"))
                    }
                    Some(f)
                        if !observed(f).starts_with(if tag == "aio-native" {
                            "aio=native"
                        } else {
                            "aio=io_uring"
                        }) && f.status != Status::NotApplicable =>
                    {
                        fail(tag, format!("{t} observed {:?}", observed(f)))
                    }
                    None => fail(tag, format!("no qemu.blk.aio finding for {t}")),
                    _ => {}
                }
            }
        }
        if !tagged("aio-native") && !tagged("aio-io_uring") {
            for f in v.rule("qemu.blk.aio") {
                if f.status == Status::Pass || observed(f).starts_with("aio=native") {
                    fail(
                        "aio",
                        format!("untagged, yet {} is {:?}", f.target, observed(f)),
                    );
                }
            }
        }

        // --- vhost-net ⇒ vhost NICs are not failed: argv requests vhost, which QEMU refuses
        //     to start without, so with no runtime facts the rule passes on derived evidence
        let vhost_nics: Vec<String> = model
            .nics
            .iter()
            .enumerate()
            .filter(|(_, n)| n.vhost() == Some(true))
            .map(|(i, _)| v.nic_target(i))
            .collect();
        if tagged("vhost-net") && vhost_nics.is_empty() {
            fail("vhost-net", "no NIC with vhost in the model".into());
        }
        for t in &vhost_nics {
            match v.at("qemu.net.vhost", t) {
                Some(f) if f.status == Status::Fail => fail(
                    "vhost-net",
                    format!("{t} fails qemu.net.vhost: {}", f.message),
                ),
                Some(f)
                    if v.at("qemu.net.virtio-model", t)
                        .is_some_and(|m| m.status == Status::Pass)
                        && f.status != Status::Pass =>
                {
                    fail(
                        "vhost-net",
                        format!(
                            "{t}: requested vhost without runtime facts should pass (derived), is {:?}",
                            f.status
                        ),
                    )
                }
                None => fail("vhost-net", format!("no qemu.net.vhost finding for {t}")),
                _ => {}
            }
        }

        // --- vhostfds/multiq ⇒ the multi-queue NIC is not judged single-queue
        let multiq: Vec<String> = model
            .nics
            .iter()
            .enumerate()
            .filter(|(_, n)| n.vhost() == Some(true) && n.queues().unwrap_or(1) > 1)
            .map(|(i, _)| v.nic_target(i))
            .collect();
        if tagged("vhostfds/multiq") && multiq.is_empty() {
            fail(
                "vhostfds/multiq",
                "no multi-queue vhost NIC in the model".into(),
            );
        }
        for t in &multiq {
            match v.at("qemu.net.multiqueue", t) {
                Some(f) if observed(f).starts_with("1 queue pair ") => fail(
                    "vhostfds/multiq",
                    format!("{t} judged single-queue: {}", f.message),
                ),
                None => fail("vhostfds/multiq", format!("no finding for {t}")),
                _ => {}
            }
        }
        // The corpus's multi-queue VMs have one vCPU (not applicable); the same VM with 8
        // vCPUs must pass: 5 queue pairs via fds/vhostfds, mq on, 12 vectors.
        if !multiq.is_empty() && model.vcpus() == Some(1) {
            let mut a = argv(rel);
            if let Some(i) = a.iter().position(|x| x == "-smp") {
                if let Some(val) = a.get_mut(i + 1) {
                    *val = "8,sockets=1,cores=8,threads=1".into();
                }
            }
            let (v8, _) = Verdicts::of_argv(rel, a);
            for t in &multiq {
                let t8 = t.clone();
                match v8.at("qemu.net.multiqueue", &t8) {
                    Some(f) if f.status == Status::Pass => {}
                    Some(f) => fail(
                        "vhostfds/multiq",
                        format!(
                            "{t8} with 8 vCPUs: {:?} {:?} {}",
                            f.status,
                            observed(f),
                            f.message
                        ),
                    ),
                    None => fail(
                        "vhostfds/multiq",
                        format!("no finding for {t8} with 8 vCPUs"),
                    ),
                }
            }
        }

        // --- mem-lock=on/mlock=on ⇔ qemu.overcommit.mem-lock sees it on (and passes here:
        //     the test host's memory is not overcommitted)
        match v.rule("qemu.overcommit.mem-lock").first() {
            Some(f) if tagged("mem-lock=on/mlock=on") => {
                if !observed(f).starts_with("mem-lock=on") || f.status != Status::Pass {
                    fail(
                        "mem-lock=on/mlock=on",
                        format!("{:?} {:?}", f.status, observed(f)),
                    );
                }
            }
            Some(f) => {
                if !observed(f).starts_with("mem-lock=off") || f.status != Status::Warn {
                    fail(
                        "mem-lock=on/mlock=on",
                        format!("untagged, yet {:?} {:?}", f.status, observed(f)),
                    );
                }
            }
            None => fail("mem-lock=on/mlock=on", "no mem-lock finding".into()),
        }
        if model.overcommit.mem_lock == Some(MemLock::On) && !tagged("mem-lock=on/mlock=on") {
            fail(
                "mem-lock=on/mlock=on",
                "model has mem-lock on but file is untagged".into(),
            );
        }

        // --- iothread ⇒ disks bound to one are not failed; unbound virtio data disks are
        for (i, d) in model.disks.iter().enumerate() {
            let t = v.disk_target(i);
            let Some(f) = v.at("qemu.blk.iothread", &t) else {
                fail("iothread", format!("no finding for {t}"));
                continue;
            };
            let data_virtio = matches!(d.bus, DiskBus::VirtioBlk | DiskBus::VirtioScsi)
                && !d.cdrom
                && !d.read_only;
            if !d.iothreads.is_empty() && f.status == Status::Fail {
                fail(
                    "iothread",
                    format!("{t} is bound to {:?} yet fails", d.iothreads),
                );
            }
            if !d.iothreads.is_empty() && data_virtio && f.status != Status::Unknown {
                fail(
                    "iothread",
                    format!(
                        "{t}: bound, affinity not visible from argv, yet {:?}",
                        f.status
                    ),
                );
            }
            if d.iothreads.is_empty() && data_virtio && f.status != Status::Fail {
                fail("iothread", format!("{t}: no iothread, yet {:?}", f.status));
            }
        }

        // --- packed ⇒ devices that request it are not reported as "not requested"
        for (i, n) in model.nics.iter().enumerate() {
            if n.packed == Some(true) {
                let t = v.nic_target(i);
                if v.at("qemu.net.packed", &t)
                    .is_none_or(|f| f.status == Status::Info)
                {
                    fail(
                        "packed",
                        format!("{t} requests packed=on but is reported as not"),
                    );
                }
            }
        }
        for (i, d) in model.disks.iter().enumerate() {
            if d.packed == Some(true) && d.bus == DiskBus::VirtioBlk && !d.read_only && !d.cdrom {
                let t = v.disk_target(i);
                if v.at("qemu.blk.packed", &t)
                    .is_none_or(|f| f.status != Status::Unknown)
                {
                    fail(
                        "packed",
                        format!("{t} requests packed=on: expected unknown"),
                    );
                }
            }
        }

        // --- vhost-user / vhost-vdpa NICs are not applicable to kernel vhost
        for (i, n) in model.nics.iter().enumerate() {
            let ty = n.backend.as_ref().map(|b| b.backend_type.as_str());
            let tag = match ty {
                Some("vhost-user") => "vhost-user",
                Some("vhost-vdpa") => "vhost-vdpa",
                _ => continue,
            };
            let t = v.nic_target(i);
            if !tagged(tag) {
                fail(
                    tag,
                    format!("{t} has a {tag} backend but the file is untagged"),
                );
            }
            if v.at("qemu.net.vhost", &t)
                .is_none_or(|f| f.status != Status::NotApplicable)
            {
                fail(tag, format!("{t}: qemu.net.vhost should be not applicable"));
            }
        }

        // --- num-queues ⇒ the explicit value is what the rule read
        if tagged("num-queues") {
            let explicit: Vec<(usize, u32)> = model
                .disks
                .iter()
                .enumerate()
                .filter(|(_, d)| d.bus == DiskBus::VirtioBlk)
                .filter_map(|(i, d)| d.num_queues.map(|n| (i, n)))
                .collect();
            if explicit.is_empty() {
                fail("num-queues", "no virtio-blk disk with num-queues".into());
            }
            for (i, n) in explicit {
                let t = v.disk_target(i);
                if v.at("qemu.blk.num-queues", &t).is_none_or(|f| {
                    f.status != Status::NotApplicable
                        && !observed(f).starts_with(&format!("num-queues={n}"))
                }) {
                    fail("num-queues", format!("{t}: num-queues={n} not read"));
                }
            }
        }

        // --- accel-kvm: cpu-pm is judged (unknown: no thread affinity from argv) only on KVM
        match v.rule("qemu.overcommit.cpu-pm").first() {
            Some(f) if tagged("accel-kvm") => {
                if f.status != Status::Unknown {
                    fail(
                        "accel-kvm",
                        format!("cpu-pm on a KVM VM without threads is {:?}", f.status),
                    );
                }
            }
            Some(f) => {
                if f.status != Status::NotApplicable {
                    fail(
                        "accel-kvm",
                        format!("cpu-pm on a non-KVM VM is {:?}", f.status),
                    );
                }
            }
            None => fail("accel-kvm", "no cpu-pm finding".into()),
        }
    }
    // The tags this test relies on must exist in the manifest at all.
    for t in [
        "cache-none/direct",
        "aio-native",
        "aio-io_uring",
        "vhost-net",
        "vhostfds/multiq",
        "mem-lock=on/mlock=on",
        "iothread",
        "packed",
        "num-queues",
        "vhost-user",
        "vhost-vdpa",
        "accel-kvm",
    ] {
        assert!(
            seen_tags.contains_key(t),
            "tag {t} missing from MANIFEST.tsv"
        );
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// All 390 VMs on one host at once: the flags (overcommit across VMs) and every rule must cope.
#[test]
fn all_corpus_vms_on_one_host() {
    let m = manifest();
    let files: Vec<&str> = m.iter().map(|(p, _)| p.as_str()).collect();
    let snap = host_with(&files);
    let report = kvmaudit::rules::evaluate(&snap, Profile::Throughput, &[], "2026-01-01");
    assert_eq!(report.vms.len(), 390);
    let mut bad = Vec::new();
    for rule in [blk(), net(), vm_rules()].concat() {
        let n = report.results.iter().filter(|f| f.rule == rule).count();
        if n < 390 {
            bad.push(format!("{rule}: {n} findings for 390 VMs"));
        }
    }
    for f in &report.results {
        if f.message.contains("internal error") {
            bad.push(format!("{} {}: {}", f.rule, f.target, f.message));
        }
    }
    // Σ vCPUs of 390 VMs exceeds the 32 CPUs: poll-us may warn, mem-lock is judged against
    // the host's memory (which 390 small VMs do not exhaust).
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Redacting secrets (inline `-object secret` data in 15 files, passwordids) changes no verdict:
/// every file's VM gets the same findings from its redacted argv as from the raw one.
#[test]
fn redacted_argv_gives_the_same_verdicts() {
    use kvmaudit::snapshot::RawBytes;
    let m = manifest();
    let mut raw_vms = Vec::new();
    let mut redacted_vms = Vec::new();
    let mut changed = 0;
    for (rel, _) in &m {
        let a = argv(rel);
        let mut bytes: Vec<RawBytes> = a.iter().map(|s| RawBytes::from(s.as_str())).collect();
        changed += kvmaudit::parse::qemu::redact::redact_argv(&mut bytes);
        let r: Vec<String> = bytes.iter().map(|b| b.to_string_lossy()).collect();
        raw_vms.push((rel.clone(), a));
        redacted_vms.push((rel.clone(), r));
    }
    // The corpus does carry secrets: the comparison below is not vacuous.
    assert!(changed >= 15, "{changed} arguments redacted");
    let verdicts = |vms: &[(String, Vec<String>)]| -> Vec<String> {
        let snap = host_with_argv(vms);
        let report = kvmaudit::rules::evaluate(&snap, Profile::Throughput, &[], "2026-01-01");
        report
            .results
            .iter()
            .map(|f| {
                let ev: Vec<String> = f
                    .evidence
                    .iter()
                    .map(|e| format!("{} → {:?}", e.observed, e.expected))
                    .collect();
                format!("{} {} {:?} {}", f.rule, f.target, f.status, ev.join("; "))
            })
            .collect()
    };
    let (raw, red) = (verdicts(&raw_vms), verdicts(&redacted_vms));
    assert_eq!(raw.len(), red.len());
    let diff: Vec<String> = raw
        .iter()
        .zip(&red)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("{a}\n  became {b}"))
        .collect();
    assert!(diff.is_empty(), "{}", diff.join("\n"));
}
