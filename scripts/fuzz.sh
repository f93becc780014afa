#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a bounded time and prints what each did.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 30; env NEXUS_FUZZ_SECONDS too)
# A pinned nightly (rustup) and cargo-fuzz are installed once into ~/.cache/opencode-nexus; the
# builds live there too. Each target starts from its checked-in seeds (fuzz/corpus/TARGET) plus
# what earlier runs on this machine found (kept in the cache, never written into the clone).
# A crash or a failed assertion stops the run with exit 1 and prints the input that caused it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
log() { printf '[fuzz] %s\n' "$*" >&2; }

NIGHTLY=nightly-2026-05-20
CARGO_FUZZ_VERSION=0.13.2
SECONDS_PER_TARGET=${1:-${NEXUS_FUZZ_SECONDS:-30}}
TARGETS=(sse opencode_events import_chatgpt import_nexus markdown)

export PATH="$HOME/.cargo/bin:$PATH"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/opencode-nexus"
TOOLS="$CACHE/cargo-fuzz-$CARGO_FUZZ_VERSION"
TARGET_DIR="$CACHE/target-fuzz-$NIGHTLY"
CORPUS="$CACHE/fuzz-corpus"
ARTIFACTS="$CACHE/fuzz-artifacts"

if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1; then
  log "installing $NIGHTLY (minimal profile)"
  rustup toolchain install "$NIGHTLY" --profile minimal >&2
fi
if [ ! -x "$TOOLS/bin/cargo-fuzz" ]; then
  log "building cargo-fuzz $CARGO_FUZZ_VERSION (once)"
  cargo install --locked --quiet cargo-fuzz --version "$CARGO_FUZZ_VERSION" --root "$TOOLS" >&2
fi

log "building ${#TARGETS[@]} targets (release, debug assertions, no sanitizer: the code is safe Rust)"
(cd fuzz && PATH="$TOOLS/bin:$PATH" RUSTUP_TOOLCHAIN="$NIGHTLY" \
  cargo fuzz build -O -a --sanitizer none --target-dir "$TARGET_DIR" >&2)
BIN_DIR="$TARGET_DIR/x86_64-unknown-linux-gnu/release"

# Two targets at a time (each fuzzer runs on one core).
RUN_DIR=$(mktemp -d)
trap 'rm -rf "$RUN_DIR"' EXIT
run_target() {
  local t=$1
  set +e
  "$BIN_DIR/$t" "$CORPUS/$t" "$ROOT/fuzz/corpus/$t" \
    -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$ARTIFACTS/$t/" >"$RUN_DIR/$t.out" 2>&1
  echo $? >"$RUN_DIR/$t.rc"
}
running=0
for t in "${TARGETS[@]}"; do
  [ -x "$BIN_DIR/$t" ] || { log "target $t was not built"; exit 1; }
  mkdir -p "$CORPUS/$t" "$ARTIFACTS/$t"
  rm -f "$ARTIFACTS/$t"/*
  if [ "$running" -ge 2 ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait

rows=()
failed=""
for t in "${TARGETS[@]}"; do
  out="$RUN_DIR/$t.out"
  rc=$(cat "$RUN_DIR/$t.rc" 2>/dev/null || echo "?")
  stat() { sed -n "s/^stat::$1: *//p" "$out" | tail -1; }
  execs=$(stat number_of_executed_units)
  rate=$(stat average_exec_per_sec)
  added=$(stat new_units_added)
  crashes=$(find "$ARTIFACTS/$t" -type f | wc -l)
  corpus=$(find "$CORPUS/$t" "$ROOT/fuzz/corpus/$t" -type f | wc -l)
  rows+=("$(printf '%-16s %5s s %12s execs %8s/s %6s inputs %4s new %3s crashes' \
    "$t" "$SECONDS_PER_TARGET" "${execs:-?}" "${rate:-?}" "$corpus" "${added:-?}" "$crashes")")
  if [ "$rc" != 0 ] || [ "$crashes" != 0 ] || [ -z "$execs" ]; then
    log "target $t failed (exit $rc); its output ends:"
    tail -40 "$out" >&2
    for f in "$ARTIFACTS/$t"/*; do
      [ -f "$f" ] || continue
      log "input that failed ($f), base64:"
      base64 -w 0 "$f" >&2
      printf '\n' >&2
    done
    failed="$failed $t"
  fi
done

printf '\n[fuzz] results (%s, cargo-fuzz %s):\n' "$NIGHTLY" "$CARGO_FUZZ_VERSION" >&2
printf '  %s\n' "${rows[@]}" >&2
if [ -n "$failed" ]; then
  log "failed:$failed (re-run one with: $BIN_DIR/TARGET FILE)"
  exit 1
fi
