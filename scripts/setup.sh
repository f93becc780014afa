#!/usr/bin/env bash
# Installs what building, running and testing OpenCode Nexus needs on Debian/Ubuntu:
# system libraries (WebKitGTK, GTK, libsoup, xdo), the window/keyring/browser tools the tests
# drive, and a Rust toolchain. Idempotent: a machine that has everything skips each step.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config libssl-dev curl ca-certificates git
  libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libxdo-dev librsvg2-dev
  xvfb xauth imagemagick x11-apps xdotool xclip zenity
  dbus dbus-x11 gnome-keyring libsecret-tools libsecret-1-dev libdbus-1-dev keyutils
  at-spi2-core fonts-dejavu-core libnotify-bin librsvg2-bin dunst
  clang-19 llvm-19 lld-19 chromium chromium-driver rclone
  python3 python3-venv nodejs npm
)

log() { printf '[setup] %s\n' "$*" >&2; }

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm/python may come from elsewhere (nvm, pyenv): only ask apt when the command is absent.
filtered=()
for p in "${missing[@]}"; do
  case "$p" in
    nodejs) command -v node >/dev/null || filtered+=("$p") ;;
    npm) command -v npm >/dev/null || filtered+=("$p") ;;
    python3) command -v python3 >/dev/null || filtered+=("$p") ;;
    python3-venv) python3 -c 'import venv, ensurepip' 2>/dev/null || filtered+=("$p") ;;
    *) filtered+=("$p") ;;
  esac
done
if [ ${#filtered[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  log "installing system packages: ${filtered[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${filtered[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    log "installing Rust with rustup"
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
fi
log "ready: $(cargo --version)"
