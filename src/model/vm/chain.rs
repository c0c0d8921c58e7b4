//! Backend chains: what a legacy `-drive` or a `-blockdev` node graph resolves to, and the
//! disk fields (format, protocol, path, cache mode, aio) derived from it.

use super::build::Ctx;
use super::{Aio, BlockNode, CacheMode, Disk};
use crate::parse::qemu::props::Props;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// `-blockdev` properties by node-name.
pub(super) type Nodes<'a> = HashMap<String, &'a Props>;

/// Longest chain followed (filters + format + protocol is 3-4 in practice); stops loops too.
const MAX_CHAIN: usize = 16;

/// Protocol drivers of QEMU's file-posix, the only ones with an `aio=` engine.
const FILE_POSIX: &[&str] = &["file", "host_device", "host_cdrom"];

/// Format and filter drivers (everything else at the bottom of a chain is a protocol).
const FORMATS: &[&str] = &[
    "qcow2",
    "raw",
    "qcow",
    "qed",
    "vmdk",
    "vdi",
    "vhdx",
    "vpc",
    "parallels",
    "luks",
    "dmg",
    "cloop",
    "bochs",
    "throttle",
    "copy-on-read",
    "preallocate",
    "compress",
    "blkdebug",
    "blkverify",
    "quorum",
    "replication",
    "snapshot-access",
    "copy-before-write",
];

/// What a legacy `-drive` says about its backend.
pub(super) struct Legacy {
    pub chain: Chain,
    pub write_cache: bool,
    pub read_only: bool,
    pub cdrom: bool,
}

/// `-drive` options: `cache=` sets direct/no-flush/writeback defaults, dotted `cache.*` keys
/// override them; `aio=` and `file=` belong to the protocol layer.
pub(super) fn legacy_chain(ctx: &mut Ctx<'_>, p: &Props) -> Legacy {
    let what = "-drive";
    let (mut direct, mut no_flush, mut wce) = (false, false, true);
    if let Some(mode) = p.str("cache") {
        match cache_mode_flags(&mode) {
            Some(f) => (direct, no_flush, wce) = f,
            None => ctx
                .notes
                .push(format!("{what}: cache={mode:?} is not a cache mode")),
        }
    }
    direct = ctx.take(p.bool("cache.direct"), what).unwrap_or(direct);
    no_flush = ctx.take(p.bool("cache.no-flush"), what).unwrap_or(no_flush);
    wce = ctx.take(p.bool("cache.writeback"), what).unwrap_or(wce);
    let read_only = ctx.take(p.bool("readonly"), what).unwrap_or(false)
        || ctx.take(p.bool("read-only"), what).unwrap_or(false);
    let top = BlockNode {
        node_name: p.str("id"),
        driver: p.str("format").or_else(|| p.str("driver")),
        filename: None,
        cache_direct: Some(direct),
        cache_no_flush: Some(no_flush),
        aio: None,
        read_only: Some(read_only),
    };
    let mut chain = Chain {
        nodes: vec![top],
        direct,
        no_flush,
    };
    let file_props = p.children("file");
    // `file=PATH` may come with `file.locking=off` & co.: the string is the child's filename.
    let filename = p.str("file");
    if filename.is_some() || !file_props.is_empty() {
        let driver = file_props
            .str("driver")
            .or_else(|| filename.as_deref().map(infer_protocol));
        let node = BlockNode {
            node_name: file_props.str("node-name"),
            filename: filename.or_else(|| describe_protocol(&file_props)),
            cache_direct: ctx.take(file_props.bool("cache.direct"), what),
            cache_no_flush: ctx.take(file_props.bool("cache.no-flush"), what),
            aio: file_props.str("aio").or_else(|| p.str("aio")),
            read_only: None,
            driver,
        };
        // The implicit file child inherits the drive's cache options unless it sets its own.
        chain.direct = node.cache_direct.unwrap_or(direct);
        chain.no_flush |= node.cache_no_flush.unwrap_or(no_flush);
        chain.nodes.push(node);
    }
    Legacy {
        chain,
        write_cache: wce,
        read_only,
        cdrom: p.str("media").as_deref() == Some("cdrom"),
    }
}

/// (direct, no-flush, write cache) for a `cache=` mode (`off` is an old alias of `none`).
fn cache_mode_flags(mode: &str) -> Option<(bool, bool, bool)> {
    Some(match mode {
        "none" | "off" => (true, false, true),
        "directsync" => (true, false, false),
        "writeback" => (false, false, true),
        "writethrough" => (false, false, false),
        "unsafe" => (false, true, true),
        _ => return None,
    })
}

/// The protocol QEMU picks for a legacy filename: a `proto:` prefix it knows, a device node,
/// or a plain file. (QEMU stats the path; from argv alone `/dev/` is the best evidence.)
fn infer_protocol(filename: &str) -> String {
    const PROTOCOLS: &[&str] = &[
        "nbd",
        "nbd+unix",
        "nbd+tcp",
        "rbd",
        "iscsi",
        "gluster",
        "gluster+tcp",
        "gluster+unix",
        "http",
        "https",
        "ftp",
        "ftps",
        "ssh",
        "nfs",
        "sheepdog",
        "vvfat",
        "json",
        "fat",
        "nvme",
    ];
    if let Some((proto, _)) = filename.split_once(':') {
        if PROTOCOLS.contains(&proto) {
            return proto.to_string();
        }
    }
    if filename.starts_with("/dev/cdrom") || filename.starts_with("/dev/sr") {
        "host_cdrom".to_string()
    } else if filename.starts_with("/dev/") {
        "host_device".to_string()
    } else {
        "file".to_string()
    }
}

/// A readable target for protocol nodes without `filename` (network storage, NVMe).
fn describe_protocol(p: &Props) -> Option<String> {
    if let Some(f) = p.str("filename") {
        return Some(f);
    }
    let driver = p.str("driver").unwrap_or_default();
    let host = p
        .str("server.host")
        .or_else(|| p.str("server.0.host"))
        .unwrap_or_default();
    let port = p
        .str("server.port")
        .map(|x| format!(":{x}"))
        .unwrap_or_default();
    let s = match driver.as_str() {
        "nbd" => match (p.str("server.path"), p.str("export").unwrap_or_default()) {
            (Some(sock), export) => format!("nbd+unix:///{export}?socket={sock}"),
            (None, export) => format!("nbd://{host}{port}/{export}"),
        },
        "rbd" => format!(
            "rbd:{}/{}",
            p.str("pool").unwrap_or_default(),
            p.str("image").unwrap_or_default()
        ),
        "iscsi" => format!(
            "iscsi://{}/{}/{}",
            p.str("portal").unwrap_or_default(),
            p.str("target").unwrap_or_default(),
            p.str("lun").unwrap_or_default()
        ),
        "gluster" => format!(
            "gluster://{host}/{}/{}",
            p.str("volume").unwrap_or_default(),
            p.str("path").unwrap_or_default().trim_start_matches('/')
        ),
        "nfs" | "ssh" => format!("{driver}://{host}{}", p.str("path").unwrap_or_default()),
        "http" | "https" | "ftp" | "ftps" => p.str("url")?,
        "nvme" => format!(
            "nvme://{}/{}",
            p.str("device").unwrap_or_default(),
            p.str("namespace").unwrap_or_default()
        ),
        _ => p.str("path")?,
    };
    Some(s)
}

fn node_from(ctx: &mut Ctx<'_>, p: &Props, name: Option<String>) -> BlockNode {
    let what = "-blockdev";
    BlockNode {
        node_name: name,
        driver: p.str("driver"),
        filename: describe_protocol(p),
        cache_direct: ctx.take(p.bool("cache.direct"), what),
        cache_no_flush: ctx.take(p.bool("cache.no-flush"), what),
        aio: p.str("aio"),
        read_only: ctx.take(p.bool("read-only"), what),
    }
}

/// A resolved chain and its effective host cache flags.
pub(super) struct Chain {
    nodes: Vec<BlockNode>,
    /// O_DIRECT as the protocol node (the one doing host I/O) ends up with.
    direct: bool,
    /// Any node ignoring flushes makes guest flushes vanish.
    no_flush: bool,
}

/// Follows `file` children from node `start`: a string is a node-name reference, dotted
/// `file.*` keys are an inline child. Inline children inherit unset cache options from their
/// parent; referenced nodes were opened on their own and keep QEMU's defaults (off).
pub(super) fn blockdev_chain(ctx: &mut Ctx<'_>, nodes: &Nodes<'_>, start: &str) -> Chain {
    let mut chain = Chain {
        nodes: Vec::new(),
        direct: false,
        no_flush: false,
    };
    let Some(first) = nodes.get(start) else {
        return chain;
    };
    let mut cur: Props = (*first).clone();
    let mut name = Some(start.to_string());
    let mut seen = HashSet::new();
    seen.insert(start.to_string());
    let mut inherited = (false, false);
    while chain.nodes.len() < MAX_CHAIN {
        let node = node_from(ctx, &cur, name.clone());
        let eff = (
            node.cache_direct.unwrap_or(inherited.0),
            node.cache_no_flush.unwrap_or(inherited.1),
        );
        chain.direct = eff.0;
        chain.no_flush |= eff.1;
        chain.nodes.push(node);
        match cur.get("file") {
            Some(Value::String(r)) => {
                let r = r.clone();
                if !seen.insert(r.clone()) {
                    ctx.notes.push(format!("-blockdev chain loops at {r:?}"));
                    break;
                }
                match nodes.get(&r) {
                    Some(next) => {
                        cur = (*next).clone();
                        name = Some(r);
                        inherited = (false, false);
                    }
                    None => {
                        ctx.notes
                            .push(format!("-blockdev file={r:?} names no node"));
                        break;
                    }
                }
            }
            _ if cur.has_children("file") => {
                cur = cur.children("file");
                name = cur.str("node-name");
                inherited = eff;
            }
            _ => break,
        }
    }
    chain
}

/// The backing image named on the command line: the top node's `backing` (a reference or an
/// inline object), resolved to its protocol's filename.
pub(super) fn backing_of(ctx: &mut Ctx<'_>, nodes: &Nodes<'_>, top_name: &str) -> Option<String> {
    let props = nodes.get(top_name)?;
    match props.get("backing") {
        Some(Value::String(r)) if r != top_name => {
            let chain = blockdev_chain(ctx, nodes, r);
            chain.nodes.last().and_then(|n| n.filename.clone())
        }
        _ if props.has_children("backing") => {
            let b = props.children("backing");
            b.str("file.filename")
                .or_else(|| b.str("filename"))
                .or_else(|| describe_protocol(&b.children("file")))
        }
        _ => None,
    }
}

/// Fills format/protocol/path, the aio engine and the cache fields from a resolved chain.
pub(super) fn finish(disk: &mut Disk, chain: Chain, write_cache: Option<bool>) {
    disk.chain = chain.nodes;
    if disk.chain.is_empty() {
        return;
    }
    let top = disk.chain.first();
    let bottom = disk.chain.last();
    disk.format = if disk.chain.len() > 1 {
        top.and_then(|n| n.driver.clone())
    } else {
        None
    };
    // A lone node is a protocol node when its driver is one (`-device drive=<protocol node>`);
    // a lone legacy node without file= is an empty drive.
    let lone_is_protocol = bottom
        .and_then(|n| n.driver.as_deref())
        .is_some_and(|d| !FORMATS.contains(&d));
    if disk.chain.len() > 1 || lone_is_protocol {
        disk.protocol = bottom.and_then(|n| n.driver.clone());
        disk.path = bottom.and_then(|n| n.filename.clone());
    }
    disk.aio = match disk.protocol.as_deref() {
        Some(p) if FILE_POSIX.contains(&p) => Some(
            bottom
                .and_then(|n| n.aio.as_deref())
                .map_or(Aio::Threads, Aio::parse),
        ),
        _ => None,
    };
    disk.cache_direct = Some(chain.direct);
    disk.cache_no_flush = Some(chain.no_flush);
    disk.write_cache = write_cache;
    disk.cache_mode = Some(CacheMode::derive(
        chain.direct,
        chain.no_flush,
        write_cache.unwrap_or(true),
    ));
}
