#!/usr/bin/env bash
# Peers for the benchmark comparison rows, installed idempotently:
#   mini-swe-agent into the project venv (sandbox peers), verifiers (+ uv, which its harness
#   needs) into its own venv .venv-peers/verifiers because its pins differ from ours.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -c "import minisweagent" 2>/dev/null || .venv/bin/python -m pip install -q torch==2.13.0 mini-swe-agent
PEER=.venv-peers/verifiers
if [ ! -x "$PEER/bin/python" ] || ! "$PEER/bin/python" -c "import verifiers" 2>/dev/null; then
    python3 -m venv "$PEER"
    "$PEER/bin/pip" install -q verifiers uv
fi
