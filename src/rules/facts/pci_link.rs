//! A PCI device's link as sysfs shows it: current and maximum speed and width, each as read.

use crate::parse::sysfs;
use crate::rules::context::{Ctx, Got};

/// The four link attributes of one device, and the device directory they were read from.
pub(crate) struct PcieLink<'a> {
    /// `/sys/bus/pci/devices/<bdf>`: what evidence rows name.
    pub base: String,
    pub current_speed: Got<'a>,
    pub max_speed: Got<'a>,
    pub current_width: Got<'a>,
    pub max_width: Got<'a>,
}

impl PcieLink<'_> {
    /// (current speed GT/s, max speed, current width, max width), each when readable; the
    /// current width counts only when the current speed was read too.
    pub fn values(&self) -> (Option<f64>, Option<f64>, Option<u32>, Option<u32>) {
        (
            self.current_speed.val().and_then(sysfs::link_speed_gts),
            self.max_speed.val().and_then(sysfs::link_speed_gts),
            self.current_speed
                .val()
                .and(self.current_width.val())
                .and_then(sysfs::link_width),
            self.max_width.val().and_then(sysfs::link_width),
        )
    }
}

/// The link of the PCI device `bdf`.
pub(crate) fn of<'a>(ctx: &Ctx<'a>, bdf: &str) -> PcieLink<'a> {
    let base = format!("{}/{bdf}", super::qat::PCI);
    let get = |f: &str| ctx.get(&format!("{base}/{f}"));
    PcieLink {
        current_speed: get("current_link_speed"),
        max_speed: get("max_link_speed"),
        current_width: get("current_link_width"),
        max_width: get("max_link_width"),
        base,
    }
}
