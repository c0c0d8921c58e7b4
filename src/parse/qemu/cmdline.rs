//! The command line as a list of typed options: each argument parsed as JSON or keyval into
//! [`Props`], `-set` applied, `-global` split. This is the layer the VM model reads.

use super::json::{looks_like_json, parse_json_arg};
use super::keyval::{implied_key, parse_keyval};
use super::options::{split_options, QemuArg};
use super::props::Props;
use crate::snapshot::RawBytes;
use serde_json::Value;
use std::collections::HashMap;

/// One option with its argument parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedOption {
    /// Option name without dashes (`device`, `M`, `enable-kvm`).
    pub name: String,
    /// Position in argv.
    pub index: usize,
    /// The argument as given (lossy UTF-8); `None` for flags.
    pub raw: Option<String>,
    /// Parsed properties: JSON or keyval for options that use those syntaxes; empty otherwise.
    pub props: Props,
    /// The argument was JSON.
    pub json: bool,
}

/// A bare word on the command line (QEMU's `-hda` shorthand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Positional {
    /// Position in argv.
    pub index: usize,
    pub value: String,
}

/// `-global driver.property=value` (or `driver=,property=,value=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalOption {
    pub driver: String,
    pub property: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommandLine {
    /// argv[0], lossy UTF-8 (empty when argv is empty).
    pub binary: String,
    pub options: Vec<ParsedOption>,
    /// Bare words (disk images), in order.
    pub positionals: Vec<Positional>,
    pub globals: Vec<GlobalOption>,
    /// Problems met while parsing (bad JSON, a `-set` without target, ...).
    pub notes: Vec<String>,
}

impl CommandLine {
    /// Every option called `name` (or any of its aliases), in order.
    pub fn all<'a>(&'a self, names: &'a [&'a str]) -> impl Iterator<Item = &'a ParsedOption> + 'a {
        self.options
            .iter()
            .filter(move |o| names.contains(&o.name.as_str()))
    }

    /// True when a flag (or any option) called `name` occurs.
    pub fn has(&self, name: &str) -> bool {
        self.options.iter().any(|o| o.name == name)
    }
}

/// Options whose argument is keyval (or JSON, which QEMU accepts for some of them).
fn is_structured(name: &str) -> bool {
    implied_key(name).is_some()
        || matches!(
            name,
            "drive"
                | "blockdev"
                | "overcommit"
                | "realtime"
                | "sandbox"
                | "msg"
                | "add-fd"
                | "smbios"
                | "spice"
                | "vnc"
                | "run-with"
                | "compat"
                | "action"
                | "semihosting-config"
                | "icount"
                | "plugin"
                | "trace"
                | "memory"
        )
}

pub fn parse_command_line(argv: &[RawBytes]) -> CommandLine {
    let (args, mut notes) = split_options(argv);
    let mut cl = CommandLine {
        binary: argv
            .first()
            .map(|b| b.to_string_lossy())
            .unwrap_or_default(),
        ..CommandLine::default()
    };
    // (option name, id) → latest option with that id, for -set (keeps many -set linear).
    let mut by_id: HashMap<(String, String), usize> = HashMap::new();
    for arg in args {
        match arg {
            QemuArg::Positional { value, index } => {
                cl.positionals.push(Positional { index, value })
            }
            QemuArg::Option { name, value, index } => {
                match (name.as_str(), value.as_deref()) {
                    ("set", Some(v)) => apply_set(&mut cl, &by_id, v, &mut notes),
                    ("global", Some(v)) => match parse_global(v) {
                        Some(g) => cl.globals.push(g),
                        None => notes.push(format!("-global {v:?} is not driver.prop=value")),
                    },
                    _ => {}
                }
                let (props, json) = parse_props(&name, value.as_deref(), &mut notes);
                if let Some(id) = props.str("id") {
                    by_id.insert((name.clone(), id), cl.options.len());
                }
                cl.options.push(ParsedOption {
                    name,
                    index,
                    raw: value,
                    props,
                    json,
                });
            }
        }
    }
    cl.notes = notes;
    cl
}

fn parse_props(name: &str, value: Option<&str>, notes: &mut Vec<String>) -> (Props, bool) {
    let Some(v) = value else {
        return (Props::new(), false);
    };
    if !is_structured(name) {
        return (Props::new(), false);
    }
    if looks_like_json(v) {
        return match parse_json_arg(v) {
            Ok(p) => (p, true),
            Err(e) => {
                notes.push(format!("-{name}: invalid JSON argument ({e})"));
                (Props::new(), true)
            }
        };
    }
    (parse_keyval(v, implied_key(name)), false)
}

/// `-global` accepts `driver.prop=value`, where the driver ends at the first `.` or `=`, and
/// otherwise the keyval form `driver=D,property=P,value=V` (needed for drivers with a dot such
/// as `cfi.pflash01`).
fn parse_global(v: &str) -> Option<GlobalOption> {
    let kv = parse_keyval(v, None);
    if let (Some(driver), Some(property), Some(value)) =
        (kv.str("driver"), kv.str("property"), kv.str("value"))
    {
        return Some(GlobalOption {
            driver,
            property,
            value,
        });
    }
    let (lhs, value) = v.split_once('=')?;
    let (driver, property) = lhs.split_once('.')?;
    if driver.is_empty() || property.is_empty() {
        return None;
    }
    Some(GlobalOption {
        driver: driver.to_string(),
        property: property.to_string(),
        value: value.to_string(),
    })
}

/// `-set group.id.prop=value` edits an earlier option of that group with that id.
fn apply_set(
    cl: &mut CommandLine,
    by_id: &HashMap<(String, String), usize>,
    v: &str,
    notes: &mut Vec<String>,
) {
    let parsed = v.split_once('=').and_then(|(lhs, val)| {
        let mut it = lhs.splitn(3, '.');
        Some((it.next()?, it.next()?, it.next()?, val))
    });
    let Some((group, id, prop, val)) = parsed else {
        notes.push(format!("-set {v:?} is not group.id.prop=value"));
        return;
    };
    let target = by_id
        .get(&(group.to_string(), id.to_string()))
        .and_then(|i| cl.options.get_mut(*i));
    match target {
        Some(o) => o.props.push(prop, Value::String(val.to_string())),
        None => notes.push(format!("-set {v:?}: no earlier -{group} with id={id}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cl(words: &[&str]) -> CommandLine {
        let argv: Vec<RawBytes> = words.iter().map(|w| RawBytes::from(*w)).collect();
        parse_command_line(&argv)
    }

    #[test]
    fn json_and_keyval_mix() {
        let c = cl(&[
            "qemu",
            "-device",
            r#"{"driver":"virtio-blk-pci","drive":"d0"}"#,
            "-device",
            "virtio-net-pci,netdev=n0",
            "-kernel",
            "/boot/vmlinuz,x",
        ]);
        let devs: Vec<_> = c.all(&["device"]).collect();
        assert_eq!(devs.len(), 2);
        assert!(devs.first().is_some_and(|d| d.json));
        assert_eq!(
            devs.get(1).and_then(|d| d.props.str("driver")).as_deref(),
            Some("virtio-net-pci")
        );
        // -kernel is a plain path: never split on commas.
        assert!(c.all(&["kernel"]).all(|o| o.props.is_empty()));
    }

    #[test]
    fn set_and_global() {
        let c = cl(&[
            "qemu",
            "-drive",
            "if=none,id=d0,file=a.img",
            "-set",
            "drive.d0.cache=none",
            "-set",
            "drive.nope.cache=none",
            "-global",
            "virtio-blk-pci.num-queues=4",
            "-global",
            "driver=cfi.pflash01,property=secure,value=on",
        ]);
        let d = c
            .all(&["drive"])
            .next()
            .map(|o| o.props.clone())
            .unwrap_or_default();
        assert_eq!(d.str("cache").as_deref(), Some("none"));
        assert_eq!(c.notes.len(), 1);
        assert_eq!(
            c.globals,
            vec![
                GlobalOption {
                    driver: "virtio-blk-pci".into(),
                    property: "num-queues".into(),
                    value: "4".into()
                },
                GlobalOption {
                    driver: "cfi.pflash01".into(),
                    property: "secure".into(),
                    value: "on".into()
                },
            ]
        );
    }

    #[test]
    fn bad_json_is_a_note() {
        let c = cl(&["qemu", "-object", "{oops"]);
        assert_eq!(c.notes.len(), 1);
    }
}
