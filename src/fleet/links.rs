//! Links from the fleet's host rows to each host's HTML report: `--report-url TEMPLATE` with
//! `{host}` and `{file}` filled in, else the `.html` with the JSON report's stem when it sits
//! next to it.
//!
//! Hostnames and file names come from the reports and their uploaders: every filled-in part is
//! percent-encoded (only RFC 3986 unreserved characters stay), so none can add a path segment,
//! a query or a scheme (`javascript:` has its colon encoded).

use super::model::Fleet;
use std::path::{Component, Path, PathBuf};

/// A `--report-url` template: `{host}` and `{file}` are the only placeholders.
pub fn parse_template(s: &str) -> Result<String, String> {
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let after = &rest[open..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("`{s}`: a `{{` without `}}`"))?;
        let name = &after[1..close];
        if name != "host" && name != "file" {
            return Err(format!(
                "`{s}`: unknown placeholder {{{name}}} (use {{host}} and {{file}})"
            ));
        }
        rest = &after[close + 1..];
    }
    if rest.contains('}') || s.len() > 2048 {
        return Err(format!("`{s}`: not a URL template"));
    }
    Ok(s.to_string())
}

/// Percent-encode everything but RFC 3986's unreserved characters.
pub fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The template with `{host}` and `{file}` (the JSON report's file name) filled in.
pub fn fill(template: &str, host: &str, file: &str) -> String {
    template
        .replace("{host}", &pct(host))
        .replace("{file}", &pct(file))
}

/// The path segments of `p` as URL text, each encoded; `None` for a non-UTF-8 name.
fn segments<'a>(parts: impl Iterator<Item = Component<'a>>) -> Option<Vec<String>> {
    parts
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_str().map(pct)),
            Component::ParentDir => Some(Some("..".to_string())),
            _ => None,
        })
        .collect()
}

/// `report` as a URL from a page in `page_dir` (relative), or as an absolute `file://` URL.
fn url_of(report: &Path, page_dir: Option<&Path>) -> Option<String> {
    let report = report.canonicalize().ok()?;
    if let Some(dir) = page_dir.and_then(|d| d.canonicalize().ok()) {
        let (a, b): (Vec<_>, Vec<_>) = (dir.components().collect(), report.components().collect());
        let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        let ups = std::iter::repeat(Component::ParentDir).take(a.len() - common);
        return Some(segments(ups.chain(b[common..].iter().copied()))?.join("/"));
    }
    Some(format!(
        "file:///{}",
        segments(report.components())?.join("/")
    ))
}

/// The `.html` beside a JSON report, if it is a regular file (a symlink planted there is not
/// followed: the page would link wherever it points).
fn sibling_html(json: &Path) -> Option<PathBuf> {
    let html = json.with_extension("html");
    std::fs::symlink_metadata(&html)
        .ok()
        .filter(|m| m.file_type().is_file())
        .map(|_| html)
}

/// Set every host's `report_url`. `page` is where the fleet page is written (links are
/// relative to it), if it is a file.
pub fn attach(f: &mut Fleet, template: Option<&str>, page: Option<&Path>) {
    let page_dir = page
        .filter(|p| p.as_os_str() != "-")
        .map(|p| match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        });
    for h in &mut f.hosts {
        let json = Path::new(&h.path);
        h.report_url = match template {
            Some(t) => {
                let file = json
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Some(fill(t, &h.host, &file))
            }
            None => sibling_html(json).and_then(|p| url_of(&p, page_dir.as_deref())),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert!(parse_template("https://r.example/{host}/{file}").is_ok());
        assert!(parse_template("https://r/{hots}")
            .unwrap_err()
            .contains("unknown placeholder"));
        assert!(parse_template("https://r/{host").is_err());
        assert!(parse_template("https://r/}x").is_err());
        assert_eq!(
            fill("https://r/{host}/{file}", "hv/../01 x", "a b.json"),
            "https://r/hv%2F..%2F01%20x/a%20b.json"
        );
        assert_eq!(pct("javascript:alert(1)"), "javascript%3Aalert%281%29");
    }

    #[test]
    fn relative_links_and_no_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("reports/site a");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("hv01.json"), "{}").unwrap();
        std::fs::write(d.join("hv01.html"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.join("hv02.html")).unwrap();
        let p = sibling_html(&d.join("hv01.json")).unwrap();
        // A page directory that does not exist (yet) gives an absolute link.
        assert!(url_of(&p, Some(&tmp.path().join("out")))
            .unwrap()
            .starts_with("file:///"));
        std::fs::create_dir(tmp.path().join("out")).unwrap();
        assert_eq!(
            url_of(&p, Some(&tmp.path().join("out"))).unwrap(),
            "../reports/site%20a/hv01.html"
        );
        assert!(url_of(&p, None).unwrap().starts_with("file:///"));
        assert!(sibling_html(&d.join("hv02.json")).is_none());
    }
}
