//! Headless Chromium (Debian's package) for the HTML tests.

use std::path::Path;
use std::time::{Duration, Instant};

/// Run headless Chromium with the given extra arguments on `file://PATH`; its stdout.
pub fn chromium(profile: &Path, extra: &[String], page: &Path) -> String {
    chromium_url(profile, extra, &format!("file://{}", page.display()))
}

/// `file://PATH#FRAGMENT` in headless Chromium: the page's state from its URL fragment.
pub fn chromium_fragment(profile: &Path, extra: &[String], page: &Path, fragment: &str) -> String {
    chromium_url(
        profile,
        extra,
        &format!("file://{}#{fragment}", page.display()),
    )
}

/// Run headless Chromium with the given extra arguments on `url`; its stdout.
pub fn chromium_url(profile: &Path, extra: &[String], url: &str) -> String {
    let mut c = std::process::Command::new("chromium");
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(url);
    // Into a file, not a pipe: a DOM larger than the pipe buffer would block Chromium while
    // this process waits for it to exit.
    let out_path = profile.with_extension("stdout");
    let out_file = std::fs::File::create(&out_path).unwrap();
    c.stdout(out_file).stderr(std::process::Stdio::null());
    let mut child = c.spawn().expect("chromium starts");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            panic!("chromium did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "chromium failed: {status:?}");
    String::from_utf8_lossy(&std::fs::read(&out_path).unwrap()).into_owned()
}

pub fn dump_dom(tmp: &Path, page: &Path) -> String {
    chromium(&tmp.join("profile"), &["--dump-dom".into()], page)
}

/// The text of the element with `id` (first occurrence), tags stripped.
pub fn text_of(dom: &str, id: &str) -> String {
    let key = format!("id=\"{id}\"");
    let at = dom
        .find(&key)
        .unwrap_or_else(|| panic!("no #{id} in the DOM"));
    let rest = &dom[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest.find("</").unwrap();
    rest[start..end].trim().to_string()
}
