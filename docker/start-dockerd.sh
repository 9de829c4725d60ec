#!/usr/bin/env bash
# Start a Docker daemon for agentgym sandboxes, idempotently.
#
#   docker/start-dockerd.sh            # no-op when `docker info` already answers
#
# The daemon runs with no default bridge and no iptables rules: sandbox containers
# use network_mode="none", so they need neither. Logs go to $AGENTGYM_DOCKERD_LOG.
set -euo pipefail

DATA_ROOT="${AGENTGYM_DOCKER_DATA_ROOT:-/var/lib/agentgym-docker}"
LOG="${AGENTGYM_DOCKERD_LOG:-/var/log/agentgym-dockerd.log}"
WAIT_SECONDS="${AGENTGYM_DOCKERD_WAIT:-60}"

if docker info >/dev/null 2>&1; then
    echo "dockerd: already running"
    exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
    echo "dockerd: not installed; install it with: apt-get install -y docker.io" >&2
    exit 1
fi
if [ "$(id -u)" != "0" ]; then
    echo "dockerd: must be started as root (try: sudo $0)" >&2
    exit 1
fi

mkdir -p "$DATA_ROOT" "$(dirname "$LOG")"
# A stale pid file from a killed daemon would stop the new one from starting.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
fi
nohup setsid dockerd \
    --bridge=none --iptables=false --ip6tables=false \
    --data-root "$DATA_ROOT" \
    >>"$LOG" 2>&1 </dev/null &
echo "dockerd: started (pid $!), logging to $LOG"

for _ in $(seq 1 "$WAIT_SECONDS"); do
    if docker info >/dev/null 2>&1; then
        echo "dockerd: ready"
        exit 0
    fi
    sleep 1
done
echo "dockerd: did not answer within ${WAIT_SECONDS}s; last log lines:" >&2
tail -n 20 "$LOG" >&2
exit 1
