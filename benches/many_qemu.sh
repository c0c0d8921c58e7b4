#!/usr/bin/env bash
# Benchmark (not a test): scan a --root tree holding N QEMU processes (default 10,000), the tree
# tests/robustness.rs::ten_thousand_qemu_processes builds, and report wall time and peak RSS
# (GNU time -v when installed).
#
#   benches/many_qemu.sh [N] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
work=${2:-$(mktemp -d /tmp/kvmaudit-many-qemu.XXXXXX)}
cargo build --release --quiet --bin kvmaudit
if [ ! -d "$work/root/proc" ]; then
  # The same files per process as the test's qemu_process(): cmdline, status, one task's
  # status and an exe link, at pids 100000.. .
  python3 - "$work/root" "$n" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
status = ("Name:\tqemu-system-x86\nState:\tS (sleeping)\nThreads:\t1\n"
          "Cpus_allowed_list:\t0-15\nMems_allowed_list:\t0-1\nVmLck:\t0 kB\n")
for i in range(n):
    pid = 100000 + i
    d = f"{root}/proc/{pid}"
    os.makedirs(f"{d}/task/{pid}")
    args = ["/usr/bin/qemu-system-x86_64", "-name", f"guest=vm{i:05},debug-threads=on",
            "-machine", "pc-q35-8.2,accel=kvm", "-m", "2048", "-smp", "2",
            "-drive", f"file=/var/lib/libvirt/images/vm{i}.qcow2,if=virtio,cache=none,aio=native"]
    with open(f"{d}/cmdline", "wb") as f:
        f.write(b"".join(a.encode() + b"\0" for a in args))
    for p in (f"{d}/status", f"{d}/task/{pid}/status"):
        with open(p, "w") as f:
            f.write(status)
    os.symlink("/usr/bin/qemu-system-x86_64", f"{d}/exe")
EOF
fi
echo "tree: $(find "$work/root/proc" -maxdepth 1 -mindepth 1 | wc -l) processes under $work/root"
run() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$@" >"$work/out.json" 2>"$work/time.txt" || true
    grep -E 'Elapsed \(wall|Maximum resident|User time|System time|Exit status' "$work/time.txt"
  else
    ( time "$@" >"$work/out.json" 2>&1 ) 2>&1
  fi
}
for i in 1 2 3; do
  echo "run $i: kvmaudit scan --root (JSON)"
  run target/release/kvmaudit scan --root "$work/root" --format json
done
echo "report: $(wc -c <"$work/out.json") bytes"
echo "work directory: $work (remove it when done)"
