#!/usr/bin/env bash
# Test helper of tests/fix_script.rs: the real grub-mkconfig (Debian's grub-common and
# /etc/grub.d) on the /etc/default/grub and grub.d/*.cfg of MIRROR, in a private mount
# namespace: /etc/default is the mirror's, /boot a tmpfs holding an empty kernel and initrd,
# and grub-probe a stand-in (the sandbox's root is no block device grub-probe can resolve).
#   unshare -m --propagation private bash run_grub_mkconfig.sh MIRROR GRUB_PROBE_STUB OUT
set -euo pipefail
M=$1 PROBE=$2 OUT=$3
mount --bind "$M/etc/default" /etc/default
mount --bind "$PROBE" /usr/sbin/grub-probe
mount -t tmpfs none /boot
mkdir -p /boot/grub
: >/boot/vmlinuz-6.1.0-99-amd64
: >/boot/initrd.img-6.1.0-99-amd64
grub-mkconfig -o "$OUT"
