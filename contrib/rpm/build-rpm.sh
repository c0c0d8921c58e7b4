#!/usr/bin/env bash
# Build the RPM with cargo-generate-rpm (`cargo install --locked cargo-generate-rpm`):
#   contrib/rpm/build-rpm.sh            -> target/generate-rpm/kvmaudit-<version>-1.<arch>.rpm
# Same files as the .deb (contrib/deb/build-deb.sh) at the same paths, except the Debian-only
# copyright and changelog.Debian.gz: the RPM carries LICENSE under /usr/share/licenses/kvmaudit
# instead (RPM keeps no changelog file). The units stay under /lib/systemd/system, which is
# /usr/lib/systemd/system on every usr-merged RPM distribution.
# KVMAUDIT_RPM_NO_BUILD=1 packages the binary already at $CARGO_TARGET_DIR/release/kvmaudit.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
if [ -z "${KVMAUDIT_RPM_NO_BUILD:-}" ]; then
  cargo build --locked --release --bin kvmaudit
fi
contrib/package-assets.sh "$target/release/kvmaudit" "$target/release/pkg-assets"
cargo generate-rpm --target-dir "$target" "$@"
