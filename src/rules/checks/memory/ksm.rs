//! host.ksm.state and host.ksm.tuning: kernel same-page merging.
use crate::rules::context::Ctx;
use crate::rules::facts::ksm::{control, counter, file, ksm, why_missing, KSMTUNED_CONF, KSM_DIR};
use crate::rules::facts::scope::guest_without_vms;
use crate::rules::facts::units::human;
use crate::rules::outcome::Outcome;

pub(super) fn ksm_present(ctx: &Ctx) -> Result<(), Outcome> {
    match &ksm(ctx).present {
        Ok(()) => Ok(()),
        Err(None) => Err(Outcome::na(
            "host",
            format!("the kernel has no KSM ({KSM_DIR} missing)"),
        )),
        Err(Some(why)) => Err(Outcome::unknown("host", why.clone())),
    }
}

pub(super) fn run_words(run: u32) -> &'static str {
    match run {
        0 => "stopped",
        1 => "running",
        2 => "stopped and unmerged",
        _ => "in an unknown state",
    }
}

pub(super) fn ksm_state(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = guest_without_vms(ctx) {
        return vec![o];
    }
    if let Err(o) = ksm_present(ctx) {
        return vec![o];
    }
    let run = match ksm(ctx).run.clone() {
        Ok(r) => r,
        Err(why) => {
            return vec![Outcome::unknown(
                "host",
                format!("KSM state unreadable ({why})"),
            )]
        }
    };
    let k = |f: &str| counter(ctx, f);
    let sharing = k("pages_sharing");
    let shared = k("pages_shared");
    let saved = sharing.map(|s| s.saturating_mul(4096));
    let mut msg = format!(
        "KSM is {}{}",
        run_words(run),
        saved
            .filter(|s| *s > 0)
            .map(|s| format!(", saving about {}", human(s)))
            .unwrap_or_default()
    );
    match (ctx.flags.mem_overcommitted, run) {
        (Some(true), 1) => msg.push_str("; memory is overcommitted, so merging is what keeps the guests fitting"),
        (Some(true), _) => msg.push_str(&format!("; memory is overcommitted: consider running KSM (echo 1 > {})", file("run"))),
        (Some(false), 1) => msg.push_str("; memory is not overcommitted: KSM costs CPU and latency and weakens isolation between VMs for no needed saving — consider run=0 (or mem-merge=off on latency-critical VMs)"),
        (Some(false), _) => msg.push_str("; memory is not overcommitted: stopped is the right choice"),
        (None, _) => msg.push_str("; whether memory is overcommitted could not be determined"),
    }
    let mut o = Outcome::info("host", msg).ev(
        file("run"),
        run.to_string(),
        match ctx.flags.mem_overcommitted {
            Some(true) => "1 (memory overcommitted)",
            Some(false) => "0 (memory not overcommitted)",
            None => "",
        },
    );
    for (f, v) in [("pages_sharing", sharing), ("pages_shared", shared)] {
        if let Some(v) = v {
            o = o.ev(file(f), v.to_string(), "");
        }
    }
    for f in ["pages_unshared", "pages_volatile", "full_scans"] {
        if let Some(v) = k(f) {
            o = o.ev(file(f), v.to_string(), "");
        }
    }
    vec![o]
}

pub(super) fn ksm_tuning(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = guest_without_vms(ctx) {
        return vec![o];
    }
    if let Err(o) = ksm_present(ctx) {
        return vec![o];
    }
    let state = ksm(ctx);
    let run_got = &state.run;
    let run = run_got.as_ref().ok().copied();
    let k = |f: &str| control(ctx, f);
    let fields = [
        ("pages_to_scan", "100"),
        ("sleep_millisecs", "20"),
        ("max_page_sharing", "256"),
        ("merge_across_nodes", "1"),
        ("use_zero_pages", "0"),
    ];
    let mut shown = Vec::new();
    let mut ev = Vec::new();
    for (f, def) in fields {
        if let Some(v) = k(f) {
            shown.push(format!(
                "{f} {v}{}",
                if v == def { "" } else { " (changed)" }
            ));
            ev.push((file(f), v, format!("default {def}")));
        }
    }
    let ksmtuned = state.ksmtuned;
    let merge_across = k("merge_across_nodes");
    // The warning needs all three facts; when one is unreadable and the others do not rule it
    // out, the verdict is unknown, never the milder info (less evidence must not look better).
    let missing: Vec<String> = [
        (ctx.flags.multi_node.is_none())
            .then(|| "the host's NUMA node count is unknown".to_string()),
        run_got.as_ref().err().cloned(),
        merge_across
            .is_none()
            .then(|| why_missing(ctx, "merge_across_nodes")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let ruled_out = ctx.flags.multi_node == Some(false)
        || run.is_some_and(|r| r != 1)
        || merge_across.as_deref().is_some_and(|m| m != "1");
    let o = if ctx.flags.multi_node == Some(true)
        && run == Some(1)
        && merge_across.as_deref() == Some("1")
    {
        Outcome::warn(
            "host",
            "KSM runs on a multi-node host with merge_across_nodes=1: a merged page lives on one node, so it is remote for the VMs on the others; set it to 0 (echo 2 > run; echo 0 > merge_across_nodes; echo 1 > run)",
        )
        .datum(crate::vocab::Datum::Setting {
            path: file("merge_across_nodes"),
            observed: "1".into(),
            expected: "0".into(),
        })
    } else if shown.is_empty() {
        Outcome::unknown("host", "KSM controls unreadable")
    } else if !ruled_out && !missing.is_empty() {
        Outcome::unknown(
            "host",
            format!(
                "whether KSM merges pages across NUMA nodes cannot be told: {}",
                missing.join("; ")
            ),
        )
    } else {
        Outcome::info(
            "host",
            format!(
                "KSM {}: {}",
                run.map(run_words).unwrap_or("state unknown"),
                shown.join(", ")
            ),
        )
    };
    let mut o = o;
    for (s, ob, ex) in ev {
        o = o.ev(s, ob, ex);
    }
    if let Some(t) = ksmtuned {
        o = o.ev(
            KSMTUNED_CONF,
            t,
            "ksmtuned rewrites run and pages_to_scan when it runs",
        );
    }
    vec![o]
}
