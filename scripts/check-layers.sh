#!/usr/bin/env bash
# The layering rules of src/, checked by CI (scripts/test.sh):
#   - the engine and the platform layer never import dioxus (they are UI-free);
#   - views, components and UI state never reach the host directly (rusqlite, keyring,
#     std::fs, reqwest, directories) and hold no cfg(feature) blocks: that is the platform's job.
# Prints each violation with its file and line; exits 1 if there is any.
set -uo pipefail
cd "$(dirname "$0")/.."
bad=0
report() { # $1 = rule, rest = grep output
  local rule=$1; shift
  if [ -n "$*" ]; then
    printf '[layers] %s:\n%s\n' "$rule" "$*" >&2
    bad=1
  fi
}
# `use dioxus`, `dioxus::` paths and the `rsx!` macro, outside comments.
ui_in_engine=$(grep -rnE '^\s*[^/ ].*\b(dioxus(_[a-z]+)?::|rsx!)|^\s*use dioxus' src/engine src/platform || true)
report "dioxus used under src/engine or src/platform" "$ui_in_engine"
host_in_face=$(grep -rnE '\b(rusqlite|keyring|std::fs|reqwest|directories)::' src/views src/components src/state src/app.rs || true)
report "host I/O called from a view, component or UI state (use the platform services)" "$host_in_face"
cfg_in_face=$(grep -rnE '#\[cfg\((not\()?feature' src/views src/components src/state src/app.rs || true)
report "cfg(feature) block in a view, component or UI state (put the difference in the platform layer)" "$cfg_in_face"
if [ "$bad" = 0 ]; then
  echo "[layers] engine and platform are UI-free; views reach the host only through the platform services" >&2
fi
exit "$bad"
