//! JSON option arguments (`-blockdev '{"driver":"file",...}'`), flattened to dotted keys.

use super::props::Props;
use serde_json::Value;

/// Nesting deeper than this is not flattened further (keeps hostile input cheap; QEMU's own
/// schemas nest a handful of levels at most).
const MAX_DEPTH: usize = 16;

/// Parses a JSON object argument. Nested objects become dotted keys (`"cache":{"direct":true}`
/// is `cache.direct = true`); arrays stay whole (`host-nodes`, `iothread-vq-mapping`).
pub fn parse_json_arg(s: &str) -> Result<Props, String> {
    let v: Value = serde_json::from_str(s).map_err(|e| e.to_string())?;
    match v {
        Value::Object(_) => {
            let mut props = Props::new();
            flatten("", &v, 0, &mut props);
            Ok(props)
        }
        _ => Err("not a JSON object".to_string()),
    }
}

fn flatten(prefix: &str, v: &Value, depth: usize, out: &mut Props) {
    match v {
        Value::Object(map) if depth < MAX_DEPTH => {
            for (k, child) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, child, depth + 1, out);
            }
        }
        _ => out.push(prefix, v.clone()),
    }
}

/// True when QEMU would read the argument as JSON: it starts with `{`.
pub fn looks_like_json(arg: &str) -> bool {
    arg.trim_start().starts_with('{')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_nested_objects() {
        let p = parse_json_arg(
            r#"{"driver":"file","cache":{"direct":true,"no-flush":false},"host-nodes":[0,1]}"#,
        )
        .unwrap();
        assert_eq!(p.str("driver").as_deref(), Some("file"));
        assert_eq!(p.bool("cache.direct"), Ok(Some(true)));
        assert_eq!(p.bool("cache.no-flush"), Ok(Some(false)));
        assert!(p.get("host-nodes").is_some_and(|v| v.is_array()));
    }

    #[test]
    fn rejects_non_objects_and_garbage() {
        assert!(parse_json_arg("[1]").is_err());
        assert!(parse_json_arg("{").is_err());
    }
}
