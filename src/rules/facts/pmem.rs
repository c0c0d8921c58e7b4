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

/// The NUMA node of nd region `regionN` as written (-1: firmware reports none), with the path
/// it was read from; `None` when unreadable.
pub(crate) fn region_numa_node(ctx: &Ctx, region: &str) -> (String, Option<i64>) {
    let path = format!("{ND}/region{region}/numa_node");
    let node = ctx.text(&path).and_then(|v| v.parse::<i64>().ok());
    (path, node)
}

/// `daxX.Y` exists: as `/dev/daxX.Y` or on the dax bus.
pub(crate) fn dax_device_exists(ctx: &Ctx, name: &str) -> bool {
    dev_node_listed(ctx, name) || ctx.dir(DAX).is_ok_and(|d| d.iter().any(|x| x == name))
}

/// A dax device's size and alignment in bytes (sysfs writes them in decimal or hex), `None`
/// each when unreadable.
pub(crate) fn dax_geometry(ctx: &Ctx, name: &str) -> (Option<u64>, Option<u64>) {
    let read = |attr: &str| {
        ctx.text(&format!("{DAX}/{name}/{attr}"))
            .and_then(crate::parse::sysfs::dec_or_hex)
    };
    (read("size"), read("align"))
}

/// The `/dev/pmem*` block devices (a guest's view of its vNVDIMMs); `None` when `/dev` was not
/// listed.
pub(crate) fn pmem_dev_nodes(ctx: &Ctx) -> Option<Vec<String>> {
    ctx.dir(DEV).ok().map(|d| {
        d.iter()
            .filter(|n| n.starts_with("pmem"))
            .cloned()
            .collect()
    })
}

/// `/dev/NAME` is listed (a device node a vNVDIMM backend can open).
pub(crate) fn dev_node_listed(ctx: &Ctx, name: &str) -> bool {
    ctx.dir_has(DEV, name) == Some(true)
}

#[cfg(test)]
mod tests {
    use super::{dax_devices, dev_node_listed, namespaces, regions, DAX, ND};
    use crate::model::host::HostModel;
    use crate::report::Profile;
    use crate::rules::context::Ctx;
    use crate::rules::testkit::SnapBuilder;

    #[test]
    fn regions_namespaces_and_dax_devices_with_their_drivers() {
        let s = SnapBuilder::new()
            .dir(
                ND,
                &[
                    "region0",
                    "region1",
                    "namespace0.0",
                    "namespace0.1",
                    "ndbus0",
                ],
            )
            .file(&format!("{ND}/region0/devtype"), "nd_pmem")
            .file(&format!("{ND}/region0/size"), "0x3f0000000")
            .file(&format!("{ND}/region0/numa_node"), "0")
            .file(&format!("{ND}/region1/devtype"), "nd_pmem")
            .file(&format!("{ND}/region1/size"), "0")
            .file(&format!("{ND}/namespace0.0/size"), "16909336576")
            .file(&format!("{ND}/namespace0.0/mode"), "devdax")
            .file(&format!("{ND}/namespace0.1/size"), "0")
            .dir(DAX, &["dax0.0", "dax1.0"])
            .link(
                &format!("{DAX}/dax0.0/driver"),
                "../../../bus/dax/drivers/device_dax",
            )
            .dir("/dev", &["dax0.0", "null"])
            .build();
        let h = HostModel::build(&s);
        let ctx = Ctx::new(&s, &h, Profile::Throughput);
        let regs = regions(&ctx).as_ref().expect("nd bus listed");
        assert_eq!(regs.len(), 2);
        assert_eq!(regs[0].size, Some(0x0003_f000_0000));
        assert!(regs[0].is_app_direct());
        assert!(
            !regs[1].is_app_direct(),
            "an empty region is not App Direct"
        );
        let ns = namespaces(&ctx).expect("listed");
        assert_eq!(ns.len(), 1, "the seed namespace of size 0 is left out");
        assert_eq!(
            (ns[0].name.as_str(), ns[0].mode.as_str()),
            ("namespace0.0", "devdax")
        );
        let daxes = dax_devices(&ctx).expect("listed");
        assert_eq!(daxes[0].driver.as_deref(), Some("device_dax"));
        assert_eq!(daxes[1].driver, None);
        assert!(dev_node_listed(&ctx, "dax0.0"));
        assert!(!dev_node_listed(&ctx, "dax1.0"));
    }

    #[test]
    fn a_missing_nd_bus_differs_from_an_unreadable_one() {
        let s = SnapBuilder::new().dir_denied(ND).dir_denied(DAX).build();
        let h = HostModel::build(&s);
        let ctx = Ctx::new(&s, &h, Profile::Throughput);
        assert!(matches!(regions(&ctx), Err(Some(_))));
        assert_eq!(
            namespaces(&ctx).err().as_deref(),
            Some("/sys/bus/nd/devices unreadable")
        );
        assert!(dax_devices(&ctx).is_err());
        let s = SnapBuilder::new().build();
        let h = HostModel::build(&s);
        let ctx = Ctx::new(&s, &h, Profile::Throughput);
        assert!(matches!(regions(&ctx), Err(None)));
        assert_eq!(dax_devices(&ctx).map(|d| d.len()), Ok(0));
    }
}
