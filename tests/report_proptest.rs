//! No input makes a renderer or the fleet reader panic, and host strings never become markup.

use kvmaudit::report::{html, prom, sample, table};
use proptest::prelude::*;
use std::path::Path;
use unicode_width::UnicodeWidthStr;

fn base() -> Vec<u8> {
    serde_json::to_vec_pretty(&sample::report(&sample::Spec::new(3, "hv03"))).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn fleet_reader_survives_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = kvmaudit::fleet::read::parse(Path::new("x.json"), &bytes);
    }

    #[test]
    fn fleet_reader_survives_damaged_reports(
        cut in 0usize..100_000,
        flips in proptest::collection::vec((0usize..100_000, any::<u8>()), 0..8),
    ) {
        let mut b = base();
        for (at, v) in flips {
            let n = b.len();
            b[at % n] = v;
        }
        let n = b.len();
        b.truncate(cut % (n + 1));
        let _ = kvmaudit::fleet::read::parse(Path::new("x.json"), &b);
        // The same bytes through the file reader.
        let f = std::env::temp_dir().join(format!("kvmaudit-prop-{}.json", std::process::id()));
        std::fs::write(&f, &b).unwrap();
        let _ = kvmaudit::fleet::read::read(&f);
        let _ = std::fs::remove_file(&f);
    }

    #[test]
    fn renderers_survive_any_strings_and_escape_them(
        name in "\\PC{0,40}",
        msg in "(?s).{0,200}",
        observed in "(?s).{0,80}",
        score in proptest::option::of(-1e9f64..1e9),
    ) {
        let mut r = sample::report(&sample::Spec::new(7, "hv"));
        let marker = format!("<i>{name}");
        r.vms[0].name = marker.clone();
        r.host.hostname = Some(format!("{name}</script>"));
        r.results[0].message = msg;
        r.results[0].evidence[0].observed = observed;
        r.results[0].target = format!("vm:{marker}");
        r.notes.push(format!("note {name}{name}{name} {name}"));
        r.score.value = score;
        r.vms[1].score.value = score;
        let text = table::render_with(&r, table::Style::plain());
        prop_assert!(!text.contains('\x1b'));
        for line in text.lines() {
            // Display columns, as a terminal counts them (comfy-table lays out the same way).
            prop_assert!(UnicodeWidthStr::width(line) <= 100, "too wide: {:?}", line);
        }
        let page = html::render(&r).unwrap();
        prop_assert!(!page.contains("<i>"));
        prop_assert_eq!(page.matches("</script>").count(), 2);
        let metrics = prom::render(&r, Some(0.1));
        for line in metrics.lines() {
            // Every sample line ends in a value; label values hold no raw newline or quote.
            prop_assert!(line.starts_with('#') || line.starts_with("kvmaudit_"), "{:?}", line);
        }
    }
}
