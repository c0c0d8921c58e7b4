#!/usr/bin/env bash
# Run every fuzz target for a bounded time each, on the stable toolchain.
#
#   fuzz/run-all.sh [SECONDS] [TARGET...]     # default 60 s each, all targets
#
# cargo-fuzz defaults to AddressSanitizer, which needs nightly (-Zsanitizer). kvmaudit's parsers have no
# `unsafe` code, so the targets are built with `--sanitizer none`: plain libFuzzer
# coverage guidance plus debug assertions and overflow checks, which stable rustc accepts.
# (With RUSTC_BOOTSTRAP=1 the default ASan build also works on stable; see fuzz/README.md.)
#
# Each target starts from fuzz/corpus/<target> (seeded by fuzz/seed-corpora.sh when missing)
# and new inputs go to a scratch copy, so a run never grows the seeds. A crash, a timeout
# (10 s for one input) or an out-of-memory (2 GB) stops that target, leaves the input under
# fuzz/artifacts/<target>/, and makes the script exit non-zero after the remaining targets ran.
set -uo pipefail
cd "$(dirname "$0")" || exit 1

secs=${1:-60}
shift || true
all=(cpuid cpuid_model smbios dmidecode_text kconfig argv_file argv_nul sysfs_values
     snapshot_json host_files waivers_toml libvirt_domain)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

if ! command -v cargo-fuzz >/dev/null; then
  echo "run-all.sh: cargo-fuzz is not installed (cargo install cargo-fuzz)" >&2
  exit 127
fi
[ -d corpus ] || ./seed-corpora.sh

# Build once, then run the binaries directly: `cargo fuzz run` would rebuild (and re-check)
# the crate for every target.
cargo fuzz build --sanitizer none || exit 1
bindir=target/x86_64-unknown-linux-gnu/release

failed=()
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t" "$scratch/$t"
  echo "=== fuzz $t for ${secs}s ($(find "corpus/$t" -type f | wc -l) seeds)"
  # One job (the machine is shared); -max_len: enough for every seed we ship; new inputs go
  # to the scratch directory, the seeds are only read.
  if ! "$bindir/$t" "$scratch/$t" "corpus/$t" \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=524288 \
      -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$scratch/$t.log" 2>&1; then
    failed+=("$t")
    # The panic and how to reproduce it; libFuzzer's byte-by-byte dump of the input is cut.
    sed -n '/panicked at\|ERROR: libFuzzer\|==ERROR\|SUMMARY/,/^stack backtrace\|^$/p' "$scratch/$t.log" | cut -c1-400 | head -20
    find "artifacts/$t" -type f | sed "s|^|  input: fuzz/|"
    echo "  reproduce: fuzz/$bindir/$t fuzz/artifacts/$t/<input>"
  fi
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)" "$scratch/$t.log" | tr -s ' \n' ' '
  echo
done

# Closing line in the plain 'N passed, N failed' form that CI logs are read for.
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
  echo "fuzz: $(( ${#targets[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${secs}s each with no crash"
echo "fuzz: ${#targets[@]} passed, 0 failed"
