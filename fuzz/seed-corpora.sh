#!/usr/bin/env bash
# Build the fuzz seed corpora under fuzz/corpus/<target>/ from the committed fixtures.
# The corpora are not committed (.gitignore): run this once before fuzzing, and again after
# the fixtures change. Needs python3 and a kvmaudit binary (built here with `cargo build`) to
# turn the fixture host trees into snapshots.
#
#   fuzz/seed-corpora.sh            # all targets
#   KVMAUDIT=target/release/kvmaudit fuzz/seed-corpora.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=$repo/fuzz/corpus
mkdir -p "$out"

bin=${KVMAUDIT:-}
if [ -z "$bin" ]; then
  cargo build --quiet --bin kvmaudit
  bin=$repo/target/debug/kvmaudit
fi

snapdir=$(mktemp -d)
trap 'rm -rf "$snapdir"' EXIT
for host in fixtures/hosts/*/; do
  name=$(basename "$host")
  "$bin" collect --root "$host" -o "$snapdir/$name.json"
done

python3 - "$repo" "$out" "$snapdir" <<'PY'
import gzip, hashlib, json, os, re, sys
repo, out, snapdir = sys.argv[1:4]
fx = os.path.join(repo, "fixtures")

def put(target, data, name=None):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def files(rel, pred=lambda p: True):
    base = os.path.join(fx, rel)
    for root, _, names in os.walk(base):
        for n in sorted(names):
            p = os.path.join(root, n)
            if os.path.isfile(p) and pred(p):
                yield p

def read(p):
    with open(p, "rb") as f:
        return f.read()

# --- cpuid: selector 0 = auto-detect; also each record kind under its own selector.
LEAF_R = re.compile(rb"0x([0-9a-f]{8}) 0x([0-9a-f]{2}): eax=0x([0-9a-f]{8}) ebx=0x([0-9a-f]{8}) ecx=0x([0-9a-f]{8}) edx=0x([0-9a-f]{8})")
LEAF_X = re.compile(rb"<cpuid eax_in='0x([0-9a-f]+)' ecx_in='0x([0-9a-f]+)' eax='0x([0-9a-f]+)' ebx='0x([0-9a-f]+)' ecx='0x([0-9a-f]+)' edx='0x([0-9a-f]+)'")
for p in files("cpuid", lambda p: p.endswith((".txt", ".xml"))):
    b = read(p)
    put("cpuid", b"\x00" + b)
    put("cpuid", b"\x01" + b[:4096])
    put("cpuid", b"\x02" + b[:4096])
    put("cpuid", b"\x03" + b[:4096])
    leaves = LEAF_R.findall(b) or LEAF_X.findall(b)
    rec = b"".join(b"".join(int(x, 16).to_bytes(4, "little") for x in l) for l in leaves)
    if rec:
        put("cpuid_model", rec)

# --- smbios containers (selector 0: auto; 1: sysfs pair with its entry point; 2: bare table)
for p in files("smbios", lambda p: not p.endswith((".json", ".md", ".txt")) and "LICENSES" not in p):
    b = read(p)
    if os.path.basename(p) == "smbios_entry_point":
        continue
    put("smbios", b"\x00" + b)
    put("smbios", b"\x02" + b)
    ep = os.path.join(os.path.dirname(p), "smbios_entry_point")
    if os.path.basename(p) == "DMI" and os.path.exists(ep):
        e = read(ep)
        put("smbios", b"\x01" + bytes([len(e)]) + e + b)
        put("smbios", b"\x03" + bytes([len(e)]) + e + b)
for p in files("hosts", lambda p: p.endswith("/sys/firmware/dmi/tables/DMI")):
    b = read(p)
    e = read(os.path.join(os.path.dirname(p), "smbios_entry_point"))
    put("smbios", b"\x01" + bytes([len(e)]) + e + b)

# --- dmidecode text
for p in files("smbios/dmidecode-text"):
    put("dmidecode_text", read(p))

# --- kconfig: whole files (plain and gzip) and 200-line slices (small inputs fuzz faster)
for p in list(files("kconfig", lambda p: "config" in os.path.basename(p))) + list(files("hosts", lambda p: "/boot/config-" in p)):
    b = read(p)
    put("kconfig", b)
    put("kconfig", gzip.compress(b[:65536], mtime=0))
    lines = b.splitlines(keepends=True)
    for i in range(0, min(len(lines), 2000), 200):
        put("kconfig", b"".join(lines[i:i + 200]))

# --- argv: the libvirt corpus (shell form) and the fixture hosts' /proc/PID/cmdline (NUL form)
for p in files("libvirt-args"):
    put("argv_file", read(p))
for p in files("hosts", lambda p: p.endswith("/cmdline") and "/proc/" in p and p.count("/proc/") == 1):
    b = read(p)
    if b.count(b"\0") > 1:
        put("argv_file", b)
        put("argv_nul", b.split(b"\0", 1)[1])

# --- libvirt domain XML: libvirt's own test-suite domains and the live test's domain
for p in list(files("libvirt-xml", lambda p: p.endswith(".xml"))) + list(files("libvirt-domains")):
    put("libvirt_domain", read(p))

# --- sysfs values: every small fixture file under sys/ and a few proc files, by parser.
sel = {"cpulist": 0, "bracketed": 1, "meminfo": 2, "cmdline": 3}
for p in files("hosts"):
    rel = p.split("/fixtures/hosts/", 1)[1].split("/", 1)[-1]
    b = read(p)
    if len(b) > 4096:
        continue
    n = os.path.basename(p)
    if n.endswith(("list", "online", "possible", "present", "isolated", "nohz_full", "has_cpu", "has_memory", "affected_cpus")):
        put("sysfs_values", bytes([sel["cpulist"]]) + b)
    elif b"[" in b and rel.startswith("sys/"):
        put("sysfs_values", bytes([sel["bracketed"]]) + b)
    elif n == "meminfo" and rel.startswith("sys/"):
        put("sysfs_values", bytes([sel["meminfo"]]) + b)
    elif rel in ("proc/cmdline", "etc/kernel/cmdline", "etc/default/grub"):
        put("sysfs_values", bytes([sel["cmdline"]]) + b)
for p in files("host-logs/sysfs", lambda p: p.endswith(("list", "online", "possible", "present"))):
    put("sysfs_values", b"\x00" + read(p)[:4096])

# --- snapshots: each fixture host collected, whole and with long strings cut to 2 KB
#     (small inputs mutate faster); host_files: the same facts in the record form, grouped.
def trim(v):
    if isinstance(v, str):
        return v[:2048]
    if isinstance(v, list):
        return [trim(x) for x in v[:64]]
    if isinstance(v, dict):
        return {k: trim(x) for k, x in v.items()}
    return v
for n in sorted(os.listdir(snapdir)):
    b = read(os.path.join(snapdir, n))
    put("snapshot_json", b)
    s = json.loads(b)
    put("snapshot_json", json.dumps(trim(s)).encode())
    groups = {}
    def add(path, rec):
        key = "/".join(path.split("/")[:4])
        groups.setdefault(key, []).append(rec)
    for path, f in s.get("files", {}).items():
        if "value" in f:
            add(path, (path + "\n" + f["value"][:8192]).encode())
    for path, f in s.get("dirs", {}).items():
        if "value" in f:
            add(path, (path + "/\n" + "\n".join(f["value"][:256])).encode())
    for path, f in s.get("links", {}).items():
        if "value" in f:
            add(path, ("@" + path + "\n" + f["value"]).encode())
    for key, recs in groups.items():
        body = b"\x1e".join(recs)
        for i in range(0, len(body), 32768):
            put("host_files", body[i:i + 32768])

# --- waivers
W = [
    b'[[waiver]]\nrule = "host.thp"\ntarget = "vm:db-*"\nreason = "vendor requires THP off"\nexpires = "2027-03-31"\n',
    b'[[waiver]]\nrule = "qemu.blk.*"\nreason = "r"\n\n[[waiver]]\nrule = "*"\ntarget = "*drive:*"\nreason = "x"\n',
    b'waiver = [{rule = "a*b*c", target = "vm:*", reason = "inline"}]\n',
    b'[[waiver]]\nrule = "x"\nreason = ""\n',
    b'[[waiver]]\nrule = "x"\nreason = "r"\nexpires = "2027-02-31"\n',
]
for w in W:
    put("waivers_toml", w)

for t in sorted(os.listdir(out)):
    print(f"{t}: {len(os.listdir(os.path.join(out, t)))} seeds")
PY
