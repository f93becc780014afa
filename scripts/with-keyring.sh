#!/usr/bin/env bash
# Runs a command inside its own D-Bus session with an unlocked GNOME Keyring providing the
# Secret Service, in a throw-away keyring directory, so keychain tests use the real thing
# without touching the user's keys.   Usage: scripts/with-keyring.sh COMMAND [ARGS...]
set -euo pipefail
if [ -z "${NEXUS_IN_KEYRING_SESSION:-}" ]; then
  export NEXUS_IN_KEYRING_SESSION=1
  exec dbus-run-session -- "$0" "$@"
fi
KEYRING_HOME=$(mktemp -d)
export XDG_DATA_HOME="$KEYRING_HOME/data" XDG_CONFIG_HOME="$KEYRING_HOME/config"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"
printf 'nexus-test-keyring' | gnome-keyring-daemon --foreground --unlock --components=secrets >"$KEYRING_HOME/gkd.log" 2>&1 &
GKD=$!
cleanup() { kill "$GKD" 2>/dev/null || true; rm -rf "$KEYRING_HOME"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  if dbus-send --session --dest=org.freedesktop.DBus --type=method_call --print-reply \
       /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
    break
  fi
  sleep 0.1
done
# keyring's Secret Service client also works without it, but a session keyring keeps
# keyutils-based fallbacks from touching the user's.
keyctl session - "$@"
