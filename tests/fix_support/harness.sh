#!/usr/bin/env bash
# Test harness of tests/fix_script.rs (see HARNESS there): run as
#   unshare -m --propagation private bash harness.sh MIRROR SCRIPT SCRATCH [EXTRA-PATH...] -- COMMAND...
set -euo pipefail
M=$(realpath "$1") S=$2 T=$3
shift 3
EXTRA=()
while [[ $1 != -- ]]; do EXTRA+=("$1"); shift; done
shift
mkdir -p "$T/u" "$T/w"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T/u,workdir=$T/w" /etc
bind_one() {
  local p=$1 x c
  # A path through a symlink of the mirror (sys/block/vda -> ../devices/...): its target too.
  c=$(realpath -m "$M$p")
  c=${c#"$M"}
  if [[ $c != "$p" && $c == /* ]]; then
    bind_one "$c"
  fi
  if [[ $p == /etc/* ]]; then
    # The whole top directory below /etc (/etc/udev for /etc/udev/rules.d/x), so that files
    # and directories can be created and removed in it (a mount point cannot be removed).
    x=$(dirname "$p")
    while [[ $(dirname "$x") != /etc && $x != /etc ]]; do x=$(dirname "$x"); done
    mkdir -p "$M$x" "$x"
    mount --bind "$M$x" "$x"
    return 0
  fi
  if [[ -e $M$p && ! -d $M$p && -e $p && ! -d $p ]]; then
    mount --bind "$M$p" "$p"
    return 0
  fi
  x=$p
  if [[ ! -e $M$p ]]; then x=$(dirname "$p"); fi
  while [[ ! -e $x ]]; do x=$(dirname "$x"); done
  case $x in
    /sys/?* | /proc/sys/?* | /proc/irq | /proc/irq/?*) ;;
    *) echo "harness: refusing to replace $x" >&2; exit 97 ;;
  esac
  mkdir -p "$M$x"
  mount --bind "$M$x" "$x"
}
while IFS= read -r l; do
  p=${l#"#   touch: "}
  # /boot is an empty tmpfs (below); the command sets up what it needs there.
  if [[ $p != *'*'* && $p != /boot/* ]]; then bind_one "$p"; fi
done < <(grep '^#   touch: ' "$S")
for p in "${EXTRA[@]}"; do bind_one "$p"; done
if [[ -d /boot ]]; then mount -t tmpfs none /boot; fi
"$@"
