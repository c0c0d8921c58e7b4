//! bios.numa: NUMA Optimized in firmware (a node per socket with local memory), SNC noted.

use super::readers::not_intel;
use crate::model::topology::NumaNode;
use crate::parse::cpulist;
use crate::rules::context::Ctx;
use crate::rules::facts::platform;
use crate::rules::outcome::Outcome;

/// What bios.numa reads: sockets, the SRAT, `numa=`, CONFIG_NUMA and the nodes with CPUs.
struct Seen<'a> {
    sockets: Option<u32>,
    srat: Option<bool>,
    numa_param: Option<String>,
    kconfig_numa: Option<bool>,
    cpu_nodes: Vec<&'a NumaNode>,
}

/// NUMA Optimized: at least one CPU-bearing node per socket, each with local memory. More
/// nodes than sockets is Sub-NUMA Clustering, noted.
pub(super) fn bios_numa(ctx: &Ctx) -> Vec<Outcome> {
    if let Some(o) = not_intel(ctx) {
        return o;
    }
    let Some(seen) = gather(ctx) else {
        return vec![Outcome::unknown(
            "host",
            "the NUMA node list (/sys/devices/system/node) could not be read",
        )];
    };
    let Some(sockets) = seen.sockets else {
        return vec![evidence(
            &seen,
            Outcome::unknown(
                "host",
                "the socket count could not be read (CPU topology and SMBIOS unavailable)",
            ),
        )];
    };
    vec![evidence(&seen, judge(&seen, sockets))]
}

/// `None` when the node list could not be read.
fn gather<'a>(ctx: &Ctx<'a>) -> Option<Seen<'a>> {
    let sockets = ctx.host.topology.sockets.or_else(|| {
        ctx.host
            .platform
            .as_ref()
            .map(|p| p.sockets_populated)
            .filter(|n| *n > 0)
    });
    let srat = platform::acpi_table(ctx, "SRAT");
    let numa_param = ctx.host.cmdline.as_ref().and_then(|c| {
        c.params
            .iter()
            .rev()
            .find(|p| p.name == "numa")
            .map(|p| p.value.clone().unwrap_or_default())
    });
    let kconfig_numa = ctx.host.kconfig.as_ref().and_then(|k| k.enabled("NUMA"));
    let nodes = ctx.host.nodes.as_ref()?;
    Some(Seen {
        sockets,
        srat,
        numa_param,
        kconfig_numa,
        cpu_nodes: nodes.iter().filter(|n| !n.cpus.is_empty()).collect(),
    })
}

/// The verdict for a host with a known socket count.
fn judge(seen: &Seen, sockets: u32) -> Outcome {
    let cpu_nodes = &seen.cpu_nodes;
    let memless: Vec<u32> = cpu_nodes
        .iter()
        .filter(|n| n.mem_total_kb == Some(0))
        .map(|n| n.id)
        .collect();
    let per_socket = Some(sockets)
        .filter(|s| *s > 0)
        .map(|s| cpu_nodes.len() as u32 / s);
    if sockets < 2 {
        if cpu_nodes.len() > 1 {
            Outcome::info(
                "host",
                format!(
                    "single socket split into {} nodes: Sub-NUMA Clustering is active (pin per sub-NUMA cluster)",
                    cpu_nodes.len()
                ),
            )
        } else {
            Outcome::na(
                "host",
                "single socket without Sub-NUMA Clustering: no NUMA setting to judge",
            )
        }
    } else if let Some(v) = seen
        .numa_param
        .as_deref()
        .filter(|v| *v == "off" || v.starts_with("fake"))
    {
        Outcome::warn(
            "host",
            format!("the command line has numa={v}: the kernel ignores the firmware's NUMA topology; remove it"),
        )
    } else if (cpu_nodes.len() as u32) < sockets {
        too_few_nodes(seen, sockets)
    } else if !memless.is_empty() {
        Outcome::warn(
            "host",
            format!(
                "node(s) {} have CPUs but no memory: their CPUs always access remote memory (check DIMM population)",
                memless
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        )
    } else if per_socket.is_some_and(|k| k > 1) {
        Outcome::pass(
            "host",
            format!(
                "NUMA is exposed per socket and Sub-NUMA Clustering is active (SNC-{}, {} nodes on {sockets} sockets): placement and housekeeping are per sub-NUMA cluster",
                per_socket.unwrap_or(2),
                cpu_nodes.len()
            ),
        )
    } else {
        Outcome::pass(
            "host",
            format!(
                "{sockets} sockets, {} NUMA nodes with CPUs and local memory",
                cpu_nodes.len()
            ),
        )
    }
}

/// Fewer CPU-bearing nodes than sockets: why, from the kernel build and the SRAT.
fn too_few_nodes(seen: &Seen, sockets: u32) -> Outcome {
    let cause = if seen.kconfig_numa == Some(false) {
        "the kernel is built without CONFIG_NUMA".to_string()
    } else if seen.srat == Some(false) {
        "the firmware publishes no SRAT: NUMA Optimized is disabled (memory interleaved across sockets)".to_string()
    } else {
        "the firmware interleaves memory across sockets (NUMA Optimized disabled / Node Interleaving enabled)".to_string()
    };
    Outcome::fail(
        "host",
        format!(
            "{sockets} sockets but only {} node(s) with CPUs: {cause}",
            seen.cpu_nodes.len()
        ),
    )
}

/// The evidence rows: sockets, nodes, the SRAT and `numa=`.
fn evidence(seen: &Seen, o: Outcome) -> Outcome {
    let cpu_nodes = &seen.cpu_nodes;
    o.ev(
        platform::PACKAGE_ID_SOURCE,
        seen.sockets
            .map_or_else(|| "unknown".into(), |s| format!("{s} socket(s)")),
        "",
    )
    .ev(
        platform::NODE_CPULIST_SOURCE,
        format!(
            "{} node(s) with CPUs: {}",
            cpu_nodes.len(),
            cpu_nodes
                .iter()
                .map(|n| format!(
                    "node{} cpus {} mem {}",
                    n.id,
                    cpulist::format(&n.cpus),
                    n.mem_total_kb
                        .map_or_else(|| "?".into(), |k| format!("{} MiB", k / 1024))
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        "at least one node with CPUs and memory per socket",
    )
    .ev(
        platform::ACPI_TABLES,
        match seen.srat {
            Some(true) => "SRAT present",
            Some(false) => "SRAT absent",
            None => "unreadable",
        },
        "SRAT present",
    )
    .ev(
        format!("{} numa=", platform::CMDLINE),
        seen.numa_param
            .as_ref()
            .map_or_else(|| "not set".to_string(), |v| format!("numa={v}")),
        "not set",
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::{msg, st, TABLES};
    use crate::rules::testkit::SnapBuilder;

    #[test]
    fn numa() {
        let two = SnapBuilder::new()
            .icx("vmx")
            .topology(2, 4, 1)
            .dir(TABLES, &["SRAT", "SLIT"])
            .build();
        assert_eq!(st(&two, "bios.numa"), "pass");
        // Two sockets, one node: interleaved.
        let mut b = SnapBuilder::new()
            .icx("vmx")
            .topology(2, 2, 1)
            .dir(TABLES, &["APIC"]);
        b = b
            .dir("/sys/devices/system/node", &["node0"])
            .file("/sys/devices/system/node/node0/cpulist", "0-3");
        let inter = b.build();
        assert_eq!(st(&inter, "bios.numa"), "fail");
        assert!(msg(&inter, "bios.numa").contains("no SRAT"));
        let off = SnapBuilder::new()
            .icx("vmx")
            .topology(2, 2, 1)
            .file("/proc/cmdline", "ro numa=off")
            .build();
        assert_eq!(st(&off, "bios.numa"), "warn");
        // SNC-2 on two sockets: pass, noted.
        let snc = SnapBuilder::new()
            .icx("vmx")
            .topology(2, 4, 1)
            .dir(
                "/sys/devices/system/node",
                &["node0", "node1", "node2", "node3"],
            )
            .file("/sys/devices/system/node/node0/cpulist", "0-1")
            .file("/sys/devices/system/node/node1/cpulist", "2-3")
            .file("/sys/devices/system/node/node2/cpulist", "4-5")
            .file("/sys/devices/system/node/node3/cpulist", "6-7")
            .build();
        assert_eq!(st(&snc, "bios.numa"), "pass");
        assert!(msg(&snc, "bios.numa").contains("SNC-2"));
        let one = SnapBuilder::new().icx("vmx").topology(1, 4, 1).build();
        assert_eq!(st(&one, "bios.numa"), "not_applicable");
        assert_eq!(
            st(&SnapBuilder::new().icx("vmx").build(), "bios.numa"),
            "unknown"
        );
    }
}
