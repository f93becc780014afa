#!/usr/bin/env bash
# Builds the browser bundle (wasm32) into dist/ (or $1):
#   index.html, app.js, worker.js, sw.js, the wasm-bindgen JS glue and snippets, the optimized
#   .wasm, the web app manifest and icons. Prints raw and gzip sizes.
# Toolchain: rustup's wasm32-unknown-unknown target; where rustup is absent, Debian's rustc-web
# with -Zbuild-std. wasm-bindgen-cli (exactly the version in Cargo.lock) and wasm-opt (npm
# binaryen) are cached under ~/.cache/opencode-nexus/.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-dist}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/opencode-nexus"
BINARYEN_VERSION=132
ESBUILD_VERSION=0.28.2
log() { printf '[web] %s\n' "$*" >&2; }
export PATH="$HOME/.cargo/bin:$PATH"

# SQLite is compiled from C for wasm32 by sqlite-wasm-rs: it needs clang and llvm-ar.
if ! command -v clang-19 >/dev/null || ! command -v llvm-ar-19 >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang-19 llvm-19 lld-19 librsvg2-bin >/dev/null
fi
if ! command -v brotli >/dev/null || ! command -v pngquant >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends brotli pngquant >/dev/null
fi
export CC_wasm32_unknown_unknown=clang-19 AR_wasm32_unknown_unknown=llvm-ar-19

# SQLite's amalgamation generated from its canonical sources (Debian's source package of the
# version sqlite-wasm-rs bundles, checked by SHA-256) with the `SQLITE_OMIT_*` options in $1
# given to its parser generator as well. Cached under $CACHE by version and options; prints its
# directory. Fails (and the caller keeps the bundled amalgamation) when the sources cannot be
# had, e.g. once Debian no longer carries this version.
SQLITE_VERSION=3.53.4
SQLITE_ORIG_SHA256=05366adc8ee80c6b1faa71285b49d133c2121238ca58934b077fdeb95934abd4
sqlite_amalgamation() {
  local opts="" o
  for o in $1; do opts="$opts -D$o"; done
  local dir="$CACHE/sqlite-$SQLITE_VERSION-$(printf '%s' "$opts" | sha256sum | cut -c1-12)"
  if [ ! -f "$dir/sqlite3.c" ]; then
    command -v tclsh >/dev/null || {
      local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
      $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends tcl >/dev/null
    } || return 1
    local work tarball="$CACHE/sqlite3_$SQLITE_VERSION.orig.tar.xz"
    if [ "$(sha256sum "$tarball" 2>/dev/null | cut -c1-64)" != "$SQLITE_ORIG_SHA256" ]; then
      log "downloading SQLite $SQLITE_VERSION's sources (Debian's source package)"
      curl -fsS --retry 3 -o "$tarball.part" \
        "http://deb.debian.org/debian/pool/main/s/sqlite3/sqlite3_$SQLITE_VERSION.orig.tar.xz" >&2 || return 1
      [ "$(sha256sum "$tarball.part" | cut -c1-64)" = "$SQLITE_ORIG_SHA256" ] || { log "SQLite's sources have the wrong SHA-256"; return 1; }
      mv "$tarball.part" "$tarball"
    fi
    log "generating SQLite's amalgamation with$opts"
    work=$(mktemp -d)
    tar -xJf "$tarball" -C "$work"
    (cd "$work/sqlite3-$SQLITE_VERSION" && ./configure --disable-shared >/dev/null && make sqlite3.c OPTS="$opts" >/dev/null) >&2 || { rm -rf "$work"; return 1; }
    mkdir -p "$dir.part"
    cp "$work/sqlite3-$SQLITE_VERSION"/{sqlite3.c,sqlite3.h,sqlite3ext.h} "$dir.part/"
    rm -rf "$work" "$dir"
    mv "$dir.part" "$dir"
  fi
  # The same release as the one sqlite-wasm-rs bundles (its bindings are made from that).
  local bundled
  bundled=$(cargo metadata --format-version 1 2>/dev/null | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(next(p["manifest_path"] for p in m["packages"] if p["name"] == "sqlite-wasm-rs"))') || return 1
  if ! cmp -s <(grep -m1 "define SQLITE_SOURCE_ID" "$dir/sqlite3.c") \
              <(grep -m1 "define SQLITE_SOURCE_ID" "$(dirname "$bundled")/sqlite3/sqlite3.c"); then
    log "sqlite-wasm-rs bundles another SQLite than $SQLITE_VERSION: update SQLITE_VERSION and its SHA-256"
    return 1
  fi
  # The built-in functions, tokenizers and FTS5 modules the store never uses left out
  # (scripts/sqlite_trim.py); if that script does not know this source, the whole amalgamation.
  local trimmed="$dir-trim-$(sha256sum scripts/sqlite_trim.py | cut -c1-12)"
  if [ ! -f "$trimmed/sqlite3.c" ]; then
    rm -rf "$trimmed.part"
    cp -r "$dir" "$trimmed.part"
    if python3 scripts/sqlite_trim.py "$trimmed.part/sqlite3.c" >&2; then
      mv "$trimmed.part" "$trimmed"
    else
      rm -rf "$trimmed.part"
      log "WARNING: SQLite's unused functions stay in (scripts/sqlite_trim.py does not know this source)"
      trimmed="$dir"
    fi
  fi
  printf '%s\n' "$trimmed"
}

# Two modules, each built with only what it needs: the page's UI (`web`: Dioxus, no SQLite) and
# the storage worker (`web-store`: SQLite + FTS5 over OPFS, no UI).
COMMON=(--no-default-features --target wasm32-unknown-unknown --profile web)
UI=(--features web --bin opencode-nexus)
STORE=(--features web-store --bin nexus-store)
if [ -n "${NEXUS_WEB_EXAMPLE:-}" ]; then
  # A crate of its own beside the app (bare-counter/), built into its own target directory.
  COMMON=(--manifest-path "$NEXUS_WEB_EXAMPLE/Cargo.toml" --target wasm32-unknown-unknown --profile web)
  UI=()
  STORE=()
fi
if command -v rustup >/dev/null 2>&1; then
  rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
  rustup component list --installed | grep -q '^rust-src' || rustup component add rust-src
  log "cargo build (rustup wasm32 target, std rebuilt for size)"
  WEB_TARGET="${CARGO_TARGET_DIR:-target}/web-std${NEXUS_WEB_EXAMPLE:+-$NEXUS_WEB_EXAMPLE}"
  # The standard library is rebuilt with the modules (`-Zbuild-std`, through RUSTC_BOOTSTRAP on
  # this stable toolchain, as the Debian route below does) so that it is optimised for size
  # with them, and a panic stops the module at once: without a panic hook a browser module
  # prints nothing on a panic either way, so its messages, their formatting and the source
  # locations are code and data the page downloads for nothing. 82 KB gzip less for the page's
  # module (README). The bare counter of scripts/web_budget.py is built the same way.
  export RUSTC_BOOTSTRAP=1
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zlocation-detail=none -Zunstable-options -Cpanic=immediate-abort"
  BUILD_STD=(-Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size)
  # SQLite without the extensions the store does not use (sqlite-wasm-rs builds it with R*Tree,
  # sessions, dbstat and more), and without APIs rusqlite is not asked for. No WAL: the OPFS
  # pool has one connection and the store uses a rollback journal there (store::db). No
  # authorizer, tracing or UTF-16 API: nothing in the store calls them. (ATTACH and the
  # incremental blob API stay: VACUUM and FTS5 use them.) Nor what the store's SQL never says
  # (EXPLAIN, `$name` parameters, 0x literals, generated columns, 'localtime', the schema and
  # introspection pragmas; `user_version`, `page_size`, `foreign_keys` and `integrity_check`
  # stay), auto-vacuum (no database of the app's enables it), the INSERT … SELECT transfer
  # shortcut and memory statistics: 13 KB gzip less. No JSON functions: the two the store's SQL
  # calls are the app's own in the browser (`engine::store::sql_json`). Options that take grammar out of the
  # parser (window functions, views, ANALYZE, REINDEX: none of the store's SQL says them) need
  # the parser generated without them, so SQLite's amalgamation is built from its canonical
  # sources with them (sqlite_amalgamation below; 14 KB gzip less).
  PARSER_OMITS="SQLITE_OMIT_WINDOWFUNC SQLITE_OMIT_VIEW SQLITE_OMIT_REINDEX SQLITE_OMIT_ANALYZE
    SQLITE_OMIT_LIKE_OPTIMIZATION SQLITE_OMIT_BETWEEN_OPTIMIZATION"
  if [ ${#STORE[@]} -gt 0 ] && AMALGAMATION=$(sqlite_amalgamation "$PARSER_OMITS"); then
    export SQLITE_WASM_RS_SOURCE_DIR="$AMALGAMATION"
  else
    [ ${#STORE[@]} -eq 0 ] || log "WARNING: SQLite's canonical sources could not be had; the store module keeps the prebuilt parser (14 KB gzip larger)"
    PARSER_OMITS=""
    unset SQLITE_WASM_RS_SOURCE_DIR
  fi
  export SQLITE_WASM_RS_FLAGS="-USQLITE_ENABLE_RTREE -USQLITE_ENABLE_SESSION -USQLITE_ENABLE_PREUPDATE_HOOK
    -USQLITE_ENABLE_BYTECODE_VTAB -USQLITE_ENABLE_DBSTAT_VTAB -USQLITE_ENABLE_STMTVTAB
    -USQLITE_ENABLE_COLUMN_METADATA -USQLITE_ENABLE_MATH_FUNCTIONS -USQLITE_ENABLE_OFFSET_SQL_FUNC
    -USQLITE_ENABLE_UNKNOWN_SQL_FUNCTION -USQLITE_ENABLE_DBPAGE_VTAB -USQLITE_ENABLE_UNLOCK_NOTIFY
    -USQLITE_ENABLE_API_ARMOR SQLITE_UNTESTABLE
    SQLITE_OMIT_DECLTYPE SQLITE_OMIT_PROGRESS_CALLBACK SQLITE_OMIT_COMPLETE SQLITE_OMIT_GET_TABLE
    SQLITE_OMIT_WAL SQLITE_OMIT_AUTHORIZATION SQLITE_OMIT_TRACE SQLITE_OMIT_UTF16
    SQLITE_OMIT_COMPILEOPTION_DIAGS SQLITE_OMIT_EXPLAIN SQLITE_OMIT_TCL_VARIABLE SQLITE_OMIT_HEX_INTEGER
    SQLITE_OMIT_GENERATED_COLUMNS SQLITE_OMIT_LOCALTIME SQLITE_OMIT_SCHEMA_PRAGMAS
    SQLITE_OMIT_INTROSPECTION_PRAGMAS SQLITE_OMIT_CASE_SENSITIVE_LIKE_PRAGMA SQLITE_OMIT_AUTOVACUUM
    SQLITE_OMIT_XFER_OPT SQLITE_DEFAULT_MEMSTATUS=0 SQLITE_OMIT_JSON $PARSER_OMITS"
  cargo build "${COMMON[@]}" "${BUILD_STD[@]}" "${UI[@]}" --target-dir "$WEB_TARGET"
  [ ${#STORE[@]} -eq 0 ] || cargo build "${COMMON[@]}" "${BUILD_STD[@]}" "${STORE[@]}" --target-dir "$WEB_TARGET"
  WASM_DIR="$WEB_TARGET/wasm32-unknown-unknown/web"
else
  log "no rustup: Debian rustc-web with -Zbuild-std"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends rustc-web cargo-web rust-web-src lld-19 >/dev/null
  for module in UI STORE; do
    declare -n args=$module
    [ ${#args[@]} -gt 0 ] || continue
    RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19 \
      /usr/bin/cargo build "${COMMON[@]}" "${args[@]}" -Zbuild-std=std,panic_abort --target-dir "${CARGO_TARGET_DIR:-target}/web-debian"
  done
  WASM_DIR="${CARGO_TARGET_DIR:-target}/web-debian/wasm32-unknown-unknown/web"
fi

WBG_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
WBG="$CACHE/wasm-bindgen-$WBG_VERSION/bin/wasm-bindgen"
if [ ! -x "$WBG" ]; then
  log "installing wasm-bindgen-cli $WBG_VERSION (once; several minutes)"
  # No --locked: its lock file pins crates this registry mirror does not carry.
  cargo install wasm-bindgen-cli --version "$WBG_VERSION" --root "$CACHE/wasm-bindgen-$WBG_VERSION"
fi
TOOLS="$CACHE/npm-tools"
if [ ! -x "$TOOLS/node_modules/.bin/wasm-opt" ]; then
  log "installing binaryen $BINARYEN_VERSION (wasm-opt) from npm"
  mkdir -p "$TOOLS"
  [ -f "$TOOLS/package.json" ] || echo '{"name":"nexus-web-tools","private":true}' >"$TOOLS/package.json"
  (cd "$TOOLS" && npm install --no-audit --no-fund "binaryen@$BINARYEN_VERSION" >/dev/null)
fi
if [ "$("$TOOLS/node_modules/.bin/esbuild" --version 2>/dev/null)" != "$ESBUILD_VERSION" ]; then
  log "installing esbuild $ESBUILD_VERSION (JavaScript and CSS minifier) from npm"
  mkdir -p "$TOOLS"
  [ -f "$TOOLS/package.json" ] || echo '{"name":"nexus-web-tools","private":true}' >"$TOOLS/package.json"
  (cd "$TOOLS" && npm install --no-audit --no-fund "esbuild@$ESBUILD_VERSION" >/dev/null)
fi
# The generated JavaScript (wasm-bindgen's glue and the snippets it imports) and the stylesheet,
# minified in place: whitespace, comments and local names. Exported and imported names and
# string literals stay (the glue hands the module its imports as properties named by strings).
minify() {
  "$TOOLS/node_modules/.bin/esbuild" --minify --log-level=warning --allow-overwrite \
    ${2:+--format=$2} "$1" --outfile="$1"
}
minify_snippets() {
  [ ! -d "$OUT/snippets" ] || find "$OUT/snippets" -name '*.js' -print0 |
    while IFS= read -r -d '' f; do minify "$f" esm; done
}

# wasm-opt, the same for every module (the app's two and the bare counter): -Oz, then the
# control flow flattened and rebuilt by the relooper (`--flatten --rereloop`) and -Oz twice
# more, which finds what one pass over rustc's structured code does not (6.6 KB gzip less for
# the page, 3.6 KB for the storage worker, measured 2026-12-05). `--low-memory-unused`: see
# below.
wasm_opt() {
  "$TOOLS/node_modules/.bin/wasm-opt" -Oz --low-memory-unused --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    --flatten --rereloop -Oz -Oz -o "$1" "$1"
}

# The imports' long generated names (`__wbg_<name>_<hash>`, stored in the module and again as
# keys in its glue) shortened to a few letters in both (scripts/wasm_module.py; 13.7 KB gzip
# less for the app's four files, 2026-12-06).
short_imports() {
  python3 scripts/wasm_module.py short-imports "$1" "$2"
}

# NEXUS_WEB_EXAMPLE=bare-counter: a bare Dioxus page built exactly like the app's page module
# (same profile, wasm-bindgen, wasm-opt), the baseline of scripts/web_budget.py.
if [ -n "${NEXUS_WEB_EXAMPLE:-}" ]; then
  ex="$NEXUS_WEB_EXAMPLE"
  rm -rf "$OUT"; mkdir -p "$OUT"
  "$WBG" --target web --no-typescript --remove-name-section --remove-producers-section --out-dir "$OUT" "$WASM_DIR/$NEXUS_WEB_EXAMPLE.wasm"
  wasm_opt "$OUT/${ex}_bg.wasm"
  minify "$OUT/$ex.js" esm
  short_imports "$OUT/${ex}_bg.wasm" "$OUT/$ex.js"
  minify_snippets
  printf '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>%s</title></head>\n<body><div id="main"></div>\n<script type="module">import init from "./%s.js"; await init({ module_or_path: "./%s_bg.wasm" });</script>\n</body></html>\n' \
    "$ex" "$ex" "$ex" >"$OUT/index.html"
  log "$ex: $(gzip -9c "$OUT/${ex}_bg.wasm" | wc -c) bytes of wasm gzip in $OUT"
  exit 0
fi

rm -rf "$OUT"
mkdir -p "$OUT/icons"
# wasm-opt is told that the lowest 1 KiB of memory is unused (`--low-memory-unused`: constant
# offsets fold into loads and stores; 5 KB gzip less for the page). That holds for rustc's
# layout, which puts the 1 MiB stack first (growing down towards 0) and the data after it:
# memory below 1 KiB is touched only by a stack about to overflow. Checked here on each module.
low_memory_unused() {
  python3 scripts/wasm_module.py low-memory-unused "$1"
}
# Two modules: the page's UI (opencode-nexus) and the storage worker's SQLite store
# (nexus-store). Each gets content-hashed names so hosts may cache them for good; the small
# files that name them (app.js, worker.js, sw.js) are revalidated instead.
cp web/index.html web/look.js web/boot.js web/app.js web/worker.js web/sw.js web/manifest.webmanifest "$OUT/"
# The page's module carries the printing of a captured backtrace and the symbol demangler it
# uses (anyhow formats errors with their backtrace), which can never run in a browser: no
# environment, so no RUST_BACKTRACE, so no backtrace is captured. Their entry points are
# replaced by `unreachable` and wasm-opt drops the rest (scripts/wasm_module.py; 2.4 KB gzip).
# anyhow's `Debug` (the backtrace printed after an error's causes) calls v0 symbol demangling
# directly (`rustc_demangle::v0::demangle`'s closure, inlined from std's frame printing), which
# keeps the whole v0 printer (12 KB raw) without it.
# The names are rustc's v0 mangling (the rustup route); Debian's rustc-web route keeps them.
SNIP_DIR=$(mktemp -d)
trap 'rm -rf "$SNIP_DIR"' EXIT
if [ "$WASM_DIR" = "${WEB_TARGET:-}/wasm32-unknown-unknown/web" ]; then
  python3 scripts/wasm_module.py snip "$WASM_DIR/opencode-nexus.wasm" "$SNIP_DIR/opencode-nexus.wasm" \
    'backtrace_rs5print.*BacktraceFrameFmt.*print_raw_with_column' \
    'backtrace_rs9symbolize.*SymbolName.*Display3fmt' \
    'rustc_demangle13DemangleStyle.*Display3fmt' \
    'rustc_demangle2v08demangles_0'
else
  cp "$WASM_DIR/opencode-nexus.wasm" "$SNIP_DIR/"
fi
cp "$WASM_DIR/nexus-store.wasm" "$SNIP_DIR/"
for module in opencode-nexus nexus-store; do
  low_memory_unused "$SNIP_DIR/$module.wasm" || { log "$module uses memory below 1 KiB: drop --low-memory-unused"; exit 1; }
  log "wasm-bindgen $module"
  "$WBG" --target web --no-typescript --remove-name-section --remove-producers-section --out-dir "$OUT" "$SNIP_DIR/$module.wasm"
  log "wasm-opt -Oz $module"
  wasm_opt "$OUT/${module}_bg.wasm"
  minify "$OUT/$module.js" esm
  short_imports "$OUT/${module}_bg.wasm" "$OUT/$module.js"
  HASH=$(cat "$OUT/${module}_bg.wasm" "$OUT/$module.js" | sha256sum | cut -c1-10)
  mv "$OUT/${module}_bg.wasm" "$OUT/${module}_bg.$HASH.wasm"
  mv "$OUT/$module.js" "$OUT/$module.$HASH.js"
  sed -i "s/${module}_bg\.wasm/${module}_bg.$HASH.wasm/g; s/\.\/${module}\.js/.\/$module.$HASH.js/g" \
    "$OUT/index.html" "$OUT/boot.js" "$OUT/app.js" "$OUT/worker.js" "$OUT/sw.js"
  SHELL_HASH="${SHELL_HASH:-}$HASH"
done
# The stylesheet is a file of its own in the browser build (linked from index.html, parsed while
# the page's module loads), named by its content hash like the modules.
CSS_HASH=$(sha256sum assets/main.css | cut -c1-10)
cp assets/main.css "$OUT/main.$CSS_HASH.css"
minify "$OUT/main.$CSS_HASH.css"
minify_snippets
sed -i "s/\.\/main\.css/.\/main.$CSS_HASH.css/g" "$OUT/index.html" "$OUT/sw.js"
SHELL_HASH="$SHELL_HASH$CSS_HASH"
grep -q "main\.$CSS_HASH\.css" "$OUT/index.html" || { log "the hashed stylesheet name is not in index.html"; exit 1; }
sed -i "s/nexus-shell-v1/nexus-shell-${SHELL_HASH:0:10}/" "$OUT/sw.js"
# The glue's snippet modules are preloaded with it (else they are fetched only once the glue
# has been parsed, one more round trip before the module can start).
SNIPPETS=$(grep -oE "from ?[\"']\./snippets/[^\"']*[\"']" "$OUT"/opencode-nexus.*.js |
  sed -E "s|from ?[\"'](.*)[\"']|  <link rel=\"modulepreload\" href=\"\1\">|")
python3 - "$OUT/index.html" "$SNIPPETS" <<'PY'
import sys
path, links = sys.argv[1], sys.argv[2]
page = open(path).read()
assert "  <!-- snippets -->" in page
open(path, "w").write(page.replace("  <!-- snippets -->", links))
PY
[ -n "$SNIPPETS" ] || { log "the glue imports no snippets: check index.html's preloads"; exit 1; }
for f in boot.js app.js sw.js index.html; do
  grep -q "opencode-nexus_bg\.[0-9a-f]\{10\}\.wasm" "$OUT/$f" || { log "the hashed UI module name is not in $f"; exit 1; }
done
for f in worker.js sw.js; do
  grep -q "nexus-store_bg\.[0-9a-f]\{10\}\.wasm" "$OUT/$f" || { log "the hashed store module name is not in $f"; exit 1; }
done
# The page's module must not carry SQLite: it lives in the worker's module only.
if grep -aq "sqlite_master" "$OUT"/opencode-nexus_bg.*.wasm; then
  log "the page's module contains SQLite; it belongs in nexus-store only"; exit 1
fi
grep -aq "sqlite_master" "$OUT"/nexus-store_bg.*.wasm || { log "the store module has no SQLite"; exit 1; }
# A C function the SQLite flags above left out but something still calls would be an import
# from "env" that no browser provides: the worker would fail when it starts.
if grep -l 'from "env"' "$OUT"/*.js; then
  log "a module imports from \"env\" (a C function compiled out of SQLite is still called):"
  grep -h 'from "env"' "$OUT"/*.js | head >&2; exit 1
fi
cp assets/icon.svg "$OUT/icons/icon.svg"
# The icons in a palette of their few colours (the same pixels to the eye, a third of the bytes).
for px in 192 512; do
  rsvg-convert -w $px -h $px assets/icon.svg -o "$OUT/icons/icon-$px.png"
  pngquant --force --strip --quality=80-100 --speed 1 --output "$OUT/icons/icon-$px.png" "$OUT/icons/icon-$px.png"
done

size() { printf '%8.1f KB raw %8.1f KB gzip  %s\n' "$(($(stat -c %s "$1")))e-3" "$(($(gzip -9c "$1" | wc -c)))e-3" "$1"; }
log "bundle in $OUT:"
for f in "$OUT"/opencode-nexus_bg.*.wasm "$OUT"/opencode-nexus.*.js "$OUT"/nexus-store_bg.*.wasm "$OUT"/nexus-store.*.js "$OUT"/index.html; do size "$f"; done
total_raw=$(find "$OUT" -type f -exec cat {} + | wc -c)
total_gz=0
while IFS= read -r -d '' f; do total_gz=$(( total_gz + $(gzip -9c "$f" | wc -c) )); done < <(find "$OUT" -type f -print0)
printf 'total %.1f KB raw, %.1f KB gzip\n' "${total_raw}e-3" "${total_gz}e-3"

# Precompressed copies beside each text or wasm file (served by `serve-web` and any static
# host that looks for them; see docs/web.md).
log "precompressing (gzip -9, brotli -q 11)"
find "$OUT" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.html' -o -name '*.css' -o -name '*.json' \
  -o -name '*.webmanifest' -o -name '*.svg' \) -print0 |
  while IFS= read -r -d '' f; do
    gzip -9 -n -k -f "$f"
    brotli -q 11 -k -f "$f"
  done
br=$(stat -c %s "$OUT"/opencode-nexus_bg.*.wasm.br); gz=$(stat -c %s "$OUT"/opencode-nexus_bg.*.wasm.gz)
printf 'wasm served: %.1f KB brotli, %.1f KB gzip\n' "${br}e-3" "${gz}e-3"
