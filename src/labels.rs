//! Operator labels (`scan --label site=fra1`, `[labels]` in the config file): free-form
//! KEY=VALUE pairs a report carries so a fleet can be grouped by site, cluster or rack.
//!
//! Keys follow Prometheus label-name rules (`[a-zA-Z_][a-zA-Z0-9_]*`, not `__`-prefixed) so
//! they can become label names unchanged; values are printable text. Both are bounded: a
//! report read back by `fleet` is untrusted, and the same check runs there.

use std::collections::BTreeMap;

pub type Labels = BTreeMap<String, String>;

/// Enough for site, cluster, rack, owner, environment and a few more.
pub const MAX_LABELS: usize = 32;
pub const MAX_KEY_CHARS: usize = 64;
pub const MAX_VALUE_CHARS: usize = 256;

/// Why `key` cannot be a label name, if it cannot.
pub fn check_key(key: &str) -> Result<(), String> {
    let shown = crate::safe_text::one_line(key, 80);
    if key.is_empty() {
        return Err("the label key is empty".into());
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(format!(
            "label key `{shown}` is longer than {MAX_KEY_CHARS} characters"
        ));
    }
    let mut chars = key.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "label key `{shown}` must be letters, digits and _ (not starting with a digit)"
        ));
    }
    if key.starts_with("__") {
        return Err(format!(
            "label key `{shown}` starts with __, which Prometheus reserves"
        ));
    }
    Ok(())
}

/// Why `value` cannot be the value of label `key`, if it cannot.
pub fn check_value(key: &str, value: &str) -> Result<(), String> {
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(format!(
            "label {key}: the value is longer than {MAX_VALUE_CHARS} characters"
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("label {key}: the value holds a control character"));
    }
    Ok(())
}

/// Every key and value valid, and not too many.
pub fn check(labels: &Labels) -> Result<(), String> {
    if labels.len() > MAX_LABELS {
        return Err(format!(
            "{} labels; at most {MAX_LABELS} are allowed",
            labels.len()
        ));
    }
    for (k, v) in labels {
        check_key(k)?;
        check_value(k, v)?;
    }
    Ok(())
}

/// `KEY=VALUE` from the command line.
pub fn parse_pair(s: &str) -> Result<(String, String), String> {
    let Some((k, v)) = s.split_once('=') else {
        return Err(format!(
            "`{}` is not KEY=VALUE",
            crate::safe_text::one_line(s, 80)
        ));
    };
    let k = k.trim();
    check_key(k)?;
    check_value(k, v)?;
    Ok((k.to_string(), v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prometheus_label_names() {
        assert!(check_key("site").is_ok());
        assert!(check_key("_rack2").is_ok());
        for bad in [
            "",
            "2site",
            "si-te",
            "s te",
            "__name",
            "ключ",
            &"k".repeat(65),
        ] {
            assert!(check_key(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn pairs_and_bounds() {
        assert_eq!(
            parse_pair("site=fra 1=b").unwrap(),
            ("site".into(), "fra 1=b".into())
        );
        assert_eq!(parse_pair("env=").unwrap(), ("env".into(), String::new()));
        assert!(parse_pair("site").unwrap_err().contains("not KEY=VALUE"));
        assert!(parse_pair("site=a\nb").unwrap_err().contains("control"));
        assert!(parse_pair(&format!("site={}", "x".repeat(257))).is_err());
        let many: Labels = (0..33).map(|i| (format!("k{i}"), "v".into())).collect();
        assert!(check(&many).unwrap_err().contains("at most 32"));
    }
}
