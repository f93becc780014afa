#!/usr/bin/env bash
# Builds the Linux desktop package: the release binary (LTO, codegen-units 1, stripped; see
# Cargo.toml) plus a desktop entry and icons, packed by cargo-deb into dist/*.deb.
#
# cargo-deb is installed from crates.io once and cached under ~/.cache/opencode-nexus/, keyed
# by its version. The release build uses its own target directory in that cache (override with
# NEXUS_RELEASE_TARGET_DIR) so the many-minute LTO build is reused by later runs and never
# fights the debug build of the test suite over the same directory.
#
# Prints the path of the .deb on stdout, sizes on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
log() { printf '[package-deb] %s\n' "$*" >&2; }

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/opencode-nexus"
CARGO_DEB_VERSION=3.8.0
CARGO_DEB_ROOT="$CACHE/cargo-deb-$CARGO_DEB_VERSION"
if [ ! -x "$CARGO_DEB_ROOT/bin/cargo-deb" ]; then
  log "installing cargo-deb $CARGO_DEB_VERSION into $CARGO_DEB_ROOT"
  # gzip instead of the default xz: no liblzma to build, and dpkg reads both.
  cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked \
    --no-default-features --features gzip --root "$CARGO_DEB_ROOT" >&2
fi
export PATH="$CARGO_DEB_ROOT/bin:$PATH"

export CARGO_TARGET_DIR="${NEXUS_RELEASE_TARGET_DIR:-$CACHE/target-release}"
# The suite runs its tests with clippy-driver as this crate's compiler (scripts/test.sh); the
# release build is plain rustc, so its cached build is the same whoever asks for it.
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
log "release build in $CARGO_TARGET_DIR"
cargo build --release --locked --bin opencode-nexus >&2

# --no-build: the binary was just built above with exactly the flags we want; cargo-deb's own
# build would also build the release helper binary, which the package does not ship.
deb=$(cargo deb --no-build --no-strip | tail -n 1)
[ -f "$deb" ] || { log "cargo-deb did not report a package path"; exit 1; }

bin="$CARGO_TARGET_DIR/release/opencode-nexus"
log "binary  $(stat -c %s "$bin") bytes ($bin)"
log "package $(stat -c %s "$deb") bytes ($deb)"
echo "$deb"
