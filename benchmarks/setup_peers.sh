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
# browsergym-core (the web peer) pins playwright==1.44 but runs on ours (1.65): installed without its pins
.venv/bin/python -c "import browsergym.core" 2>/dev/null || .venv/bin/python -m pip install -q --no-deps browsergym-core==0.14.3 "lxml>=4.9,<6"
