//! CPU topology and NUMA nodes from sysfs (not /proc/cpuinfo, whose physical id/core id pairs
//! can mislead: dependencies.md).

use crate::parse::{cpulist, sysfs};
use crate::snapshot::Snapshot;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

const CPU: &str = "/sys/devices/system/cpu";
const NODE: &str = "/sys/devices/system/node";

/// Where one logical CPU sits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuPlace {
    pub package: u32,
    pub die: u32,
    pub core: u32,
    pub siblings: BTreeSet<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Topology {
    /// Online CPUs (`/sys/devices/system/cpu/online`); `None` when unreadable.
    pub online: Option<BTreeSet<u32>>,
    pub cpus: BTreeMap<u32, CpuPlace>,
    pub sockets: Option<u32>,
    pub cores: Option<u32>,
    pub threads: Option<u32>,
}

impl Topology {
    pub fn from_snapshot(s: &Snapshot) -> Topology {
        let online = s
            .text(&format!("{CPU}/online"))
            .and_then(|t| cpulist::parse(t).ok());
        let mut cpus = BTreeMap::new();
        for cpu in online.iter().flatten() {
            let topo = |f: &str| {
                s.text(&format!("{CPU}/cpu{cpu}/topology/{f}"))
                    .and_then(|v| v.trim().parse::<i64>().ok())
            };
            let (Some(package), Some(core)) = (topo("physical_package_id"), topo("core_id")) else {
                continue;
            };
            let siblings = s
                .text(&format!("{CPU}/cpu{cpu}/topology/thread_siblings_list"))
                .and_then(|t| cpulist::parse(t).ok())
                .unwrap_or_default();
            cpus.insert(
                *cpu,
                CpuPlace {
                    // -1 appears on some virtual machines; fold it into package 0.
                    package: package.max(0) as u32,
                    die: topo("die_id").unwrap_or(0).max(0) as u32,
                    core: core.max(0) as u32,
                    siblings,
                },
            );
        }
        let complete = online
            .as_ref()
            .is_some_and(|o| o.len() == cpus.len() && !o.is_empty());
        let (sockets, cores) = if complete {
            let pk: BTreeSet<u32> = cpus.values().map(|c| c.package).collect();
            let co: BTreeSet<(u32, u32, u32)> =
                cpus.values().map(|c| (c.package, c.die, c.core)).collect();
            (Some(pk.len() as u32), Some(co.len() as u32))
        } else {
            (None, None)
        };
        Topology {
            threads: online.as_ref().map(|o| o.len() as u32),
            online,
            cpus,
            sockets,
            cores,
        }
    }
}

/// One NUMA node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumaNode {
    pub id: u32,
    pub cpus: BTreeSet<u32>,
    pub mem_total_kb: Option<u64>,
    pub distances: Vec<u32>,
}

/// NUMA nodes, or `None` when `/sys/devices/system/node` could not be read.
pub fn numa_nodes(s: &Snapshot) -> Option<Vec<NumaNode>> {
    let listing = s.dir(NODE)?.value()?;
    let mut nodes: Vec<NumaNode> = listing
        .iter()
        .filter_map(|n| n.strip_prefix("node")?.parse::<u32>().ok())
        .map(|id| {
            let base = format!("{NODE}/node{id}");
            NumaNode {
                id,
                cpus: s
                    .text(&format!("{base}/cpulist"))
                    .and_then(|t| cpulist::parse(t).ok())
                    .unwrap_or_else(|| cpus_from_links(s, &base)),
                mem_total_kb: s
                    .text(&format!("{base}/meminfo"))
                    .and_then(|t| sysfs::node_meminfo_kb(t, "MemTotal")),
                distances: s
                    .text(&format!("{base}/distance"))
                    .map(|t| {
                        t.split_whitespace()
                            .filter_map(|d| d.parse().ok())
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    nodes.sort_by_key(|n| n.id);
    Some(nodes)
}

/// Older kernels (and trimmed sysfs copies) lack `nodeN/cpulist`; the node directory still
/// holds one `cpuM` link per CPU.
fn cpus_from_links(s: &Snapshot, node_dir: &str) -> BTreeSet<u32> {
    s.dir(node_dir)
        .and_then(|f| f.value())
        .map(|names| {
            names
                .iter()
                .filter_map(|n| n.strip_prefix("cpu")?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Fact;

    #[test]
    fn node_cpus_from_links_when_cpulist_is_missing() {
        let mut s = crate::rules::testkit::SnapBuilder::new().build();
        s.dirs.insert(
            NODE.into(),
            Fact::Value(vec!["node0".into(), "node1".into(), "online".into()]),
        );
        s.dirs.insert(
            format!("{NODE}/node1"),
            Fact::Value(vec!["cpu4".into(), "cpu12".into(), "meminfo".into()]),
        );
        s.files
            .insert(format!("{NODE}/node0/cpulist"), Fact::Value("0-3\n".into()));
        let n = numa_nodes(&s).unwrap();
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].cpus.len(), 4);
        assert_eq!(n[1].cpus.iter().copied().collect::<Vec<_>>(), [4, 12]);
    }
}
