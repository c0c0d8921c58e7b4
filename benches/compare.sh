#!/usr/bin/env bash
# kvmaudit side by side with its Debian peers, timed by hyperfine, with the ratios.
#
#   benches/compare.sh [RUNS]          # default 20 runs per command (lynis: 3)
#
# Peers: `virt-host-validate qemu` (libvirt-clients) and `lynis audit system --quick` (lynis).
# Needs hyperfine; peak RSS needs GNU time (package `time`); a missing peer is skipped.
# Install them with:  apt-get install hyperfine lynis libvirt-clients time
# kvmaudit is the release build (cargo build --release). Not run in CI.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
runs=${1:-20}
bin=$PWD/target/release/kvmaudit
cargo build --release --quiet --bin kvmaudit

command -v hyperfine >/dev/null || { echo "compare.sh: hyperfine is not installed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" collect -o "$work/live.json"
"$bin" collect --root fixtures/hosts/icx-tuned -o "$work/icx.json"

# name|runs|command
cmds=(
  "kvmaudit scan (live)|$runs|$bin scan --format json"
  "kvmaudit scan --snapshot (icx-tuned)|$runs|$bin scan --snapshot $work/icx.json --format json"
)
if command -v virt-host-validate >/dev/null; then
  cmds+=("virt-host-validate qemu|$runs|virt-host-validate qemu")
else
  echo "skipping virt-host-validate: install libvirt-clients" >&2
fi
if command -v lynis >/dev/null; then
  # lynis takes tens of seconds per run; --quick skips its pauses. Its log and report go to the
  # work directory: `--no-log` points its log at /dev/null, which a root run can replace with
  # a regular file.
  cmds+=("lynis audit system --quick|3|lynis audit system --quick --no-colors --logfile $work/lynis.log --report-file $work/lynis.dat")
else
  echo "skipping lynis: install lynis" >&2
fi

i=0
for c in "${cmds[@]}"; do
  IFS='|' read -r name n cmd <<<"$c"
  i=$((i + 1))
  # Exit status 2 (failed rules) and the peers' own failure codes are results, not errors.
  hyperfine -N -i --warmup 2 --runs "$n" --style none \
    --export-json "$work/$i.json" --command-name "$name" "$cmd" >/dev/null 2>&1
  echo n/a >"$work/$i.rss"
  if [ -x /usr/bin/time ]; then
    # One more run under GNU time for the peak RSS (-o: its report, apart from the command's
    # output). A peer's own failure (virt-host-validate exits 1 without KVM) is not ours.
    # shellcheck disable=SC2086  # the command is meant to be split into words
    /usr/bin/time -f '%M' -o "$work/$i.rss" $cmd >/dev/null 2>&1 || true
  fi
done

python3 - "$work" "$i" <<'PY'
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
rows = []
for i in range(1, n + 1):
    r = json.load(open(f"{work}/{i}.json"))["results"][0]
    rss = open(f"{work}/{i}.rss").read().strip().splitlines()[-1:] or ["n/a"]
    rss = rss[0]
    rows.append((r["command"], r["mean"], r["stddev"] or 0.0, r["min"], len(r["times"]), rss))
base = rows[0][1]
print(f"{'command':<40} {'mean':>11} {'± sd':>9} {'min':>11} {'runs':>5} {'peak RSS':>10} {'x kvmaudit live':>16}")
for name, mean, sd, mn, runs, rss in rows:
    rss_s = f"{int(rss) / 1024:.1f} MiB" if rss.isdigit() else "n/a"
    print(f"{name:<40} {mean * 1000:>8.1f} ms {sd * 1000:>6.1f} ms {mn * 1000:>8.1f} ms {runs:>5} {rss_s:>10} {mean / base:>15.1f}x")
PY
