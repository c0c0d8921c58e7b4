//! host.vhost-net.zcopytx: the vhost_net zero-copy transmit parameter.

use crate::rules::context::{Ctx, Got};
use crate::rules::facts::module_params::{module_dir, module_loaded, param};
use crate::rules::outcome::Outcome;

pub(super) fn zcopytx(ctx: &Ctx) -> Vec<Outcome> {
    let zcopytx = param(ctx, "vhost_net", "experimental_zcopytx");
    let path = zcopytx.path;
    let t = "host";
    let configured = ctx
        .persistent
        .module_param("vhost_net", "experimental_zcopytx");
    let loaded = module_loaded(ctx, "vhost_net").ok();
    let got = zcopytx.got;
    let o = match (got, loaded) {
        (Got::Val(v), _) => {
            let on = matches!(v.trim(), "1" | "Y" | "y");
            let mut msg = format!(
                "experimental_zcopytx={} ({}): zero-copy transmit is experimental, engages only for large packets on SOCK_ZEROCOPY sockets and is off upstream by default",
                v.trim(),
                if on { "on" } else { "off" }
            );
            let mut pending = false;
            if let Some((src, val)) = &configured {
                let cfg_on = matches!(val.trim(), "1" | "Y" | "y");
                if cfg_on != on {
                    pending = true;
                    msg.push_str(&format!(
                        "; {src} sets {val}, applied at the next vhost_net load (all vhost VMs stopped) or reboot"
                    ));
                }
            }
            Outcome::info(t, msg)
                .ev(path, v.trim(), "")
                .pending(pending)
        }
        (_, Some(false)) => Outcome::na(
            t,
            "vhost_net is not loaded: no VM uses kernel vhost on this host",
        )
        .ev(module_dir("vhost_net"), "absent", ""),
        (g, _) => Outcome::unknown(
            t,
            format!("the vhost_net parameter could not be read ({})", g.why()),
        )
        .ev(path, g.why(), ""),
    };
    let o = match configured {
        Some((src, val)) => o.ev(src, format!("experimental_zcopytx={val}"), ""),
        None => o,
    };
    vec![o]
}
