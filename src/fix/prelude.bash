set -euo pipefail
umask 022
export LC_ALL=C

if ((BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 4))); then
  echo "this script needs bash >= 4.4" >&2
  exit 2
fi

MODE=dry-run
WITH_GUARDED=0
FORCE=0
ANY_HOST=0
WITH_VM_CHANGES=0
LIBVIRT_URI=${LIBVIRT_DEFAULT_URI:-qemu:///system}
BOUND_HOSTNAME=""
BOUND_MACHINE_ID=""
BOUND_SMBIOS_UUID=""
BACKUP_ROOT=${KVMAUDIT_BACKUP_DIR:-/var/backups/kvmaudit}

usage() {
  cat <<'USAGE'
Usage: bash SCRIPT [--dry-run | --apply] [--with-guarded] [--with-vm-changes] [--libvirt-uri URI]
                   [--force] [--any-host] [--backup-dir DIR]
  --dry-run       print every planned change as current → target; change nothing (default)
  --apply         make the changes (root only); prior state and rollback.sh go to the backup dir
  --with-guarded  also run the steps the catalogue marks "guarded" (they need your judgement)
  --with-vm-changes
                  also change libvirt domain definitions (virt-xml; effective at the VM's next start)
  --libvirt-uri U libvirt connection for those (default: $LIBVIRT_DEFAULT_URI, else qemu:///system)
  --force         reload kernel modules even while VMs use them
  --any-host      run although this is not the host the script was made for
  --backup-dir D  where backups and rollback.sh go
                  (default: $KVMAUDIT_BACKUP_DIR, else /var/backups/kvmaudit)
USAGE
}

while [[ $# -gt 0 ]]; do
  case $1 in
    --dry-run) MODE=dry-run ;;
    --apply) MODE=apply ;;
    --with-guarded) WITH_GUARDED=1 ;;
    --force) FORCE=1 ;;
    --with-vm-changes) WITH_VM_CHANGES=1 ;;
    --libvirt-uri)
      if [[ $# -lt 2 ]]; then
        usage >&2
        exit 2
      fi
      LIBVIRT_URI=$2
      shift
      ;;
    --any-host) ANY_HOST=1 ;;
    --backup-dir)
      if [[ $# -lt 2 ]]; then
        usage >&2
        exit 2
      fi
      BACKUP_ROOT=$2
      shift
      ;;
    --backup-dir=*) BACKUP_ROOT=${1#*=} ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      printf 'unknown argument: %q\n' "$1" >&2
      usage >&2
      exit 2
      ;;
  esac
  shift
done

if [[ $MODE == apply && $EUID -ne 0 ]]; then
  echo "--apply needs root" >&2
  exit 2
fi

N_CHANGED=0
N_ALREADY=0
N_PLANNED=0
N_SKIPPED=0
N_FAILED=0
BACKUP_DIR=""
ROLLBACK_ENTRIES=""
GRUB_REGEN=0
declare -A BACKED_UP=()
declare -A REBOOT_SEEN=()
REBOOT_REASONS=()
RELOADS=()
NOTES=()
ADVICE_TODO=()
KA_SET=()
KA_DEL=()
DROP_SET=()
DROP_DEL=()

# A host value as it is safe to print: as is when printable, else in $'...' form.
disp() {
  if [[ $1 =~ ^[[:print:]]*$ ]]; then
    printf '%s' "$1"
  else
    printf '%q' "$1"
  fi
}

already() {
  N_ALREADY=$((N_ALREADY + 1))
  printf 'already set   [%s] %s\n' "$1" "$2"
}
planned() {
  N_PLANNED=$((N_PLANNED + 1))
  printf 'would change  [%s] %s\n' "$1" "$2"
}
changed() {
  N_CHANGED=$((N_CHANGED + 1))
  printf 'changed       [%s] %s\n' "$1" "$2"
}
skipped() {
  N_SKIPPED=$((N_SKIPPED + 1))
  printf 'skipped       [%s] %s\n' "$1" "$2"
}
failed() {
  N_FAILED=$((N_FAILED + 1))
  printf 'FAILED        [%s] %s\n' "$1" "$2" >&2
}

# may_change GATE RULE DESCRIPTION: succeeds when the change is to be made now.
may_change() {
  if [[ $MODE != apply ]]; then
    if [[ $1 == guarded && $WITH_GUARDED -eq 0 ]]; then
      planned "$2" "$3 (guarded: only with --with-guarded)"
    else
      planned "$2" "$3"
    fi
    return 1
  fi
  if [[ $1 == guarded && $WITH_GUARDED -eq 0 ]]; then
    skipped "$2" "$3 (guarded step: pass --with-guarded to apply it)"
    return 1
  fi
  return 0
}

# check_host: the running host is the one the script was made for (hostname, machine-id, SMBIOS
# system UUID, as far as the scan knew them), or the script stops here, before any change.
check_host() {
  local cur
  local -a diff=()
  if [[ -n $BOUND_HOSTNAME ]]; then
    cur=$(head -n 1 /proc/sys/kernel/hostname 2>/dev/null || true)
    if [[ $cur != "$BOUND_HOSTNAME" ]]; then
      diff+=("hostname: made for $BOUND_HOSTNAME, this host is $(disp "${cur:-unknown}")")
    fi
  fi
  if [[ -n $BOUND_MACHINE_ID ]]; then
    cur=$(head -n 1 /etc/machine-id 2>/dev/null || true)
    if [[ ${cur,,} != "$BOUND_MACHINE_ID" ]]; then
      diff+=("machine-id: made for $BOUND_MACHINE_ID, this host has $(disp "${cur:-none readable}")")
    fi
  fi
  if [[ -n $BOUND_SMBIOS_UUID ]]; then
    cur=$(head -n 1 /sys/class/dmi/id/product_uuid 2>/dev/null || true)
    if [[ ${cur,,} != "$BOUND_SMBIOS_UUID" ]]; then
      diff+=("SMBIOS system UUID: made for $BOUND_SMBIOS_UUID, this host has $(disp "${cur:-none readable (root reads it)}")")
    fi
  fi
  if [[ -z $BOUND_HOSTNAME$BOUND_MACHINE_ID$BOUND_SMBIOS_UUID ]]; then
    diff+=("the script does not know which host it was made for")
  fi
  if ((${#diff[@]} == 0)); then
    return 0
  fi
  if ((ANY_HOST)); then
    printf 'warning (--any-host): %s\n' "${diff[@]}" >&2
    return 0
  fi
  echo "refusing to run: this is not the host the script was made for" >&2
  printf '  - %s\n' "${diff[@]}" >&2
  echo "(--any-host runs it anyway)" >&2
  exit 2
}

# ---- backups and the rollback script ---------------------------------------------------------

init_backup() {
  if [[ -n $BACKUP_DIR ]]; then
    return 0
  fi
  local stamp
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  BACKUP_DIR=$BACKUP_ROOT/$stamp
  if [[ -e $BACKUP_DIR ]]; then
    BACKUP_DIR=$BACKUP_DIR-$$
  fi
  mkdir -p -- "$BACKUP_DIR/files"
  chmod 700 -- "$BACKUP_DIR"
  ROLLBACK_ENTRIES=$BACKUP_DIR/rollback.entries
  : >"$ROLLBACK_ENTRIES"
  if [[ -r /proc/cmdline ]]; then
    cat /proc/cmdline >"$BACKUP_DIR/proc-cmdline"
  fi
  # rollback.sh exists before the first change and is rewritten after every recorded one,
  # so a SIGKILL or a power loss at any point leaves one that undoes what was done.
  write_rollback
  trap 'exit 130' INT TERM HUP
  printf 'backups and rollback script go to %s\n' "$(disp "$BACKUP_DIR")"
}

# record WORD...: one rollback command, every word quoted with %q.
record() {
  local q="" w
  for w in "$@"; do
    q+=$(printf '%q ' "$w")
  done
  printf '%s\n' "${q% }" >>"$ROLLBACK_ENTRIES"
  write_rollback
}

rollback_header() {
  cat <<'ROLLBACK'
#!/usr/bin/env bash
# shellcheck disable=SC2317  # a library: each run's entries below use only some of it
# kvmaudit rollback: undoes, newest first, every change the remediation script made in this run.
# Files are restored byte for byte from the copies beside this script; files the script created
# are removed; sysfs/procfs values are written back. Run it as root: bash rollback.sh
set -euo pipefail
export LC_ALL=C
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
RC=0
restore_value() {
  if printf '%s\n' "$2" >"$1"; then
    printf 'restored %q\n' "$1"
  else
    printf 'FAILED to restore %q\n' "$1" >&2
    RC=1
  fi
}
# The temporary file of an interrupted rewrite of $1, if any.
discard_new() {
  rm -f -- "$(dirname -- "$1")/.$(basename -- "$1").kvmaudit-new"
}
restore_file() {
  discard_new "$1"
  # Through a temporary file in the same directory and a rename: never half a file.
  if cp -p -- "$HERE/files$1" "$1.kvmaudit-rollback" && mv -f -- "$1.kvmaudit-rollback" "$1"; then
    printf 'restored %q\n' "$1"
  else
    printf 'FAILED to restore %q\n' "$1" >&2
    RC=1
  fi
}
remove_file() {
  discard_new "$1"
  if rm -f -- "$1"; then
    printf 'removed %q\n' "$1"
  else
    printf 'FAILED to remove %q\n' "$1" >&2
    RC=1
  fi
}
remove_dir() {
  if rmdir -- "$1" 2>/dev/null; then
    printf 'removed %q\n' "$1"
  fi
}
unmount() {
  if umount -- "$1"; then
    printf 'unmounted %q\n' "$1"
  else
    printf 'FAILED to unmount %q (in use?)\n' "$1" >&2
    RC=1
  fi
}
note() {
  printf 'note: %s\n' "$1"
}
vm_define() {
  if virsh -q -c "$1" define --file "$2" >/dev/null; then
    printf 'restored the definition of libvirt domain from %q\n' "$2"
  else
    printf 'FAILED to define the libvirt domain saved in %q\n' "$2" >&2
    RC=1
  fi
}
tuned_profile() {
  if tuned-adm profile "$1"; then
    printf 'tuned profile %q active again\n' "$1"
  else
    printf 'FAILED to activate tuned profile %q\n' "$1" >&2
    RC=1
  fi
}
finish() {
  if [[ $RC -eq 0 ]]; then
    echo "rollback complete"
  else
    echo "rollback finished with errors" >&2
  fi
  exit "$RC"
}
ROLLBACK
}

# write_rollback: rollback.sh from the entries so far, replaced atomically (rename), synced.
write_rollback() {
  if [[ -z $BACKUP_DIR || ! -f $ROLLBACK_ENTRIES ]]; then
    return 0
  fi
  {
    rollback_header
    tac -- "$ROLLBACK_ENTRIES"
    printf 'finish\n'
  } >"$BACKUP_DIR/rollback.sh.new"
  chmod 700 -- "$BACKUP_DIR/rollback.sh.new"
  sync -- "$BACKUP_DIR/rollback.sh.new" 2>/dev/null || true
  mv -f -- "$BACKUP_DIR/rollback.sh.new" "$BACKUP_DIR/rollback.sh"
}

# real_file PATH: the file a symbolic link PATH ends at (rewrites replace that file, never
# the link), else PATH.
real_file() {
  if [[ -L $1 ]]; then
    readlink -f -- "$1"
  else
    printf '%s' "$1"
  fi
}

# atomic_write FILE CONTENT: FILE holds exactly CONTENT, or is left as it was: the content goes
# to DIR/.NAME.kvmaudit-new, gets FILE's mode and owner, and is renamed over FILE. (A run killed
# before the rename leaves that file; the rollback's entry for FILE removes it.)
atomic_write() {
  local f=$1 tmp
  tmp=$(dirname -- "$f")/.$(basename -- "$f").kvmaudit-new
  rm -f -- "$tmp"
  if ! (umask 077 && printf '%s' "$2" >"$tmp"); then
    rm -f -- "$tmp"
    return 1
  fi
  if [[ -e $f ]]; then
    if ! chmod --reference="$f" -- "$tmp" || ! chown --reference="$f" -- "$tmp"; then
      rm -f -- "$tmp"
      return 1
    fi
  else
    chmod 644 -- "$tmp"
  fi
  sync -- "$tmp" 2>/dev/null || true
  if ! mv -f -- "$tmp" "$f"; then
    rm -f -- "$tmp"
    return 1
  fi
}

# backup_file PATH: keep the prior bytes (or the fact that PATH did not exist), once per run.
backup_file() {
  local p=$1
  if [[ -n ${BACKED_UP[$p]+x} ]]; then
    return 0
  fi
  init_backup
  BACKED_UP[$p]=1
  p=$(real_file "$p")
  if [[ -e $p ]]; then
    mkdir -p -- "$BACKUP_DIR/files$(dirname -- "$p")"
    cp -p -- "$p" "$BACKUP_DIR/files$p"
    record restore_file "$p"
  else
    record remove_file "$p"
  fi
}

# ensure_dir DIR: create a missing directory; the rollback removes it again.
ensure_dir() {
  local d=$1
  if [[ -d $d ]]; then
    return 0
  fi
  init_backup
  ensure_dir "$(dirname -- "$d")"
  # Recorded first: a run killed right after the mkdir still leaves a rollback that removes it.
  record remove_dir "$d"
  mkdir -- "$d"
}

# ---- runtime values --------------------------------------------------------------------------

# read_value PATH MODE: the current value (first line; the [bracketed] word for MODE=bracketed).
read_value() {
  local v re='\[([^]]*)\]'
  if [[ ! -e $1 ]]; then
    return 1
  fi
  v=$(head -n 1 -- "$1" 2>/dev/null) || return 1
  if [[ $2 == bracketed && $v =~ $re ]]; then
    v=${BASH_REMATCH[1]}
  fi
  printf '%s' "$v"
}

write_value() {
  local err
  if ! err=$({ printf '%s\n' "$2" >"$1"; } 2>&1); then
    printf '    %s\n' "$(disp "$err")" >&2
    return 1
  fi
}

# set_value GATE RULE MODE PATH TARGET
set_value() {
  local gate=$1 rule=$2 mode=$3 path=$4 target=$5 cur now="" desc
  if ! cur=$(read_value "$path" "$mode"); then
    failed "$rule" "$(disp "$path"): absent or unreadable; not changed"
    return 0
  fi
  if [[ $cur == "$target" ]]; then
    already "$rule" "$(disp "$path") = $(disp "$target")"
    return 0
  fi
  desc="$(disp "$path"): $(disp "$cur") → $(disp "$target")"
  may_change "$gate" "$rule" "$desc" || return 0
  init_backup
  record restore_value "$path" "$cur"
  if write_value "$path" "$target" && now=$(read_value "$path" "$mode") && [[ $now == "$target" ]]; then
    changed "$rule" "$desc"
  else
    failed "$rule" "$desc: not taken (reads $(disp "${now:-?}"))"
  fi
}

# ksm_merge_across_nodes GATE RULE VALUE: the kernel takes a new merge_across_nodes only while
# no page is merged, so KSM unmerges first (run ← 2) and is restarted as it was. The rollback
# entries are recorded so that, run newest first, they unmerge, restore the value, restore run.
ksm_merge_across_nodes() {
  local gate=$1 rule=$2 target=$3 dir=/sys/kernel/mm/ksm cur run now="" desc
  if ! cur=$(read_value "$dir/merge_across_nodes" plain) || ! run=$(read_value "$dir/run" plain); then
    failed "$rule" "$dir: merge_across_nodes or run absent or unreadable; not changed"
    return 0
  fi
  if [[ $cur == "$target" ]]; then
    already "$rule" "$dir/merge_across_nodes = $(disp "$target")"
    return 0
  fi
  desc="$dir/merge_across_nodes: $(disp "$cur") → $(disp "$target") (KSM unmerges every page first: memory use grows until it has merged again)"
  may_change "$gate" "$rule" "$desc" || return 0
  init_backup
  record restore_value "$dir/run" "$run"
  record restore_value "$dir/merge_across_nodes" "$cur"
  record restore_value "$dir/run" 2
  if write_value "$dir/run" 2 && write_value "$dir/merge_across_nodes" "$target" &&
    write_value "$dir/run" "$run" && now=$(read_value "$dir/merge_across_nodes" plain) &&
    [[ $now == "$target" ]]; then
    changed "$rule" "$desc"
  else
    failed "$rule" "$desc: not taken (reads $(disp "${now:-?}"))"
  fi
}

# pci_driver_of DEVICE_DIR: the name of the driver bound to it, nothing when unbound.
pci_driver_of() {
  local l
  if l=$(readlink -- "$1/driver" 2>/dev/null); then
    printf '%s' "${l##*/}"
  fi
}

# pci_driver_override GATE RULE BDF DRIVER: bind the function to DRIVER as driverctl does
# (driver_override, unbind, drivers_probe). The rollback clears the override and gives the
# function back to the driver it had.
pci_driver_override() {
  local gate=$1 rule=$2 bdf=$3 drv=$4 dev="/sys/bus/pci/devices/$3" cur ov now desc
  if [[ ! -e $dev/driver_override ]]; then
    failed "$rule" "$(disp "$dev"): absent (or without driver_override); not changed"
    return 0
  fi
  cur=$(pci_driver_of "$dev")
  if [[ $cur == "$drv" ]]; then
    already "$rule" "$(disp "$bdf") bound to $drv"
    return 0
  fi
  desc="$(disp "$bdf"): driver $(disp "${cur:-none}") → $drv"
  may_change "$gate" "$rule" "$desc" || return 0
  if [[ ! -e /sys/bus/pci/drivers/$drv ]]; then
    failed "$rule" "$desc: the $drv driver is not loaded (modprobe $drv); not changed"
    return 0
  fi
  ov=$(read_value "$dev/driver_override" plain) || ov=""
  if [[ $ov == "(null)" ]]; then
    ov=""
  fi
  init_backup
  if [[ -n $cur ]]; then
    record restore_value /sys/bus/pci/drivers_probe "$bdf"
    record restore_value "$dev/driver_override" "$ov"
    record restore_value "/sys/bus/pci/drivers/$drv/unbind" "$bdf"
  else
    record restore_value "$dev/driver_override" "$ov"
    record restore_value "/sys/bus/pci/drivers/$drv/unbind" "$bdf"
  fi
  if write_value "$dev/driver_override" "$drv" &&
    { [[ -z $cur ]] || write_value "$dev/driver/unbind" "$bdf"; } &&
    write_value /sys/bus/pci/drivers_probe "$bdf" && now=$(pci_driver_of "$dev") &&
    [[ $now == "$drv" ]]; then
    changed "$rule" "$desc"
  else
    failed "$rule" "$desc: not taken (bound to $(disp "${now:-nothing}"))"
  fi
}

# virt_xml_edit EDIT-ARGS...: virt-xml applied to the domain XML on stdin. Its connection
# only supplies capabilities, which these edits (driver attributes, numatune, memoryBacking) do
# not read, so libvirt's built-in test driver serves; the result is defined through virsh on
# the real connection, which validates it.
virt_xml_edit() {
  virt-xml --connect test:///default "$@"
}

# vm_edit RULE DOMAIN OPTION VALUE [SELECT]: `virt-xml DOMAIN --edit SELECT --OPTION VALUE
# --define`, as dump (the rollback copy), edit, define; only with --with-vm-changes.
vm_edit() {
  local rule=$1 dom=$2 opt=$3 val=$4 sel=${5-} desc cur diff new err bk
  local -a edit=(--edit)
  if [[ -n $sel ]]; then
    edit+=("$sel")
  fi
  edit+=("--$opt" "$val")
  desc="libvirt domain $(disp "$dom"): virt-xml $(printf '%q ' "$dom" "${edit[@]}")--define"
  if [[ $WITH_VM_CHANGES -eq 0 ]]; then
    if [[ $MODE == apply ]]; then
      skipped "$rule" "$desc (VM definition: pass --with-vm-changes to apply it)"
    else
      planned "$rule" "$desc (VM definition: only with --with-vm-changes)"
    fi
    return 0
  fi
  if ! command -v virsh >/dev/null || ! command -v virt-xml >/dev/null; then
    failed "$rule" "$desc: needs virsh and virt-xml (Debian: libvirt-clients, virtinst)"
    return 0
  fi
  # stdout is the XML (or the diff); what the tools say on stderr is kept apart for the report.
  err=$(mktemp)
  if ! cur=$(virsh -q -c "$LIBVIRT_URI" dumpxml --inactive --domain "$dom" 2>"$err"); then
    failed "$rule" "$desc: $(disp "$(<"$err")")"
    rm -f -- "$err"
    return 0
  fi
  if ! diff=$(printf '%s\n' "$cur" | virt_xml_edit "${edit[@]}" --print-diff 2>"$err"); then
    failed "$rule" "$desc: $(disp "$(<"$err")")"
    rm -f -- "$err"
    return 0
  fi
  rm -f -- "$err"
  if [[ -z $diff ]]; then
    already "$rule" "$desc"
    return 0
  fi
  may_change yes "$rule" "$desc" || return 0
  init_backup
  mkdir -p -- "$BACKUP_DIR/libvirt"
  bk=$(mktemp -- "$BACKUP_DIR/libvirt/domain-XXXXXX.xml")
  printf '%s\n' "$cur" >"$bk"
  record vm_define "$LIBVIRT_URI" "$bk"
  if new=$(printf '%s\n' "$cur" | virt_xml_edit "${edit[@]}" 2>"$bk.err") &&
    printf '%s\n' "$new" >"$bk.new" &&
    virsh -q -c "$LIBVIRT_URI" define --file "$bk.new" >/dev/null 2>"$bk.err"; then
    changed "$rule" "$desc"
  else
    failed "$rule" "$desc: $(disp "$(<"$bk.err")")"
  fi
  rm -f -- "$bk.new" "$bk.err"
}

# cpuidle_disable GATE RULE STATE_DIR NAME: disable the state only if it still has that name.
cpuidle_disable() {
  local gate=$1 rule=$2 dir=$3 name=$4 cur
  if ! cur=$(read_value "$dir/name" plain); then
    failed "$rule" "$(disp "$dir/name"): absent or unreadable; not changed"
    return 0
  fi
  if [[ $cur != "$name" ]]; then
    failed "$rule" "$(disp "$dir") is $(disp "$cur") now, not $name (state numbering changed since the scan); not changed"
    return 0
  fi
  set_value "$gate" "$rule" plain "$dir/disable" 1
}

# mem_free_kb MEMINFO: the MemFree value (kB) of /proc/meminfo or a node's meminfo.
mem_free_kb() {
  local -a w
  if [[ ! -r $1 ]]; then
    return 1
  fi
  while read -r -a w; do
    if ((${#w[@]} >= 2)) && [[ ${w[${#w[@]} - 3]:-} == MemFree: || ${w[0]} == MemFree: ]]; then
      printf '%s' "${w[${#w[@]} - 2]}"
      return 0
    fi
  done <"$1"
  return 1
}

# hugepages_at_least GATE RULE PATH COUNT PAGE_KB MEMINFO: grow a pool, never shrink it.
hugepages_at_least() {
  local gate=$1 rule=$2 path=$3 want=$4 page_kb=$5 meminfo=$6 cur now="" free_kb need_kb desc
  # At most 10-digit counts of at most 8-digit page sizes (kB): no product or difference
  # below can wrap bash's 64-bit arithmetic (the generator bounds counts by MemTotal too).
  if [[ ! $want =~ ^[0-9]{1,10}$ || ! $page_kb =~ ^[1-9][0-9]{0,7}$ ]]; then
    failed "$rule" "$(disp "$path"): $(disp "$want") pages of $(disp "$page_kb") kB is out of range; not changed"
    return 0
  fi
  if ! cur=$(read_value "$path" plain) || [[ ! $cur =~ ^[0-9]{1,15}$ ]]; then
    failed "$rule" "$(disp "$path"): absent or not a number; not changed"
    return 0
  fi
  if ((cur >= want)); then
    already "$rule" "$(disp "$path") = $cur (at least $want)"
    return 0
  fi
  desc="$(disp "$path"): $cur → $want pages"
  free_kb=$(mem_free_kb "$meminfo" || true)
  need_kb=$(((want - cur) * page_kb))
  if [[ ! $free_kb =~ ^[0-9]{1,18}$ ]] || ((want - cur > free_kb / page_kb)); then
    desc+=" (refused: needs $need_kb kB, $(disp "$meminfo") shows ${free_kb:-no} kB free)"
    if may_change "$gate" "$rule" "$desc"; then
      failed "$rule" "$desc"
    fi
    return 0
  fi
  may_change "$gate" "$rule" "$desc" || return 0
  init_backup
  record restore_value "$path" "$cur"
  if write_value "$path" "$want" && now=$(read_value "$path" plain) && [[ $now == "$want" ]]; then
    changed "$rule" "$desc"
  else
    failed "$rule" "$desc: the kernel allocated only $(disp "${now:-?}") (fragmented memory: reserve at boot instead)"
  fi
}

# hugepages_persist GATE RULE PATH COUNT: the tmpfiles.d line for a pool, once the running pool
# has reached COUNT (a size the host cannot give now must not be asked of it at every boot).
hugepages_persist() {
  local gate=$1 rule=$2 path=$3 want=$4 cur
  if [[ ! $want =~ ^[0-9]{1,10}$ ]]; then
    failed "$rule" "$(disp "$path"): $(disp "$want") pages is out of range; not made persistent"
    return 0
  fi
  if [[ $MODE == apply ]] && { ! cur=$(read_value "$path" plain) || [[ ! $cur =~ ^[0-9]{1,15}$ ]] || ((cur < want)); }; then
    if [[ $gate == guarded && $WITH_GUARDED -eq 0 ]]; then
      skipped "$rule" "$(disp "$path"): not made persistent (guarded step: pass --with-guarded)"
    else
      failed "$rule" "$(disp "$path"): not made persistent: the pool holds ${cur:-?} of $want pages now"
    fi
    return 0
  fi
  conf_line "$gate" "$rule" /etc/tmpfiles.d/kvmaudit.conf "w $path" "w $path - - - - $want"
}

# ---- configuration files ---------------------------------------------------------------------

# key_matches LINE KEY: LINE sets KEY.
key_matches() {
  [[ $1 == "$2" || $1 == "$2 "* || $1 == "$2="* || $1 == "$2,"* || $1 == "$2"$'\t'* ]]
}

# conf_line GATE RULE FILE KEY LINE: LINE becomes the only line of FILE that sets KEY.
conf_line() {
  local gate=$1 rule=$2 file=$3 key=$4 line=$5 l n_key=0 exact=0 content=""
  local -a lines=()
  if [[ -e $file ]]; then
    while IFS= read -r l || [[ -n $l ]]; do
      lines+=("$l")
    done <"$file"
  fi
  for l in "${lines[@]}"; do
    if key_matches "$l" "$key"; then
      n_key=$((n_key + 1))
      if [[ $l == "$line" ]]; then
        exact=1
      fi
    fi
  done
  if ((n_key == 1 && exact == 1)); then
    already "$rule" "$(disp "$file"): $(disp "$line")"
    return 0
  fi
  may_change "$gate" "$rule" "$(disp "$file"): set $(disp "$line")" || return 0
  # The directory first: the rollback runs newest first, so it removes the file, then the
  # directories the script created for it.
  ensure_dir "$(dirname -- "$file")"
  backup_file "$file"
  file=$(real_file "$file")
  if [[ ! -e $file ]]; then
    content="# Written by kvmaudit fix; the rollback.sh it saved with the backups removes it."$'\n'
  fi
  for l in "${lines[@]}"; do
    if ! key_matches "$l" "$key"; then
      content+="$l"$'\n'
    fi
  done
  content+="$line"$'\n'
  if atomic_write "$file" "$content"; then
    changed "$rule" "$(disp "$file"): set $(disp "$line")"
  else
    failed "$rule" "$(disp "$file"): cannot write"
  fi
}

# sysctl_key LINE: the key a sysctl.d line sets (dotted), nothing for comments and blanks.
sysctl_key() {
  local re='^[[:space:]]*-?([^=#;[:space:]]+)[[:space:]]*='
  if [[ $1 =~ $re ]]; then
    printf '%s' "${BASH_REMATCH[1]//\//.}"
  fi
}

# sysctl_comment_out GATE RULE FILE KEY: comment out the lines of FILE that set KEY (they would
# override kvmaudit's own sysctl.d file at boot).
sysctl_comment_out() {
  local gate=$1 rule=$2 file=$3 key=$4 l n=0 content=""
  if [[ ! -f $file ]]; then
    already "$rule" "$(disp "$file") is gone: nothing overrides $key"
    return 0
  fi
  while IFS= read -r l || [[ -n $l ]]; do
    if [[ $(sysctl_key "$l") == "$key" ]]; then
      n=$((n + 1))
      content+="# disabled by kvmaudit fix (overrode ${key}): $l"$'\n'
    else
      content+="$l"$'\n'
    fi
  done <"$file"
  if ((n == 0)); then
    already "$rule" "$(disp "$file") no longer sets $key"
    return 0
  fi
  may_change "$gate" "$rule" "$(disp "$file"): comment out its $key line(s), which override kvmaudit's" || return 0
  backup_file "$file"
  if atomic_write "$(real_file "$file")" "$content"; then
    changed "$rule" "$(disp "$file"): commented out $key"
  else
    failed "$rule" "$(disp "$file"): cannot write"
  fi
}

# ---- kernel command line ---------------------------------------------------------------------

# kargs_ok ARGS: every KA_SET token is present, no other value of their keys, no KA_DEL key.
kargs_ok() {
  local -a words=()
  local t w found
  read -r -a words <<<"$1"
  for t in "${KA_SET[@]}"; do
    found=0
    for w in "${words[@]}"; do
      if [[ $w == "$t" ]]; then
        found=1
      elif [[ ${w%%=*} == "${t%%=*}" ]]; then
        return 1
      fi
    done
    if ((found == 0)); then
      return 1
    fi
  done
  for t in "${KA_DEL[@]}"; do
    for w in "${words[@]}"; do
      if [[ ${w%%=*} == "$t" ]]; then
        return 1
      fi
    done
  done
  return 0
}

# kargs_strip ARGS: ARGS without the keys of KA_SET and KA_DEL.
kargs_strip() {
  local -a words=() out=()
  local w t drop
  read -r -a words <<<"$1"
  for w in "${words[@]}"; do
    drop=0
    for t in "${KA_SET[@]}" "${KA_DEL[@]}"; do
      if [[ ${w%%=*} == "${t%%=*}" ]]; then
        drop=1
      fi
    done
    if ((drop == 0)); then
      out+=("$w")
    fi
  done
  printf '%s' "${out[*]}"
}

kargs_desc() {
  local d=""
  if ((${#KA_SET[@]} > 0)); then
    d+="add ${KA_SET[*]}"
  fi
  if ((${#KA_DEL[@]} > 0)); then
    d+="${d:+, }remove ${KA_DEL[*]}"
  fi
  printf '%s' "$d"
}

# note_reboot RULE: the running kernel does not have the arguments yet.
note_reboot() {
  local running=""
  if [[ -r /proc/cmdline ]]; then
    running=$(head -n 1 /proc/cmdline)
  fi
  if ! kargs_ok "$running" && [[ -z ${REBOOT_SEEN[$1]+x} ]]; then
    REBOOT_SEEN[$1]=1
    REBOOT_REASONS+=("[$1] kernel command line: $(kargs_desc)")
  fi
}

# kernel_args GATE RULE [set:TOKEN]... [del:KEY]...
kernel_args() {
  local gate=$1 rule=$2 a
  shift 2
  KA_SET=()
  KA_DEL=()
  for a in "$@"; do
    case $a in
      set:*) KA_SET+=("${a#set:}") ;;
      del:*) KA_DEL+=("${a#del:}") ;;
    esac
  done
  if command -v grubby >/dev/null 2>&1; then
    kargs_grubby "$gate" "$rule"
  elif bls_kernelopts; then
    kargs_grubenv "$gate" "$rule"
  elif [[ -f /etc/default/grub ]]; then
    kargs_default_grub "$gate" "$rule"
  elif [[ -f /etc/kernel/cmdline ]]; then
    kargs_kernel_cmdline "$gate" "$rule"
  else
    failed "$rule" "no grubby, /etc/default/grub or /etc/kernel/cmdline: $(kargs_desc) by hand"
  fi
}

kargs_grubby() {
  local gate=$1 rule=$2 l n=0 ok=1 f t
  local -a keys=()
  while IFS= read -r l; do
    if [[ $l == args=* ]]; then
      n=$((n + 1))
      l=${l#args=}
      l=${l#\"}
      l=${l%\"}
      if ! kargs_ok "$l"; then
        ok=0
      fi
    fi
  done < <(grubby --info=ALL 2>/dev/null || true)
  if ((n > 0 && ok == 1)); then
    already "$rule" "grubby (every boot entry): $(kargs_desc)"
    note_reboot "$rule"
    return 0
  fi
  may_change "$gate" "$rule" "grubby --update-kernel=ALL: $(kargs_desc)" || {
    note_reboot "$rule"
    return 0
  }
  for f in /etc/default/grub /etc/kernel/cmdline /boot/grub2/grubenv /boot/grub2/grub.cfg /boot/loader/entries/*.conf; do
    if [[ -e $f ]]; then
      backup_file "$f"
    fi
  done
  for t in "${KA_SET[@]}" "${KA_DEL[@]}"; do
    keys+=("${t%%=*}")
  done
  if grubby --update-kernel=ALL --remove-args="${keys[*]}" &&
    { ((${#KA_SET[@]} == 0)) || grubby --update-kernel=ALL --args="${KA_SET[*]}"; }; then
    changed "$rule" "grubby --update-kernel=ALL: $(kargs_desc)"
  else
    failed "$rule" "grubby could not update the boot entries"
  fi
  note_reboot "$rule"
}

# bls_kernelopts: BLS boot entries (RHEL 8) take their options from the grubenv variable
# kernelopts (`options $kernelopts`), which grub2-editenv changes.
bls_kernelopts() {
  local f
  command -v grub2-editenv >/dev/null 2>&1 || return 1
  for f in /boot/loader/entries/*.conf; do
    if [[ -f $f ]] && grep -q '^options.*\$kernelopts' -- "$f"; then
      return 0
    fi
  done
  return 1
}

# grubenv_kernelopts: the kernelopts value of the grubenv.
grubenv_kernelopts() {
  local l
  while IFS= read -r l; do
    if [[ $l == kernelopts=* ]]; then
      printf '%s' "${l#kernelopts=}"
      return 0
    fi
  done < <(grub2-editenv - list 2>/dev/null || true)
  return 1
}

# kargs_grubenv GATE RULE: kernelopts in the grubenv; /etc/default/grub (kvmaudit's drop-in)
# too, because grub2-mkconfig rewrites kernelopts from GRUB_CMDLINE_LINUX.
kargs_grubenv() {
  local gate=$1 rule=$2 cur new env=/boot/grub2/grubenv
  if ! cur=$(grubenv_kernelopts); then
    failed "$rule" "BLS entries use \$kernelopts but the grubenv has none: $(kargs_desc) by hand"
    return 0
  fi
  if kargs_ok "$cur"; then
    already "$rule" "grubenv kernelopts: $(kargs_desc)"
  else
    new=$(kargs_strip "$cur")
    new="$new${new:+${KA_SET[*]:+ }}${KA_SET[*]}"
    if may_change "$gate" "$rule" "grubenv kernelopts: $(disp "$cur") → $(disp "$new")"; then
      if [[ -e $env ]]; then
        backup_file "$env"
      fi
      if grub2-editenv - set "kernelopts=$new" && cur=$(grubenv_kernelopts) && kargs_ok "$cur"; then
        changed "$rule" "grubenv kernelopts: $(kargs_desc)"
      else
        failed "$rule" "grub2-editenv could not set kernelopts"
      fi
    fi
  fi
  if [[ -f /etc/default/grub ]]; then
    kargs_default_grub "$gate" "$rule"
  else
    note_reboot "$rule"
  fi
}

GRUB_DROPIN=/etc/default/grub.d/99-kvmaudit.cfg

# grub_effective: GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT (two lines) as
# grub-mkconfig ends up with them: /etc/default/grub, then /etc/default/grub.d/*.cfg in order,
# sourced in a subshell (grub-mkconfig sources them the same way, as root).
grub_effective() {
  (
    set +eu
    GRUB_CMDLINE_LINUX=""
    GRUB_CMDLINE_LINUX_DEFAULT=""
    # shellcheck source=/dev/null
    . /etc/default/grub >/dev/null 2>&1
    for f in /etc/default/grub.d/*.cfg; do
      if [[ -e $f ]]; then
        # shellcheck source=/dev/null
        . "$f" >/dev/null 2>&1
      fi
    done
    printf '%s\n%s\n' "${GRUB_CMDLINE_LINUX//$'\n'/ }" "${GRUB_CMDLINE_LINUX_DEFAULT//$'\n'/ }"
  )
}

# grub_dropin_text: the kvmaudit drop-in for the arguments in DROP_SET (tokens) and DROP_DEL
# (keys): POSIX sh (grub-mkconfig is a /bin/sh script) that removes those keys from both
# variables and appends the tokens to GRUB_CMDLINE_LINUX, which recovery entries keep too.
grub_dropin_text() {
  local t pat=""
  for t in "${DROP_SET[@]}" "${DROP_DEL[@]}"; do
    pat+="${pat:+|}${t%%=*}|${t%%=*}=*"
  done
  printf '%s\n' \
    "# Written by kvmaudit fix: kernel arguments for grub-mkconfig, which sources this file after" \
    "# /etc/default/grub and the other grub.d files. The rollback.sh of the run removes it."
  for t in "${DROP_SET[@]}"; do printf '# kvmaudit-set: %s\n' "$t"; done
  for t in "${DROP_DEL[@]}"; do printf '# kvmaudit-del: %s\n' "$t"; done
  cat <<EOF
kvmaudit_strip() {
  kvmaudit_out=
  case \$- in *f*) kvmaudit_f=1 ;; *) kvmaudit_f=0; set -f ;; esac
  for kvmaudit_w in \$1; do
    case \$kvmaudit_w in
      ${pat:-kvmaudit-nothing}) ;;
      *) kvmaudit_out="\$kvmaudit_out\${kvmaudit_out:+ }\$kvmaudit_w" ;;
    esac
  done
  [ "\$kvmaudit_f" = 1 ] || set +f
}
kvmaudit_strip "\$GRUB_CMDLINE_LINUX_DEFAULT"
GRUB_CMDLINE_LINUX_DEFAULT=\$kvmaudit_out
kvmaudit_strip "\$GRUB_CMDLINE_LINUX"
GRUB_CMDLINE_LINUX="\$kvmaudit_out${DROP_SET[*]:+\${kvmaudit_out:+ \}}${DROP_SET[*]}"
unset kvmaudit_out kvmaudit_w kvmaudit_f
unset -f kvmaudit_strip
EOF
}

# kargs_default_grub: the arguments go into kvmaudit's own grub.d drop-in, sourced last, which
# merges with what an earlier run put there; the result is checked the way grub-mkconfig sees
# it (a later drop-in could still override it).
kargs_default_grub() {
  local gate=$1 rule=$2 eff lin def l t k keep
  local -a cur_set=() cur_del=() eff_lines=()
  DROP_SET=()
  DROP_DEL=()
  for t in "${KA_SET[@]}" "${KA_DEL[@]}"; do
    if [[ ! $t =~ ^[A-Za-z0-9_.,:+/@-]+(=[A-Za-z0-9_.,:+/@=-]*)?$ ]]; then
      failed "$rule" "kernel argument $(disp "$t") has characters a GRUB drop-in cannot carry; set it by hand"
      return 0
    fi
  done
  eff=$(grub_effective)
  mapfile -t eff_lines <<<"$eff"
  lin=${eff_lines[0]:-} def=${eff_lines[1]:-}
  if kargs_ok "$lin $def"; then
    already "$rule" "GRUB (/etc/default/grub and grub.d): $(kargs_desc)"
    note_reboot "$rule"
    return 0
  fi
  if [[ -f $GRUB_DROPIN ]]; then
    while IFS= read -r l || [[ -n $l ]]; do
      case $l in
        "# kvmaudit-set: "*) cur_set+=("${l#"# kvmaudit-set: "}") ;;
        "# kvmaudit-del: "*) cur_del+=("${l#"# kvmaudit-del: "}") ;;
      esac
    done <"$GRUB_DROPIN"
  fi
  # Earlier entries whose key this step sets or removes give way to this step's.
  for t in "${cur_set[@]}"; do
    keep=1
    for k in "${KA_SET[@]}" "${KA_DEL[@]}"; do
      if [[ ${t%%=*} == "${k%%=*}" ]]; then keep=0; fi
    done
    if ((keep)); then DROP_SET+=("$t"); fi
  done
  DROP_SET+=("${KA_SET[@]}")
  for t in "${cur_del[@]}"; do
    keep=1
    for k in "${KA_SET[@]}" "${KA_DEL[@]}"; do
      if [[ $t == "${k%%=*}" ]]; then keep=0; fi
    done
    if ((keep)); then DROP_DEL+=("$t"); fi
  done
  for t in "${KA_DEL[@]}"; do DROP_DEL+=("${t%%=*}"); done
  may_change "$gate" "$rule" "$GRUB_DROPIN: $(kargs_desc) (GRUB_CMDLINE_LINUX now \"$(disp "$lin")\", GRUB_CMDLINE_LINUX_DEFAULT \"$(disp "$def")\")" || {
    note_reboot "$rule"
    return 0
  }
  ensure_dir "$(dirname -- "$GRUB_DROPIN")"
  backup_file "$GRUB_DROPIN"
  if ! atomic_write "$(real_file "$GRUB_DROPIN")" "$(grub_dropin_text)"$'\n'; then
    failed "$rule" "$GRUB_DROPIN: cannot write"
    return 0
  fi
  GRUB_REGEN=1
  eff=$(grub_effective)
  mapfile -t eff_lines <<<"$eff"
  if kargs_ok "${eff_lines[0]:-} ${eff_lines[1]:-}"; then
    changed "$rule" "$GRUB_DROPIN: $(kargs_desc)"
  else
    failed "$rule" "$GRUB_DROPIN written, but a grub.d file sourced after it overrides the kernel command line: $(kargs_desc) there"
  fi
  note_reboot "$rule"
}

kargs_kernel_cmdline() {
  local gate=$1 rule=$2 f=/etc/kernel/cmdline cur new
  cur=$(head -n 1 -- "$f")
  if kargs_ok "$cur"; then
    already "$rule" "$f: $(kargs_desc)"
    note_reboot "$rule"
    return 0
  fi
  new=$(kargs_strip "$cur")
  new="$new${new:+${KA_SET[*]:+ }}${KA_SET[*]}"
  may_change "$gate" "$rule" "$f: $(disp "$cur") → $(disp "$new")" || {
    note_reboot "$rule"
    return 0
  }
  backup_file "$f"
  if atomic_write "$(real_file "$f")" "$new"$'\n'; then
    changed "$rule" "$f: $(kargs_desc)"
    NOTES+=("run kernel-install (or kernelstub) so that the boot entries pick up $f")
  else
    failed "$rule" "$f: cannot write"
  fi
  note_reboot "$rule"
}

regen_grub() {
  local cfg=""
  if ((GRUB_REGEN == 0)); then
    return 0
  fi
  if command -v update-grub >/dev/null 2>&1; then
    if [[ -e /boot/grub/grub.cfg ]]; then
      backup_file /boot/grub/grub.cfg
    fi
    if update-grub; then
      changed grub "update-grub regenerated the boot menu"
    else
      failed grub "update-grub failed: run it by hand before rebooting"
    fi
    return 0
  fi
  if command -v grub2-mkconfig >/dev/null 2>&1; then
    cfg=/boot/grub2/grub.cfg
  elif command -v grub-mkconfig >/dev/null 2>&1; then
    cfg=/boot/grub/grub.cfg
  fi
  if [[ -z $cfg ]]; then
    NOTES+=("/etc/default/grub changed: regenerate the GRUB configuration (update-grub or grub2-mkconfig -o …) before rebooting")
    return 0
  fi
  if [[ -e $cfg ]]; then
    backup_file "$cfg"
  fi
  if "$(command -v grub2-mkconfig || command -v grub-mkconfig)" -o "$cfg"; then
    changed grub "regenerated $cfg"
  else
    failed grub "GRUB regeneration failed: regenerate $cfg by hand before rebooting"
  fi
}

# ---- mounts ----------------------------------------------------------------------------------

# has_hugetlbfs KB: a hugetlbfs mount with that page size (in kB) exists.
has_hugetlbfs() {
  local fs opts o v m
  local -a parts
  while read -r _ _ fs opts _; do
    if [[ $fs != hugetlbfs ]]; then
      continue
    fi
    IFS=, read -r -a parts <<<"$opts"
    for o in "${parts[@]}"; do
      if [[ $o =~ ^pagesize=([0-9]+)([KkMG]?)$ ]]; then
        v=${BASH_REMATCH[1]}
        case ${BASH_REMATCH[2]} in
          G) m=1048576 ;;
          M) m=1024 ;;
          *) m=1 ;;
        esac
        if ((v * m == $1)); then
          return 0
        fi
      fi
    done
  done </proc/mounts
  return 1
}

# hugetlb_mount GATE RULE DIR SIZE KB
hugetlb_mount() {
  local gate=$1 rule=$2 dir=$3 size=$4 kb=$5
  if has_hugetlbfs "$kb"; then
    already "$rule" "hugetlbfs with pagesize=$size is mounted"
    return 0
  fi
  may_change "$gate" "$rule" "mount -t hugetlbfs -o pagesize=$size none $(disp "$dir")" || return 0
  init_backup
  if [[ ! -d $dir ]]; then
    ensure_dir "$dir"
  fi
  if mount -t hugetlbfs -o "pagesize=$size" none "$dir"; then
    record unmount "$dir"
    changed "$rule" "mounted hugetlbfs pagesize=$size on $(disp "$dir")"
  else
    failed "$rule" "cannot mount hugetlbfs pagesize=$size on $(disp "$dir")"
  fi
}

# ---- tuned -----------------------------------------------------------------------------------

TUNED_CONF=/etc/tuned/kvmaudit/tuned.conf
TUNED_ACTIVE=/etc/tuned/active_profile
TUNED_STEPS=0

# tuned_get SECTION KEY: the value of KEY in [SECTION] of kvmaudit's profile.
tuned_get() {
  local l sec="" k re='^\[(.*)\]$'
  if [[ ! -f $TUNED_CONF ]]; then
    return 1
  fi
  while IFS= read -r l || [[ -n $l ]]; do
    if [[ $l =~ $re ]]; then
      sec=${BASH_REMATCH[1]}
    elif [[ $sec == "$1" && $l == *=* ]]; then
      k=${l%%=*}
      k=${k%"${k##*[![:space:]]}"}
      if [[ $k == "$2" ]]; then
        l=${l#*=}
        printf '%s' "${l#"${l%%[![:space:]]*}"}"
        return 0
      fi
    fi
  done <"$TUNED_CONF"
  return 1
}

# tuned_parent: the profile(s) kvmaudit's includes: the active one, or, when kvmaudit's is
# active already, the one it includes.
tuned_parent() {
  local a="" l
  if [[ -r $TUNED_ACTIVE ]]; then
    a=$(head -n 1 -- "$TUNED_ACTIVE")
  fi
  if [[ $a == kvmaudit && -f $TUNED_CONF ]]; then
    while IFS= read -r l || [[ -n $l ]]; do
      if [[ $l == include=* ]]; then
        printf '%s' "${l#include=}"
        return 0
      fi
    done <"$TUNED_CONF"
    return 1
  fi
  if [[ -z $a || $a == kvmaudit ]]; then
    return 1
  fi
  printf '%s' "${a// /,}"
}

# tuned_text SECTION KEY VALUE PARENT: kvmaudit's profile with KEY=VALUE in [SECTION].
tuned_text() {
  local sec="" l done=0 text="" re='^\[(.*)\]$' k
  if [[ ! -f $TUNED_CONF ]]; then
    text="# Written by kvmaudit fix: its settings on top of the profile that was active. The"$'\n'
    text+="# rollback.sh of the run activates that profile again and removes this one."$'\n'
    text+="[main]"$'\n'"summary=kvmaudit fixes on top of $4"$'\n'"include=$4"$'\n'
  else
    while IFS= read -r l || [[ -n $l ]]; do
      if [[ $l =~ $re ]]; then
        if [[ $sec == "$1" && $done -eq 0 ]]; then
          text+="$2=$3"$'\n'
          done=1
        fi
        sec=${BASH_REMATCH[1]}
      elif [[ $sec == "$1" && $l == *=* ]]; then
        k=${l%%=*}
        k=${k%"${k##*[![:space:]]}"}
        if [[ $k == "$2" ]]; then
          if ((done == 0)); then
            text+="$2=$3"$'\n'
            done=1
          fi
          continue
        fi
      fi
      text+="$l"$'\n'
    done <"$TUNED_CONF"
    if [[ $sec == "$1" && $done -eq 0 ]]; then
      text+="$2=$3"$'\n'
      done=1
    fi
  fi
  if ((done == 0)); then
    text+=$'\n'"[$1]"$'\n'"$2=$3"$'\n'
  fi
  printf '%s' "$text"
}

# tuned_option GATE RULE SECTION KEY VALUE: KEY=VALUE in [SECTION] of kvmaudit's tuned profile,
# which finish activates (tuned-adm profile kvmaudit).
tuned_option() {
  local gate=$1 rule=$2 sec=$3 key=$4 value=$5 cur parent desc
  TUNED_STEPS=1
  if cur=$(tuned_get "$sec" "$key") && [[ $cur == "$value" ]]; then
    already "$rule" "$TUNED_CONF: [$sec] $(disp "$key")=$(disp "$value")"
    return 0
  fi
  if ! parent=$(tuned_parent); then
    failed "$rule" "tuned has no active profile (the scan saw one): make [$sec] $(disp "$key")=$(disp "$value") persistent by hand"
    return 0
  fi
  desc="$TUNED_CONF: [$sec] $(disp "$key")=$(disp "$value") (include=$(disp "$parent"))"
  may_change "$gate" "$rule" "$desc" || return 0
  ensure_dir "$(dirname -- "$TUNED_CONF")"
  backup_file "$TUNED_CONF"
  if atomic_write "$TUNED_CONF" "$(tuned_text "$sec" "$key" "$value" "$parent")"$'\n'; then
    changed "$rule" "$desc"
  else
    failed "$rule" "$TUNED_CONF: cannot write"
  fi
}

# tuned_activate: kvmaudit's profile becomes tuned's active one; the rollback activates the
# previous one again.
tuned_activate() {
  local active=""
  if ((TUNED_STEPS == 0)); then
    return 0
  fi
  if [[ -r $TUNED_ACTIVE ]]; then
    active=$(head -n 1 -- "$TUNED_ACTIVE")
  fi
  if [[ $active == kvmaudit || -z $active ]]; then
    return 0
  fi
  if [[ $MODE != apply ]]; then
    planned tuned "tuned-adm profile kvmaudit (active now: $(disp "$active"))"
    return 0
  fi
  # Nothing was written (guarded steps skipped): nothing to activate.
  if [[ ! -f $TUNED_CONF ]]; then
    return 0
  fi
  init_backup
  record tuned_profile "$active"
  if tuned-adm profile kvmaudit; then
    changed tuned "tuned-adm profile kvmaudit (was $(disp "${active:-none}"))"
  else
    failed tuned "tuned-adm profile kvmaudit failed: activate it by hand"
  fi
}

# ---- module reloads --------------------------------------------------------------------------

# need_reload GATE RULE MODULE PARAM VALUE: the module must be reloaded for PARAM to become VALUE.
need_reload() {
  RELOADS+=("$1" "$2" "$3" "$4" "$5")
}

# module_users MODULE: say who uses the module (nothing when it is unused).
module_users() {
  local rc="" c n q=0
  if rc=$(read_value "/sys/module/$1/refcnt" plain) && [[ $rc =~ ^[0-9]+$ ]] && ((rc > 0)); then
    printf 'refcnt %s' "$rc"
    return 0
  fi
  # VMs hold the generic kvm module too (beyond the vendor module's own reference).
  if [[ $1 == kvm_intel || $1 == kvm_amd ]] && rc=$(read_value /sys/module/kvm/refcnt plain) &&
    [[ $rc =~ ^[0-9]+$ ]] && ((rc > 1)); then
    printf 'kvm refcnt %s' "$rc"
    return 0
  fi
  for c in /proc/[0-9]*/comm; do
    if IFS= read -r n 2>/dev/null <"$c" && [[ $n == qemu* ]]; then
      q=$((q + 1))
    fi
  done
  if ((q > 0)); then
    printf '%s QEMU processes' "$q"
  fi
}

do_reloads() {
  local i gate rule mod param value cur users
  for ((i = 0; i + 4 < ${#RELOADS[@]}; i += 5)); do
    gate=${RELOADS[i]} rule=${RELOADS[i + 1]} mod=${RELOADS[i + 2]}
    param=${RELOADS[i + 3]} value=${RELOADS[i + 4]}
    if [[ ! -d /sys/module/$mod ]]; then
      continue
    fi
    cur=$(read_value "/sys/module/$mod/parameters/$param" plain || true)
    if [[ $cur == "$value" ]]; then
      continue
    fi
    if [[ $MODE != apply || ($gate == guarded && $WITH_GUARDED -eq 0) ]]; then
      REBOOT_REASONS+=("[$rule] module reload: $mod ($param: $(disp "$cur") → $value): modprobe -r $mod && modprobe $mod, with every VM stopped")
      continue
    fi
    users=$(module_users "$mod")
    if [[ -n $users && $FORCE -eq 0 ]]; then
      REBOOT_REASONS+=("[$rule] module reload refused: $mod is in use ($users); stop the VMs and rerun, or pass --force")
      continue
    fi
    init_backup
    record note "reload $mod (modprobe -r $mod && modprobe $mod) to bring back its previous parameters"
    if modprobe -r "$mod" && modprobe "$mod"; then
      changed "$rule" "reloaded $mod ($param: $(disp "$cur") → $value)"
    else
      failed "$rule" "reloading $mod failed"
    fi
  done
}

# ---- closing list ----------------------------------------------------------------------------

finish() {
  if [[ $MODE == apply ]]; then
    regen_grub
  fi
  tuned_activate
  do_reloads
  echo
  printf '== kvmaudit fix: %s ==\n' "$MODE"
  printf 'changed: %d, already set: %d, would change: %d, skipped: %d, failed: %d\n' \
    "$N_CHANGED" "$N_ALREADY" "$N_PLANNED" "$N_SKIPPED" "$N_FAILED"
  if ((${#REBOOT_REASONS[@]} > 0)); then
    echo "Needs a reboot or a module reload to take effect:"
    printf '  - %s\n' "${REBOOT_REASONS[@]}"
  fi
  if ((${#ADVICE_TODO[@]} > 0)); then
    echo "Left to you (see the advice comments in this script):"
    printf '  - %s\n' "${ADVICE_TODO[@]}"
  fi
  if ((${#NOTES[@]} > 0)); then
    echo "Notes:"
    printf '  - %s\n' "${NOTES[@]}"
  fi
  if [[ -n $BACKUP_DIR ]]; then
    printf 'Undo: bash %q\n' "$BACKUP_DIR/rollback.sh"
  fi
  if ((N_FAILED > 0)); then
    exit 1
  fi
}
