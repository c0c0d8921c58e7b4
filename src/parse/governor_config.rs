//! Distribution files that select a cpufreq governor at boot: `/etc/sysconfig/cpupower`
//! (`CPUPOWER_START_OPTS="frequency-set -g performance"`) and `/etc/default/cpufrequtils`
//! (`GOVERNOR="performance"`).

/// The uncommented `CPUPOWER_START_OPTS` line when it selects the performance governor.
pub fn cpupower_performance_line(text: &str) -> Option<&str> {
    let line = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with("CPUPOWER_START_OPTS"))?;
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == '"' || c == '=' || c == '\'')
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .any(|w| matches!(w[0], "-g" | "--governor") && w[1] == "performance")
        .then_some(line)
}

/// The `GOVERNOR=performance` line (quoted or not), when there is one.
pub fn cpufrequtils_performance_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|l| {
        l.strip_prefix("GOVERNOR=")
            .map(|v| v.trim_matches(|c| c == '"' || c == '\''))
            == Some("performance")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpupower_options_select_performance_only_when_uncommented() {
        let t = "# CPUPOWER_START_OPTS=\"frequency-set -g performance\"\nCPUPOWER_START_OPTS=\"frequency-set --governor performance\"\n";
        assert_eq!(
            cpupower_performance_line(t),
            Some("CPUPOWER_START_OPTS=\"frequency-set --governor performance\"")
        );
        assert_eq!(
            cpupower_performance_line("CPUPOWER_START_OPTS=\"frequency-set -g powersave\""),
            None
        );
        assert_eq!(cpupower_performance_line("\u{0}\u{202e}-g"), None);
    }

    #[test]
    fn cpufrequtils_governor_line() {
        assert_eq!(
            cpufrequtils_performance_line("ENABLE=true\nGOVERNOR='performance'\n"),
            Some("GOVERNOR='performance'")
        );
        assert_eq!(cpufrequtils_performance_line("GOVERNOR=ondemand"), None);
    }
}
