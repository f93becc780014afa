#!/usr/bin/env bash
# Sets up a Debian/Ubuntu machine and starts the OpenCode Nexus desktop app (release build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo run --release -- "$@"
