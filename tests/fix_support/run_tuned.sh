#!/usr/bin/env bash
# Test helper of tests/fix_script.rs: run the real tuned daemon (Debian's `tuned`, no D-Bus) on
# the profile active in /etc/tuned, inside the private mount namespace the harness set up
# (fixture files bound over /sys and /proc/sys paths, /etc an overlay, /boot a tmpfs). Once
# tuned reports the static tuning applied, copy what it wrote to OUT, then stop it by its pid
# (tuned restores the previous values when it stops, so they are read while it runs).
#   run_tuned.sh OUT
set -euo pipefail
OUT=$1
mkdir -p /run/tuned
mount -t tmpfs none /run/tuned
# force_latency holds /dev/cpu_dma_latency open with the limit written in it: a file here.
: >"$OUT/cpu_dma_latency"
if [[ -e /dev/cpu_dma_latency ]]; then
  mount --bind "$OUT/cpu_dma_latency" /dev/cpu_dma_latency
fi
tuned --no-dbus --debug -l "$OUT/tuned.log" -P /run/tuned/tuned.pid &
pid=$!
applied=0
for _ in $(seq 1 240); do
  if grep -q "static tuning from profile 'kvmaudit' applied" "$OUT/tuned.log" 2>/dev/null; then
    applied=1
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    break
  fi
  sleep 0.25
done
cat /proc/sys/kernel/numa_balancing >"$OUT/numa_balancing"
cat /sys/kernel/mm/transparent_hugepage/enabled >"$OUT/thp"
for f in /sys/devices/system/cpu/cpu*/cpuidle/state*/disable; do
  printf '%s %s\n' "$f" "$(cat "$f")"
done >"$OUT/cpuidle"
cp /etc/tuned/bootcmdline "$OUT/bootcmdline" 2>/dev/null || true
kill "$pid" 2>/dev/null || true
wait "$pid" || true
[[ $applied -eq 1 ]]
