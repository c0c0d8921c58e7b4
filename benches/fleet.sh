#!/usr/bin/env bash
# Benchmark (not a test): roll up N generated reports (default 10,000) with every fleet output,
# and report wall time and peak RSS (GNU time -v when installed).
#
#   benches/fleet.sh [N] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
work=${2:-$(mktemp -d /tmp/kvmaudit-fleet-bench.XXXXXX)}
mkdir -p "$work/out"
cargo build --release --quiet --bin kvmaudit --example fleet_corpus
if [ ! -d "$work/reports" ]; then
  target/release/examples/fleet_corpus "$work/reports" "$n"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "inputs: $(find "$work/reports" -name '*.json' | wc -l) files, $(du -sh "$work/reports" | cut -f1)"
run() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$@" >/dev/null 2>"$work/time.txt" || true
    grep -E 'Elapsed \(wall|Maximum resident|User time|System time|Exit status' "$work/time.txt"
    echo "  load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  else
    ( time "$@" >/dev/null 2>&1 ) 2>&1
  fi
}
for i in 1 2 3; do
  echo "run $i: kvmaudit fleet (table, JSON, CSV, HTML, Prometheus)"
  run target/release/kvmaudit fleet "$work/reports" --json "$work/out/fleet.json" \
    --csv "$work/out/fleet.csv" --html "$work/out/fleet.html" --prom "$work/out/fleet.prom"
done
# With --cache: the first run reads every report and keeps what each rolled up to, the next
# ones (nothing changed) parse none. Reports written less than 2 s before a run are never kept.
rm -f "$work/fleet.cache"
for i in 1 2 3; do
  echo "run $i: kvmaudit fleet --cache (all five outputs)"
  run target/release/kvmaudit fleet "$work/reports" --cache "$work/fleet.cache" \
    --json "$work/out/fleet.json" --csv "$work/out/fleet.csv" --html "$work/out/fleet.html" \
    --prom "$work/out/fleet.prom"
done
ls -l "$work/out"
echo "work directory: $work (remove it when done)"
