//! Shell completions and man pages, generated from the clap definitions in [`crate::cli`] so
//! that they can never disagree with the flags kvmaudit really takes.

use crate::error::Result;
use clap::CommandFactory;
use std::path::Path;

/// The completion script for `shell`, as `source`d by that shell.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = crate::cli::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "kvmaudit", &mut out);
    out
}

/// The date in the pages' title line: that of the release, not of the run, so that the pages a
/// build writes are the same every time (update it with the version).
const MAN_DATE: &str = "2026-12-07";

/// A page with kvmaudit's version and [`MAN_DATE`] in its title line (clap_mangen would put the
/// subcommand's name where the date belongs, and mandoc warns about it).
fn man(cmd: clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(cmd)
        .date(MAN_DATE)
        .source(concat!("kvmaudit ", env!("CARGO_PKG_VERSION")))
}

/// The man pages: `kvmaudit.1` first, then one `kvmaudit-SUBCOMMAND.1` per subcommand (the
/// names that the main page's SUBCOMMANDS section refers to), as (file name, roff) pairs.
pub fn man_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    // Built, so that subcommands carry their full names (`kvmaudit scan`) and the version.
    let mut cmd = crate::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    let mut main = Vec::new();
    man(cmd.clone()).render(&mut main)?;
    pages.push(("kvmaudit.1".to_string(), paragraph_breaks(main)));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        // A built subcommand's display name is `kvmaudit-scan`: the page's title and file.
        let page_man = man(sub.clone());
        let mut page = Vec::new();
        page_man.render(&mut page)?;
        pages.push((page_man.get_filename(), paragraph_breaks(page)));
    }
    Ok(pages)
}

/// clap_mangen breaks the paragraph before an option's "Possible values" with `.br`, a blank
/// line and `.br` (or a blank line and `.br`): mandoc's lint warns about both, and `.sp` is
/// what they mean.
fn paragraph_breaks(roff: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8_lossy(&roff)
        .replace("\n.br\n\n.br\n", "\n.sp\n")
        .replace("\n\n.br\n", "\n.sp\n");
    text.into_bytes()
}

/// `kvmaudit man`: every page into `dir` (created when missing; a link is refused), or, without
/// a directory, `kvmaudit.1` to stdout (`kvmaudit man | man -l -`).
pub fn write_man_pages(dir: Option<&Path>) -> Result<()> {
    let pages = man_pages().map_err(|e| crate::error::Error::Write {
        path: dir.unwrap_or(Path::new("-")).to_path_buf(),
        source: e,
    })?;
    match dir {
        Some(dir) => {
            let out = crate::output::create_dir(dir)?;
            for (name, roff) in &pages {
                out.write(name, roff)?;
            }
        }
        None => crate::util::write_output(Path::new("-"), &pages[0].1)?,
    }
    Ok(())
}
