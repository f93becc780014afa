#!/usr/bin/env bash
# Search benchmark: builds a 1,000,000-message history (100,000 conversations) in a temporary
# SQLite file, runs ~200 searches through Store::search and prints p50/p95/p99 latencies, then
# times opening a 5,000-message conversation. Sizes: NEXUS_BENCH_CONVERSATIONS,
# NEXUS_BENCH_PER_CONVERSATION; NEXUS_BENCH_DB=FILE keeps the history there and reuses it.
# Needs about 1.5 GB of free space in $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--no-setup" ]; then
  bash scripts/setup.sh
fi
export PATH="$HOME/.cargo/bin:$PATH"
# Optimized like a release build, minus whole-program LTO: the time goes to SQLite (C, built at
# -O3 either way), and fat LTO of the whole app would add many minutes of linking.
export CARGO_PROFILE_BENCH_LTO=false
export CARGO_PROFILE_BENCH_CODEGEN_UNITS=16
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo 2>/dev/null || echo '?'), $(uname -sm)"
cargo bench --bench search
