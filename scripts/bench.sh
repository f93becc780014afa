#!/usr/bin/env bash
# The performance budgets, measured on this machine (not run by the test suite):
#  1. search: builds a 1,000,000-message history (100,000 conversations) in a temporary SQLite
#     file, runs ~200 searches through Store::search and prints p50/p95/p99 latencies, then
#     times opening a 5,000-message conversation. Sizes: NEXUS_BENCH_CONVERSATIONS,
#     NEXUS_BENCH_PER_CONVERSATION; NEXUS_BENCH_DB=FILE keeps the history there and reuses it.
#     Needs about 1.5 GB of free space in $TMPDIR.
#  2. stream: time to first token against curl, and a 5,000 tokens/s reply through the app's
#     send path (benches/stream.rs).
#  3. window: start-up (window mapped, and content painted: screenshots polled until the window
#     is no longer one flat colour) and idle memory of the app against a bare Dioxus window
#     (examples/bare_window.rs), alternately under Xvfb (scripts/bench_window.py).
#  4. sync: the first sync of a 100,000-message history to a new device and one incremental
#     sync of one new message, through a WebDAV server (rclone) on loopback (benches/sync.rs).
#  5. web: the browser bundle's sizes and its first contentful paint in headless Chromium
#     against a bare Dioxus web counter (bare-counter/) built the same way
#     (scripts/web_budget.py), and the bytes `serve-web` sends for a cold page load.
#  6. open: the release app, then the browser build in headless Chromium, open the
#     5,000-message conversation of the 1M-message history 50
#     times under Xvfb, from the conversation list; p50/p95/max as the app logs them
#     (scripts/bench_open.py).
# `scripts/bench.sh search|stream|window|sync|web|open` runs one of them; no argument runs all.
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP=1
if [ "${1:-}" = "--no-setup" ]; then SETUP=0; shift; fi
WHICH="${1:-all}"
if [ "$SETUP" = 1 ]; then
  bash scripts/setup.sh
fi
export PATH="$HOME/.cargo/bin:$PATH"
# Optimized like a release build, minus whole-program LTO: the time goes to SQLite (C, built at
# -O3 either way), and fat LTO of the whole app would add many minutes of linking.
export CARGO_PROFILE_BENCH_LTO=false
export CARGO_PROFILE_BENCH_CODEGEN_UNITS=16
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo 2>/dev/null || echo '?'), $(uname -sm)"

if [ "$WHICH" = all ] || [ "$WHICH" = search ]; then
  cargo bench --bench search
fi
if [ "$WHICH" = all ] || [ "$WHICH" = stream ]; then
  cargo bench --bench stream
fi
if [ "$WHICH" = all ] || [ "$WHICH" = sync ]; then
  DAV_DIR=$(mktemp -d)
  DAV_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  rclone serve webdav "$DAV_DIR" --addr "127.0.0.1:$DAV_PORT" --user bench --pass bench-pass >/dev/null 2>&1 &
  DAV_PID=$!
  for _ in $(seq 1 100); do curl -fsS -u bench:bench-pass -X PROPFIND -H 'Depth: 0' "http://127.0.0.1:$DAV_PORT/" >/dev/null 2>&1 && break; sleep 0.1; done
  NEXUS_BENCH_WEBDAV_URL="http://127.0.0.1:$DAV_PORT/" NEXUS_BENCH_WEBDAV_USER=bench NEXUS_BENCH_WEBDAV_PASSWORD=bench-pass \
    cargo bench --bench sync || { kill "$DAV_PID"; rm -rf "$DAV_DIR"; exit 1; }
  kill "$DAV_PID"; rm -rf "$DAV_DIR"
fi
if [ "$WHICH" = all ] || [ "$WHICH" = web ]; then
  WEB_OUT=$(mktemp -d)
  bash scripts/build-web.sh "$WEB_OUT/app"
  NEXUS_WEB_EXAMPLE=bare-counter bash scripts/build-web.sh "$WEB_OUT/bare"
  # The app's own server for the served-bytes figure (a debug build serves the same bytes).
  cargo build --bin opencode-nexus
  NEXUS_SERVE_WEB_BIN="${CARGO_TARGET_DIR:-target}/debug/opencode-nexus" \
    python3 scripts/web_budget.py "$WEB_OUT/app" "$WEB_OUT/bare" || { rm -rf "$WEB_OUT"; exit 1; }
  rm -rf "$WEB_OUT"
fi
# The app as released (LTO), in the packaging build's directory so its many-minute build is
# shared, and an X display (Xvfb when there is none).
release_app_on_a_display() {
  RELEASE_DIR="${NEXUS_RELEASE_TARGET_DIR:-$HOME/.cache/opencode-nexus/target-release}"
  (unset CARGO_PROFILE_BENCH_LTO CARGO_PROFILE_BENCH_CODEGEN_UNITS
   CARGO_TARGET_DIR="$RELEASE_DIR" cargo build --release --locked --bin opencode-nexus --example bare_window)
  TARGET="$RELEASE_DIR/release"
  if [ -z "${DISPLAY:-}" ]; then
    export DISPLAY=:97
    Xvfb "$DISPLAY" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
    XVFB_PID=$!
    trap 'kill "$XVFB_PID"' EXIT
    sleep 1
  fi
}
TARGET=""
if [ "$WHICH" = all ] || [ "$WHICH" = window ]; then
  # Both binaries as released; the ratio compares like with like.
  [ -n "$TARGET" ] || release_app_on_a_display
  python3 scripts/bench_window.py "$TARGET/opencode-nexus" "$TARGET/examples/bare_window" "${NEXUS_BENCH_ROUNDS:-8}" ${NEXUS_BENCH_APP_DATA:+"$NEXUS_BENCH_APP_DATA"}
fi
if [ "$WHICH" = all ] || [ "$WHICH" = open ]; then
  # The 1,000,000-message history of the search benchmark (built by it when missing, kept in
  # the cache), copied into a fresh data directory for the app.
  HISTORY="${NEXUS_BENCH_DB:-$HOME/.cache/opencode-nexus/bench/history-1m.db}"
  if [ ! -f "$HISTORY" ]; then
    mkdir -p "$(dirname "$HISTORY")"
    NEXUS_BENCH_DB="$HISTORY" cargo bench --bench search
  fi
  [ -n "$TARGET" ] || release_app_on_a_display
  OPEN_DATA=$(mktemp -d)
  cp "$HISTORY" "$OPEN_DATA/history.db"
  # benches/search.rs names its 5,000-message conversation c0100000 (after 100,000 others).
  python3 scripts/bench_open.py "$TARGET/opencode-nexus" "$OPEN_DATA" c0100000 c0099999 "${NEXUS_BENCH_OPENS:-50}" || { rm -rf "$OPEN_DATA"; exit 1; }
  rm -rf "$OPEN_DATA"
  # The same opens in the browser build (headless Chromium), on the same history.
  OPEN_DATA=$(mktemp -d)
  WEB_OUT=$(mktemp -d)
  cp "$HISTORY" "$OPEN_DATA/history.db"
  bash scripts/build-web.sh "$WEB_OUT"
  python3 scripts/bench_open.py "$TARGET/opencode-nexus" "$OPEN_DATA" c0100000 c0099999 "${NEXUS_BENCH_OPENS:-50}" --web "$WEB_OUT" || { rm -rf "$OPEN_DATA" "$WEB_OUT"; exit 1; }
  rm -rf "$OPEN_DATA" "$WEB_OUT"
fi
