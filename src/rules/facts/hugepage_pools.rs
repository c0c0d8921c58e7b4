//! Huge page pools: every page size with its global and per-node counters
//! (`/sys/kernel/mm/hugepages`, `/sys/devices/system/node/nodeN/hugepages`).

use crate::parse::sysfs::hugepage_dir_kb;
use crate::rules::context::Ctx;
use std::collections::BTreeMap;

const HP_DIR: &str = "/sys/kernel/mm/hugepages";
const NODE_DIR: &str = "/sys/devices/system/node";

fn num(ctx: &Ctx, path: &str) -> Option<u64> {
    ctx.text(path).and_then(|t| t.parse().ok())
}

#[derive(Debug, Clone, Default)]
pub(crate) struct PoolCounts {
    pub nr: Option<u64>,
    pub free: Option<u64>,
    pub surplus: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Pool {
    pub page: u64,
    pub global: PoolCounts,
    pub nodes: BTreeMap<u32, PoolCounts>,
}

/// Every huge page size with its global and per-node counters; read once per scan (the pool
/// and the mount rule ask).
pub(crate) fn pools(ctx: &Ctx) -> Result<Vec<Pool>, String> {
    ctx.cache
        .hugepage_pools
        .get_or_init(|| read_pools(ctx))
        .clone()
}

fn read_pools(ctx: &Ctx) -> Result<Vec<Pool>, String> {
    let names = match ctx.dir(HP_DIR) {
        Ok(n) => n,
        Err(None) => return Ok(Vec::new()),
        Err(Some(e)) => return Err(format!("{HP_DIR}: {}", e.describe())),
    };
    let node_ids: Vec<u32> = ctx.host.nodes.iter().flatten().map(|n| n.id).collect();
    let mut out = Vec::new();
    for n in names {
        let Some(kb) = hugepage_dir_kb(n) else {
            continue;
        };
        let g = |f: &str| num(ctx, &format!("{HP_DIR}/{n}/{f}"));
        let mut pool = Pool {
            page: kb.saturating_mul(1024),
            global: PoolCounts {
                nr: g("nr_hugepages"),
                free: g("free_hugepages"),
                surplus: g("surplus_hugepages"),
            },
            nodes: BTreeMap::new(),
        };
        for id in &node_ids {
            let p = |f: &str| num(ctx, &format!("{NODE_DIR}/node{id}/hugepages/{n}/{f}"));
            let c = PoolCounts {
                nr: p("nr_hugepages"),
                free: p("free_hugepages"),
                surplus: p("surplus_hugepages"),
            };
            if c.nr.is_some() {
                pool.nodes.insert(*id, c);
            }
        }
        out.push(pool);
    }
    out.sort_by_key(|p| p.page);
    Ok(out)
}

/// The sysfs directory of the host-wide pool of `page`-byte pages.
pub(crate) fn pool_dir(page: u64) -> String {
    format!("{HP_DIR}/hugepages-{}kB", page / 1024)
}

/// The `nr_hugepages` file that sizes a pool: the host-wide one, or a node's.
pub(crate) fn nr_path(node: Option<u32>, page: u64) -> String {
    match node {
        None => format!("{}/nr_hugepages", pool_dir(page)),
        Some(n) => format!(
            "{NODE_DIR}/node{n}/hugepages/hugepages-{}kB/nr_hugepages",
            page / 1024
        ),
    }
}
