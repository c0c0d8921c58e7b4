//! host.hugepages.pool: the huge page pools (per size, per node) hold what the VMs that use
//! them need.
use crate::rules::context::Ctx;
use crate::rules::facts::mounts::default_hugepage;
use crate::rules::facts::ram_backing::{ram_nodes, vm_ram, Backing};
use crate::rules::facts::scope::guest_without_vms;
use crate::rules::facts::units::{human, GIB, MIB};
use crate::rules::outcome::Outcome;
use crate::vocab::Datum;
use std::collections::{BTreeMap, BTreeSet};

use crate::rules::facts::hugepage_pools::{nr_path, pool_dir, pools, Pool};

/// Huge pages one VM needs: (page size, nodes) → pages.
pub(super) struct Demand {
    vm: String,
    page: u64,
    pages: u64,
    nodes: Vec<u32>,
    how_node: String,
    assumed_size: bool,
}

pub(super) fn demands(ctx: &Ctx) -> (Vec<Demand>, Vec<String>) {
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    let default = default_hugepage(ctx);
    for vm in &ctx.host.vms {
        for r in &vm_ram(ctx, vm).pieces {
            let (page, assumed) = match &r.backing {
                Backing::Huge { page, .. } => (*page, false),
                Backing::Unknown(_) if r.piece.hugetlb_by_argv() => (default, true),
                _ => continue,
            };
            let (Some(page), Some(size)) = (page.filter(|p| *p > 0), r.size) else {
                unknown.push(format!(
                    "{}: size or page size of hugetlb RAM {} unknown",
                    vm.name(),
                    r.piece.backend_id.as_deref().unwrap_or("(boot RAM)")
                ));
                continue;
            };
            let (nodes, how_node) = ram_nodes(ctx, vm, &r.piece);
            out.push(Demand {
                vm: vm.name(),
                page,
                pages: size.div_ceil(page),
                nodes,
                how_node,
                assumed_size: assumed,
            });
        }
    }
    (out, unknown)
}

pub(super) fn hugepages_pool(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = guest_without_vms(ctx) {
        return vec![o];
    }
    let pools = match pools(ctx) {
        Ok(p) => p,
        Err(why) => {
            return vec![Outcome::unknown(
                "host",
                format!("huge page pools unreadable ({why})"),
            )]
        }
    };
    let (demands, unknown_demand) = demands(ctx);
    let evidence = evidence(&pools, &demands);
    let with_ev = |mut o: Outcome| {
        for (s, ob, ex) in &evidence {
            o = o.ev(s.clone(), ob.clone(), ex.clone());
        }
        o
    };
    if demands.is_empty() && unknown_demand.is_empty() {
        return vec![with_ev(without_demand(ctx, &pools))];
    }
    let mut j = Judgement {
        unknowns: unknown_demand,
        ..Judgement::default()
    };
    let sizes: BTreeSet<u64> = demands.iter().map(|d| d.page).collect();
    for page in &sizes {
        let of_size: Vec<&Demand> = demands.iter().filter(|d| d.page == *page).collect();
        judge_size(*page, &of_size, &pools, &mut j);
    }
    for p in &pools {
        let nr = p.global.nr.unwrap_or(0);
        if nr > 0 && !sizes.contains(&p.page) && nr.saturating_mul(p.page) >= GIB {
            j.warns.push(format!(
                "{nr} × {} pages ({}) are reserved but no running VM uses that size: stranded memory",
                human(p.page),
                human(nr.saturating_mul(p.page))
            ));
        }
    }
    let mut o = with_ev(j.outcome());
    if !j.fails.is_empty() {
        for (path, have, want) in j.targets {
            o = o.ev(path, have.to_string(), format!("≥ {want}"));
        }
        for d in j.pool_data {
            o = o.datum(d);
        }
    }
    vec![o]
}

/// What `fix` grows a pool to, as typed data: node (none: the host-wide pool), page size in
/// bytes, pages now, pages needed.
fn pool_datum(node: Option<u32>, page: u64, have: u64, need: u64) -> Datum {
    Datum::HugepagePool {
        node,
        page_kb: page / 1024,
        observed: have,
        at_least: need,
    }
}

/// The pools and each VM's demand, as evidence.
fn evidence(pools: &[Pool], demands: &[Demand]) -> Vec<(String, String, String)> {
    let mut evidence: Vec<(String, String, String)> = Vec::new();
    for p in pools {
        let nodes: Vec<String> = p
            .nodes
            .iter()
            .map(|(n, c)| {
                format!(
                    "node{n} {}{}",
                    c.nr.map_or("?".into(), |v| v.to_string()),
                    c.free.map(|f| format!(" (free {f})")).unwrap_or_default()
                )
            })
            .collect();
        evidence.push((
            pool_dir(p.page),
            format!(
                "nr_hugepages {} free {} surplus {}{}",
                p.global.nr.map_or("?".into(), |v| v.to_string()),
                p.global.free.map_or("?".into(), |v| v.to_string()),
                p.global.surplus.map_or("?".into(), |v| v.to_string()),
                if nodes.is_empty() {
                    String::new()
                } else {
                    format!("; per node: {}", nodes.join(", "))
                }
            ),
            String::new(),
        ));
    }
    for d in demands {
        evidence.push((
            format!("vm:{}", d.vm),
            format!(
                "needs {} × {} pages{} on {}",
                d.pages,
                human(d.page),
                if d.assumed_size {
                    " (page size assumed: the default)"
                } else {
                    ""
                },
                if d.nodes.is_empty() {
                    "any node".to_string()
                } else {
                    format!(
                        "node {} ({})",
                        d.nodes
                            .iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(","),
                        d.how_node
                    )
                }
            ),
            "pool of that size on that node covers it".into(),
        ));
    }
    evidence
}

/// No VM uses hugetlb pages: pools are informational, or stranded memory while VMs run.
fn without_demand(ctx: &Ctx, pools: &[Pool]) -> Outcome {
    let pooled: u64 = pools
        .iter()
        .map(|p| p.global.nr.unwrap_or(0).saturating_mul(p.page))
        .fold(0u64, u64::saturating_add);
    let msg = if pooled == 0 {
        "no huge page pools and no VM uses hugetlb pages: consider 1 GiB pools per node for large guests (guide §3.2.3)".to_string()
    } else {
        format!("{} reserved in huge page pools", human(pooled))
    };
    if ctx.host.vms.is_empty() || pooled < GIB {
        let msg = if ctx.host.vms.is_empty() && pooled > 0 {
            format!("{msg}; no running VM to judge them against")
        } else {
            msg
        };
        return Outcome::info("host", msg);
    }
    Outcome::warn(
        "host",
        format!("{msg} but no running VM uses hugetlb pages: that memory is stranded"),
    )
}

/// What the pools lack, collected over every page size and node.
#[derive(Default)]
struct Judgement {
    fails: Vec<String>,
    warns: Vec<String>,
    unknowns: Vec<String>,
    /// The pool sizes that would cover the VMs, as evidence `nr_hugepages` ≥ N: what
    /// `fix --generate-script` grows a pool to. Node-bound demands name the node's pool only
    /// (growing the global count would spread the pages over every node).
    targets: Vec<(String, u64, u64)>,
    /// The same targets as typed data for the fix planner (node, page size, have, need).
    pool_data: Vec<Datum>,
}

impl Judgement {
    /// Fail over unknown over warn over pass.
    fn outcome(&self) -> Outcome {
        if !self.fails.is_empty() {
            Outcome::fail(
                "host",
                format!(
                    "huge page pools do not cover the VMs: {}",
                    self.fails.join("; ")
                ),
            )
        } else if !self.unknowns.is_empty() {
            Outcome::unknown(
                "host",
                format!(
                    "cannot tell whether the pools cover every VM: {}",
                    self.unknowns.join("; ")
                ),
            )
        } else if !self.warns.is_empty() {
            Outcome::warn(
                "host",
                format!(
                    "every hugetlb VM fits its pool, but {}",
                    self.warns.join("; ")
                ),
            )
        } else {
            Outcome::pass(
                "host",
                "every hugetlb-backed VM's pages fit the pool of its page size on its node",
            )
        }
    }
}

/// The VMs that use pages of size `page` against that size's pool, globally and per node.
fn judge_size(page: u64, of_size: &[&Demand], pools: &[Pool], j: &mut Judgement) {
    let total: u64 = of_size.iter().fold(0u64, |a, d| a.saturating_add(d.pages));
    let Some(pool) = pools.iter().find(|p| p.page == page) else {
        j.fails.push(format!(
            "VMs need {total} × {} pages but this kernel has no {} pool",
            human(page),
            human(page)
        ));
        return;
    };
    let Some(nr) = pool.global.nr else {
        j.unknowns
            .push(format!("{} pool size unreadable", human(page)));
        return;
    };
    if total > nr && of_size.iter().all(|d| d.nodes.is_empty()) {
        j.targets.push((nr_path(None, page), nr, total));
        j.pool_data.push(pool_datum(None, page, nr, total));
    }
    if total > nr {
        let hint = if page == 2 * MIB && nr == 2000 {
            " (the guide's example reserves 2000 × 2 MiB = 3.9 GiB, which cannot back a 4 GiB guest: it needs 2048)"
        } else {
            ""
        };
        j.fails.push(format!(
            "VMs need {total} × {} pages but the pool has {nr}{hint}",
            human(page)
        ));
    }
    if pool.global.surplus.unwrap_or(0) > 0 {
        j.fails.push(format!(
            "{} × {} pages are surplus (overcommitted) pages: a VM relies on them and may not start again",
            pool.global.surplus.unwrap_or(0),
            human(page)
        ));
    }
    judge_nodes(page, of_size, pool, j);
}

/// Per node: demands confined to one node must fit that node's pool; demands over several
/// nodes must fit their sum; pools on nodes no VM draws from are stranded.
fn judge_nodes(page: u64, of_size: &[&Demand], pool: &Pool, j: &mut Judgement) {
    let mut per_node: BTreeMap<u32, (u64, Vec<String>)> = BTreeMap::new();
    for d in of_size {
        if let [n] = d.nodes.as_slice() {
            let e = per_node.entry(*n).or_default();
            e.0 = e.0.saturating_add(d.pages);
            e.1.push(d.vm.clone());
        } else if d.nodes.len() > 1 {
            let have: Option<u64> = d
                .nodes
                .iter()
                .map(|n| pool.nodes.get(n).and_then(|c| c.nr))
                .try_fold(0u64, |a, b| b.map(|b| a.saturating_add(b)));
            if let Some(have) = have {
                if d.pages > have {
                    j.fails.push(format!(
                        "{} needs {} × {} pages from nodes {:?} which hold {have}",
                        d.vm,
                        d.pages,
                        human(page),
                        d.nodes
                    ));
                }
            }
        }
    }
    if pool.nodes.is_empty() {
        return;
    }
    for (n, (need, vms)) in &per_node {
        match pool.nodes.get(n).and_then(|c| c.nr) {
            Some(have) if *need > have => {
                j.fails.push(format!(
                    "node {n} needs {need} × {} pages ({}) but its pool has {have}",
                    human(page),
                    vms.join(", ")
                ));
                j.targets.push((nr_path(Some(*n), page), have, *need));
                j.pool_data.push(pool_datum(Some(*n), page, have, *need));
            }
            Some(_) => {}
            None => j
                .unknowns
                .push(format!("node {n} {} pool unreadable", human(page))),
        }
    }
    // Pools on nodes no VM draws from, when every demand is node-bound.
    if of_size.iter().all(|d| d.nodes.len() == 1) {
        for (n, c) in &pool.nodes {
            let nr = c.nr.unwrap_or(0);
            if nr > 0 && !per_node.contains_key(n) && nr.saturating_mul(page) >= GIB {
                j.warns.push(format!(
                    "node {n} holds {nr} × {} pages that no running VM is bound to",
                    human(page)
                ));
            }
        }
    }
}
