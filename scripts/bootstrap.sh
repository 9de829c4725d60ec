#!/usr/bin/env bash
# Idempotent setup for the README's commands on a fresh Debian machine.
#
#   scripts/bootstrap.sh demo    what `make demo` needs: venv + agentgym[train] (no Docker, no browser)
#   scripts/bootstrap.sh test    what `make test` needs: every apt package, agentgym[all,dev],
#                                a running dockerd and the sandbox images
#
# As root it apt-installs the system packages the profile needs; otherwise it names them.
# Every failure says which step failed and what to do. Re-running skips what is done.
# Knobs: VENV (default .venv), DEBIAN_MIRROR (base image), AGENTGYM_ROOTFS_CACHE, BASE_TAG.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE="${1:-test}"
case "$PROFILE" in
    demo) EXTRAS="train"; APT_PACKAGES="" ;;
    test|--docker) PROFILE=test; EXTRAS="all,dev"
          APT_PACKAGES="chromium docker.io bubblewrap debootstrap git ca-certificates" ;;
    *) echo "usage: scripts/bootstrap.sh demo|test" >&2; exit 2 ;;
esac
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
LOG_DIR="${TMPDIR:-/tmp}"
STEP="starting"

log() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*"; }
on_error() {
    local rc=$?
    printf '\033[1;31m[bootstrap] failed (exit %s) while: %s\033[0m\n' "$rc" "$STEP" >&2
    printf '[bootstrap] command: %s (scripts/bootstrap.sh line %s)\n' "$BASH_COMMAND" "$1" >&2
    [ -n "${HINT:-}" ] && printf '[bootstrap] what to do: %s\n' "$HINT" >&2
    exit "$rc"
}
trap 'on_error $LINENO' ERR

# 1. system packages. Python needs venv + ensurepip; other packages only for `test`.
python_ok() { python3 -c 'import venv, ensurepip' >/dev/null 2>&1; }
missing=""
python_ok || missing="python3 python3-venv"
for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        apt_log="$LOG_DIR/agentgym-apt.log"
        STEP="apt-get install$missing (log: $apt_log)"
        HINT="check that apt can reach its mirror (apt-get update), or install by hand: apt-get install -y$missing"
        log "$STEP"
        export DEBIAN_FRONTEND=noninteractive
        if ! { apt-get update -q && apt-get install -y -q $missing; } >"$apt_log" 2>&1; then
            tail -n 15 "$apt_log" >&2
            false
        fi
    else
        log "warning: missing apt packages:$missing (run as root, or: sudo apt-get install -y$missing)"
    fi
fi

# 2. virtualenv; torch first, pinned, so pip never resolves a multi-GB CUDA build
STEP="creating the virtualenv $VENV"
HINT="python3 -m venv must work: apt-get install -y python3-venv (or set VENV=<path>)"
if [ ! -x "$PY" ]; then
    log "$STEP"
    python3 -m venv "$VENV"
    "$PY" -m pip install -q --upgrade pip
fi
STEP="pip install torch==2.13.0 (CPU)"
HINT="pip must reach PyPI; torch 2.13.0 must be installable (a CPU wheel)"
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13.0') else 1)" 2>/dev/null; then
    log "$STEP"
    "$PY" -m pip install -q torch==2.13.0
fi

# 3. the package with the profile's extras, re-installed only when pyproject.toml/setup.py change.
#    `test` installs a superset of `demo`, so a test stamp satisfies the demo too.
hash="$(cat pyproject.toml setup.py | sha256sum | cut -c1-16)"
stamp="$VENV/.agentgym-$PROFILE-$hash"
if [ ! -f "$stamp" ] && ! { [ "$PROFILE" = demo ] && [ -f "$VENV/.agentgym-test-$hash" ]; }; then
    STEP="pip install -e .[$EXTRAS]"
    HINT="pip must reach PyPI; rerun after fixing the error above (nothing is half-installed for good)"
    log "$STEP"
    "$PY" -m pip install -q torch==2.13.0 -e ".[$EXTRAS]"
    rm -f "$VENV"/.agentgym-"$PROFILE"-*
    touch "$stamp"
fi

# 4. docker daemon + sandbox images (only `test`: the demo runs no untrusted code)
if [ "$PROFILE" = test ]; then
    STEP="starting dockerd (docker/start-dockerd.sh)"
    HINT="see the dockerd log named above; dockerd must run as root"
    if command -v dockerd >/dev/null 2>&1; then
        docker/start-dockerd.sh
        STEP="building the sandbox images (agentgym sandbox build)"
        HINT="if the base image failed to debootstrap, set DEBIAN_MIRROR=<a Debian mirror URL> and rerun"
        "$VENV/bin/agentgym" sandbox build
    else
        log "warning: dockerd is not installed (apt-get install -y docker.io as root); docker tests will fail"
    fi
fi
log "ready ($PROFILE)"
