//! Persistent configuration: what the next boot or module load will apply. Comparing it with
//! the running values tells a finding whose fix is already configured but waits for a reboot.

use crate::parse::cmdline::Cmdline;
use crate::snapshot::{Fact, Snapshot};

/// Every persistent kernel command line: GRUB defaults (with grub.d drop-ins),
/// `/etc/kernel/cmdline`, and each BLS entry's `options`.
pub fn kernel_cmdlines(s: &Snapshot) -> Vec<(String, Cmdline)> {
    let mut out = Vec::new();
    let grub_files = std::iter::once("/etc/default/grub".to_string()).chain(
        s.files
            .keys()
            .filter(|k| k.starts_with("/etc/default/grub.d/"))
            .cloned(),
    );
    let mut linux = String::new();
    let mut default = String::new();
    let mut grub_src = None;
    for path in grub_files {
        let Some(Fact::Value(text)) = s.files.get(&path) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim();
            if let Some(v) = line.strip_prefix("GRUB_CMDLINE_LINUX_DEFAULT=") {
                default = expand(v, "GRUB_CMDLINE_LINUX_DEFAULT", &default);
                grub_src = Some(path.clone());
            } else if let Some(v) = line.strip_prefix("GRUB_CMDLINE_LINUX=") {
                linux = expand(v, "GRUB_CMDLINE_LINUX", &linux);
                grub_src = Some(path.clone());
            }
        }
    }
    if let Some(src) = grub_src {
        out.push((src, Cmdline::parse(&format!("{linux} {default}"))));
    }
    if let Some(Fact::Value(t)) = s.files.get("/etc/kernel/cmdline") {
        out.push(("/etc/kernel/cmdline".into(), Cmdline::parse(t)));
    }
    for (path, f) in &s.files {
        if !path.starts_with("/boot/loader/entries/") {
            continue;
        }
        if let Fact::Value(t) = f {
            if let Some(opts) = t
                .lines()
                .find_map(|l| l.trim().strip_prefix("options"))
                .filter(|o| o.starts_with(char::is_whitespace))
            {
                out.push((path.clone(), Cmdline::parse(opts)));
            }
        }
    }
    out
}

/// A shell assignment's value with `$VAR`/`${VAR}` of itself replaced by the previous value,
/// as grub.d drop-ins do (`GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT foo"`).
fn expand(raw: &str, var: &str, prev: &str) -> String {
    let unquoted = match shell_words::split(raw) {
        Ok(words) => words.join(" "),
        Err(_) => raw.trim_matches(|c| c == '"' || c == '\'').to_string(),
    };
    unquoted
        .replace(&format!("${{{var}}}"), prev)
        .replace(&format!("${var}"), prev)
}

/// One `options MODULE key=value` setting from a modprobe.d file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModOption {
    pub path: String,
    pub module: String,
    pub param: String,
    pub value: String,
}

fn norm_module(m: &str) -> String {
    m.replace('-', "_")
}

/// All `options` lines of /etc/modprobe.d, /usr/lib/modprobe.d and /lib/modprobe.d.
/// A file in /etc shadows a file of the same name in the library directories, as in kmod.
pub fn modprobe_options(s: &Snapshot) -> Vec<ModOption> {
    let etc_names: Vec<&str> = s
        .files
        .keys()
        .filter_map(|k| k.strip_prefix("/etc/modprobe.d/"))
        .collect();
    let mut out = Vec::new();
    for (path, f) in &s.files {
        let lib = path
            .strip_prefix("/usr/lib/modprobe.d/")
            .or_else(|| path.strip_prefix("/lib/modprobe.d/"));
        let is_etc = path.starts_with("/etc/modprobe.d/");
        if !is_etc && lib.is_none() {
            continue;
        }
        if lib.is_some_and(|n| etc_names.contains(&n)) {
            continue;
        }
        let Fact::Value(text) = f else { continue };
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let mut words = line.split_whitespace();
            if words.next() != Some("options") {
                continue;
            }
            let Some(module) = words.next() else { continue };
            for kv in words {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                out.push(ModOption {
                    path: path.clone(),
                    module: norm_module(module),
                    param: k.to_string(),
                    value: v.to_string(),
                });
            }
        }
    }
    out
}

/// The configured value of a module parameter: the kernel command line form
/// (`kvm_intel.ple_gap=0` in a persistent cmdline) or a modprobe.d option. Last one wins.
pub fn configured_module_param(
    s: &Snapshot,
    module: &str,
    param: &str,
) -> Option<(String, String)> {
    module_param_in(&kernel_cmdlines(s), &modprobe_options(s), module, param)
}

/// [`configured_module_param`] over command lines and modprobe options already read.
pub fn module_param_in(
    cmdlines: &[(String, Cmdline)],
    modprobe: &[ModOption],
    module: &str,
    param: &str,
) -> Option<(String, String)> {
    let module = norm_module(module);
    let from_modprobe = modprobe
        .iter()
        .rev()
        .find(|o| o.module == module && o.param == param)
        .map(|o| (o.path.clone(), o.value.clone()));
    let key = format!("{module}.{param}");
    let from_cmdline = cmdlines
        .iter()
        .find_map(|(p, c)| c.value(&key).map(|v| (p.clone(), v.to_string())));
    from_cmdline.or(from_modprobe)
}

/// `key = value` lines of sysctl.d files, /etc last so that it wins.
pub fn sysctl_settings(s: &Snapshot) -> Vec<(String, String, String)> {
    let mut paths: Vec<&String> = s
        .files
        .keys()
        .filter(|k| {
            k.starts_with("/usr/lib/sysctl.d/")
                || k.starts_with("/etc/sysctl.d/")
                || *k == "/etc/sysctl.conf"
        })
        .collect();
    // Library defaults first, then /etc/sysctl.d, then /etc/sysctl.conf (systemd-sysctl order).
    paths.sort_by_key(|p| {
        (
            if p.starts_with("/usr/lib/") {
                0
            } else if p.starts_with("/etc/sysctl.d/") {
                1
            } else {
                2
            },
            (*p).clone(),
        )
    });
    let mut out = Vec::new();
    for p in paths {
        if let Some(Fact::Value(t)) = s.files.get(p) {
            for line in t.lines() {
                let line = line.trim();
                if line.starts_with('#') || line.starts_with(';') {
                    continue;
                }
                if let Some((k, v)) = line.split_once('=') {
                    out.push((
                        p.clone(),
                        k.trim().trim_start_matches('-').replace('/', "."),
                        v.trim().to_string(),
                    ));
                }
            }
        }
    }
    out
}

/// The value `key` (dotted) will get at the next boot, and the file that sets it.
pub fn configured_sysctl(s: &Snapshot, key: &str) -> Option<(String, String)> {
    sysctl_in(&sysctl_settings(s), key)
}

/// [`configured_sysctl`] over settings already read.
pub fn sysctl_in(settings: &[(String, String, String)], key: &str) -> Option<(String, String)> {
    settings
        .iter()
        .rev()
        .find(|(_, k, _)| k == key)
        .map(|(p, _, v)| (p.clone(), v.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Fact;

    fn snap_with(files: &[(&str, &str)]) -> Snapshot {
        let mut s: Snapshot = serde_json::from_str(
            r#"{"schema_version":1,"tool":"kvmaudit","tool_version":"0","collected_at":"x",
            "source":{"kind":"root"},"hostname":{"path":"h","value":"h"},
            "cpuid":{"path":"c","error":{"kind":"absent"}},"smbios":{"path":"d","error":{"kind":"absent"}},
            "kconfig":{"path":"k","error":{"kind":"absent"}},"files":{},"dirs":{},"links":{},
            "qemu":{"path":"/proc","value":[]}}"#,
        )
        .unwrap();
        for (p, t) in files {
            s.files.insert(p.to_string(), Fact::Value(t.to_string()));
        }
        s
    }

    #[test]
    fn grub_with_dropin() {
        let s = snap_with(&[
            (
                "/etc/default/grub",
                "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"intel_iommu=on\"\n",
            ),
            (
                "/etc/default/grub.d/kvm.cfg",
                "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt\"\n",
            ),
        ]);
        let c = kernel_cmdlines(&s);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].1.value("iommu"), Some("pt"));
        assert_eq!(c[0].1.value("intel_iommu"), Some("on"));
        assert!(c[0].1.has("quiet"));
    }

    #[test]
    fn modprobe_and_sysctl() {
        let s = snap_with(&[
            (
                "/etc/modprobe.d/kvm.conf",
                "# ple\noptions kvm-intel ple_gap=0 nested=1\n",
            ),
            (
                "/usr/lib/modprobe.d/kvm.conf",
                "options kvm_intel ple_gap=128\n",
            ),
            ("/etc/sysctl.d/90-numa.conf", "kernel.numa_balancing = 1\n"),
            (
                "/usr/lib/sysctl.d/50-default.conf",
                "kernel/numa_balancing=0\n",
            ),
        ]);
        assert_eq!(
            configured_module_param(&s, "kvm_intel", "ple_gap"),
            Some(("/etc/modprobe.d/kvm.conf".into(), "0".into()))
        );
        assert_eq!(
            configured_sysctl(&s, "kernel.numa_balancing"),
            Some(("/etc/sysctl.d/90-numa.conf".into(), "1".into()))
        );
    }
}
