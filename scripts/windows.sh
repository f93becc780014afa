#!/usr/bin/env bash
# Cross-builds the Windows app (x86_64-pc-windows-gnu) with Debian's MinGW-w64 and prints the
# path of the .exe on stdout (everything else goes to stderr):
#   exe=$(bash scripts/windows.sh)            # the wine-test profile (Cargo.toml), for the Wine tests
#   exe=$(bash scripts/windows.sh --release)  # what release.yml ships
# Options: --release; --no-wine (build only, e.g. on a release runner).
#
# Installs what it needs, once: MinGW-w64 GCC (win32 threads) and Wine from apt, the Rust
# target with rustup. The build has its own target directory in the cache (override with
# NEXUS_WINDOWS_TARGET_DIR), so a warm machine rebuilds only what changed.
#
# The .exe must run from a folder holding nothing else: .cargo/config.toml links the C runtime
# statically, and src/webview2_loader.rs stands in for WebView2Loader.dll. The import table is
# checked below: only DLLs Windows itself provides, nothing from MinGW, no WebView2Loader.dll.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
log() { printf '[windows] %s\n' "$*" >&2; }

TARGET=x86_64-pc-windows-gnu
PROFILE=wine-test
WITH_WINE=1
for arg in "$@"; do
  case "$arg" in
    --release) PROFILE=release ;;
    --no-wine) WITH_WINE=0 ;;
    *) log "unknown option: $arg (use --release, --no-wine)"; exit 2 ;;
  esac
done

# Debian 12 packages Wine 8 as `wine` (the launcher, /usr/bin/wine) plus `wine64` (the 64-bit
# loader it runs when the 32-bit one is absent); no i386 architecture is needed for a 64-bit
# console program.
PACKAGES=(gcc-mingw-w64-x86-64-win32 binutils-mingw-w64-x86-64)
[ "$WITH_WINE" = 1 ] && PACKAGES+=(wine wine64)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  log "installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! rustup target list --installed | grep -qx "$TARGET"; then
  log "adding the Rust target $TARGET"
  rustup target add "$TARGET" >&2
fi

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/opencode-nexus"
export CARGO_TARGET_DIR="${NEXUS_WINDOWS_TARGET_DIR:-$CACHE/target-windows}"
dir=wine-test
flags=(--profile wine-test)
if [ "$PROFILE" = release ]; then
  dir=release
  flags=(--release)
fi
log "building $TARGET ($PROFILE) in $CARGO_TARGET_DIR"
started=$(date +%s)
cargo build --locked --target "$TARGET" "${flags[@]}" --bin opencode-nexus >&2
exe="$CARGO_TARGET_DIR/$TARGET/$dir/opencode-nexus.exe"
[ -f "$exe" ] || { log "no $exe after the build"; exit 1; }
log "built in $(( $(date +%s) - started )) s: $(stat -c %s "$exe") bytes"

# Every imported DLL must be one Windows ships (10 and later: Rust's standard library needs
# bcryptprimitives.dll). A dependency that starts importing another DLL fails here until the
# DLL is checked and added to this list; MinGW's runtime DLLs and WebView2Loader.dll never are.
declare -A SYSTEM_DLLS=()
for d in advapi32 bcrypt bcryptprimitives comctl32 comdlg32 crypt32 dwmapi gdi32 imm32 kernel32 \
  msvcrt ncrypt ntdll ole32 oleaut32 propsys secur32 shell32 shlwapi user32 userenv uxtheme \
  version winmm ws2_32; do
  SYSTEM_DLLS[$d.dll]=1
done
mapfile -t dlls < <(x86_64-w64-mingw32-objdump -p "$exe" | awk '/DLL Name:/ { print $3 }' | sort -fu)
[ ${#dlls[@]} -gt 0 ] || { log "no import table found in $exe"; exit 1; }
log "imports: ${dlls[*]}"
bad=()
for dll in "${dlls[@]}"; do
  lower=${dll,,}
  case "$lower" in
    api-ms-win-*) ;;
    *) [ -n "${SYSTEM_DLLS[$lower]:-}" ] || bad+=("$dll") ;;
  esac
done
if [ ${#bad[@]} -gt 0 ]; then
  log "the .exe imports DLLs that are not Windows system DLLs: ${bad[*]}"
  exit 1
fi
log "only system DLLs are imported"
echo "$exe"
