#!/usr/bin/env bash
# Idempotent setup for `make test` / `make demo` / `make bench` on a fresh Debian machine.
#   scripts/bootstrap.sh            venv + python packages (+ apt packages when root)
#   scripts/bootstrap.sh --docker   also start dockerd and build the sandbox images
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PY="$VENV/bin/python"
APT_PACKAGES="python3 python3-venv python3-dev chromium docker.io bubblewrap debootstrap git ca-certificates"

log() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*"; }

# 1. system packages (root only; otherwise say what is missing)
missing=""
for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        log "apt-get install$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq $missing >/dev/null
    else
        log "warning: missing apt packages:$missing (run as root or: sudo apt-get install -y$missing)"
    fi
fi

# 2. virtualenv; torch first, pinned, so pip never resolves a multi-GB CUDA build
if [ ! -x "$PY" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
    "$PY" -m pip install -q --upgrade pip
fi
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13.0') else 1)" 2>/dev/null; then
    log "pip install torch==2.13.0 (CPU)"
    "$PY" -m pip install -q torch==2.13.0
fi

# 3. the package with every extra, re-installed only when pyproject.toml/setup.py change
stamp="$VENV/.agentgym-$(cat pyproject.toml setup.py | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    log "pip install -e .[all,dev]"
    "$PY" -m pip install -q torch==2.13.0 -e ".[all,dev]"
    rm -f "$VENV"/.agentgym-*
    touch "$stamp"
fi

# 4. docker daemon + sandbox images (tests and demos that run untrusted code)
if [ "${1:-}" = "--docker" ]; then
    if [ -x docker/start-dockerd.sh ] && command -v dockerd >/dev/null 2>&1; then
        docker/start-dockerd.sh
        "$VENV/bin/agentgym" sandbox build
    else
        log "warning: dockerd not available; docker tests will skip with the reason"
    fi
fi
log "ready"
