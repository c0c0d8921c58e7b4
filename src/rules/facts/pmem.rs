//! Persistent memory as libnvdimm and device-DAX expose it: the nd bus's regions (read once
//! per scan: host.pmem.appdirect and host.pmem.devdax ask) and namespaces
//! (`/sys/bus/nd/devices`), the dax devices with the driver that owns each
//! (`/sys/bus/dax/devices`), and the `/dev` nodes VMs name as vNVDIMM backends.

use crate::parse::sysfs::dec_or_hex;
use crate::rules::context::Ctx;

pub(crate) const ND: &str = "/sys/bus/nd/devices";
pub(crate) const DAX: &str = "/sys/bus/dax/devices";
const DEV: &str = "/dev";

/// A number of an nd or dax attribute (decimal or hex).
fn number(ctx: &Ctx, path: &str) -> Option<u64> {
    ctx.text(path).and_then(dec_or_hex)
}

/// An nd region (`regionN`).
#[derive(Debug, Clone)]
pub(crate) struct Region {
    pub name: String,
    pub devtype: Option<String>,
    pub size: Option<u64>,
    pub node: Option<String>,
}

impl Region {
    /// An App Direct region with capacity: `devtype` nd_pmem and a non-zero size.
    pub fn is_app_direct(&self) -> bool {
        self.devtype.as_deref() == Some("nd_pmem") && self.size.unwrap_or(0) > 0
    }
}

/// The nd bus's regions, read once per scan: `Err(None)` when there is no nd bus,
/// `Err(Some(why))` when its listing is unreadable.
pub(crate) fn regions<'c>(ctx: &'c Ctx) -> &'c Result<Vec<Region>, Option<String>> {
    ctx.cache.pmem_regions.get_or_init(|| read_regions(ctx))
}

fn read_regions(ctx: &Ctx) -> Result<Vec<Region>, Option<String>> {
    let names = match ctx.dir(ND) {
        Ok(n) => n,
        Err(None) => return Err(None),
        Err(Some(e)) => return Err(Some(format!("{ND}: {}", e.describe()))),
    };
    Ok(names
        .iter()
        .filter(|n| n.starts_with("region"))
        .map(|n| Region {
            name: n.clone(),
            devtype: ctx.text(&format!("{ND}/{n}/devtype")).map(str::to_string),
            size: number(ctx, &format!("{ND}/{n}/size")),
            node: ctx.text(&format!("{ND}/{n}/numa_node")).map(str::to_string),
        })
        .collect())
}

/// A namespace with capacity (seed namespaces, of size 0, are left out).
#[derive(Debug, Clone)]
pub(crate) struct Namespace {
    pub name: String,
    pub size: u64,
    /// `mode` (`dax`/`devdax`, `fsdax`, `raw`, `sector`), `?` when unreadable.
    pub mode: String,
}

/// The namespaces of the nd bus, or why its listing is unreadable.
pub(crate) fn namespaces(ctx: &Ctx) -> Result<Vec<Namespace>, String> {
    let names = ctx.dir(ND).map_err(|_| format!("{ND} unreadable"))?;
    Ok(names
        .iter()
        .filter(|n| n.starts_with("namespace"))
        .filter_map(|n| {
            let size = number(ctx, &format!("{ND}/{n}/size")).unwrap_or(0);
            (size > 0).then(|| Namespace {
                name: n.clone(),
                size,
                mode: ctx
                    .text(&format!("{ND}/{n}/mode"))
                    .unwrap_or("?")
                    .to_string(),
            })
        })
        .collect())
}

/// A dax device (`daxX.Y`) and the driver that owns it (`device_dax`, `kmem`).
#[derive(Debug, Clone)]
pub(crate) struct DaxDevice {
    pub name: String,
    pub driver: Option<String>,
}

/// The dax devices (none when the dax bus is absent), or why the listing is unreadable.
pub(crate) fn dax_devices(ctx: &Ctx) -> Result<Vec<DaxDevice>, String> {
    let names: Vec<String> = match ctx.dir(DAX) {
        Ok(d) => d.iter().filter(|n| n.starts_with("dax")).cloned().collect(),
        Err(None) => Vec::new(),
        Err(Some(e)) => return Err(format!("{DAX}: {}", e.describe())),
    };
    Ok(names
        .into_iter()
        .map(|name| {
            let driver = ctx.link(&format!("{DAX}/{name}/driver")).map(|l| {
                l.trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or(l)
                    .to_string()
            });
            DaxDevice { name, driver }
        })
        .collect())
}

/// `/dev/NAME` is listed (a device node a vNVDIMM backend can open).
pub(crate) fn dev_node_listed(ctx: &Ctx, name: &str) -> bool {
    ctx.dir_has(DEV, name) == Some(true)
}
