//! `kvmaudit fix --generate-script`, for real: shellcheck and `bash -n` on the script of every
//! fixture host; the script applied inside a private mount namespace whose /sys, /proc/sys and
//! /etc paths are bind mounts of a copy of the fixture tree (then rescanned, applied again,
//! rolled back); hostile host values that must never run; a generator that writes nothing.

mod common;

use common::hosts;
use kvmaudit::report::{Datum, Finding, Remediation, Report, Severity, Status};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("kvmaudit")
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `unshare -m --propagation private ...`: what it runs gets a private mount namespace, so its
/// mounts vanish with it and never reach the host.
fn private_mount_ns() -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private"]);
    cmd
}

/// Root and `unshare` are needed to apply a script in a private mount namespace. Outside CI a
/// missing one skips loudly; under CI (which runs as root) it fails.
fn require_root_namespace() -> bool {
    if !common::require_tool("unshare") {
        return false;
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        if common::in_ci() {
            panic!("the namespace tests need root; CI runs as root");
        }
        eprintln!(
            "\n*** SKIPPING: applying a script in a private mount namespace needs root ***\n"
        );
    }
    root
}

// ---- reports ---------------------------------------------------------------------------------

/// The catalogue's "Auto" column for the rules the fixture trees fail or warn on (used only
/// for synthetic findings while a rule's check has not landed).
fn catalogue_mode(rule: &str) -> (&'static str, &'static str) {
    match rule {
        "host.cpufreq.governor" | "host.numa.balancing" | "host.thp" | "host.hugepages.mount" => {
            ("yes", "none")
        }
        "bios.power-policy" | "bios.turbo" | "bios.c1e" | "bios.c6" => ("yes", "none / bios"),
        "guest.blk.rq-affinity" => ("yes", "none"),
        "host.iommu.enabled" | "host.nohz-full.housekeeping" => ("guarded", "boot"),
        "host.kvm.ple" => ("guarded", "mod"),
        "host.irq.affinity"
        | "host.ksm.state"
        | "host.ksm.tuning"
        | "host.kvm.halt-poll"
        | "host.qat.sriov"
        | "host.qat.vfio-bind"
        | "qemu.numa.vm-placement" => ("guarded", "none"),
        "host.hugepages.pool" => ("guarded", "none / boot"),
        "bios.ht" => ("guarded", "bios"),
        "guest.haltpoll.driver" | "guest.cmdline.no-idle" => ("guarded", "g-boot"),
        _ => ("no", "vm"),
    }
}

pub fn synthetic(rule: &str, target: &str, status: Status) -> Finding {
    let meta = kvmaudit::rules::meta::find(rule);
    let (mode, disruption) = match meta {
        Some(m) => (
            match m.remediation.automatable {
                kvmaudit::rules::meta::Automatable::Yes => "yes",
                kvmaudit::rules::meta::Automatable::Guarded => "guarded",
                kvmaudit::rules::meta::Automatable::No => "no",
            },
            m.remediation.disruption.as_str(),
        ),
        None => catalogue_mode(rule),
    };
    Finding {
        rule: rule.into(),
        title: meta
            .map(|m| m.title.clone())
            .unwrap_or_else(|| rule.into())
            .into(),
        section: "".into(),
        scope: if target.starts_with("vm:") {
            "vm"
        } else {
            "host"
        }
        .into(),
        target: target.into(),
        // As in a report written before findings carried their VM: the plan reads the target.
        vm_index: None,
        status,
        severity: Severity::Medium,
        evidence: vec![],
        message: format!("expected verdict for {rule} (fixture EXPECTED.toml)"),
        data: Vec::new(),
        remediation: Remediation {
            summary: meta
                .map(|m| m.remediation.summary.clone())
                .unwrap_or_else(|| format!("fix {rule}"))
                .into(),
            reboot: disruption.contains("boot") || disruption.contains("bios"),
            automatable: mode != "no",
            mode: mode.into(),
            disruption: disruption.into(),
        },
        pending_reboot: false,
        blocker: false,
        waiver: None,
    }
}

/// The fail/warn verdicts of a tree's EXPECTED.toml for a profile: (rule, target, status).
fn expected_problems(tree: &Path, profile: &str) -> Vec<(String, String, Status)> {
    let text = std::fs::read_to_string(tree.join("EXPECTED.toml")).unwrap_or_default();
    let doc: toml::Table = toml::from_str(&text).expect("EXPECTED.toml parses");
    let mut merged: BTreeMap<String, String> = BTreeMap::new();
    for section in ["throughput", profile] {
        if let Some(t) = doc.get(section).and_then(|v| v.as_table()) {
            for (k, v) in t {
                if let Some(s) = v.as_str() {
                    merged.insert(k.clone(), s.to_string());
                }
            }
        }
    }
    merged
        .into_iter()
        .filter_map(|(k, v)| {
            let status = match v.as_str() {
                "fail" => Status::Fail,
                "warn" => Status::Warn,
                _ => return None,
            };
            let (rule, target) = match k.split_once('@') {
                Some((r, t)) => (r.to_string(), t.to_string()),
                None => (k.clone(), "host".to_string()),
            };
            Some((rule, target, status))
        })
        .collect()
}

/// The scan of `root` with every fail/warn verdict of the tree's EXPECTED.toml present: the
/// engine's own finding when its check gives one, else a synthetic finding carrying the
/// expected status (so the generator is exercised while rule checks are still landing).
fn report_with_expected(root: &Path, expected_from: &Path, profile: &str) -> Report {
    let out = run(Command::new(bin())
        .args(["scan", "--root"])
        .arg(root)
        .args(["--profile", profile, "--json", "-"]));
    let mut report: Report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "scan --json of {}: {e}\n{}",
            root.display(),
            text(&out.stderr)
        )
    });
    for (rule, target, status) in expected_problems(expected_from, profile) {
        let have = report.results.iter().any(|f| {
            f.rule == rule && f.target == target && matches!(f.status, Status::Fail | Status::Warn)
        });
        if !have {
            report
                .results
                .retain(|f| !(f.rule == rule && f.target == target));
            report.results.push(synthetic(&rule, &target, status));
        }
    }
    report
}

/// A hugepage pool's typed data as the check states it: node, page size, at least N pages.
fn pool(node: Option<u32>, page_kb: u64, at_least: u64) -> Datum {
    Datum::HugepagePool {
        node,
        page_kb,
        observed: 0,
        at_least,
    }
}

fn write_report(r: &Report, path: &Path) {
    std::fs::write(path, serde_json::to_vec_pretty(r).unwrap()).unwrap();
}

/// Drops the report's fail and warn findings, for a test to put in the ones it wants.
fn drop_problems(report: &mut Report) {
    report
        .results
        .retain(|f| !matches!(f.status, Status::Fail | Status::Warn));
}

// ---- trees -----------------------------------------------------------------------------------

/// Every entry of a tree (symlinks not followed): relative path → kind and content.
fn manifest(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let md = std::fs::symlink_metadata(&p).unwrap();
            if md.file_type().is_symlink() {
                out.insert(
                    rel,
                    format!("link {}", std::fs::read_link(&p).unwrap().display()),
                );
            } else if md.is_dir() {
                out.insert(rel, "dir".into());
                walk(root, &p, out);
            } else {
                let bytes = std::fs::read(&p).unwrap_or_default();
                out.insert(rel, format!("file {}", String::from_utf8_lossy(&bytes)));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn diff_manifests(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let mut d = Vec::new();
    for (k, v) in a {
        match b.get(k) {
            None => d.push(format!("- {k}")),
            Some(w) if w != v => d.push(format!("~ {k}: {v:?} -> {w:?}")),
            _ => {}
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        d.push(format!("+ {k}"));
    }
    d
}

// ---- the generator ---------------------------------------------------------------------------

fn generate(args: &[&str], extra: &[&Path], out: &Path) -> String {
    let mut cmd = Command::new(bin());
    cmd.args(["fix", "--generate-script"]).args(args);
    for e in extra {
        cmd.arg(e);
    }
    cmd.arg("-o").arg(out);
    let o = run(&mut cmd);
    assert!(
        o.status.success(),
        "fix --generate-script {args:?} failed: {}",
        text(&o.stderr)
    );
    std::fs::read_to_string(out).unwrap()
}

fn check_syntax(script: &Path) {
    let o = run(Command::new("bash").arg("-n").arg(script));
    assert!(
        o.status.success(),
        "bash -n {}: {}",
        script.display(),
        text(&o.stderr)
    );
    let o = run(Command::new("shellcheck")
        .args(["-S", "style", "-s", "bash"])
        .arg(script));
    assert!(
        o.status.success(),
        "shellcheck {}:\n{}{}",
        script.display(),
        text(&o.stdout),
        text(&o.stderr)
    );
}

/// The step invocations of a script, split into words.
fn step_lines(script: &str) -> Vec<Vec<String>> {
    const STEPS: &[&str] = &[
        "set_value ",
        "cpuidle_disable ",
        "hugepages_at_least ",
        "hugepages_persist ",
        "conf_line ",
        "kernel_args ",
        "hugetlb_mount ",
        "sysctl_comment_out ",
        "tuned_option ",
        "ksm_merge_across_nodes ",
        "pci_driver_override ",
        "vm_edit ",
    ];
    script
        .lines()
        .filter(|l| STEPS.iter().any(|s| l.starts_with(s)))
        .map(|l| shell_words::split(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn every_fixture_host_script_passes_shellcheck_and_bash_n() {
    if !common::require_tool("shellcheck") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut scripts_with_steps = 0;
    for name in hosts::TREES {
        let tree = hosts::tree(name);
        let before = manifest(&tree);
        for profile in ["throughput", "latency"] {
            // From a scan of the tree (the engine's findings, whatever checks exist now).
            let s1 = tmp.path().join(format!("{name}-{profile}-scan.sh"));
            let xml = tmp.path().join(format!("{name}-{profile}-xml"));
            generate(
                &["--profile", profile, "--libvirt-xml"],
                &[&xml, Path::new("--root"), &tree],
                &s1,
            );
            check_syntax(&s1);
            // From a report carrying every expected fail/warn verdict, facts from the tree.
            let r = tmp.path().join(format!("{name}-{profile}.json"));
            write_report(&report_with_expected(&tree, &tree, profile), &r);
            let s2 = tmp.path().join(format!("{name}-{profile}-report.sh"));
            let body = generate(&["--report"], &[&r, Path::new("--root"), &tree], &s2);
            check_syntax(&s2);
            if !step_lines(&body).is_empty() {
                scripts_with_steps += 1;
            }
            // And from the report alone (facts from its evidence only).
            let s3 = tmp.path().join(format!("{name}-{profile}-report-only.sh"));
            generate(&["--report"], &[&r], &s3);
            check_syntax(&s3);
            for f in std::fs::read_dir(&xml).into_iter().flatten().flatten() {
                let x = std::fs::read_to_string(f.path()).unwrap();
                let mut rd = quick_xml::Reader::from_str(&x);
                loop {
                    match rd.read_event() {
                        Ok(quick_xml::events::Event::Eof) => break,
                        Ok(_) => {}
                        Err(e) => panic!("{}: not well-formed: {e}", f.path().display()),
                    }
                }
            }
        }
        let after = manifest(&tree);
        assert!(
            diff_manifests(&before, &after).is_empty(),
            "fix --generate-script changed the tree {name}: {:?}",
            diff_manifests(&before, &after)
        );
    }
    assert!(
        scripts_with_steps >= 2,
        "the untuned trees should give scripts with steps"
    );
}

#[test]
fn snapshot_and_argv_sources_give_clean_scripts() {
    if !common::require_tool("shellcheck") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // A collected snapshot of a tree.
    let snap = tmp.path().join("snap.json");
    let o = run(Command::new(bin())
        .args(["collect", "--root"])
        .arg(hosts::tree("icx-untuned"))
        .arg("-o")
        .arg(&snap));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let s = tmp.path().join("snap.sh");
    generate(&["--snapshot"], &[&snap], &s);
    check_syntax(&s);
    // Every libvirt argv file of one directory of the corpus as VMs of an empty host.
    let dir = common::fixture("libvirt-args/v11.3.0");
    let mut argv: Vec<PathBuf> = walk_files(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "args"))
        .collect();
    argv.sort();
    argv.truncate(40);
    assert!(!argv.is_empty(), "no argv corpus under {}", dir.display());
    // An empty host tree: a `proc/` with nothing in it (a directory without proc/ or sys/ is
    // refused as not a host tree).
    let empty = tmp.path().join("empty-root");
    std::fs::create_dir_all(empty.join("proc")).unwrap();
    let xml = tmp.path().join("argv-xml");
    let mut args: Vec<PathBuf> = vec![xml, "--root".into(), empty.clone()];
    for a in &argv {
        args.push("--qemu-argv".into());
        args.push(a.clone());
    }
    let refs: Vec<&Path> = args.iter().map(|p| p.as_path()).collect();
    let s = tmp.path().join("argv.sh");
    generate(&["--libvirt-xml"], &refs, &s);
    check_syntax(&s);
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

// ---- hostile values --------------------------------------------------------------------------

/// The file the hostile names would create, relative to the directory the script runs in
/// (a real directory name cannot contain `/`, so neither can the command in it).
const MARK: &str = "kvmaudit-pwned";

/// A name that runs `touch kvmaudit-pwned` if it is ever evaluated by a shell, in every way a
/// shell could: `$(...)`, backticks, an unbalanced quote followed by a command, a newline.
fn hostile() -> String {
    format!("x'; touch {MARK}; '\" $(touch {MARK}) `touch {MARK}` a b\ntouch {MARK}\n#")
}

#[test]
fn hostile_host_values_never_run_a_command() {
    if !common::require_tool("shellcheck") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join(MARK);
    let evil = hostile();
    let cpu = "/sys/devices/system/cpu";
    let policy = format!("{cpu}/cpufreq/policy{evil}");
    let snap = kvmaudit::rules::testkit::SnapBuilder::new()
        .icx("")
        .file(&format!("{policy}/scaling_governor"), "schedutil")
        .file(&format!("{cpu}/cpu0/cpuidle/state{evil}/name"), "C6")
        .file(&format!("{cpu}/cpu0/cpuidle/state{evil}/disable"), "0")
        .file(&format!("/sys/block/vd{evil}/queue/rq_affinity"), "1")
        .vm_argv(
            &[
                "qemu-system-x86_64",
                "-name",
                &format!("guest={evil},debug-threads=on"),
                "-m",
                "1024",
            ],
            &[],
        )
        .build();
    let mut snap = snap;
    snap.hostname = kvmaudit::snapshot::Sourced::value("/proc/sys/kernel/hostname", evil.clone());
    let snap_path = tmp.path().join("snap.json");
    std::fs::write(&snap_path, serde_json::to_vec(&snap).unwrap()).unwrap();
    let mut report = kvmaudit::rules::evaluate(
        &snap,
        kvmaudit::report::Profile::Throughput,
        &[],
        "2026-01-01",
    );
    let vm = report.vms.first().map(|v| v.name.clone()).expect("one VM");
    assert!(
        vm.contains("touch"),
        "the VM name keeps the hostile text: {vm:?}"
    );
    drop_problems(&mut report);
    for (rule, target) in [
        ("host.cpufreq.governor", "host".to_string()),
        ("bios.c6", "host".to_string()),
        ("guest.blk.rq-affinity", "host".to_string()),
        ("qemu.blk.cache", format!("vm:{vm}/drive:{evil}")),
        ("qemu.mem.hugepages", format!("vm:{vm}")),
        ("qemu.numa.vm-placement", format!("vm:{vm}")),
    ] {
        let mut f = synthetic(rule, &target, Status::Fail);
        f.message = evil.clone();
        f.evidence.push(kvmaudit::report::Evidence {
            source: format!("/sys/{evil}"),
            observed: evil.clone(),
            expected: Some(evil.clone()),
        });
        report.results.push(f);
    }
    report.host.hostname = Some(evil.clone());
    let rpath = tmp.path().join("report.json");
    write_report(&report, &rpath);

    let xml = tmp.path().join("xml");
    let script = tmp.path().join("hostile.sh");
    let body = generate(
        &["--report"],
        &[
            &rpath,
            Path::new("--snapshot"),
            &snap_path,
            Path::new("--libvirt-xml"),
            &xml,
        ],
        &script,
    );
    check_syntax(&script);
    // The hostile policy path is there, as one quoted word, and not in the tmpfiles line.
    let quoted = kvmaudit::fix::quote::sh(&format!("{policy}/scaling_governor")).into_owned();
    assert!(body.contains(&quoted), "the policy path is a quoted word");
    assert!(
        !body.contains(&format!("w {policy}")),
        "no tmpfiles line for a hostile path"
    );
    // Comments stay comments: no line outside the runtime library starts with `touch`.
    assert!(
        !body.lines().any(|l| l.trim_start().starts_with("touch")),
        "a hostile newline escaped a comment"
    );
    // The fragments carry the name escaped, in a safe file name.
    let frags: Vec<PathBuf> = walk_files(&xml);
    assert_eq!(frags.len(), 1, "{frags:?}");
    let name = frags[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        !name.contains('/') && !name.contains('\n') && !name.starts_with('.'),
        "{name:?}"
    );

    // Dry run (as whoever runs the tests): reads only, runs nothing.
    let o = run(Command::new("bash")
        .arg(&script)
        .arg("--any-host")
        .current_dir(tmp.path())
        .env("PATH", "/usr/bin:/bin"));
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(!marker.exists(), "dry run executed a host value: {all}");
    assert!(all.contains("policyx"), "{all}");
    // --apply, inside a private mount namespace with /etc overlaid (nothing here exists, so
    // every hostile step fails as absent; none may run the marker).
    if require_root_namespace() {
        let bk = tmp.path().join("bk");
        let sh = format!(
            "mount -t tmpfs none {scratch} && mkdir {scratch}/u {scratch}/w && \
             mount -t overlay overlay -o lowerdir=/etc,upperdir={scratch}/u,workdir={scratch}/w /etc && \
             bash {script} --apply --with-guarded --any-host --backup-dir {bk}; echo rc=$?",
            scratch = shell_words::quote(&tmp.path().join("scratch").to_string_lossy()),
            script = shell_words::quote(&script.to_string_lossy()),
            bk = shell_words::quote(&bk.to_string_lossy()),
        );
        std::fs::create_dir_all(tmp.path().join("scratch")).unwrap();
        let o = run(private_mount_ns()
            .args(["bash", "-c", &sh])
            .current_dir(tmp.path())
            .env("PATH", "/usr/bin:/bin"));
        assert!(
            !marker.exists(),
            "--apply executed a host value: {}{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        assert!(
            text(&o.stdout).contains("rc=1"),
            "absent hostile paths are failures: {}",
            text(&o.stdout)
        );
        if bk.exists() {
            for rb in walk_files(&bk)
                .into_iter()
                .filter(|p| p.ends_with("rollback.sh"))
            {
                check_syntax(&rb);
            }
        }
    }
    assert!(!marker.exists());
}

// ---- applied for real, in a private mount namespace ------------------------------------------

/// Runs inside `unshare -m --propagation private`: makes every path the script may change (its
/// `# touch:` lines, plus EXTRA) resolve into the mirror tree, then runs the command.
/// A file that exists on both sides is bind-mounted over the real one; a path missing on the
/// real side gets its nearest existing /sys or /proc ancestor replaced by the mirror's
/// directory; /etc is first overlaid (upper layer in SCRATCH) so that missing directories can
/// be created there without touching the real /etc, then the mirror's file or directory is
/// bind-mounted on the exact path. /boot becomes an empty tmpfs.
const HARNESS: &str = include_str!("fix_support/harness.sh");

struct Ns {
    mirror: PathBuf,
    script: PathBuf,
    work: PathBuf,
    stub: PathBuf,
    extra: Vec<String>,
    session: usize,
}

impl Ns {
    fn new(work: &Path, mirror: PathBuf, script: PathBuf) -> Ns {
        let stub = work.join("stub");
        std::fs::create_dir_all(&stub).unwrap();
        // Programs that would reach beyond the namespace (the kernel, /boot) are stubs that
        // only log their arguments.
        for name in ["modprobe", "update-grub", "grub-mkconfig", "grub2-mkconfig"] {
            let p = stub.join(name);
            std::fs::write(
                &p,
                format!("#!/bin/bash\nprintf '%s %s\\n' {name} \"$*\" >>\"$STUB_LOG\"\n"),
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(work.join("harness.sh"), HARNESS).unwrap();
        Ns {
            mirror,
            script,
            work: work.to_path_buf(),
            stub,
            extra: vec![],
            session: 0,
        }
    }

    /// Run `bash SCRIPT ARGS... --any-host` in a fresh private mount namespace (the scripts
    /// are made from fixture hosts and run here; a rollback.sh ignores the flag).
    fn script(&mut self, script: &Path, args: &[&str]) -> (i32, String, String) {
        let mut argv = vec!["bash".to_string(), script.to_string_lossy().into_owned()];
        argv.extend(args.iter().map(|a| a.to_string()));
        argv.push("--any-host".into());
        let refs: Vec<&str> = argv.iter().map(|s| s.as_str()).collect();
        self.run(&refs)
    }

    /// Run a command in a fresh private mount namespace set up by the harness.
    fn run(&mut self, argv: &[&str]) -> (i32, String, String) {
        self.session += 1;
        let scratch = self.work.join(format!("scratch{}", self.session));
        std::fs::create_dir_all(&scratch).unwrap();
        let mut cmd = private_mount_ns();
        cmd.arg("bash")
            .arg(self.work.join("harness.sh"))
            .arg(&self.mirror)
            .arg(&self.script)
            .arg(&scratch)
            .args(&self.extra)
            .arg("--")
            .args(argv)
            .env(
                "PATH",
                format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", self.stub.display()),
            )
            .env("STUB_LOG", self.work.join("stub.log"));
        let o = run(&mut cmd);
        (
            o.status.code().unwrap_or(-1),
            text(&o.stdout),
            text(&o.stderr),
        )
    }

    fn stub_log(&self) -> String {
        std::fs::read_to_string(self.work.join("stub.log")).unwrap_or_default()
    }

    /// `bash SCRIPT --apply --with-guarded --backup-dir BK` in a fresh namespace.
    fn apply(&mut self, script: &Path, bk: &Path) -> (i32, String, String) {
        self.script(
            script,
            &[
                "--apply",
                "--with-guarded",
                "--backup-dir",
                &bk.to_string_lossy(),
            ],
        )
    }

    /// The mirror's manifest once the harness has run: it creates the mirror directories it
    /// mounts on the real paths, so that, not the copy, is what a script run starts from.
    fn baseline(&mut self) -> BTreeMap<String, String> {
        let (rc, out, err) = self.run(&["true"]);
        assert_eq!(rc, 0, "harness: {out}\n{err}");
        manifest(&self.mirror)
    }
}

/// A copy of fixture tree `name` at `work/mirror`, for scripts to change.
fn mirror_of(work: &Path, name: &str) -> PathBuf {
    let mirror = work.join("mirror");
    hosts::copy_tree(&hosts::tree(name), &mirror).unwrap();
    mirror
}

/// `report` written to `work/report.json` and its script generated, with the facts of
/// `mirror`, at `work/NAME`: the script's path and text.
fn script_for(work: &Path, report: &Report, mirror: &Path, name: &str) -> (PathBuf, String) {
    let rpath = work.join("report.json");
    write_report(report, &rpath);
    let script = work.join(name);
    let body = generate(
        &["--report"],
        &[&rpath, Path::new("--root"), mirror],
        &script,
    );
    (script, body)
}

/// Panics, with `what`, when the tree at `root` differs from the manifest `before`.
fn assert_tree_is(before: &BTreeMap<String, String>, root: &Path, what: &str) {
    assert_eq!(
        diff_manifests(before, &manifest(root)),
        Vec::<String>::new(),
        "{what}"
    );
}

/// The rollback script of the one run recorded in the backup directory `bk`.
fn only_rollback(bk: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(bk)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].join("rollback.sh")
}

/// How many steps of a run's output say "already set".
fn already_set(out: &str) -> usize {
    out.lines().filter(|l| l.starts_with("already set")).count()
}

/// Regular files cannot behave like select-one sysfs attributes: after a write of `madvise`
/// the kernel shows `always [madvise] never`. Emulate that on the mirror.
fn emulate_select(mirror: &Path, path: &str, options: &[String]) {
    let f = mirror.join(path.trim_start_matches('/'));
    let cur = std::fs::read_to_string(&f).unwrap_or_default();
    let cur = cur.trim();
    if cur.contains('[') {
        return;
    }
    let line: Vec<String> = options
        .iter()
        .map(|o| {
            if o == cur {
                format!("[{o}]")
            } else {
                o.clone()
            }
        })
        .collect();
    std::fs::write(&f, format!("{}\n", line.join(" "))).unwrap();
}

fn value_of(mirror: &Path, path: &str, bracketed: bool) -> String {
    let t = std::fs::read_to_string(mirror.join(path.trim_start_matches('/'))).unwrap_or_default();
    let t = t.lines().next().unwrap_or("").to_string();
    if bracketed {
        if let (Some(a), Some(b)) = (t.find('['), t.find(']')) {
            return t[a + 1..b].to_string();
        }
    }
    t
}

#[test]
fn applied_in_a_private_mount_namespace_then_again_then_rolled_back() {
    if !require_root_namespace() || !common::require_tool("shellcheck") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let fixture = hosts::tree("icx-untuned");
    let mirror = mirror_of(tmp.path(), "icx-untuned");
    let report = report_with_expected(&mirror, &fixture, "throughput");

    // Generating reads only: the tree is the same afterwards.
    let original = manifest(&mirror);
    let (script, body) = script_for(tmp.path(), &report, &mirror, "fix.sh");
    assert_tree_is(&original, &mirror, "generating changed the tree");
    check_syntax(&script);
    let steps = step_lines(&body);
    // The scan's IRQ finding names the requested affinity to set (IRQ 42 runs on CPU 5).
    assert!(
        steps.iter().any(|w| w[0] == "set_value"
            && w[4] == "/proc/irq/42/smp_affinity_list"
            && w[5] == "0-3,8-11"),
        "{body}"
    );
    assert!(
        steps.len() > 40,
        "expected per-policy and per-CPU steps, got {}",
        steps.len()
    );

    let bracketed: Vec<(String, Vec<String>)> = steps
        .iter()
        .filter(|w| w[0] == "set_value" && w[3] == "bracketed")
        .map(|w| {
            let orig = value_of(&mirror, &w[4], false);
            let opts = orig
                .split_whitespace()
                .map(|o| o.trim_matches(|c| c == '[' || c == ']').to_string())
                .collect();
            (w[4].clone(), opts)
        })
        .collect();
    let emulate = |m: &Path| {
        for (p, opts) in &bracketed {
            emulate_select(m, p, opts);
        }
    };

    let mut ns = Ns::new(tmp.path(), mirror.clone(), script.clone());
    let original = ns.baseline();
    // The dry run changes nothing.
    let (rc, out, err) = ns.script(&script, &[]);
    assert!(rc == 0 || rc == 1, "dry run: {rc}\n{out}\n{err}");
    assert!(out.contains("would change"), "{out}");
    assert!(out.contains("schedutil → performance"), "{out}");
    assert_tree_is(&original, &mirror, "the dry run changed the tree");

    // First --apply.
    let bk = tmp.path().join("backups");
    let (rc, out, err) = ns.apply(&script, &bk);
    emulate(&mirror);
    assert_eq!(rc, 0, "first --apply failed:\n{out}\n{err}");
    assert!(!out.contains("FAILED"), "{out}\n{err}");
    let after_first = manifest(&mirror);
    // Every runtime value now reads its target.
    for w in &steps {
        match w[0].as_str() {
            "set_value" => assert_eq!(value_of(&mirror, &w[4], w[3] == "bracketed"), w[5], "{w:?}"),
            "cpuidle_disable" => assert_eq!(
                value_of(&mirror, &format!("{}/disable", w[3]), false),
                "1",
                "{w:?}"
            ),
            "conf_line" => {
                let t = std::fs::read_to_string(mirror.join(w[3].trim_start_matches('/'))).unwrap();
                assert_eq!(t.lines().filter(|l| *l == w[5]).count(), 1, "{w:?} in\n{t}");
            }
            _ => {}
        }
    }
    let sysctl = std::fs::read_to_string(mirror.join("etc/sysctl.d/99-local.conf")).unwrap();
    assert!(
        !sysctl
            .lines()
            .any(|l| l.starts_with("kernel.numa_balancing")),
        "{sysctl}"
    );
    let (lin, def) = grub_mkconfig_view(&mirror);
    let grub = format!("{lin} {def}");
    assert!(
        grub.contains("transparent_hugepage=madvise")
            && !grub.contains("transparent_hugepage=never"),
        "{grub}"
    );
    assert!(
        ns.stub_log().contains("update-grub"),
        "GRUB regeneration: {}",
        ns.stub_log()
    );
    assert!(out.contains("Needs a reboot"), "{out}");

    // The rescan of the same files: the rules the script fixes pass now (where their checks
    // exist), and the facts hold the targets.
    let o = run(Command::new(bin())
        .args(["scan", "--root"])
        .arg(&mirror)
        .args(["--json", "-"]));
    let rescan: Report = serde_json::from_slice(&o.stdout).expect("rescan JSON");
    for rule in [
        "host.cpufreq.governor",
        "bios.c1e",
        "bios.c6",
        "host.numa.balancing",
        "host.thp",
        "bios.power-policy",
    ] {
        let f = rescan
            .results
            .iter()
            .find(|f| f.rule == rule && f.target == "host");
        match f {
            Some(f) if f.message.contains("no check is implemented") => {
                eprintln!("note: {rule} has no check yet; its facts were verified above")
            }
            Some(f) => assert_eq!(
                f.status,
                Status::Pass,
                "{rule} after --apply: {}",
                f.message
            ),
            None => {
                eprintln!("note: {rule} not in the rescan (no metadata yet); facts verified above")
            }
        }
    }

    // Second --apply: every step says "already set" and no byte changes.
    let bk2 = tmp.path().join("backups2");
    let (rc, out2, err2) = ns.apply(&script, &bk2);
    emulate(&mirror);
    assert_eq!(rc, 0, "second --apply:\n{out2}\n{err2}");
    assert_tree_is(&after_first, &mirror, "the second run changed bytes");
    assert_eq!(
        already_set(&out2),
        steps.len(),
        "every step must say already set:\n{out2}"
    );
    assert!(
        !out2.lines().any(|l| l.starts_with("changed  ")
            || l.starts_with("FAILED")
            || l.starts_with("skipped")),
        "{out2}"
    );
    assert!(!bk2.exists(), "nothing changed, so no backup directory");

    // The rollback restores the original bytes (and removes the files the script created).
    let rollback = only_rollback(&bk);
    check_syntax(&rollback);
    let (rc, out, err) = ns.script(&rollback, &[]);
    emulate(&mirror);
    assert_eq!(rc, 0, "rollback:\n{out}\n{err}");
    assert_tree_is(&original, &mirror, "rollback left differences");
}

/// A run SIGKILLed half way (at the Nth `head`, which the script runs, in a command
/// substitution, to read each current value) leaves a rollback.sh that restores every byte.
#[test]
fn a_run_killed_half_way_leaves_a_working_rollback() {
    if !require_root_namespace() || !common::require_tool("shellcheck") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let fixture = hosts::tree("icx-untuned");
    let mirror = mirror_of(tmp.path(), "icx-untuned");
    let report = report_with_expected(&mirror, &fixture, "throughput");
    let (script, _) = script_for(tmp.path(), &report, &mirror, "fix.sh");
    let mut ns = Ns::new(tmp.path(), mirror.clone(), script.clone());
    let original = ns.baseline();
    let count = tmp.path().join("head.count");
    let stub = ns.stub.join("head");
    for kill_at in [6, 12, 35, 77] {
        // Kills the script: the topmost of the `bash fix.sh` processes above it (head runs in
        // command substitutions, forks of the script with the same command line).
        std::fs::write(
            &stub,
            format!(
                "#!/bin/bash\nn=$(( $(cat {c} 2>/dev/null || echo 0) + 1 ))\necho $n >{c}\n\
                 if (( n == {kill_at} )); then p=$PPID\n\
                 while q=$(ps -o ppid= -p $p | tr -d ' ') && tr '\\0' ' ' </proc/$q/cmdline | grep -q '^bash [^ ]*fix.sh'; do \
                 p=$q; done\n\
                 kill -9 $p; fi\n\
                 exec /usr/bin/head \"$@\"\n",
                c = shell_words::quote(&count.to_string_lossy())
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
        let _ = std::fs::remove_file(&count);
        let bk = tmp.path().join(format!("bk{kill_at}"));
        let (rc, out, err) = ns.apply(&script, &bk);
        assert_eq!(rc, 137, "killed at head {kill_at}:\n{out}\n{err}");
        assert_ne!(
            diff_manifests(&original, &manifest(&mirror)),
            Vec::<String>::new(),
            "nothing had changed by head {kill_at}:\n{out}"
        );
        let rollback = only_rollback(&bk);
        check_syntax(&rollback);
        let (rc, out, err) = ns.script(&rollback, &[]);
        assert_eq!(
            rc, 0,
            "rollback after a kill at head {kill_at}:\n{out}\n{err}"
        );
        assert_tree_is(
            &original,
            &mirror,
            &format!("rollback after a kill at head {kill_at}:\n{out}"),
        );
    }
}

#[test]
fn module_reload_is_refused_while_vms_use_the_module() {
    if !require_root_namespace() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // A host whose VMs have dedicated CPUs (ple_gap=0 is never proposed on an overcommitted
    // one): no modprobe.d setting yet, and a VM holds kvm_intel.
    let fixture = hosts::tree("icx-tuned");
    let mirror = mirror_of(tmp.path(), "icx-tuned");
    assert!(!mirror.join("etc/modprobe.d/kvm.conf").exists());
    std::fs::write(mirror.join("sys/module/kvm_intel/refcnt"), "2\n").unwrap();
    let mut report = report_with_expected(&mirror, &fixture, "latency");
    report.results.retain(|f| f.rule != "host.kvm.ple");
    report
        .results
        .push(synthetic("host.kvm.ple", "host", Status::Warn));
    let (script, body) = script_for(tmp.path(), &report, &mirror, "ple.sh");
    assert!(
        body.contains("need_reload guarded host.kvm.ple kvm_intel ple_gap 0"),
        "{body}"
    );
    let mut ns = Ns::new(tmp.path(), mirror.clone(), script.clone());
    ns.extra = vec![
        "/sys/module/kvm_intel/refcnt".into(),
        "/sys/module/kvm_intel/parameters/ple_gap".into(),
    ];
    let bk = tmp.path().join("bk");
    let bk_s = bk.to_string_lossy().into_owned();
    // Without --with-guarded nothing happens.
    let (_, out, _) = ns.script(&script, &["--apply", "--backup-dir", &bk_s]);
    assert!(out.contains("skipped"), "{out}");
    assert!(!mirror.join("etc/modprobe.d/kvmaudit.conf").exists());
    // With it: the modprobe.d line is written, the reload refused (refcnt 2).
    let (_, out, _) = ns.apply(&script, &bk);
    assert!(
        out.contains("module reload refused: kvm_intel is in use (refcnt 2)"),
        "{out}"
    );
    assert!(
        !ns.stub_log().contains("modprobe"),
        "modprobe ran: {}",
        ns.stub_log()
    );
    let conf = std::fs::read_to_string(mirror.join("etc/modprobe.d/kvmaudit.conf")).unwrap();
    assert!(conf.contains("options kvm_intel ple_gap=0\n"), "{conf}");
    // --force overrides the refusal.
    let (_, out, _) = ns.script(
        &script,
        &[
            "--apply",
            "--with-guarded",
            "--force",
            "--backup-dir",
            &bk_s,
        ],
    );
    assert!(
        ns.stub_log().contains("modprobe -r kvm_intel"),
        "{out}\n{}",
        ns.stub_log()
    );
}

/// On a host the rules call CPU-overcommitted (icx-untuned: two VMs share pCPUs) a PAUSE-exit
/// finding never becomes a host-wide ple_gap=0: the per-VM cpu-pm=on advice stands instead.
#[test]
fn ple_gap_0_is_never_proposed_on_an_overcommitted_host() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = hosts::tree("icx-untuned");
    let mut report = report_with_expected(&tree, &tree, "latency");
    report.results.retain(|f| f.rule != "host.kvm.ple");
    report
        .results
        .push(synthetic("host.kvm.ple", "host", Status::Warn));
    for (name, args) in [
        ("with-facts.sh", vec![Path::new("--root"), &tree]),
        ("report-only.sh", vec![]),
    ] {
        let (_, body) = {
            let rpath = tmp.path().join("report.json");
            write_report(&report, &rpath);
            let script = tmp.path().join(name);
            let mut extra: Vec<&Path> = vec![&rpath];
            extra.extend(args.iter().copied());
            let body = generate(&["--report"], &extra, &script);
            (script, body)
        };
        let steps = step_lines(&body);
        assert!(
            !steps
                .iter()
                .any(|w| w.iter().any(|x| x.contains("ple_gap"))),
            "{name}: {steps:?}"
        );
        assert!(!body.contains("\nneed_reload "), "{name}: {body}");
        assert!(
            body.contains("host.kvm.ple host: the host's vCPUs share pCPUs")
                && body.contains("-overcommit cpu-pm=on"),
            "{name}: {body}"
        );
    }
}

/// Apply, apply again, roll back; returns the outputs of the three runs. The second run must
/// change no byte and say "already set" for every step; the rollback must restore the tree.
fn apply_twice_and_roll_back(
    ns: &mut Ns,
    script: &Path,
    work: &Path,
    expect_rc: i32,
) -> (String, String) {
    let steps = step_lines(&std::fs::read_to_string(script).unwrap());
    let original = ns.baseline();
    let bk = work.join("bk1");
    let (rc, out1, err1) = ns.apply(script, &bk);
    assert_eq!(rc, expect_rc, "first --apply:\n{out1}\n{err1}");
    let after = manifest(&ns.mirror);
    let bk2 = work.join("bk2");
    let (_, out2, err2) = ns.apply(script, &bk2);
    assert_tree_is(
        &after,
        &ns.mirror,
        &format!("second run changed bytes:\n{out2}"),
    );
    if expect_rc == 0 {
        assert_eq!(
            already_set(&out2),
            steps.len(),
            "every step must say already set:\n{out2}\n{err2}"
        );
        assert!(!bk2.exists());
    }
    let rollback = only_rollback(&bk);
    if common::require_tool("shellcheck") {
        check_syntax(&rollback);
    }
    let (rc, out3, err3) = ns.script(&rollback, &[]);
    assert_eq!(rc, 0, "rollback:\n{out3}\n{err3}");
    assert_tree_is(
        &original,
        &ns.mirror,
        &format!(
            "rollback left differences:\n{out3}\n{}",
            std::fs::read_to_string(&rollback)
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.starts_with(' ') && !l.starts_with('#'))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    );
    (out1, format!("{out2}{err2}"))
}

/// GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT as grub-mkconfig computes them from the
/// tree at `root`: /etc/default/grub, then /etc/default/grub.d/*.cfg in glob order, sourced by
/// /bin/sh (as grub-mkconfig does) and by bash; both must agree.
fn grub_mkconfig_view(root: &Path) -> (String, String) {
    let code = r#"set -e
if test -f "$1/etc/default/grub"; then . "$1/etc/default/grub"; fi
for x in "$1"/etc/default/grub.d/*.cfg; do if [ -e "${x}" ]; then . "${x}"; fi; done
printf '%s\n%s\n' "$GRUB_CMDLINE_LINUX" "$GRUB_CMDLINE_LINUX_DEFAULT""#;
    let mut views = Vec::new();
    for shell in ["sh", "bash"] {
        let o = run(Command::new(shell)
            .args(["-c", code, "grub-mkconfig"])
            .arg(root));
        assert!(o.status.success(), "{shell}: {}", text(&o.stderr));
        let t = text(&o.stdout);
        let mut l = t.lines();
        views.push((
            l.next().unwrap_or("").to_string(),
            l.next().unwrap_or("").to_string(),
        ));
    }
    assert_eq!(views[0], views[1], "sh and bash disagree");
    views.remove(0)
}

/// An Ubuntu cloud image's 50-cloudimg-settings.cfg sets GRUB_CMDLINE_LINUX_DEFAULT after
/// /etc/default/grub: the arguments go into kvmaudit's drop-in, sourced after it, into
/// GRUB_CMDLINE_LINUX (kept in recovery entries), and grub-mkconfig's view has them.
#[test]
fn kernel_arguments_land_where_grub_mkconfig_reads_them() {
    if !require_root_namespace() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mirror = mirror_of(tmp.path(), "icx-untuned");
    std::fs::write(
        mirror.join("etc/default/grub"),
        "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash nosmt\"\nGRUB_CMDLINE_LINUX=\"\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(mirror.join("etc/default/grub.d")).unwrap();
    std::fs::write(
        mirror.join("etc/default/grub.d/50-cloudimg-settings.cfg"),
        "# Cloud Image specific Grub settings for Generic Cloud Images\n\
         # CLOUD_IMG: This file was created/modified by the Cloud Image build process\n\n\
         GRUB_RECORDFAIL_TIMEOUT=0\nGRUB_TIMEOUT=0\n\
         GRUB_CMDLINE_LINUX_DEFAULT=\"console=tty1 console=ttyS0 nosmt\"\nGRUB_TERMINAL=console\n",
    )
    .unwrap();
    let mut report = report_with_expected(&mirror, &hosts::tree("icx-untuned"), "throughput");
    drop_problems(&mut report);
    report
        .results
        .push(synthetic("host.iommu.enabled", "host", Status::Fail));
    report.results.push(synthetic(
        "host.nohz-full.housekeeping",
        "host",
        Status::Fail,
    ));
    let (script, body) = script_for(tmp.path(), &report, &mirror, "grub.sh");
    assert!(
        body.contains("kernel_args guarded host.iommu.enabled"),
        "{body}"
    );
    let mut ns = Ns::new(tmp.path(), mirror.clone(), script.clone());
    let original = ns.baseline();
    let bk = tmp.path().join("bk");
    let (rc, out, err) = ns.apply(&script, &bk);
    assert_eq!(rc, 0, "{out}\n{err}");
    let (lin, def) = grub_mkconfig_view(&mirror);
    let words: Vec<&str> = lin.split_whitespace().collect();
    assert!(
        words.contains(&"intel_iommu=on") && words.contains(&"iommu=pt"),
        "GRUB_CMDLINE_LINUX={lin:?}\n{out}"
    );
    assert!(words.iter().any(|w| w.starts_with("nohz_full=")), "{lin}");
    assert_eq!(
        def, "console=tty1 console=ttyS0 nosmt",
        "the default line is left alone"
    );
    assert!(ns.stub_log().contains("update-grub"), "{}", ns.stub_log());
    // The real grub-mkconfig on those files: the arguments reach every `linux` line, the
    // recovery entry's ("single") included.
    if common::require_tool("grub-mkconfig") {
        let cfg = tmp.path().join("grub.cfg");
        let o = run(private_mount_ns()
            .arg("bash")
            .arg(common::repo().join("tests/fix_support/run_grub_mkconfig.sh"))
            .arg(&mirror)
            .arg(common::repo().join("tests/fix_support/grub-probe"))
            .arg(&cfg));
        assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
        let cfg = std::fs::read_to_string(&cfg).unwrap();
        let linux: Vec<&str> = cfg
            .lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with("linux\t") || l.starts_with("linux "))
            .collect();
        assert!(linux.len() >= 2, "{cfg}");
        assert!(linux.iter().any(|l| l.contains(" single")), "{cfg}");
        for l in &linux {
            let w: Vec<&str> = l.split_whitespace().collect();
            assert!(
                w.contains(&"intel_iommu=on") && w.contains(&"iommu=pt"),
                "{l}\n{cfg}"
            );
            assert!(w.iter().any(|a| a.starts_with("nohz_full=")), "{l}");
        }
    }
    // A second run: grub-mkconfig's view has them, so "already set", no byte changes.
    let after = manifest(&mirror);
    let (rc, out2, _) = ns.apply(&script, &tmp.path().join("bk2"));
    assert_eq!(rc, 0, "{out2}");
    assert_eq!(already_set(&out2), 2, "{out2}");
    assert_tree_is(&after, &mirror, "the second run changed bytes");
    // Both rules merge into the one drop-in; a later step removing a key drops it from both.
    let dropin =
        std::fs::read_to_string(mirror.join("etc/default/grub.d/99-kvmaudit.cfg")).unwrap();
    assert!(
        dropin.contains("# kvmaudit-set: intel_iommu=on"),
        "{dropin}"
    );
    assert!(dropin.contains("# kvmaudit-set: nohz_full="), "{dropin}");
    // The rollback removes the drop-in; the cloud image's file stays.
    let (rc, out3, err3) = ns.script(&only_rollback(&bk), &[]);
    assert_eq!(rc, 0, "{out3}\n{err3}");
    assert_tree_is(&original, &mirror, "rollback left differences");

    // bios.ht removes nosmt wherever it is (here: the cloud image's default line).
    std::fs::create_dir_all(mirror.join("sys/devices/system/cpu/smt")).unwrap();
    std::fs::write(mirror.join("sys/devices/system/cpu/smt/control"), "off\n").unwrap();
    let mut report = report_with_expected(&mirror, &hosts::tree("icx-untuned"), "throughput");
    drop_problems(&mut report);
    report
        .results
        .push(synthetic("bios.ht", "host", Status::Fail));
    let (script, body) = script_for(tmp.path(), &report, &mirror, "ht.sh");
    assert!(
        body.contains("kernel_args guarded bios.ht del:nosmt"),
        "{body}"
    );
    let mut ns = Ns::new(tmp.path(), mirror.clone(), script.clone());
    let (rc, out, err) = ns.apply(&script, &tmp.path().join("bk3"));
    assert!(rc == 0 || rc == 1, "{out}\n{err}");
    let (lin, def) = grub_mkconfig_view(&mirror);
    assert!(
        !format!("{lin} {def}")
            .split_whitespace()
            .any(|w| w == "nosmt"),
        "{lin} / {def}\n{out}"
    );
    assert_eq!(def, "console=tty1 console=ttyS0");
}

/// RHEL 8: BLS entries say `options $kernelopts`, so the arguments go into the grubenv's
/// kernelopts (grub2-editenv, a stub here that keeps the grubenv in a file) and into the
/// drop-in that grub2-mkconfig would rebuild kernelopts from.
#[test]
fn bls_kernelopts_change_through_grub2_editenv() {
    if !require_root_namespace() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mirror = mirror_of(tmp.path(), "icx-untuned");
    let mut report = report_with_expected(&mirror, &hosts::tree("icx-untuned"), "throughput");
    drop_problems(&mut report);
    report
        .results
        .push(synthetic("host.iommu.enabled", "host", Status::Fail));
    let (script, _) = script_for(tmp.path(), &report, &mirror, "bls.sh");
    let mut ns = Ns::new(tmp.path(), mirror.clone(), script.clone());
    let env = tmp.path().join("stub.log.grubenv");
    std::fs::write(
        &env,
        "# GRUB Environment Block\nsaved_entry=abc-4.18.0-553.el8_10.x86_64\n\
         kernelopts=root=/dev/mapper/rhel-root ro crashkernel=auto rhgb quiet\n",
    )
    .unwrap();
    let editenv = ns.stub.join("grub2-editenv");
    std::fs::write(
        &editenv,
        "#!/bin/bash\nenv=\"$STUB_LOG.grubenv\"\ncase $2 in\n\
         list) grep -v '^#' \"$env\" ;;\n\
         set) shift 2; for kv in \"$@\"; do grep -v \"^${kv%%=*}=\" \"$env\" >\"$env.n\" || true; \
         printf '%s\\n' \"$kv\" >>\"$env.n\"; mv \"$env.n\" \"$env\"; done ;;\nesac\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&editenv, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bk = tmp.path().join("bk");
    let setup = format!(
        "mkdir -p /boot/loader/entries && \
         printf 'title RHEL\\nlinux /vmlinuz\\noptions $kernelopts $tuned_params\\n' \
         >/boot/loader/entries/abc-4.18.0-553.el8_10.x86_64.conf && \
         bash {} --apply --with-guarded --any-host --backup-dir {}",
        shell_words::quote(&script.to_string_lossy()),
        shell_words::quote(&bk.to_string_lossy())
    );
    let (rc, out, err) = ns.run(&["bash", "-c", &setup]);
    assert_eq!(rc, 0, "{out}\n{err}");
    let grubenv = std::fs::read_to_string(&env).unwrap();
    let opts = grubenv
        .lines()
        .find_map(|l| l.strip_prefix("kernelopts="))
        .unwrap_or_default();
    assert_eq!(
        opts, "root=/dev/mapper/rhel-root ro crashkernel=auto rhgb quiet intel_iommu=on iommu=pt",
        "{grubenv}\n{out}"
    );
    assert!(grubenv.contains("saved_entry=abc"), "{grubenv}");
    // /etc/default/grub already had them (in the default line): left as it is.
    let (lin, def) = grub_mkconfig_view(&mirror);
    assert!(
        format!("{lin} {def}").contains("intel_iommu=on iommu=pt"),
        "{lin} / {def}"
    );
    let (rc, out2, _) = ns.run(&["bash", "-c", &setup.replace("/bk", "/bk2")]);
    assert_eq!(rc, 0, "{out2}");
    assert_eq!(already_set(&out2), 2, "{out2}");
}

/// The merged options of tuned profile `name` as tuned's own profile loader sees them, with
/// `etc_tuned` searched before /usr/lib/tuned: `unit.option=value` lines.
fn tuned_loader_view(etc_tuned: &Path, name: &str) -> String {
    let code = r#"import sys
import tuned.profiles as p
import tuned.profiles.variables as v
from tuned.utils.global_config import GlobalConfig
loader = p.Loader(p.Locator([sys.argv[1], "/usr/lib/tuned"]), p.Factory(), p.Merger(), GlobalConfig(), v.Variables())
prof = loader.load([sys.argv[2]])
for unit in sorted(prof.units):
    for k, val in sorted(prof.units[unit].options.items()):
        print("%s.%s=%s" % (unit, k, val))
"#;
    // Debian's tuned lives in the system Python's dist-packages.
    let o = run(Command::new("/usr/bin/python3")
        .args(["-c", code])
        .arg(etc_tuned)
        .arg(name));
    assert!(
        o.status.success(),
        "tuned's profile loader: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

/// The REAL tuned (Debian's package, its daemon without D-Bus, started and stopped by the test)
/// applies kvmaudit's child profile after a simulated reboot: the script is applied in a
/// private mount namespace over a fixture copy whose tuned runs a site profile, the runtime
/// values are put back as they were at boot, then tuned, started on that tree, writes
/// numa_balancing, THP and the C-state disables itself and puts the kernel arguments in its
/// boot command line; the rescan of what it wrote passes.
#[test]
fn real_tuned_applies_the_child_profile_after_a_reboot() {
    if !require_root_namespace() || !common::require_tool("tuned") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let fixture = hosts::tree("icx-untuned");
    let mirror = mirror_of(tmp.path(), "icx-untuned");
    // A site profile of its own as the parent: it changes nothing, so tuned writes only
    // kvmaudit's settings (all on bound fixture paths) and nothing of this machine.
    std::fs::create_dir_all(mirror.join("etc/tuned/site")).unwrap();
    std::fs::write(
        mirror.join("etc/tuned/site/tuned.conf"),
        "[main]\nsummary=site profile\n",
    )
    .unwrap();
    std::fs::write(mirror.join("etc/tuned/active_profile"), "site\n").unwrap();
    std::fs::write(mirror.join("etc/tuned/profile_mode"), "manual\n").unwrap();
    std::fs::write(
        mirror.join("etc/tuned/tuned-main.conf"),
        "daemon = 1\ndynamic_tuning = 0\nupdate_interval = 10\nrecommend_command = 0\n",
    )
    .unwrap();
    let report = report_with_expected(&mirror, &fixture, "throughput");
    let (script, body) = script_for(tmp.path(), &report, &mirror, "tuned.sh");
    for want in [
        "tuned_option yes bios.c1e cpu force_latency 'cstate.name:C1|1'",
        "tuned_option yes host.thp bootloader cmdline_kvmaudit_host_thp 'transparent_hugepage=madvise'",
    ] {
        assert!(body.contains(want), "missing `{want}`:\n{body}");
    }
    let mut ns = Ns::new(tmp.path(), mirror.clone(), script.clone());
    let adm = ns.stub.join("tuned-adm");
    std::fs::write(
        &adm,
        "#!/bin/bash\nif [[ $1 == profile ]]; then printf '%s\\n' \"$2\" >/etc/tuned/active_profile; fi\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&adm, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (rc, out, err) = ns.apply(&script, &tmp.path().join("bk"));
    assert_eq!(rc, 0, "{out}\n{err}");
    assert_eq!(
        value_of(&mirror, "/etc/tuned/active_profile", false),
        "kvmaudit"
    );
    // The reboot: every runtime value is the fixture's again; only /etc keeps the fix.
    for dir in ["sys", "proc"] {
        let _ = std::fs::remove_dir_all(mirror.join(dir));
        hosts::copy_tree(&fixture.join(dir), &mirror.join(dir)).unwrap();
    }
    let before = vm_free_host_verdicts(&mirror);
    assert_eq!(before["host.numa.balancing"], Status::Warn, "{before:?}");
    let outdir = tmp.path().join("tuned-out");
    std::fs::create_dir_all(&outdir).unwrap();
    let runner = common::repo().join("tests/fix_support/run_tuned.sh");
    let (rc, out, err) = ns.run(&["bash", runner.to_str().unwrap(), outdir.to_str().unwrap()]);
    let log = std::fs::read_to_string(outdir.join("tuned.log")).unwrap_or_default();
    assert_eq!(
        rc, 0,
        "tuned did not apply the profile:\n{out}\n{err}\n{log}"
    );
    let read = |n: &str| std::fs::read_to_string(outdir.join(n)).unwrap_or_default();
    assert_eq!(read("numa_balancing").trim(), "1", "{log}");
    assert_eq!(read("thp").trim(), "madvise", "{log}");
    // tuned's cpu plugin (governor, force_latency) finds no CPU here: it takes CPUs from
    // udev's device list, and the fixture's sysfs copy is no udev device tree ("instance cpu:
    // no matching devices available"). Those options are checked with tuned's own profile
    // loader (tuned_hosts_persist_through_a_child_profile); everything else tuned applies here.
    assert!(log.contains("instance cpu: no matching devices"), "{log}");
    // tuned's bootloader plugin joins every cmdline* option into what /etc/grub.d/00_tuned
    // adds to each boot entry.
    let boot = read("bootcmdline");
    let line = boot
        .lines()
        .find(|l| l.starts_with("TUNED_BOOT_CMDLINE="))
        .unwrap_or_default();
    for arg in ["transparent_hugepage=madvise", "intel_iommu=on", "iommu=pt"] {
        assert!(line.split(['"', ' ']).any(|w| w == arg), "{boot}\n{log}");
    }
    // What tuned wrote, as the host would show it after that boot: the rescan passes.
    std::fs::write(
        mirror.join("proc/sys/kernel/numa_balancing"),
        read("numa_balancing"),
    )
    .unwrap();
    std::fs::write(
        mirror.join("sys/kernel/mm/transparent_hugepage/enabled"),
        "always [madvise] never\n",
    )
    .unwrap();
    let cpuidle = read("cpuidle");
    assert!(
        cpuidle.contains("/sys/devices/system/cpu/cpu15/cpuidle/state2/disable 1"),
        "{cpuidle}\n{log}"
    );
    for l in cpuidle.lines() {
        let (p, v) = l.rsplit_once(' ').unwrap();
        std::fs::write(mirror.join(p.trim_start_matches('/')), format!("{v}\n")).unwrap();
    }
    let after = vm_free_host_verdicts(&mirror);
    for rule in ["host.numa.balancing", "host.thp", "bios.c1e", "bios.c6"] {
        assert_eq!(after[rule], Status::Pass, "{rule}: {after:?}\n{log}");
    }
}

/// The host-target verdicts of a scan of `root`: rule → status.
fn vm_free_host_verdicts(root: &Path) -> BTreeMap<String, Status> {
    let o = run(Command::new(bin())
        .args(["scan", "--root"])
        .arg(root)
        .args(["--json", "-"]));
    let r: Report = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("scan: {e}\n{}", text(&o.stderr)));
    r.results
        .iter()
        .filter(|f| f.target == "host")
        .map(|f| (f.rule.clone(), f.status))
        .collect()
}

/// On a host that runs tuned (active_profile "balanced"), what tuned owns goes into a child
/// profile /etc/tuned/kvmaudit/tuned.conf including "balanced", activated with tuned-adm (a
/// stub here that records the active profile as tuned-adm does); tuned's own profile loader
/// (Debian's tuned) reads the merged profile with the targets; the rollback activates
/// "balanced" again and removes the profile.
#[test]
fn tuned_hosts_persist_through_a_child_profile() {
    if !require_root_namespace() {
        return;
    }
    if !Path::new("/usr/lib/python3/dist-packages/tuned/profiles/loader.py").exists() {
        assert!(!common::in_ci(), "CI installs Debian's tuned package");
        eprintln!("\n*** SKIPPING: Debian's tuned is not installed ***\n");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let fixture = hosts::tree("icx-untuned");
    let mirror = mirror_of(tmp.path(), "icx-untuned");
    std::fs::create_dir_all(mirror.join("etc/tuned")).unwrap();
    std::fs::write(mirror.join("etc/tuned/active_profile"), "balanced\n").unwrap();
    std::fs::write(mirror.join("etc/tuned/profile_mode"), "manual\n").unwrap();
    let report = report_with_expected(&mirror, &fixture, "throughput");
    let (script, body) = script_for(tmp.path(), &report, &mirror, "tuned.sh");
    check_syntax(&script);
    for want in [
        "tuned_option yes host.cpufreq.governor cpu governor performance",
        "tuned_option yes host.numa.balancing sysctl kernel.numa_balancing 1",
        "tuned_option yes host.thp vm transparent_hugepages madvise",
    ] {
        assert!(body.contains(want), "missing `{want}`:\n{body}");
    }
    let steps = step_lines(&body);
    assert!(
        !steps.iter().any(|w| w[0] == "conf_line"
            && (w[3].starts_with("/etc/tmpfiles.d/") || w[3].starts_with("/etc/sysctl.d/"))),
        "tmpfiles.d/sysctl.d on a tuned host: {steps:?}"
    );
    // What tuned does not manage is said (transparent_hugepage=never on the command line).
    assert!(
        body.contains("tuned_option yes host.thp bootloader cmdline_kvmaudit_host_thp 'transparent_hugepage=madvise'"),
        "{body}"
    );
    // Select-one attributes (THP) read back as the kernel shows them.
    let bracketed: Vec<(String, Vec<String>)> = steps
        .iter()
        .filter(|w| w[0] == "set_value" && w[3] == "bracketed")
        .map(|w| {
            let opts = value_of(&mirror, &w[4], false)
                .split_whitespace()
                .map(|o| o.trim_matches(|c| c == '[' || c == ']').to_string())
                .collect();
            (w[4].clone(), opts)
        })
        .collect();
    let emulate = |m: &Path| {
        for (p, opts) in &bracketed {
            emulate_select(m, p, opts);
        }
    };
    let mut ns = Ns::new(tmp.path(), mirror.clone(), script.clone());
    let adm = ns.stub.join("tuned-adm");
    std::fs::write(
        &adm,
        "#!/bin/bash\nprintf 'tuned-adm %s\\n' \"$*\" >>\"$STUB_LOG\"\n\
         if [[ $1 == profile ]]; then printf '%s\\n' \"$2\" >/etc/tuned/active_profile; fi\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&adm, std::fs::Permissions::from_mode(0o755)).unwrap();
    let original = ns.baseline();
    let bk = tmp.path().join("bk");
    let (rc, out, err) = ns.apply(&script, &bk);
    emulate(&mirror);
    assert_eq!(rc, 0, "{out}\n{err}");
    assert_eq!(
        value_of(&mirror, "/etc/tuned/active_profile", false),
        "kvmaudit"
    );
    let conf = std::fs::read_to_string(mirror.join("etc/tuned/kvmaudit/tuned.conf")).unwrap();
    assert!(
        conf.contains("[main]\nsummary=kvmaudit fixes on top of balanced\ninclude=balanced\n"),
        "{conf}"
    );
    let merged = tuned_loader_view(&mirror.join("etc/tuned"), "kvmaudit");
    for want in [
        // From balanced itself: the include took effect.
        "scsi_host.alpm=medium_power",
        "cpu.governor=performance",
        "cpu.energy_perf_bias=performance",
        "sysctl.kernel.numa_balancing=1",
        "vm.transparent_hugepages=madvise",
        "bootloader.cmdline_kvmaudit_host_thp=transparent_hugepage=madvise",
        "cpu.force_latency=cstate.name:C1|1",
    ] {
        assert!(
            merged.lines().any(|l| l == want),
            "`{want}` not in tuned's merged profile:\n{merged}\n{conf}"
        );
    }
    // The parent's own choice is overridden, not merged into a conflict.
    assert!(!merged.contains("cpu.governor=conservative"), "{merged}");
    // Again: all set, no byte changes, no activation.
    let after = manifest(&mirror);
    let (rc, out2, _) = ns.apply(&script, &tmp.path().join("bk2"));
    emulate(&mirror);
    assert_eq!(rc, 0, "{out2}");
    assert_eq!(already_set(&out2), steps.len(), "{out2}");
    assert_tree_is(&after, &mirror, "the second run changed bytes");
    // The rollback activates "balanced" again and removes kvmaudit's profile.
    let (rc, out3, err3) = ns.script(&only_rollback(&bk), &[]);
    emulate(&mirror);
    assert_eq!(rc, 0, "{out3}\n{err3}");
    assert!(
        ns.stub_log().contains("tuned-adm profile balanced"),
        "{}",
        ns.stub_log()
    );
    assert_tree_is(&original, &mirror, "rollback left differences");
}

#[test]
fn guest_settings_through_etc_kernel_cmdline() {
    if !require_root_namespace() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mirror = mirror_of(tmp.path(), "kvm-guest");
    for d in ["vda", "vdb"] {
        std::fs::write(
            mirror.join(format!("sys/devices/virtual/block/{d}/queue/rq_affinity")),
            "1\n",
        )
        .or_else(|_| {
            std::fs::write(
                mirror.join(format!("sys/block/{d}/queue/rq_affinity")),
                "1\n",
            )
        })
        .unwrap();
    }
    std::fs::remove_file(mirror.join("etc/default/grub")).unwrap();
    // The script creates /etc/udev/rules.d for its rule file; the rollback removes both.
    std::fs::remove_dir_all(mirror.join("etc/udev/rules.d")).unwrap();
    std::fs::create_dir_all(mirror.join("etc/kernel")).unwrap();
    std::fs::write(
        mirror.join("etc/kernel/cmdline"),
        "root=/dev/mapper/rhel-root ro idle=poll console=ttyS0\n",
    )
    .unwrap();
    let mut report = report_with_expected(&mirror, &hosts::tree("kvm-guest"), "throughput");
    drop_problems(&mut report);
    report
        .results
        .push(synthetic("guest.blk.rq-affinity", "host", Status::Warn));
    report
        .results
        .push(synthetic("guest.cmdline.no-idle", "host", Status::Fail));
    let (script, body) = script_for(tmp.path(), &report, &mirror, "guest.sh");
    assert!(
        body.contains("kernel_args guarded guest.cmdline.no-idle del:idle"),
        "{body}"
    );
    let mut ns = Ns::new(tmp.path(), mirror.clone(), script.clone());
    let (out1, _) = apply_twice_and_roll_back(&mut ns, &script, tmp.path(), 0);
    assert!(out1.contains("/etc/kernel/cmdline: remove idle"), "{out1}");
    assert!(out1.contains("run kernel-install"), "{out1}");
    assert!(out1.contains("rq_affinity: 1 → 2"), "{out1}");
    assert!(!mirror.join("etc/udev/rules.d").exists());
}

#[test]
fn hugepage_pools_grow_only_within_free_memory() {
    if !require_root_namespace() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mirror = mirror_of(tmp.path(), "icx-untuned");
    let node = "/sys/devices/system/node";
    let small = format!("{node}/node0/hugepages/hugepages-2048kB/nr_hugepages");
    let huge = format!("{node}/node1/hugepages/hugepages-1048576kB/nr_hugepages");
    let mut report = report_with_expected(&mirror, &hosts::tree("icx-untuned"), "throughput");
    drop_problems(&mut report);
    let mut f = synthetic("host.hugepages.pool", "host", Status::Fail);
    // Node 1 has 126 GiB (MemTotal 132101700 kB), 107 GiB free: 120 GiB fits the node, not
    // its free memory.
    f.data = vec![pool(Some(0), 2048, 8), pool(Some(1), 1048576, 120)];
    assert!(small.contains("node0") && huge.contains("node1"));
    report.results.push(f);
    let (script, _) = script_for(tmp.path(), &report, &mirror, "pools.sh");
    let mut ns = Ns::new(tmp.path(), mirror.clone(), script.clone());
    ns.extra = vec![
        format!("{node}/node0/meminfo"),
        format!("{node}/node1/meminfo"),
    ];
    let (out1, out2) = apply_twice_and_roll_back(&mut ns, &script, tmp.path(), 1);
    assert!(out1.contains("nr_hugepages: 0 → 8 pages"), "{out1}");
    assert!(out2.contains("refused: needs 125829120 kB"), "{out2}");
    assert!(out2.contains("not made persistent"), "{out2}");
}

/// A crafted count (2^52 + 1 pages of 2 MiB: × 2048 kB wraps bash's 64-bit arithmetic to a
/// negative need, which passed the free-memory guard) is refused by the generator, bounded by
/// the node's MemTotal; and the script's own guard refuses it when written in by hand.
#[test]
fn crafted_hugepage_counts_never_reach_bash_arithmetic() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = hosts::tree("icx-untuned");
    let path = "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages";
    let mut report = report_with_expected(&tree, &tree, "throughput");
    drop_problems(&mut report);
    let mut f = synthetic("host.hugepages.pool", "host", Status::Fail);
    f.data = vec![
        pool(Some(0), 2048, 4503599627370497),
        pool(Some(1), 2048, u64::MAX),
        pool(Some(1), 2048, 512),
    ];
    // The pool's own file, as the check quotes it: in the facts only (no count to parse).
    f.evidence.push(kvmaudit::report::Evidence {
        source: path.to_string(),
        observed: "0".into(),
        expected: None,
    });
    report.results.push(f);
    let rpath = tmp.path().join("report.json");
    write_report(&report, &rpath);
    for (name, facts) in [("root.sh", true), ("report-only.sh", false)] {
        let script = tmp.path().join(name);
        let mut extra: Vec<&Path> = vec![&rpath];
        if facts {
            extra.extend([Path::new("--root"), &tree]);
        }
        let body = generate(&["--report"], &extra, &script);
        let counts: Vec<String> = step_lines(&body)
            .into_iter()
            .filter(|w| w[0] == "hugepages_at_least")
            .map(|w| w[4].clone())
            .collect();
        // Bounded by node 0's MemTotal with the tree's facts, by 4 PiB without them.
        assert_eq!(counts, vec!["512"], "{name}: {body}");
        assert!(
            body.contains("asks for 4503599627370497 pages of 2048 kB, more than"),
            "{name}: {body}"
        );
    }
    // A hand-edited count: the script refuses it before any arithmetic.
    let script = tmp.path().join("root.sh");
    let body = std::fs::read_to_string(&script).unwrap();
    let edited = body.replace(" 512 2048 ", " 4503599627370497 2048 ");
    assert_ne!(edited, body);
    std::fs::write(&script, edited).unwrap();
    let o = run(Command::new("bash")
        .args([script.as_os_str(), "--any-host".as_ref()])
        .current_dir(tmp.path()));
    let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(
        out.contains("4503599627370497 pages of 2048 kB is out of range; not changed"),
        "{out}"
    );
}

/// The IRQ-affinity and hugepage-pool checks state what to write (smp_affinity_list ≥ a CPU
/// list, nr_hugepages ≥ N), so a scan's findings become steps, and the steps apply.
#[test]
fn pool_steps_come_from_the_scan_and_apply() {
    if !require_root_namespace() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mirror = mirror_of(tmp.path(), "icx-tuned");
    let node = "/sys/devices/system/node/node1";
    let pool = format!("{node}/hugepages/hugepages-1048576kB/nr_hugepages");
    let global = "sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages";
    // db01 needs 8 × 1 GiB on node 1, which holds 6.
    std::fs::write(mirror.join(pool.trim_start_matches('/')), "6\n").unwrap();
    std::fs::write(mirror.join(global), "14\n").unwrap();
    let script = tmp.path().join("pool.sh");
    let body = generate(
        &["--only", "host.hugepages.pool", "--root"],
        &[&mirror],
        &script,
    );
    let want =
        format!("hugepages_at_least guarded host.hugepages.pool {pool} 8 1048576 {node}/meminfo");
    assert!(body.contains(&want), "{body}");
    let mut ns = Ns::new(tmp.path(), mirror.clone(), script.clone());
    ns.extra = vec![format!("{node}/meminfo")];
    let bk = tmp.path().join("bk");
    let (rc, out, err) = ns.apply(&script, &bk);
    assert_eq!(rc, 0, "{out}\n{err}");
    assert_eq!(value_of(&mirror, &pool, false), "8", "{out}");
    // The kernel's global count follows the node's; then the rescan passes.
    std::fs::write(mirror.join(global), "16\n").unwrap();
    let o = run(Command::new(bin())
        .args(["scan", "--root"])
        .arg(&mirror)
        .args(["--json", "-"]));
    let rescan: Report = serde_json::from_slice(&o.stdout).expect("rescan JSON");
    let f = rescan
        .results
        .iter()
        .find(|f| f.rule == "host.hugepages.pool")
        .unwrap();
    assert_eq!(f.status, Status::Pass, "{}", f.message);
}

// ---- the command line ------------------------------------------------------------------------

/// The script is bound to the scanned host: made from a fixture and run here (dry run
/// included) it refuses before any step, naming what differs; `--any-host` runs it. Made
/// from a tree that has this host's identity, it runs. `fix --report A` with the facts of
/// another host is refused at generation, unless `fix --any-host`.
#[test]
fn scripts_refuse_another_host() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = hosts::tree("icx-untuned");
    let script = tmp.path().join("fix.sh");
    let body = generate(&["--root"], &[&tree], &script);
    assert!(
        body.contains("# bound to:   hostname hv-icx02, machine-id unknown, SMBIOS system UUID 5d6c7b8a-3f4e-1042-9876-543210fedcba"),
        "{body}"
    );
    let here = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let here = here.trim();
    assert_ne!(here, "hv-icx02");
    let dry = |args: &[&str]| {
        let o = run(Command::new("bash")
            .arg(&script)
            .args(args)
            .current_dir(tmp.path()));
        (o.status.code(), text(&o.stdout), text(&o.stderr))
    };
    let (rc, out, err) = dry(&[]);
    assert_eq!(rc, Some(2), "{out}\n{err}");
    assert!(
        err.contains("refusing to run: this is not the host the script was made for"),
        "{err}"
    );
    assert!(
        err.contains(&format!("hostname: made for hv-icx02, this host is {here}")),
        "{err}"
    );
    assert!(
        err.contains("SMBIOS system UUID: made for 5d6c7b8a-3f4e-1042-9876-543210fedcba"),
        "{err}"
    );
    assert!(!out.contains("would change"), "no step ran: {out}");
    let (_, out, err) = dry(&["--any-host"]);
    assert!(
        out.contains("would change") && out.contains("== kvmaudit fix: dry-run =="),
        "{out}\n{err}"
    );
    assert!(
        err.contains("warning (--any-host): hostname: made for hv-icx02"),
        "{err}"
    );

    // A tree with this host's identity: the script runs; another machine-id: refused.
    let mirror = mirror_of(tmp.path(), "icx-untuned");
    std::fs::write(mirror.join("proc/sys/kernel/hostname"), format!("{here}\n")).unwrap();
    let uuid = mirror.join("sys/class/dmi/id/product_uuid");
    match std::fs::read_to_string("/sys/class/dmi/id/product_uuid") {
        Ok(u) => std::fs::write(&uuid, u).unwrap(),
        // Like this host: no system UUID anywhere, the SMBIOS table included.
        Err(_) => {
            std::fs::remove_file(&uuid).unwrap();
            let tables = mirror.join("sys/firmware/dmi/tables");
            if tables.exists() {
                std::fs::remove_dir_all(tables).unwrap();
            }
        }
    }
    let mid = std::fs::read_to_string("/etc/machine-id").ok();
    if let Some(m) = &mid {
        std::fs::write(mirror.join("etc/machine-id"), m).unwrap();
    }
    let body = generate(&["--root"], &[&mirror], &script);
    assert!(
        body.contains(&format!("# bound to:   hostname {here}, ")),
        "{body}"
    );
    let (rc, out, err) = dry(&[]);
    assert!(!err.contains("refusing"), "{err}");
    assert!(rc == Some(0) || rc == Some(1), "{out}\n{err}");
    assert!(out.contains("== kvmaudit fix: dry-run =="), "{out}");
    if mid.is_some() {
        std::fs::write(
            mirror.join("etc/machine-id"),
            "0123456789abcdef0123456789abcdef\n",
        )
        .unwrap();
        generate(&["--root"], &[&mirror], &script);
        let (rc, _, err) = dry(&[]);
        assert_eq!(rc, Some(2), "{err}");
        assert!(
            err.contains("machine-id: made for 0123456789abcdef0123456789abcdef, this host has"),
            "{err}"
        );
    }

    // Generation: the report of hv-icx02 with the facts of hv-icx01.
    let r = tmp.path().join("r.json");
    write_report(&report_with_expected(&tree, &tree, "throughput"), &r);
    let other = hosts::tree("icx-tuned");
    let o = run(Command::new(bin())
        .args(["fix", "--generate-script", "--report"])
        .arg(&r)
        .arg("--root")
        .arg(&other));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr)
            .contains("is of another host than the SOURCES (hostname hv-icx02 ≠ hv-icx01; SMBIOS system UUID "),
        "{}",
        text(&o.stderr)
    );
    let body = generate(
        &["--any-host", "--report"],
        &[&r, Path::new("--root"), &other],
        &script,
    );
    assert!(body.contains("# bound to:   hostname hv-icx01,"), "{body}");
    assert!(
        body.contains("--any-host: the report and the facts are of different hosts"),
        "{body}"
    );
}

/// `fix --waivers FILE` reads scan's waiver format: a waived finding gets no step and the
/// header lists it as waived, with the waiver's reason and expiry.
#[test]
fn waived_findings_get_no_step_and_are_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = hosts::tree("icx-untuned");
    let waivers = tmp.path().join("waivers.toml");
    std::fs::write(
        &waivers,
        "[[waiver]]\nrule = \"host.cpufreq.governor\"\nreason = \"power budget of rack 7\"\nexpires = \"2099-12-31\"\n\n\
         [[waiver]]\nrule = \"bios.c*\"\ntarget = \"host\"\nreason = \"vendor BIOS profile\"\n",
    )
    .unwrap();
    let report = tmp.path().join("r.json");
    write_report(&report_with_expected(&tree, &tree, "throughput"), &report);
    for (name, args) in [
        ("scan.sh", vec![Path::new("--root"), &tree]),
        (
            "report.sh",
            vec![Path::new("--report"), &report, Path::new("--root"), &tree],
        ),
    ] {
        let script = tmp.path().join(name);
        let mut extra: Vec<&Path> = vec![&waivers];
        extra.extend(args.iter().copied());
        let body = generate(&["--waivers"], &extra, &script);
        let steps = step_lines(&body);
        assert!(!steps.is_empty(), "{name}: other rules still have steps");
        for rule in ["host.cpufreq.governor", "bios.c1e", "bios.c6"] {
            assert!(
                !steps.iter().any(|w| w[2] == rule),
                "{name}: {rule} is waived: {steps:?}"
            );
        }
        assert!(
            body.contains(
                "#   - host.cpufreq.governor host [waived, was fail] expires 2099-12-31: power budget of rack 7"
            ),
            "{name}: {body}"
        );
        assert!(
            body.contains(
                "#   - bios.c6 host [waived, was fail] expires never: vendor BIOS profile"
            ),
            "{name}: {body}"
        );
    }
    // A waivers file scan refuses, fix refuses too, naming it.
    std::fs::write(&waivers, "[[waiver]]\nrule = \"host.thp\"\nreason = \"\"\n").unwrap();
    let o = run(Command::new(bin())
        .args(["fix", "--generate-script", "--waivers"])
        .arg(&waivers)
        .arg("--root")
        .arg(&tree));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("waivers.toml"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn bad_requests_exit_1_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = hosts::tree("icx-untuned");
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, "{not json").unwrap();
    for (args, want) in [
        (vec!["fix"], "--generate-script"),
        (
            vec![
                "fix",
                "--generate-script",
                "--only",
                "no.such.rule",
                "--root",
            ],
            "no such rule",
        ),
        (vec!["fix", "--generate-script", "--report"], "bad.json"),
        (
            vec![
                "fix",
                "--generate-script",
                "--report",
                "/nonexistent/r.json",
            ],
            "/nonexistent/r.json",
        ),
    ] {
        let mut cmd = Command::new(bin());
        cmd.args(&args);
        if args.last() == Some(&"--root") {
            cmd.arg(&tree);
        }
        if args.last() == Some(&"--report") {
            cmd.arg(&bad);
        }
        let o = run(&mut cmd);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(want),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
}

/// A live `fix --generate-script` on a host whose /, /sys and /proc are read-only (in a
/// private mount namespace) still produces its script: it needs to write nothing but stdout.
#[test]
fn live_generation_needs_no_write_access() {
    if !require_root_namespace() {
        return;
    }
    let sh = format!(
        "mount --bind / / && mount -o remount,bind,ro / && \
         mount -o remount,bind,ro /sys && mount -o remount,bind,ro /proc && \
         exec {} fix --generate-script --profile latency",
        shell_words::quote(&bin().to_string_lossy())
    );
    let o = run(private_mount_ns().args(["bash", "-c", &sh]));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let script = text(&o.stdout);
    assert!(script.starts_with("#!/usr/bin/env bash\n"), "{script}");
    assert!(script.contains("scan of this host (/)"), "{script}");
    // Through a file: a busy host (50 VMs) makes a script longer than one argv string may be.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fix.sh");
    std::fs::write(&file, &script).unwrap();
    let o = run(Command::new("bash").arg("-n").arg(&file));
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Made for this host, it runs here (dry run) without --any-host.
    let o = run(Command::new("bash").arg(&file).current_dir(dir.path()));
    assert!(!text(&o.stderr).contains("refusing"), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("== kvmaudit fix: dry-run =="),
        "{}",
        text(&o.stdout)
    );
}

// ---- every step kind -------------------------------------------------------------------------

/// A host where every planner has something to do, built by hand.
fn busy_host() -> kvmaudit::snapshot::Snapshot {
    let cpu = "/sys/devices/system/cpu";
    let node = "/sys/devices/system/node";
    let mut b = kvmaudit::rules::testkit::SnapBuilder::new()
        .icx("")
        .topology(2, 4, 2)
        .file("/proc/sys/kernel/numa_balancing", "0")
        .file("/etc/sysctl.conf", "kernel.numa_balancing = 0")
        .file(
            "/usr/lib/sysctl.d/99-vendor.conf",
            "kernel.numa_balancing = 0",
        )
        .file(
            "/sys/kernel/mm/transparent_hugepage/enabled",
            "always madvise [never]",
        )
        .file("/proc/cmdline", "ro quiet transparent_hugepage=never nosmt")
        .file("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"nosmt\"")
        .file(&format!("{cpu}/smt/control"), "off")
        .file(&format!("{cpu}/intel_pstate/no_turbo"), "1")
        .file("/sys/module/kvm_intel/parameters/ple_gap", "128")
        .file(
            "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages",
            "16",
        )
        .file(
            "/proc/mounts",
            "hugetlbfs /dev/hugepages hugetlbfs rw,pagesize=2M 0 0",
        )
        .file(&format!("{cpu}/cpuidle/current_driver"), "intel_idle");
    for c in 0..16 {
        b = b
            .file(&format!("{cpu}/cpu{c}/power/energy_perf_bias"), "6")
            .file(&format!("{cpu}/cpu{c}/cpuidle/state2/name"), "C1E")
            .file(&format!("{cpu}/cpu{c}/cpuidle/state2/disable"), "0")
            .file(&format!("{cpu}/cpu{c}/cpuidle/state3/name"), "C6")
            .file(&format!("{cpu}/cpu{c}/cpuidle/state3/disable"), "0")
            .file(
                &format!("{cpu}/cpufreq/policy{c}/scaling_governor"),
                "powersave",
            )
            .file(
                &format!("{cpu}/cpufreq/policy{c}/scaling_available_governors"),
                "performance powersave",
            )
            .file(
                &format!("{cpu}/cpufreq/policy{c}/energy_performance_preference"),
                "balance_power",
            )
            .file(
                &format!("{cpu}/cpufreq/policy{c}/scaling_max_freq"),
                "2000000",
            )
            .file(
                &format!("{cpu}/cpufreq/policy{c}/cpuinfo_max_freq"),
                "3200000",
            );
    }
    for n in 0..2 {
        b = b.file(
            &format!("{node}/node{n}/hugepages/hugepages-2048kB/nr_hugepages"),
            "0",
        );
    }
    b.build()
}

#[test]
fn every_step_kind_renders_clean() {
    if !common::require_tool("shellcheck") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let snap = busy_host();
    let snap_path = tmp.path().join("snap.json");
    std::fs::write(&snap_path, serde_json::to_vec(&snap).unwrap()).unwrap();
    let mut report =
        kvmaudit::rules::evaluate(&snap, kvmaudit::report::Profile::Latency, &[], "2026-01-01");
    drop_problems(&mut report);
    for rule in [
        "host.cpufreq.governor",
        "bios.power-policy",
        "bios.turbo",
        "bios.c1e",
        "bios.c6",
        "host.numa.balancing",
        "host.thp",
        "host.hugepages.mount",
        "bios.ht",
        "host.kvm.ple",
        "host.iommu.enabled",
        "host.nohz-full.housekeeping",
    ] {
        report.results.push(synthetic(rule, "host", Status::Fail));
    }
    let mut pools = synthetic("host.hugepages.pool", "host", Status::Fail);
    pools.data.push(pool(Some(1), 2048, 512));
    report.results.push(pools);
    let mut irq = synthetic("host.irq.affinity", "host", Status::Warn);
    irq.data.push(Datum::IrqAffinity {
        irq: 42,
        observed: "0-15".into(),
        expected: "0-3,8-11".into(),
    });
    report.results.push(irq);
    let rpath = tmp.path().join("report.json");
    write_report(&report, &rpath);
    let script = tmp.path().join("all.sh");
    let body = generate(
        &["--report"],
        &[&rpath, Path::new("--snapshot"), &snap_path],
        &script,
    );
    check_syntax(&script);
    for want in [
        "set_value yes host.cpufreq.governor plain /sys/devices/system/cpu/cpufreq/policy15/scaling_governor performance",
        "set_value yes bios.power-policy plain /sys/devices/system/cpu/cpufreq/policy0/energy_performance_preference performance",
        "set_value yes bios.turbo plain /sys/devices/system/cpu/intel_pstate/no_turbo 0",
        "set_value yes bios.turbo plain /sys/devices/system/cpu/cpufreq/policy3/scaling_max_freq 3200000",
        "cpuidle_disable yes bios.c1e /sys/devices/system/cpu/cpu7/cpuidle/state2 C1E",
        "cpuidle_disable yes bios.c6 /sys/devices/system/cpu/cpu7/cpuidle/state3 C6",
        "conf_line yes host.numa.balancing /etc/sysctl.d/90-kvmaudit.conf kernel.numa_balancing 'kernel.numa_balancing = 1'",
        "sysctl_comment_out yes host.numa.balancing /etc/sysctl.conf kernel.numa_balancing",
        "set_value yes host.thp bracketed /sys/kernel/mm/transparent_hugepage/enabled madvise",
        "kernel_args yes host.thp set:transparent_hugepage=madvise",
        "hugepages_at_least guarded host.hugepages.pool /sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages 512 2048 /sys/devices/system/node/node1/meminfo",
        "hugepages_persist guarded host.hugepages.pool",
        "hugetlb_mount yes host.hugepages.mount /dev/hugepages1G 1G 1048576",
        "conf_line yes host.hugepages.mount /etc/fstab 'hugetlbfs /dev/hugepages1G' 'hugetlbfs /dev/hugepages1G hugetlbfs pagesize=1G 0 0'",
        "set_value guarded host.irq.affinity plain /proc/irq/42/smp_affinity_list 0-3,8-11",
        "set_value guarded bios.ht plain /sys/devices/system/cpu/smt/control on",
        "kernel_args guarded bios.ht del:nosmt",
        "conf_line guarded host.kvm.ple /etc/modprobe.d/kvmaudit.conf 'options kvm_intel ple_gap' 'options kvm_intel ple_gap=0'",
        "need_reload guarded host.kvm.ple kvm_intel ple_gap 0",
        "kernel_args guarded host.iommu.enabled set:intel_iommu=on set:iommu=pt",
        // Every node keeps its first core and that core's sibling (0/8 and 4/12).
        "kernel_args guarded host.nohz-full.housekeeping set:nohz_full=1-3,5-7,9-11,13-15 set:rcu_nocbs=1-3,5-7,9-11,13-15",
    ] {
        let want_words = shell_words::split(want).unwrap();
        let found = body
            .lines()
            .filter_map(|l| shell_words::split(l).ok())
            .any(|w| w.starts_with(&want_words));
        assert!(found, "missing `{want}` in\n{body}");
    }
    // A package's sysctl.d file that would override kvmaudit's is named, not edited.
    assert!(
        body.contains("/usr/lib/sysctl.d/99-vendor.conf sets kernel.numa_balancing"),
        "{body}"
    );
    // The dry run of all of it reads only (the paths do not exist here: failures, no writes).
    let o = run(Command::new("bash")
        .args([script.as_os_str(), "--any-host".as_ref()])
        .current_dir(tmp.path()));
    assert!(
        text(&o.stdout).contains("== kvmaudit fix: dry-run =="),
        "{}",
        text(&o.stdout)
    );
}

// ---- issue 11 item 3: `automatable` is backed by code ---------------------------------------

/// The rules a script has steps for: a `# ==== RULE — ...` header precedes a host rule's
/// steps; a `vm_edit RULE ...` line is a libvirt domain's step.
fn stepped_rules(script: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for l in script.lines() {
        if let Some(rest) = l.strip_prefix("# ==== ") {
            if rest.contains("(auto: ") {
                out.insert(rest.split_whitespace().next().unwrap_or("").to_string());
            }
        } else if l.starts_with("vm_edit ") {
            let w = shell_words::split(l).unwrap();
            out.insert(w[1].clone());
        }
    }
    out
}

/// Every rule the catalogue marks automatable (yes/guarded) has a fix builder in the registry,
/// and that builder yields a real step — not advice — where the rule fails: first on every
/// fixture host scanned for real (the checks' own findings and typed data), then, for the rules
/// no fixture fails, on synthetic findings that carry the typed data the checks state.
#[test]
fn every_automatable_rule_has_a_builder_that_yields_a_step() {
    use kvmaudit::rules::meta::{catalogue, Automatable};
    let automatable: BTreeSet<String> = catalogue()
        .iter()
        .filter(|m| m.remediation.automatable != Automatable::No)
        .map(|m| m.id.clone())
        .collect();
    for id in &automatable {
        assert!(
            kvmaudit::fix::builders::find(id).is_some(),
            "{id} is marked automatable but has no fix builder"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut stepped: BTreeMap<String, String> = BTreeMap::new();
    let hosts_dir = common::repo().join("fixtures/hosts");
    let mut trees: Vec<PathBuf> = std::fs::read_dir(&hosts_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("EXPECTED.toml").exists())
        .collect();
    trees.sort();
    for tree in &trees {
        for profile in ["throughput", "latency"] {
            let script = tmp.path().join("host.sh");
            let body = generate(&["--profile", profile, "--root"], &[tree], &script);
            for r in stepped_rules(&body) {
                stepped
                    .entry(r)
                    .or_insert_with(|| format!("{} ({profile})", tree.display()));
            }
        }
    }
    // Synthetic findings for what no fixture fails, with the facts a scan would quote.
    let tree = hosts::tree("icx-untuned");
    let mut report = report_with_expected(&tree, &tree, "throughput");
    drop_problems(&mut report);
    let ev = |f: &mut Finding, source: &str, observed: &str| {
        f.evidence.push(kvmaudit::report::Evidence {
            source: source.into(),
            observed: observed.into(),
            expected: None,
        })
    };
    // The scan's passing turbo and SMT findings quote the fixture's values (no_turbo 0, SMT
    // on), which the report's facts would keep: these findings replace them.
    report
        .results
        .retain(|f| f.rule != "bios.turbo" && f.rule != "bios.ht");
    let mut f = synthetic("bios.turbo", "host", Status::Fail);
    ev(&mut f, "/sys/devices/system/cpu/intel_pstate/no_turbo", "1");
    report.results.push(f);
    let mut f = synthetic("bios.ht", "host", Status::Fail);
    ev(&mut f, "/sys/devices/system/cpu/smt/control", "off");
    report.results.push(f);
    let mut f = synthetic("host.hugepages.pool", "host", Status::Fail);
    f.data.push(pool(Some(0), 2048, 512));
    report.results.push(f);
    let mut f = synthetic("host.hugepages.mount", "host", Status::Fail);
    ev(
        &mut f,
        "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages",
        "8",
    );
    report.results.push(f);
    let mut f = synthetic("host.qat.sriov", "host/dev:0000:6b:00.0", Status::Fail);
    f.data.push(Datum::SriovVfs {
        device: "0000:6b:00.0".into(),
        observed: 0,
        total: Some(16),
    });
    report.results.push(f);
    let mut f = synthetic("host.qat.vfio-bind", "host/dev:0000:6b:01.0", Status::Fail);
    f.data.push(Datum::PciDriver {
        device: "0000:6b:01.0".into(),
        observed: Some("4xxxvf".into()),
        expected: "vfio-pci".into(),
    });
    report.results.push(f);
    let mut f = synthetic("host.ksm.tuning", "host", Status::Warn);
    f.data.push(Datum::Setting {
        path: "/sys/kernel/mm/ksm/merge_across_nodes".into(),
        observed: "1".into(),
        expected: "0".into(),
    });
    report.results.push(f);
    let mut f = synthetic("guest.blk.rq-affinity", "host", Status::Fail);
    ev(&mut f, "/sys/block/vda/queue/rq_affinity", "1");
    report.results.push(f);
    report
        .results
        .push(synthetic("guest.cmdline.no-idle", "host", Status::Fail));
    // A libvirt domain whose vCPUs run on node 1 while its memory is not bound there.
    let mut vm = report.vms.first().cloned().expect("the fixture runs VMs");
    vm.name = "placed".into();
    vm.label = None;
    vm.libvirt = true;
    vm.guest_numa_nodes = None;
    vm.vcpus = Some(4);
    report.vms.push(vm);
    let placed = report.vms.len() - 1;
    // Its findings, with the targets and typed data the checks state: the device ids are
    // libvirt's aliases (virtio-diskN, netN), which select the device for virt-xml.
    for (rule, target, node) in [
        ("qemu.numa.vm-placement", "vm:placed", Some(1)),
        ("qemu.numa.memory-locality", "vm:placed", Some(1)),
        ("qemu.mem.merge", "vm:placed", None),
        ("qemu.blk.cache", "vm:placed/drive:virtio-disk0", None),
        ("qemu.blk.aio", "vm:placed/drive:virtio-disk1", None),
        ("qemu.net.vhost", "vm:placed/net:net0", None),
        ("qemu.net.multiqueue", "vm:placed/net:net1", None),
    ] {
        let mut f = synthetic(rule, target, Status::Warn);
        f.vm_index = Some(placed);
        if let Some(node) = node {
            f.data.push(Datum::NumaNode { node });
        }
        report.results.push(f);
    }
    let rpath = tmp.path().join("report.json");
    write_report(&report, &rpath);
    let script = tmp.path().join("synthetic.sh");
    let body = generate(&["--any-host", "--report"], &[&rpath], &script);
    check_syntax(&script);
    for r in stepped_rules(&body) {
        stepped.entry(r).or_insert_with(|| "synthetic".into());
    }
    for want in [
        "hugepages_at_least guarded host.hugepages.pool /sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages 512 2048 /sys/devices/system/node/node0/meminfo",
        "set_value guarded host.qat.sriov plain /sys/bus/pci/devices/0000:6b:00.0/sriov_numvfs 16",
        "conf_line guarded host.qat.sriov /etc/udev/rules.d/60-kvmaudit.rules",
        "pci_driver_override guarded host.qat.vfio-bind 0000:6b:01.0 vfio-pci",
        "conf_line guarded host.qat.vfio-bind /etc/modules-load.d/kvmaudit.conf vfio-pci vfio-pci",
        "ksm_merge_across_nodes guarded host.ksm.tuning 0",
        "vm_edit qemu.numa.vm-placement placed numatune mode=strict,nodeset=1",
        "vm_edit qemu.numa.memory-locality placed numatune mode=strict,nodeset=1",
        "vm_edit qemu.mem.merge placed memorybacking nosharepages=on",
        "vm_edit qemu.blk.cache placed disk driver.cache=none target=vda",
        "vm_edit qemu.blk.aio placed disk driver.cache=none,driver.io=native target=vdb",
        "vm_edit qemu.net.vhost placed network driver.name=vhost 1",
        "vm_edit qemu.net.multiqueue placed network driver.name=vhost,driver.queues=4 2",
    ] {
        let want_words = shell_words::split(want).unwrap();
        let found = body
            .lines()
            .filter_map(|l| shell_words::split(l).ok())
            .any(|w| w.starts_with(&want_words));
        assert!(found, "missing `{want}` in\n{body}");
    }
    let missing: Vec<&String> = automatable
        .iter()
        .filter(|r| !stepped.contains_key(*r))
        .collect();
    assert!(
        missing.is_empty(),
        "automatable rules without a step on any fixture or synthetic finding: {missing:?}\nstepped: {stepped:#?}"
    );
}

// ---- issue 14: libvirt domains -----------------------------------------------------------------

/// A domain defined in an embedded libvirt (no daemon) under a temporary root, and the commands
/// that reach it: virsh and the generated script run in a private mount namespace where
/// /dev/kvm is covered by an empty file — this sandbox's /dev/kvm flips between usable and
/// not, and libvirt then re-probes QEMU's capabilities (70 s under load) on every call; the
/// test needs XML and the argv libvirt makes of it, not KVM (the domain is type 'qemu').
struct Embedded {
    tmp: tempfile::TempDir,
    uri: String,
}

impl Embedded {
    fn new() -> Option<Embedded> {
        for tool in ["virsh", "virt-xml", "qemu-system-x86_64", "unshare"] {
            if !common::require_tool(tool) {
                return None;
            }
        }
        if !require_root_namespace() {
            return None;
        }
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("root")).unwrap();
        std::fs::write(tmp.path().join("nokvm"), "").unwrap();
        let disk = tmp.path().join("disk.img");
        std::fs::write(&disk, vec![0u8; 1 << 20]).unwrap();
        let xml = format!(
            "<domain type='qemu'>\n  <name>demo</name>\n  <memory unit='MiB'>256</memory>\n  <vcpu>2</vcpu>\n  <os><type arch='x86_64' machine='q35'>hvm</type></os>\n  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n    <disk type='file' device='disk'>\n      <driver name='qemu' type='raw' cache='writeback'/>\n      <source file='{}'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n    <interface type='user'>\n      <model type='virtio'/>\n    </interface>\n  </devices>\n</domain>\n",
            disk.display()
        );
        std::fs::write(tmp.path().join("demo.xml"), xml).unwrap();
        let uri = format!("qemu:///embed?root={}", tmp.path().join("root").display());
        let e = Embedded { tmp, uri };
        let demo = e.path("demo.xml");
        e.virsh(&["define", "--file", demo.to_str().unwrap()]);
        Some(e)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }
    /// `ARGV` in the namespace; (status, stdout, stderr).
    fn ns(&self, argv: &[&str]) -> (bool, String, String) {
        let o = run(private_mount_ns()
            .args([
                "sh",
                "-c",
                "if [ -e /dev/kvm ]; then mount --bind \"$0\" /dev/kvm || exit 99; fi; exec \"$@\"",
            ])
            .arg(self.path("nokvm"))
            .args(argv));
        (o.status.success(), text(&o.stdout), text(&o.stderr))
    }
    fn virsh(&self, args: &[&str]) -> String {
        let mut argv = vec!["virsh", "-q", "-c", &self.uri];
        argv.extend(args);
        let (ok, out, err) = self.ns(&argv);
        assert!(ok, "virsh {args:?}: {out}{err}");
        out
    }
    fn inactive_xml(&self) -> String {
        self.virsh(&["dumpxml", "--inactive", "--domain", "demo"])
    }
    /// `virsh domxml-to-native qemu-argv` of the domain, written to NAME.
    fn argv_file(&self, name: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(
            &p,
            self.virsh(&["domxml-to-native", "qemu-argv", "--domain", "demo"]),
        )
        .unwrap();
        p
    }
}

/// The VM findings of a scan of `argv` (host facts from a fixture tree): "rule target" →
/// (status, message).
fn vm_verdicts(argv: &Path) -> BTreeMap<String, (Status, String)> {
    let o = run(Command::new(bin())
        .args(["scan", "--root"])
        .arg(hosts::tree("icx-untuned"))
        .arg("--qemu-argv")
        .arg(argv)
        .args(["--json", "-"]));
    let r: Report = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("scan --json: {e}\n{}", text(&o.stderr)));
    assert_eq!(r.vms.len(), 1);
    assert!(
        r.vms[0].libvirt,
        "libvirt's argv is recognised as libvirt's"
    );
    r.results
        .iter()
        .filter(|f| f.vm_index == Some(0))
        .map(|f| {
            (
                format!("{} {}", f.rule, f.target),
                (f.status, f.message.clone()),
            )
        })
        .collect()
}

/// VM findings of a libvirt domain become `virt-xml` edits of its persistent definition, run
/// only with --with-vm-changes: applied with the real virt-xml and virsh against an embedded
/// libvirt, the argv libvirt then generates (`virsh domxml-to-native`) passes the rules that
/// were fixed; a second run changes nothing; rollback.sh restores the definition byte for byte.
#[test]
fn libvirt_domain_edits_pass_through_domxml_to_native() {
    let Some(e) = Embedded::new() else {
        return;
    };
    let before_xml = e.inactive_xml();
    let argv = e.argv_file("before.args");
    let cache = "qemu.blk.cache vm:demo/drive:virtio-disk0";
    let aio = "qemu.blk.aio vm:demo/drive:virtio-disk0";
    let before = vm_verdicts(&argv);
    assert_eq!(before[cache].0, Status::Warn, "{before:?}");
    assert!(before[aio].1.starts_with("aio=threads"), "{before:?}");
    let script = e.path("fix.sh");
    let body = generate(
        &[
            "--only",
            "qemu.blk.cache",
            "--only",
            "qemu.blk.aio",
            "--root",
            hosts::tree("icx-untuned").to_str().unwrap(),
            "--qemu-argv",
        ],
        &[&argv],
        &script,
    );
    check_syntax(&script);
    assert!(
        body.contains("vm_edit qemu.blk.cache demo disk 'driver.cache=none' 'target=vda'"),
        "{body}"
    );
    let bk = e.path("bk");
    let run_script = |extra: &[&str]| {
        let mut argv = vec![
            "bash",
            script.to_str().unwrap(),
            "--any-host",
            "--apply",
            "--backup-dir",
            bk.to_str().unwrap(),
            "--libvirt-uri",
            &e.uri,
        ];
        argv.extend(extra);
        let (_, out, err) = e.ns(&argv);
        format!("{out}{err}")
    };
    // Without the flag the edits are shown, not made.
    let out = run_script(&[]);
    assert!(out.contains("pass --with-vm-changes to apply it"), "{out}");
    assert_eq!(
        e.inactive_xml(),
        before_xml,
        "changed without --with-vm-changes"
    );
    let out = run_script(&["--with-vm-changes"]);
    assert_eq!(
        out.matches("changed       [qemu.blk.").count(),
        2,
        "{out}\n{before_xml}\n{}",
        e.inactive_xml()
    );
    let after = vm_verdicts(&e.argv_file("after.args"));
    assert_eq!(after[cache].0, Status::Pass, "{after:?}\n{out}");
    // aio=native is what the argv now asks for; the rule passes it only on runtime evidence
    // (a QEMU >= 8.2 may fall back to threads), which an argv file cannot give.
    assert!(
        after[aio].1.starts_with("aio=native is requested"),
        "{after:?}\n{out}"
    );
    // Again: nothing to change.
    let out2 = run_script(&["--with-vm-changes"]);
    assert_eq!(already_set(&out2), 2, "{out2}");
    assert!(!out2.contains("changed       ["), "{out2}");
    // The rollback of the first run restores the definition.
    let mut runs: Vec<PathBuf> = std::fs::read_dir(&bk)
        .unwrap()
        .map(|d| d.unwrap().path())
        .filter(|p| p.join("rollback.sh").exists())
        .collect();
    runs.sort();
    let (ok, out, err) = e.ns(&["bash", runs[0].join("rollback.sh").to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert_eq!(e.inactive_xml(), before_xml, "{out}");
}

/// `--libvirt-xml DIR` fragments name known values (the device's disk, the VM's node), hold
/// one element per disk/NIC however many findings it has, and, merged into the domain as their
/// header says, give a definition libvirt's schema accepts (virt-xml-validate).
#[test]
fn libvirt_xml_fragments_merge_into_a_valid_domain() {
    if !common::require_tool("virt-xml-validate") || !common::require_tool("xmllint") {
        return;
    }
    let Some(e) = Embedded::new() else {
        return;
    };
    let argv = e.argv_file("demo.args");
    let dir = e.path("xml");
    let script = e.path("fix.sh");
    generate(
        &[
            "--root",
            hosts::tree("icx-untuned").to_str().unwrap(),
            "--libvirt-xml",
            dir.to_str().unwrap(),
            "--qemu-argv",
        ],
        &[&argv],
        &script,
    );
    let frag = std::fs::read_to_string(dir.join("demo.xml")).unwrap();
    // Two findings on the disk (cache, aio): one <disk>; its target is named.
    let elements = |tag: &str| {
        frag.lines()
            .filter(|l| l.trim_start().starts_with(&format!("<{tag}")))
            .count()
    };
    assert_eq!(elements("disk"), 1, "{frag}");
    assert_eq!(elements("interface"), 1, "{frag}");
    assert!(
        frag.contains("<driver name='qemu' cache='none' io='native'/>"),
        "{frag}"
    );
    assert!(frag.contains("<target dev='vda' bus='virtio'/>"), "{frag}");
    // Placeholders may remain in advice comments, never in an element.
    let placeholder = frag
        .lines()
        .filter(|l| !l.trim_start().starts_with("<!--"))
        .find(|l| l.contains("'...'") || l.contains("NODE") || l.contains("vdX"));
    assert_eq!(placeholder, None, "placeholder in an element\n{frag}");
    let domain = e.path("domain.xml");
    std::fs::write(&domain, e.inactive_xml()).unwrap();
    let merged = e.path("merged.xml");
    let o = run(Command::new("python3")
        .arg(common::repo().join("tests/fix_support/merge_fragment.py"))
        .args([&domain, &dir.join("demo.xml"), &merged]));
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    let o = run(Command::new("virt-xml-validate").arg(&merged).arg("domain"));
    assert!(
        o.status.success(),
        "{}{}\n{}",
        text(&o.stdout),
        text(&o.stderr),
        std::fs::read_to_string(&merged).unwrap()
    );
    let m = std::fs::read_to_string(&merged).unwrap();
    assert!(m.contains("cache=\"none\" io=\"native\""), "{m}");
    assert!(m.contains("<driver name=\"vhost\""), "{m}");
    // The node a placement finding knows is written, not NODE.
    let mut f = synthetic("qemu.numa.vm-placement", "vm:demo", Status::Warn);
    f.data.push(Datum::NumaNode { node: 1 });
    let sg = kvmaudit::fix::libvirt::suggest(&f, Some(2), None).unwrap();
    assert_eq!(sg.xml, "<memory mode='strict' nodeset='1'/>");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,12}",
            ".{0,12}",
            Just("x'\"$(id)`id`\n\r\t\u{1b}\u{85}\u{2028}é".to_string()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the facts and findings hold, the generator returns a script in which no
        /// control character but the line feed appears (so no host value spans lines or hides
        /// an escape sequence), and it never panics.
        #[test]
        fn any_facts_give_a_single_line_per_step(
            names in proptest::collection::vec(any_text(), 1..4),
            values in proptest::collection::vec(any_text(), 1..4),
            message in any_text(),
        ) {
            let mut b = kvmaudit::rules::testkit::SnapBuilder::new();
            for (i, n) in names.iter().enumerate() {
                let v = values.get(i).cloned().unwrap_or_default();
                b = b
                    .file(&format!("/sys/devices/system/cpu/cpufreq/policy{n}/scaling_governor"), &v)
                    .file(&format!("/sys/devices/system/cpu/cpu{i}/cpuidle/state{n}/name"), "C6")
                    .file(&format!("/sys/devices/system/cpu/cpu{i}/power/energy_perf_bias"), &v)
                    .file("/sys/kernel/mm/transparent_hugepage/enabled", &v)
                    .file("/proc/sys/kernel/numa_balancing", &v)
                    .file(&format!("/etc/sysctl.d/{n}.conf"), &format!("kernel.numa_balancing = {v}"));
            }
            let snap = b.vm_argv(&["qemu-system-x86_64", "-name", &names[0]], &[]).build();
            let mut report = kvmaudit::rules::evaluate(&snap, kvmaudit::report::Profile::Throughput, &[], "2026-01-01");
            report.host.hostname = Some(message.clone());
            let vm = report.vms.first().map(|v| v.name.clone()).unwrap_or_default();
            for rule in ["host.cpufreq.governor", "bios.c6", "bios.power-policy", "host.thp", "host.numa.balancing", "host.hugepages.pool"] {
                let mut f = synthetic(rule, "host", Status::Fail);
                f.message = message.clone();
                f.evidence.push(kvmaudit::report::Evidence {
                    source: format!("/sys/devices/system/node/node{}/hugepages/hugepages-2048kB/nr_hugepages", names[0]),
                    observed: values[0].clone(),
                    expected: Some(values[0].clone()),
                });
                report.results.push(f);
            }
            let mut f = synthetic("qemu.blk.cache", &format!("vm:{vm}/drive:{message}"), Status::Warn);
            f.message = message.clone();
            report.results.push(f);
            let g = kvmaudit::fix::generate(&report, Some(&snap), &kvmaudit::fix::Options {
                libvirt_xml: true,
                generated_at: message.clone(),
                source: message.clone(),
                ..Default::default()
            });
            let bad = g.script.chars().find(|c| *c != '\n' && c.is_control());
            prop_assert!(bad.is_none(), "control character {:?} in the script", bad);
            for (name, xml) in &g.fragments {
                prop_assert!(!name.contains('/') && !name.starts_with('.'));
                prop_assert!(!xml.chars().any(|c| c != '\n' && c.is_control()));
            }
        }
    }
}
