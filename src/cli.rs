//! Command line (the contract in design.md): parse, dispatch, map outcomes to exit status
//! 0 (no failure at or above --fail-on), 2 (failures), 1 (kvmaudit could not do its job).

use crate::collect::{self, Sources};
use crate::error::{Error, Result};
use crate::report::{Profile, Report};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const ABOUT: &str = "Audit KVM/QEMU hosts and their running VMs against Intel's KVM/QEMU tuning \
guide for 3rd Gen Xeon Scalable (Ice Lake)";

const LONG_ABOUT: &str = "Audit KVM/QEMU hosts and their running VMs against Intel's KVM/QEMU \
tuning guide for 3rd Gen Xeon Scalable (Ice Lake).

kvmaudit reads CPUID, SMBIOS, the kernel config, sysfs, /proc, module parameters and the \
command line of every running QEMU; it never changes the host. Run it as root for full \
coverage: without root some evidence (SMBIOS, QEMU fds and NUMA maps) is unreadable and the \
rules that need it report `unknown`, never `pass`.

Exit status: 0 no failed rule at or above --fail-on; 2 at least one; 1 kvmaudit could not do \
its job (bad flag, unreadable or malformed input named on the command line).";

#[derive(Parser, Debug)]
#[command(name = "kvmaudit", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Audit this host (or a --root, --snapshot, per-source files) and report
    Scan(ScanArgs),
    /// Record every fact a scan reads into a snapshot file, without verdicts
    Collect(CollectArgs),
    /// Write a reviewed-then-run remediation script for the failed findings
    Fix(FixArgs),
    /// List the rules kvmaudit checks
    Rules(RulesArgs),
    /// Show one rule with its rationale and remediation
    Explain(ExplainArgs),
    /// Roll many JSON reports up into one fleet view
    Fleet(FleetArgs),
    /// Compare two reports (or snapshots) of one host: what got better, what got worse
    Diff(DiffArgs),
    /// Print the shell completion script for bash, zsh or fish
    Completions(CompletionsArgs),
    /// Write the man pages (kvmaudit.1 and one kvmaudit-SUBCOMMAND.1 per subcommand)
    Man(ManArgs),
}

/// Where the facts come from. Without any of these, the running host is scanned.
#[derive(Args, Debug, Clone, Default)]
pub struct SourceArgs {
    /// Read every host path under DIR instead of / (a mounted host fs, a sosreport, a fixture)
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Audit a snapshot written by `kvmaudit collect`
    #[arg(long, value_name = "FILE", conflicts_with = "root")]
    pub snapshot: Option<PathBuf>,
    /// Audit a sosreport: its extracted directory or its .tar.xz/.tar.gz, read in place
    #[arg(long, value_name = "PATH", conflicts_with_all = ["root", "snapshot"])]
    pub sos: Option<PathBuf>,
    /// Raw CPUID: `cpuid -r` output, libvirt cpu-data XML, or an AIDA64/InstLatx64 dump
    #[arg(long, value_name = "FILE")]
    pub cpuid: Option<PathBuf>,
    /// SMBIOS: raw /sys/firmware/dmi/tables/DMI (or that directory), `dmidecode --dump-bin`, or `dmidecode` text
    #[arg(long, value_name = "FILE")]
    pub dmi: Option<PathBuf>,
    /// Kernel .config, plain or gzip (/proc/config.gz)
    #[arg(long, value_name = "FILE")]
    pub kconfig: Option<PathBuf>,
    /// One VM's QEMU command line (libvirt .args/log form or NUL-separated /proc/PID/cmdline);
    /// repeatable; replaces process discovery
    #[arg(long = "qemu-argv", value_name = "FILE")]
    pub qemu_argv: Vec<PathBuf>,
    /// A libvirt domain XML (`virsh dumpxml` output, /etc/libvirt/qemu/NAME.xml, a template) or
    /// a directory of them; repeatable; audited as VMs that are defined, not running
    #[arg(long = "domain-xml", value_name = "FILE|DIR")]
    pub domain_xml: Vec<PathBuf>,
    /// MSR values replacing /dev/cpu/*/msr: `turbostat --debug` output as FILE (sosreports carry
    /// it), or an `rdmsr -a REG` dump as REG=FILE (one hex value per CPU line, e.g.
    /// `--msr 0x1fc=power_ctl.txt`); repeatable, registers merge per CPU
    #[arg(long, value_name = "FILE|REG=FILE")]
    pub msr: Vec<String>,
}

impl SourceArgs {
    pub fn to_sources(&self) -> Sources {
        Sources {
            root: self.root.clone(),
            snapshot: self.snapshot.clone(),
            sos: self.sos.clone(),
            cpuid: self.cpuid.clone(),
            dmi: self.dmi.clone(),
            kconfig: self.kconfig.clone(),
            qemu_argv: self.qemu_argv.clone(),
            domain_xml: self.domain_xml.clone(),
            msr: self.msr.clone(),
        }
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileArg {
    Throughput,
    Latency,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromDetail {
    Failing,
    All,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    High,
    Medium,
    Low,
}

#[derive(Args, Debug)]
#[command(after_help = SCAN_AFTER_HELP)]
pub struct ScanArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Tuning profile the host is judged against [default: throughput, or the config file's]
    #[arg(long, value_enum)]
    pub profile: Option<ProfileArg>,
    /// Label the report KEY=VALUE, e.g. site=fra1 (repeatable; key: letters, digits, _;
    /// overrides the config file's label of the same key)
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// Defaults for profile, waivers, labels and fail-on [default: /etc/kvmaudit/config.toml,
    /// or $KVMAUDIT_CONFIG]; flags override it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// TOML file of accepted deviations (rule, target glob, vm glob, reason, expires; format below)
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// Write the JSON report to PATH ('-' for stdout)
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write the self-contained HTML report to PATH
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Write a Prometheus textfile (for node_exporter) to PATH
    #[arg(long, value_name = "PATH")]
    pub prom: Option<PathBuf>,
    /// Per-rule series in the --prom textfile: failing (every finding that is not pass) or all
    #[arg(long, value_enum, value_name = "WHICH", default_value_t = PromDetail::Failing)]
    pub prom_detail: PromDetail,
    /// What goes to stdout
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Lowest severity of a failure that makes the exit status 2 (default: any failure)
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
    /// Write JUnit XML (one testsuite per guide section, one testcase per rule and target) to PATH
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write OSCAL assessment results (observations with the evidence, findings with the
    /// status, referencing `kvmaudit rules --format oscal`'s controls) to PATH
    #[arg(long, value_name = "PATH")]
    pub oscal: Option<PathBuf>,
    #[command(flatten)]
    pub view: ViewArgs,
}

/// How the terminal table looks and which findings it lists.
#[derive(Args, Debug, Clone, Default)]
pub struct ViewArgs {
    /// Scores, coverage, blockers and top fixes only
    #[arg(long, conflicts_with = "verbose", help_heading = "Table")]
    pub summary: bool,
    /// Whole messages and every evidence line (no "(+N more)")
    #[arg(long, visible_alias = "wide", help_heading = "Table")]
    pub verbose: bool,
    /// Only findings with these statuses (fail,warn,unknown,info,pass,waived,not_applicable)
    #[arg(long, value_name = "STATUS,...", value_delimiter = ',',
          value_parser = parse_status, help_heading = "Table")]
    pub status: Vec<crate::report::Status>,
    /// Only findings on VMs whose name matches GLOB (`*` wildcard)
    #[arg(long, value_name = "GLOB", help_heading = "Table")]
    pub vm: Option<String>,
    /// Only rules whose id matches GLOB, e.g. 'qemu.blk.*' (case-insensitive)
    #[arg(long, value_name = "GLOB", help_heading = "Table")]
    pub rule: Option<String>,
    /// Colour: auto (a terminal, unless NO_COLOR is set or TERM=dumb; CLICOLOR_FORCE forces it),
    /// always or never
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorArg::Auto,
          help_heading = "Table")]
    pub color: ColorArg,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorArg {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorArg {
    fn choice(self) -> crate::report::terminal::ColorChoice {
        use crate::report::terminal::ColorChoice;
        match self {
            ColorArg::Auto => ColorChoice::Auto,
            ColorArg::Always => ColorChoice::Always,
            ColorArg::Never => ColorChoice::Never,
        }
    }
}

/// A finding status as `--status` takes it (the JSON names; `n/a` too).
/// `--cache`: a file of its own (it is binary: never stdout).
fn parse_cache_path(s: &str) -> std::result::Result<PathBuf, String> {
    if s == "-" || s.is_empty() {
        return Err(
            "the cache is a file: give its path (e.g. /var/cache/kvmaudit/fleet.cache)".into(),
        );
    }
    Ok(PathBuf::from(s))
}

fn parse_status(s: &str) -> std::result::Result<crate::report::Status, String> {
    use crate::report::Status;
    let all = [
        Status::Fail,
        Status::Warn,
        Status::Unknown,
        Status::Info,
        Status::Pass,
        Status::Waived,
        Status::NotApplicable,
    ];
    let want = s.trim().to_ascii_lowercase();
    all.into_iter()
        .find(|st| st.as_str() == want || (want == "n/a" && *st == Status::NotApplicable))
        .ok_or_else(|| {
            format!("`{s}`: not a status (fail, warn, unknown, info, pass, waived, not_applicable)")
        })
}

const SCAN_AFTER_HELP: &str = "The table goes to stdout unless --format json or an output is '-'. Its width is the terminal's, else COLUMNS, else 100; it is drawn in ASCII when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8. On a terminal, a report longer than the screen prints its summary first, right after the host; piped output keeps the summary last. --status, --vm and --rule narrow the findings tables only: the summary, the exit status and the --json, --html and --prom outputs always cover every finding (the --prom textfile lists the findings that are not pass, one kvmaudit_rule_status series each, and counts the rest in kvmaudit_findings; --prom-detail all adds a series per pass finding). A scan that fails (exit 1) with --prom replaces the textfile with kvmaudit_scan_success 0, keeping the last successful scan's kvmaudit_last_scan_timestamp_seconds.

Waivers (--waivers FILE) are TOML:
  [[waiver]]
  rule = \"host.thp\"          # rule id, `*` wildcards (\"qemu.blk.*\"); must name a rule
  target = \"vm:db-*\"         # optional target glob (default \"*\")
  vm = \"web*\"                # optional: only findings on VMs whose name matches
  reason = \"vendor requires THP off for this database\"
  expires = 2027-03-31       # optional, TOML date or \"YYYY-MM-DD\" string (UTC)";

#[derive(Args, Debug)]
pub struct CollectArgs {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Snapshot file to write ('-' for stdout)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct FixArgs {
    /// Generate the remediation script (the only mode)
    #[arg(long)]
    pub generate_script: bool,
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Use the findings of a JSON report instead of scanning
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Script file to write ('-' or absent: stdout)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only fix these rule ids (repeatable)
    #[arg(long, value_name = "ID")]
    pub only: Vec<String>,
    /// Tuning profile the scan judges against (a --report keeps its own)
    #[arg(long, value_enum, default_value_t = ProfileArg::Throughput)]
    pub profile: ProfileArg,
    /// Also write one suggested libvirt domain XML fragment per VM with findings into DIR
    #[arg(long = "libvirt-xml", value_name = "DIR")]
    pub libvirt_xml: Option<PathBuf>,
    /// TOML file of accepted deviations, as for `scan`: waived findings get no step
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// Generate although --report and SOURCES describe different hosts
    #[arg(long)]
    pub any_host: bool,
}

#[derive(Args, Debug)]
pub struct RulesArgs {
    /// table, json (the catalogue), or oscal (an OSCAL catalog: a group per guide section, a
    /// control per rule)
    #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
    pub format: RulesFormat,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesFormat {
    Table,
    Json,
    Oscal,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// Rule id, e.g. qemu.blk.cache (any case); a prefix such as qemu.blk lists the rules it
    /// starts
    pub id: String,
    /// Also show every finding of the rule in this JSON report (from `scan --json`), in full
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// Exit status of `fleet`: 0 the roll-up was rendered (even when some files were skipped);
/// 1 no usable report was found, or an output could not be written.
#[derive(Args, Debug)]
#[command(
    after_help = "Files that are not usable reports (corrupt, another tool's JSON, a newer \
schema, an older report of the same host) are listed as skipped with the reason.\n\
Exit status: 0 the roll-up was rendered, even with skipped files; 2 (with --baseline) some host \
regressed since the baseline: its score, host score or coverage dropped, it has more blockers, or \
a rule newly fails or warns there (hosts are matched by machine-id, else SMBIOS UUID, else \
hostname); 1 no usable report was found or an output could not be written."
)]
pub struct FleetArgs {
    /// JSON reports: files, directories (searched for *.json) or glob patterns
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Write the fleet page (self-contained HTML) to PATH
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Write the roll-up as JSON to PATH ('-' for stdout)
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write one CSV row per host to PATH ('-' for stdout)
    #[arg(long, value_name = "PATH")]
    pub csv: Option<PathBuf>,
    /// Write a Prometheus textfile (kvmaudit_fleet_* metrics) to PATH
    #[arg(long, value_name = "PATH")]
    pub prom: Option<PathBuf>,
    /// Reports older than this are listed as stale (e.g. 36h, 2d, 90m, 1d12h)
    #[arg(long, value_name = "DURATION", default_value = crate::fleet::DEFAULT_STALE_AFTER,
          value_parser = crate::fleet::parse_duration)]
    pub stale_after: u64,
    /// Summarise hosts per group in every output: a label key (site), cpu, kernel or profile
    #[arg(long, value_name = "KEY", value_parser = crate::fleet::groups::GroupKey::parse)]
    pub group_by: Option<crate::fleet::groups::GroupKey>,
    /// Exit 2 when a host has a failed finding at or above SEVERITY (as scan --fail-on)
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
    /// Link host rows to URL (with {host} and {file}, the JSON report's name, filled in and
    /// escaped) instead of the .html next to each JSON report
    #[arg(long, value_name = "TEMPLATE", value_parser = crate::fleet::links::parse_template)]
    pub report_url: Option<String>,
    /// Table: only hosts with findings of these statuses
    #[arg(long, value_name = "STATUS,...", value_delimiter = ',',
          value_parser = parse_status, help_heading = "Table")]
    pub status: Vec<crate::report::Status>,
    /// Table: only rules matching GLOB, and hosts where one fails or warns
    #[arg(long, value_name = "GLOB", help_heading = "Table")]
    pub rule: Option<String>,
    /// Table: only VMs whose name matches GLOB in the worst-VMs list
    #[arg(long, value_name = "GLOB", help_heading = "Table")]
    pub vm: Option<String>,
    /// Compare with the roll-up of the reports in DIR (or file, glob): hosts that regressed
    /// since are listed, and make the exit status 2
    #[arg(long, value_name = "DIR")]
    pub baseline: Option<PathBuf>,
    /// Keep what each report rolled up to in FILE and reuse it while the report is unchanged
    /// (same inode, size and change time): repeated roll-ups read only changed reports
    #[arg(long, value_name = "FILE", value_parser = parse_cache_path)]
    pub cache: Option<PathBuf>,
}

/// Exit status of `diff`: 2 something regressed, 0 nothing did, 1 bad input.
#[derive(Args, Debug)]
#[command(
    after_help = "Regressed means: a finding got worse (a new fail or warn, or a status that \
moved towards fail: pass/info/waived/n/a < unknown < warn < fail, or the same status at a higher \
severity), the overall, host or a VM's score dropped, the coverage dropped, or blockers were \
added. Findings are matched by rule and target; a VM that is gone is listed as resolved, not \
as a drop.\n\
Exit status: 0 nothing regressed; 2 something regressed (cron can alert on it); 1 bad input, \
such as files of two different hosts (by hostname, machine-id or SMBIOS UUID) without --any-host."
)]
pub struct DiffArgs {
    /// The earlier report (scan --json) or snapshot (collect -o)
    pub old: PathBuf,
    /// The later report or snapshot
    pub new: PathBuf,
    /// What goes to stdout
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Compare although the two files are of different hosts
    #[arg(long)]
    pub any_host: bool,
    /// Profile a snapshot is evaluated with (a report keeps its own)
    #[arg(long, value_enum, default_value_t = ProfileArg::Throughput)]
    pub profile: ProfileArg,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Install: kvmaudit completions bash > /etc/bash_completion.d/kvmaudit; \
zsh: a file _kvmaudit in a directory of $fpath; fish: ~/.config/fish/completions/kvmaudit.fish"
)]
pub struct CompletionsArgs {
    /// The shell the script is for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write every page into DIR (created when missing) instead of kvmaudit.1 to stdout
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Parse argv and run; returns the process exit status.
pub fn main_with_args(args: Vec<std::ffi::OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                // A bad flag is "could not do its job" (1), not clap's default 2, which
                // design.md reserves for failed rules.
                _ => 1,
            };
            if code == 0 {
                let _ = e.print();
            } else {
                // clap quotes the offending argument: it may carry escapes or be megabytes long.
                let text = e.render().to_string();
                let lines: Vec<String> = text
                    .lines()
                    .map(|l| crate::safe_text::one_line(l, crate::safe_text::STDERR_LINE_CHARS))
                    .collect();
                eprintln!("{}", lines.join("\n").trim_end());
            }
            return code;
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Paths, parser complaints and quoted input come from outside: one bounded line.
            eprintln!(
                "kvmaudit: error: {}",
                crate::safe_text::one_line(&e.to_string(), crate::safe_text::STDERR_LINE_CHARS)
            );
            1
        }
    }
}

fn run(cli: Cli) -> Result<i32> {
    match cli.cmd {
        Cmd::Scan(a) => scan(a),
        Cmd::Collect(a) => {
            let snap = collect::gather(&a.sources.to_sources())?;
            let mut json = serde_json::to_vec_pretty(&snap)
                .map_err(|e| Error::Usage(format!("cannot serialize snapshot: {e}")))?;
            json.push(b'\n');
            crate::util::write_output(&a.output, &json)?;
            Ok(0)
        }
        Cmd::Fix(a) => fix(a),
        Cmd::Rules(a) => {
            let out = match a.format {
                RulesFormat::Table => {
                    crate::report::rules_doc::table_with(crate::report::table::Style::for_stdout())
                        .into_bytes()
                }
                RulesFormat::Oscal => {
                    let doc = crate::report::oscal::catalog(&crate::util::now_rfc3339());
                    let mut v = serde_json::to_vec_pretty(&doc)
                        .map_err(|e| Error::Usage(format!("cannot serialize the catalog: {e}")))?;
                    v.push(b'\n');
                    v
                }
                RulesFormat::Json => {
                    let mut v = serde_json::to_vec_pretty(crate::rules::meta::catalogue())
                        .map_err(|e| Error::Usage(format!("cannot serialize rules: {e}")))?;
                    v.push(b'\n');
                    v
                }
            };
            crate::util::write_output(std::path::Path::new("-"), &out)?;
            Ok(0)
        }
        Cmd::Explain(a) => explain(a),
        Cmd::Fleet(a) => crate::fleet::run(&crate::fleet::Options {
            paths: a.paths,
            html: a.html,
            json: a.json,
            csv: a.csv,
            prom: a.prom,
            stale_after: a.stale_after,
            progress: true,
            group_by: a.group_by,
            fail_on: a.fail_on.map(fail_on_severity),
            report_url: a.report_url,
            filter: crate::fleet::render::TableFilter {
                statuses: a.status,
                rule: a.rule,
                vm: a.vm,
            },
            baseline: a.baseline,
            cache: a.cache,
        }),
        Cmd::Diff(a) => crate::diff::run(&crate::diff::Options {
            old: a.old,
            new: a.new,
            json: a.format == Format::Json,
            any_host: a.any_host,
            profile: match a.profile {
                ProfileArg::Throughput => Profile::Throughput,
                ProfileArg::Latency => Profile::Latency,
            },
        }),
        Cmd::Completions(a) => {
            let script = crate::cli_docs::completions(a.shell);
            crate::util::write_output(std::path::Path::new("-"), &script)?;
            Ok(0)
        }
        Cmd::Man(a) => {
            crate::cli_docs::write_man_pages(a.dir.as_deref())?;
            Ok(0)
        }
    }
}

fn parse_label(s: &str) -> std::result::Result<(String, String), String> {
    crate::labels::parse_pair(s)
}

/// What the scan runs with: each flag given on the command line, else the config file's
/// value, else the built-in default. Labels merge, the flag's value winning per key.
struct Effective {
    profile: Profile,
    waivers: Option<PathBuf>,
    fail_on: Option<FailOn>,
    labels: crate::labels::Labels,
}

fn effective(a: &ScanArgs, c: crate::config::Config) -> Result<Effective> {
    use crate::config::FailOnName;
    let profile = match a.profile {
        Some(ProfileArg::Throughput) => Profile::Throughput,
        Some(ProfileArg::Latency) => Profile::Latency,
        None => c.profile.unwrap_or(Profile::Throughput),
    };
    let fail_on = a.fail_on.or(c.fail_on.map(|f| match f {
        FailOnName::High => FailOn::High,
        FailOnName::Medium => FailOn::Medium,
        FailOnName::Low => FailOn::Low,
    }));
    let mut labels = c.labels;
    labels.extend(a.labels.iter().cloned());
    crate::labels::check(&labels).map_err(Error::Usage)?;
    Ok(Effective {
        profile,
        waivers: a.waivers.clone().or(c.waivers),
        fail_on,
        labels,
    })
}

/// `scan`; when it fails and writes a --prom textfile, the textfile says so
/// (`kvmaudit_scan_success 0`) instead of repeating the last good scan's numbers.
fn scan(a: ScanArgs) -> Result<i32> {
    let prom = a.prom.clone();
    let result = scan_and_write(a);
    if let (Err(_), Some(p)) = (&result, &prom) {
        crate::report::prom_failure::write_failure(p);
    }
    result
}

fn scan_and_write(a: ScanArgs) -> Result<i32> {
    let e = effective(&a, crate::config::load(a.config.as_deref())?)?;
    let waivers = match &e.waivers {
        Some(p) => crate::rules::waivers::load(p)?,
        None => Vec::new(),
    };
    let started = std::time::Instant::now();
    let snap = collect::gather(&a.sources.to_sources())?;
    let today = crate::util::now_rfc3339();
    let mut report = crate::rules::evaluate(&snap, e.profile, &waivers, &today[..10]);
    report.labels = e.labels;
    let duration = started.elapsed().as_secs_f64();
    // Something written to stdout ('-') replaces the table there.
    let json_to_stdout = [&a.json, &a.html, &a.prom, &a.junit, &a.oscal]
        .iter()
        .any(|p| p.as_deref().is_some_and(|p| p.as_os_str() == "-"));
    if let Some(p) = &a.json {
        write_report_json(p, &report)?;
    }
    if let Some(p) = &a.html {
        crate::util::write_output(p, crate::report::html::render(&report)?.as_bytes())?;
    }
    if let Some(p) = &a.prom {
        crate::util::write_output(
            p,
            crate::report::prom::render_with(
                &report,
                Some(duration),
                match a.prom_detail {
                    PromDetail::Failing => crate::report::prom::Detail::Failing,
                    PromDetail::All => crate::report::prom::Detail::All,
                },
            )
            .as_bytes(),
        )?;
    }
    if let Some(p) = &a.junit {
        let fail_on = e.fail_on.map(fail_on_severity);
        crate::util::write_output_with(p, |w| {
            crate::report::junit::write(w, &report, fail_on, Some(duration))
        })?;
    }
    if let Some(p) = &a.oscal {
        let doc = crate::report::oscal::assessment_results(&report);
        crate::util::write_output_with(p, |w| {
            serde_json::to_writer_pretty(&mut *w, &doc)?;
            w.write_all(b"\n")
        })?;
    }
    if !json_to_stdout {
        let stdout = std::path::Path::new("-");
        match a.format {
            Format::Json => write_report_json(stdout, &report)?,
            Format::Table => {
                crate::util::write_output(stdout, render_table(&report, &a.view).as_bytes())?
            }
        }
    }
    Ok(exit_status(&report, e.fail_on))
}

/// `explain ID [--report FILE]`: the rule (any case), or the rules a prefix names, or
/// suggestions; with a report, that rule's findings in it.
fn explain(a: ExplainArgs) -> Result<i32> {
    use crate::report::rules_doc::{self, Lookup};
    let shown = crate::report::table::sanitize(&a.id, false);
    let m = match rules_doc::lookup(&a.id) {
        Lookup::Rule(m) => m,
        Lookup::Prefix(rules) => {
            let text = format!(
                "{} rules start with `{shown}`; `kvmaudit explain ID` shows one:\n{}",
                rules.len(),
                rules_doc::id_list(&rules)
            );
            crate::util::write_output(std::path::Path::new("-"), text.as_bytes())?;
            return Ok(0);
        }
        Lookup::Missing(near) if !near.is_empty() => {
            return Err(Error::Usage(format!(
                "no rule with id `{shown}`; did you mean:\n{}",
                rules_doc::id_list(&near).trim_end()
            )))
        }
        Lookup::Missing(_) => {
            return Err(Error::Usage(format!(
                "no rule with id `{shown}`; `kvmaudit rules` lists them"
            )))
        }
    };
    let mut text = rules_doc::explain(m);
    if let Some(path) = &a.report {
        let report = read_report(path)?;
        let width = crate::report::table::Style::for_stdout().width as usize;
        text.push_str(&rules_doc::findings_text(
            &report,
            &m.id,
            &path.display().to_string(),
            width,
        ));
    }
    crate::util::write_output(std::path::Path::new("-"), text.as_bytes())?;
    Ok(0)
}

/// The terminal table as `--summary`/`--verbose`/filters/`--color` ask. On a terminal a
/// report taller than the screen is rendered again with its summary first: the score is what
/// the reader looks for, and it would otherwise have scrolled away.
fn render_table(r: &Report, v: &ViewArgs) -> String {
    use crate::report::table::{render_view, Style, View};
    let style = Style::for_stdout_with(v.color.choice());
    let mut view = View {
        summary_only: v.summary,
        verbose: v.verbose,
        summary_first: false,
        statuses: v.status.clone(),
        vm: v.vm.clone(),
        rule: v.rule.clone(),
    };
    let text = render_view(r, style, &view);
    if view.summary_only || !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return text;
    }
    let rows = crate::report::terminal::stdout_size()
        .map(|(_, r)| r)
        .filter(|&r| r > 0)
        .unwrap_or(24);
    if text.lines().count() > usize::from(rows) {
        view.summary_first = true;
        render_view(r, style, &view)
    } else {
        text
    }
}

/// `fix --generate-script`: findings (a fresh scan, or --report FILE) → one bash script.
/// With --report and SOURCES together, the findings come from the report and the facts the
/// steps are made from from the sources. It reads only; it writes the script and, when asked,
/// the XML fragments.
fn fix(a: FixArgs) -> Result<i32> {
    check_fix_request(&a)?;
    let waivers = match &a.waivers {
        Some(p) => crate::rules::waivers::load(p)?,
        None => Vec::new(),
    };
    let today = crate::util::now_rfc3339();
    let (mut report, snap, source) = fix_findings(&a, &today)?;
    let mut notes = Vec::new();
    // The same waivers as `scan` (and the same code): a waived finding gets no step. Their
    // notes (expired, matching nothing) go to the script's header.
    let before = report.notes.len();
    crate::rules::engine::apply_waivers(&mut report, &waivers, &today[..10]);
    notes.extend(report.notes.drain(before..));
    check_report_host(&a, &report, snap.as_ref(), &mut notes)?;
    let opts = crate::fix::Options {
        only: a.only.clone(),
        libvirt_xml: a.libvirt_xml.is_some(),
        source,
        generated_at: crate::util::now_rfc3339(),
        notes,
        identity: None,
    };
    let gen = crate::fix::generate(&report, snap.as_ref(), &opts);
    if let Some(dir) = &a.libvirt_xml {
        let dir = crate::output::create_dir(dir)?;
        for (name, xml) in &gen.fragments {
            dir.write(name, xml.as_bytes())?;
        }
    }
    let out = a.output.clone().unwrap_or_else(|| PathBuf::from("-"));
    crate::util::write_output(&out, gen.script.as_bytes())?;
    Ok(0)
}

/// What `fix` refuses before reading anything: no --generate-script, an unknown --only rule.
fn check_fix_request(a: &FixArgs) -> Result<()> {
    if !a.generate_script {
        return Err(Error::Usage(
            "`kvmaudit fix` needs --generate-script (the only mode: kvmaudit never changes the host itself)".into(),
        ));
    }
    for id in &a.only {
        if crate::rules::meta::find(id).is_none() {
            return Err(Error::Usage(format!(
                "--only {id}: no such rule; `kvmaudit rules` lists them"
            )));
        }
    }
    Ok(())
}

/// Whether any source option was given (else `fix --report` has no facts of its own).
fn has_any_source(src: &SourceArgs) -> bool {
    src.root.is_some()
        || src.snapshot.is_some()
        || src.sos.is_some()
        || src.cpuid.is_some()
        || src.dmi.is_some()
        || src.kconfig.is_some()
        || !src.qemu_argv.is_empty()
        || !src.msr.is_empty()
}

/// How the script's header names where the facts came from.
fn describe_sources(s: &SourceArgs) -> String {
    match (&s.root, &s.snapshot) {
        _ if s.sos.is_some() => format!(
            "scan of --sos {}",
            s.sos
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ),
        (Some(r), _) => format!("scan of --root {}", r.display()),
        (_, Some(f)) => format!("scan of --snapshot {}", f.display()),
        _ => "scan of this host (/)".to_string(),
    }
}

/// The findings to fix, the snapshot the steps are made from (none for `--report` alone) and
/// how the header names them: a `--report`, else a fresh scan of the sources.
fn fix_findings(
    a: &FixArgs,
    today: &str,
) -> Result<(Report, Option<crate::snapshot::Snapshot>, String)> {
    let src = &a.sources;
    Ok(match &a.report {
        Some(path) => {
            let report = read_report(path)?;
            let snap = if has_any_source(src) {
                Some(collect::gather(&src.to_sources())?)
            } else {
                None
            };
            let source = match &snap {
                Some(_) => format!(
                    "report {} (facts: {})",
                    path.display(),
                    describe_sources(src)
                ),
                None => format!("report {}", path.display()),
            };
            (report, snap, source)
        }
        None => {
            let snap = collect::gather(&src.to_sources())?;
            let profile = match a.profile {
                ProfileArg::Throughput => Profile::Throughput,
                ProfileArg::Latency => Profile::Latency,
            };
            let report = crate::rules::evaluate(&snap, profile, &[], &today[..10]);
            (report, Some(snap), describe_sources(src))
        }
    })
}

/// A report of one host with the facts of another makes a script for neither: refused unless
/// --any-host, which leaves a note in the header.
fn check_report_host(
    a: &FixArgs,
    report: &Report,
    snap: Option<&crate::snapshot::Snapshot>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let (Some(path), Some(s)) = (&a.report, snap) else {
        return Ok(());
    };
    let facts = crate::fix::identity::of_snapshot(s);
    let of_report = crate::fix::identity::HostIdentity {
        hostname: report
            .host
            .hostname
            .as_deref()
            .and_then(crate::fix::identity::hostname),
        machine_id: report
            .host
            .machine_id
            .as_deref()
            .and_then(crate::model::identity::machine_id),
        smbios_uuid: report
            .host
            .smbios_uuid
            .as_deref()
            .and_then(crate::model::identity::smbios_uuid),
    };
    let diff = of_report.differences(&facts);
    if !diff.is_empty() {
        if !a.any_host {
            return Err(Error::Usage(format!(
                "--report {} is of another host than the SOURCES ({}); fix --any-host generates anyway",
                path.display(),
                diff.join("; ")
            )));
        }
        notes.push(format!(
            "--any-host: the report and the facts are of different hosts ({}); the steps use the facts, and the script is bound to the facts' host",
            diff.join("; ")
        ));
    }
    Ok(())
}

/// A JSON report written by `scan --json`, bounded in size and schema version.
fn read_report(path: &std::path::Path) -> Result<Report> {
    let bytes = crate::input::read_input_file(path, collect::MAX_INPUT, "a kvmaudit report")?;
    parse_report(path, &bytes)
}

/// `bytes` (read from `path`) as a JSON report of a schema this kvmaudit understands.
pub(crate) fn parse_report(path: &std::path::Path, bytes: &[u8]) -> Result<Report> {
    let report: Report = serde_json::from_slice(bytes).map_err(|e| {
        // Another kvmaudit file (a fleet roll-up, a snapshot) is named as such.
        let kind = crate::file_kind::detect(bytes)
            .and_then(|k| crate::file_kind::misuse(k, crate::file_kind::FileKind::Report));
        Error::parse(
            path,
            kind.unwrap_or_else(|| {
                format!(
                    "not a kvmaudit JSON report: {}",
                    crate::safe_text::json_complaint(&e)
                )
            }),
        )
    })?;
    if report.schema_version > crate::report::REPORT_SCHEMA_VERSION {
        return Err(Error::parse(
            path,
            format!(
                "report schema_version {} is newer than this kvmaudit understands ({})",
                report.schema_version,
                crate::report::REPORT_SCHEMA_VERSION
            ),
        ));
    }
    Ok(report)
}

/// The JSON report (pretty, with a final newline), written as it is serialized: held whole, the
/// text of a host with many VMs would be a second copy of the report in memory.
fn write_report_json(path: &std::path::Path, r: &Report) -> Result<()> {
    crate::util::write_output_with(path, |w| {
        serde_json::to_writer_pretty(&mut *w, r)?;
        w.write_all(b"\n")
    })
}

/// The severity `--fail-on` names.
fn fail_on_severity(f: FailOn) -> crate::report::Severity {
    use crate::report::Severity;
    match f {
        FailOn::Low => Severity::Low,
        FailOn::Medium => Severity::Medium,
        FailOn::High => Severity::High,
    }
}

/// 2 when a (non-waived) failure is at or above the threshold, else 0.
pub fn exit_status(r: &Report, fail_on: Option<FailOn>) -> i32 {
    use crate::report::{Severity, Status};
    let threshold = match fail_on {
        None => Severity::Info,
        Some(FailOn::Low) => Severity::Low,
        Some(FailOn::Medium) => Severity::Medium,
        Some(FailOn::High) => Severity::High,
    };
    let failed = r
        .results
        .iter()
        .any(|f| f.status == Status::Fail && f.severity >= threshold);
    if failed {
        2
    } else {
        0
    }
}
