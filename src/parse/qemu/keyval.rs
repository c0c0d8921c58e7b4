//! QEMU's keyval / QemuOpts syntax: `driver,key=value,flag,noflag,key2=a,,b`.

use super::props::Props;
use serde_json::Value;

/// The key a leading bare word stands for, per option (`-device virtio-blk-pci` is
/// `driver=virtio-blk-pci`). `None` for options such as `-drive` whose first word must be a
/// `key=value` (or a short boolean).
pub fn implied_key(option: &str) -> Option<&'static str> {
    Some(match option {
        "device" => "driver",
        "netdev" | "nic" | "net" => "type",
        "object" => "qom-type",
        "machine" | "M" => "type",
        "accel" => "accel",
        "m" => "size",
        "smp" => "cpus",
        "numa" => "type",
        "name" => "guest",
        "boot" => "order",
        "chardev" => "backend",
        "audiodev" => "driver",
        "display" => "type",
        "fsdev" | "virtfs" => "fsdriver",
        "tpmdev" => "type",
        "mon" => "chardev",
        "incoming" => "uri",
        "rtc" => "base",
        "iothread" => "id",
        _ => return None,
    })
}

/// Splits `s` into key/value pairs. Never fails:
/// * `,,` is a literal comma (in keys and values);
/// * the first element without `=` takes `implied` as its key when there is one;
/// * any other element without `=` is a legacy short boolean: `flag` is `flag=on`, `noflag` is
///   `flag=off` (QemuOpts' rule, deprecated since QEMU 6.0 but still written by hand);
/// * empty elements (`a=1,,` at the end, `,,,`) are skipped.
pub fn parse_keyval(s: &str, implied: Option<&str>) -> Props {
    let mut props = Props::new();
    for (i, elem) in split_elements(s).into_iter().enumerate() {
        if elem.is_empty() {
            continue;
        }
        match elem.split_once('=') {
            Some((k, v)) => props.push(k, Value::String(v.to_string())),
            None => match (i, implied) {
                (0, Some(key)) => props.push(key, Value::String(elem)),
                _ => {
                    let (key, on) = short_bool(&elem);
                    props.push(key, Value::String(if on { "on" } else { "off" }.into()));
                }
            },
        }
    }
    props
}

fn short_bool(elem: &str) -> (String, bool) {
    match elem.strip_prefix("no") {
        Some(rest) if !rest.is_empty() => (rest.to_string(), false),
        _ => (elem.to_string(), true),
    }
}

/// Splits on single commas, turning `,,` into a literal comma. Linear in the input.
fn split_elements(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' {
            if chars.peek() == Some(&',') {
                chars.next();
                cur.push(',');
            } else {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &Props) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.as_str().unwrap_or("?").to_string()))
            .collect()
    }

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn implied_key_and_escapes() {
        let p = parse_keyval("guest=a,,b,debug-threads=on", implied_key("name"));
        assert_eq!(
            pairs(&p),
            vec![kv("guest", "a,b"), kv("debug-threads", "on")]
        );
        let p = parse_keyval("a,,b", implied_key("name"));
        assert_eq!(p.str("guest").as_deref(), Some("a,b"));
        let p = parse_keyval("virtio-blk-pci,drive=d0", implied_key("device"));
        assert_eq!(p.str("driver").as_deref(), Some("virtio-blk-pci"));
    }

    #[test]
    fn short_booleans() {
        let p = parse_keyval("q35,nvdimm,nomem-merge,accel=kvm", implied_key("machine"));
        assert_eq!(
            pairs(&p),
            vec![
                kv("type", "q35"),
                kv("nvdimm", "on"),
                kv("mem-merge", "off"),
                kv("accel", "kvm")
            ]
        );
        // -drive has no implied key: a bare first word is a flag.
        let p = parse_keyval("readonly,file=x", None);
        assert_eq!(p.bool("readonly"), Ok(Some(true)));
        // "no" alone is a key, not "off" of the empty key.
        let p = parse_keyval("x=1,no", None);
        assert_eq!(p.str("no").as_deref(), Some("on"));
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for s in ["", ",", ",,", ",,,", "=", "==", "a=", "=b", ",a", "é,,ü=ß"] {
            let _ = parse_keyval(s, Some("k"));
            let _ = parse_keyval(s, None);
        }
        assert_eq!(parse_keyval("x=a=b", None).str("x").as_deref(), Some("a=b"));
    }
}
