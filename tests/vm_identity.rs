//! VM identity is structured: findings carry their VM's index, same-named VMs stay apart in
//! every output, and a name holding `/` neither charges another VM nor drops out of the score
//! (issue 12, "Identity and honesty of the numbers").

use kvmaudit::report::{Profile, Report, Status};
use kvmaudit::rules::testkit::SnapBuilder;

const GOOD: &str = "-accel kvm -cpu host -m 4096 -smp 4";
const TCG: &str = "-accel tcg -cpu qemu64 -m 4096 -smp 4";

fn host() -> SnapBuilder {
    SnapBuilder::new().icx("vmx").topology(1, 8, 2)
}

fn vm(b: SnapBuilder, name: &str, rest: &str) -> SnapBuilder {
    let mut argv = vec!["/usr/bin/qemu-system-x86_64", "-name", name];
    argv.extend(rest.split_whitespace());
    b.vm_argv(&argv, &[])
}

fn scan(b: SnapBuilder) -> Report {
    kvmaudit::rules::evaluate(&b.build(), Profile::Throughput, &[], "2026-01-01")
}

fn accel(r: &Report, vm: usize) -> Status {
    r.results
        .iter()
        .find(|f| f.rule == "qemu.accel.kvm" && f.vm_index == Some(vm))
        .map(|f| f.status)
        .expect("qemu.accel.kvm finding of the VM")
}

#[test]
fn same_named_vms_are_scored_and_shown_apart() {
    let r = scan(vm(vm(host(), "myvm", GOOD), "myvm", TCG));
    assert_eq!(r.vms.len(), 2);
    let (a, b) = (&r.vms[0], &r.vms[1]);
    assert_eq!((a.name.as_str(), b.name.as_str()), ("myvm", "myvm"));
    assert_eq!(a.display(), "myvm (pid 1000)");
    assert_eq!(b.display(), "myvm (pid 1100)");
    assert_eq!(accel(&r, 0), Status::Pass);
    assert_eq!(accel(&r, 1), Status::Fail);
    let kvm = r
        .results
        .iter()
        .find(|f| f.rule == "qemu.accel.kvm" && f.vm_index == Some(1));
    assert_eq!(kvm.unwrap().target, "vm:myvm (pid 1100)");
    // Each VM scored from its own findings: the TCG one loses the accel.kvm weight.
    let (sa, sb) = (a.score.value.unwrap(), b.score.value.unwrap());
    assert!(sa > sb, "good VM {sa} must score above the TCG VM {sb}");

    let table = kvmaudit::report::table::render(&r);
    assert!(table.contains("myvm (pid 1000)") && table.contains("myvm (pid 1100)"));
    let prom = kvmaudit::report::prom::render(&r, None);
    let vm_scores: Vec<&str> = prom
        .lines()
        .filter(|l| l.starts_with("kvmaudit_score{") && l.contains("scope=\"vm\""))
        .collect();
    assert_eq!(vm_scores.len(), 2, "{vm_scores:?}");
    assert!(vm_scores[0].contains("vm:myvm (pid 1000)"), "{vm_scores:?}");
    assert!(vm_scores[1].contains("vm:myvm (pid 1100)"), "{vm_scores:?}");
    let html = kvmaudit::report::html::render(&r).unwrap();
    assert!(html.contains("myvm (pid 1000)") && html.contains("myvm (pid 1100)"));

    let json: serde_json::Value = serde_json::to_value(&r).unwrap();
    let f = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "qemu.accel.kvm" && f["vm_index"] == 1)
        .unwrap();
    assert_eq!(f["status"], "fail");
    assert_eq!(json["vms"][1]["label"], "myvm (pid 1100)");
    assert_eq!(json["vms"][1]["pid"], 1100);

    let g = kvmaudit::fix::generate(&r, None, &Default::default());
    let keys: Vec<(String, Option<usize>)> = g
        .plan
        .vm_findings
        .keys()
        .map(|k| (k.label.clone(), k.index))
        .collect();
    assert!(
        keys.contains(&("myvm (pid 1000)".to_string(), Some(0))),
        "{keys:?}"
    );
    assert!(
        keys.contains(&("myvm (pid 1100)".to_string(), Some(1))),
        "{keys:?}"
    );
    for (k, list) in &g.plan.vm_findings {
        assert!(list.iter().all(|f| f.vm_index == k.index), "{}", k.label);
    }
    let tcg = g.plan.vm_findings.iter().find(|(k, _)| k.index == Some(1));
    assert!(tcg.unwrap().1.iter().any(|f| f.rule == "qemu.accel.kvm"));
    // virsh wants the domain name, not the label.
    assert!(g
        .script
        .contains("--- VM myvm (pid 1100), pid 1100: virsh edit myvm"));
}

#[test]
fn a_slash_in_a_name_charges_no_other_vm() {
    let alone = scan(vm(host(), "prod", GOOD));
    let r = scan(vm(vm(host(), "prod", GOOD), "prod/evil", TCG));
    assert_eq!(r.vms[1].display(), "prod/evil");
    assert_eq!(accel(&r, 1), Status::Fail);
    assert_eq!(
        r.vms[0].score.value, alone.vms[0].score.value,
        "prod must not be charged with prod/evil's failures"
    );
    let evil = r.vms[1].score.value.expect("prod/evil is scored");
    assert!(evil < r.vms[0].score.value.unwrap());
    // Every finding on a VM target carries its VM.
    for f in &r.results {
        assert_eq!(
            f.target.starts_with("vm:"),
            f.vm_index.is_some(),
            "{} {}",
            f.rule,
            f.target
        );
    }
}
