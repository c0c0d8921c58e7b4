//! `/proc/vmstat`: one `key value` pair per line.

/// The value of `key` as the file writes it (trimmed), from the first line that names it.
/// Lines without a space are skipped.
pub fn value<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::value;

    #[test]
    fn finds_the_named_counter_and_skips_malformed_lines() {
        let t = "nr_free_pages 123\ngarbage\nnuma_hint_faults  42 \nnuma_hint_faults 7\n";
        assert_eq!(value(t, "numa_hint_faults"), Some("42"));
        assert_eq!(value(t, "nr_free_pages"), Some("123"));
        assert_eq!(value(t, "numa_pages_migrated"), None);
        assert_eq!(value("", "x"), None);
    }
}
