#!/usr/bin/env bash
# Benchmark (not a test): scan the hostile --root trees of the security review (issue 13) and
# report wall time and peak RSS (GNU time -v when installed). Target: each finishes in < 5 s
# and < 200 MB, with one note saying the budget limited the scan.
#
#   numa:    one QEMU process with a 16 MB numa_maps and 400 /proc/PID links to it
#   cpuidle: 1,000 cpuN/cpuidle links to one directory of 1,000 state links to one state
#   states:  1,000 cpuN/cpuidle directories of 1,000 links each to one state (1M links)
#
#   benches/hostile_root.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d /tmp/kvmaudit-hostile-root.XXXXXX)}
cargo build --release --quiet --bin kvmaudit
python3 - "$work" <<'EOF'
import os, sys
work = sys.argv[1]

def tree(name):
    root = f"{work}/{name}"
    if os.path.isdir(root):
        return None
    os.makedirs(root)
    return root

def state_dir(root):
    s = f"{root}/sys/shared/state"
    os.makedirs(s)
    for f, v in [("name", "C1"), ("disable", "0"), ("default_status", "enabled"),
                 ("usage", "1"), ("time", "1"), ("latency", "2")]:
        with open(f"{s}/{f}", "w") as fh:
            fh.write(v + "\n")
    return s

root = tree("numa")
if root:
    d = f"{root}/proc/100"
    os.makedirs(f"{d}/task/100")
    args = ["/usr/bin/qemu-system-x86_64", "-name", "guest=vm0", "-m", "2048"]
    with open(f"{d}/cmdline", "wb") as f:
        f.write(b"".join(a.encode() + b"\0" for a in args))
    status = "Name:\tqemu-system-x86\nState:\tS (sleeping)\nThreads:\t1\n"
    for p in (f"{d}/status", f"{d}/task/100/status"):
        with open(p, "w") as f:
            f.write(status)
    os.symlink("/usr/bin/qemu-system-x86_64", f"{d}/exe")
    line = "7f0000000000 default anon=1 dirty=1 N0=1 kernelpagesize_kB=4\n"
    with open(f"{d}/numa_maps", "w") as f:
        f.write(line * ((16 * 1024 * 1024 - 1) // len(line)))
    for pid in range(101, 501):
        os.symlink("100", f"{root}/proc/{pid}")

root = tree("cpuidle")
if root:
    state_dir(root)
    shared = f"{root}/sys/shared/cpuidle"
    os.makedirs(shared)
    for s in range(1000):
        os.symlink("../state", f"{shared}/state{s}")
    cpu = f"{root}/sys/devices/system/cpu"
    for c in range(1000):
        os.makedirs(f"{cpu}/cpu{c}")
        os.symlink("/sys/shared/cpuidle", f"{cpu}/cpu{c}/cpuidle")

root = tree("states")
if root:
    state_dir(root)
    cpu = f"{root}/sys/devices/system/cpu"
    for c in range(1000):
        d = f"{cpu}/cpu{c}/cpuidle"
        os.makedirs(d)
        for s in range(1000):
            os.symlink("/sys/shared/state", f"{d}/state{s}")
EOF
for t in numa cpuidle states; do
  echo "== $t: $(du -sh "$work/$t" | cut -f1) on disk"
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v target/release/kvmaudit scan --root "$work/$t" --format json \
      >"$work/$t.json" 2>"$work/$t.time" || true
    grep -E 'Elapsed \(wall|Maximum resident' "$work/$t.time"
  else
    ( time target/release/kvmaudit scan --root "$work/$t" --format json >"$work/$t.json" ) 2>&1 || true
  fi
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("notes:", [n[:160] for n in r.get("notes", []) if "budget" in n or "directories" in n])' "$work/$t.json"
done
echo "work directory: $work (remove it when done)"
