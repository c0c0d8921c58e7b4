//! One option's properties, whichever syntax they came in (keyval or JSON).
//!
//! Keys are flat and dotted (`cache.direct`, `file.filename`, `file.server.0.host`) so that a
//! keyval `cache.direct=on` and a JSON `"cache":{"direct":true}` look the same to the model.
//! Values keep their JSON type: keyval gives strings, JSON gives bools/numbers/strings/arrays.

use super::size::parse_size;
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Props {
    entries: Vec<(String, Value)>,
}

/// A value that was present but could not be read as the wanted type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    pub key: String,
    pub value: String,
    pub expected: &'static str,
}

impl Props {
    pub fn new() -> Self {
        Props::default()
    }

    pub fn push(&mut self, key: impl Into<String>, value: Value) {
        self.entries.push((key.into(), value));
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The last value given for `key` (later keys win, as in QEMU).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Every value given for `key`, in order (repeated keyval keys such as `host-nodes`).
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.entries
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// True when any key lives under `prefix.` (an inline child object such as `file.*`).
    pub fn has_children(&self, prefix: &str) -> bool {
        self.entries.iter().any(|(k, _)| is_child(k, prefix))
    }

    /// The properties under `prefix.`, with the prefix removed.
    pub fn children(&self, prefix: &str) -> Props {
        let entries = self
            .entries
            .iter()
            .filter(|(k, _)| is_child(k, prefix))
            .map(|(k, v)| {
                (
                    k.get(prefix.len() + 1..).unwrap_or("").to_string(),
                    v.clone(),
                )
            })
            .collect();
        Props { entries }
    }

    /// A string view of a scalar: strings as is, numbers in decimal, booleans as on/off.
    pub fn str(&self, key: &str) -> Option<String> {
        self.get(key).and_then(scalar_string)
    }

    /// A boolean: JSON true/false or keyval on/off/yes/no/true/false (QEMU's spellings).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, BadValue> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => value_bool(v)
                .map(Some)
                .ok_or_else(|| self.bad(key, v, "a boolean")),
        }
    }

    /// An unsigned integer: JSON number or a decimal/hex string.
    pub fn u64(&self, key: &str) -> Result<Option<u64>, BadValue> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => value_u64(v)
                .map(Some)
                .ok_or_else(|| self.bad(key, v, "a number")),
        }
    }

    pub fn u32(&self, key: &str) -> Result<Option<u32>, BadValue> {
        match self.u64(key)? {
            None => Ok(None),
            Some(n) => u32::try_from(n).map(Some).map_err(|_| BadValue {
                key: key.to_string(),
                value: n.to_string(),
                expected: "a 32-bit number",
            }),
        }
    }

    /// A size in bytes: JSON numbers are bytes; strings go through `parse_size` with
    /// `default_unit` for bare numbers.
    pub fn size(&self, key: &str, default_unit: u64) -> Result<Option<u64>, BadValue> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => value_size(v, default_unit)
                .map(Some)
                .ok_or_else(|| self.bad(key, v, "a size")),
        }
    }

    fn bad(&self, key: &str, v: &Value, expected: &'static str) -> BadValue {
        BadValue {
            key: key.to_string(),
            value: scalar_string(v).unwrap_or_else(|| v.to_string()),
            expected,
        }
    }
}

fn is_child(key: &str, prefix: &str) -> bool {
    key.len() > prefix.len() + 1
        && key.starts_with(prefix)
        && key.as_bytes().get(prefix.len()) == Some(&b'.')
}

pub fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "on" } else { "off" }.to_string()),
        _ => None,
    }
}

pub fn value_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => parse_bool(s),
        _ => None,
    }
}

/// QEMU's boolean spellings (keyval accepts on/off/yes/no/true/false).
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "y" => Some(true),
        "off" | "no" | "false" | "n" => Some(false),
        _ => None,
    }
}

pub fn value_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => parse_u64(s),
        _ => None,
    }
}

pub fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

pub fn value_size(v: &Value, default_unit: u64) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => parse_size(s, default_unit),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accessors() {
        let mut p = Props::new();
        p.push("size", json!("2M"));
        p.push("prealloc", json!(true));
        p.push("merge", json!("off"));
        p.push("cache.direct", json!("on"));
        p.push("host-nodes", json!("0"));
        p.push("host-nodes", json!("2"));
        p.push("bad", json!("maybe"));
        assert_eq!(p.size("size", 1), Ok(Some(2 << 20)));
        assert_eq!(p.bool("prealloc"), Ok(Some(true)));
        assert_eq!(p.bool("merge"), Ok(Some(false)));
        assert_eq!(p.children("cache").bool("direct"), Ok(Some(true)));
        assert!(p.has_children("cache"));
        assert!(!p.has_children("cach"));
        assert_eq!(p.get_all("host-nodes").count(), 2);
        assert!(p.bool("bad").is_err());
        assert_eq!(p.bool("absent"), Ok(None));
    }
}
