#!/usr/bin/env bash
# The generated files both packages ship (contrib/deb/build-deb.sh, contrib/rpm/build-rpm.sh),
# made by the binary being packaged so that they match its flags: gzipped man pages, shell
# completions, the systemd service pointing at the packaged /usr/bin/kvmaudit, and the binary
# stripped (cargo-deb strips its own copy; cargo-generate-rpm packages this one: unstripped, the
# debug symbols are most of the file).
#   contrib/package-assets.sh BIN DIR
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1
assets=$2
rm -rf "$assets"
mkdir -p "$assets/completions" "$assets/systemd"
"$bin" man --dir "$assets/man"
gzip -9n "$assets"/man/*.1
"$bin" completions bash >"$assets/completions/kvmaudit"
"$bin" completions zsh >"$assets/completions/_kvmaudit"
"$bin" completions fish >"$assets/completions/kvmaudit.fish"
sed 's#/usr/local/bin/kvmaudit#/usr/bin/kvmaudit#g' contrib/systemd/kvmaudit.service \
  >"$assets/systemd/kvmaudit.service"
cp contrib/systemd/kvmaudit.timer "$assets/systemd/kvmaudit.timer"
strip --strip-unneeded -o "$assets/kvmaudit" "$bin"
