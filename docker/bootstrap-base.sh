#!/usr/bin/env bash
# Build the agentgym sandbox base image without a container registry.
#
#   docker/bootstrap-base.sh                 # -> agentgym/base:bookworm
#   BASE_TAG=my/base:1 docker/bootstrap-base.sh
#
# debootstraps a minimal Debian (python3, pytest, git, make, gcc) from the Debian
# mirror, caches the root filesystem tarball under $AGENTGYM_ROOTFS_CACHE, and
# `docker import`s it. Idempotent: when an image with the same content hash
# (label agentgym.base.hash) exists, it does nothing. Needs root, debootstrap and
# a running Docker daemon (docker/start-dockerd.sh).
set -euo pipefail

SUITE="${DEBIAN_SUITE:-bookworm}"
# The Debian mirror: $DEBIAN_MIRROR, else the first one this machine's apt uses
# (deb822 .sources files or one-line .list files; docker/apt-mirror.sh says what to set if none).
if [ -n "${DEBIAN_MIRROR:-}" ]; then
    MIRROR="$DEBIAN_MIRROR"
elif ! MIRROR="$("$(dirname "$0")/apt-mirror.sh")"; then
    echo "bootstrap-base: cannot build the base image without a Debian mirror (see above)" >&2
    exit 1
fi
BASE_TAG="${BASE_TAG:-agentgym/base:${SUITE}}"
CACHE_DIR="${AGENTGYM_ROOTFS_CACHE:-/var/cache/agentgym}"
PACKAGES="python3,python3-pytest,git,make,gcc,libc6-dev,procps,ca-certificates"

HASH="$(printf '%s\n' "$SUITE" "$MIRROR" "$PACKAGES" "v1" | sha256sum | cut -c1-16)"
TARBALL="$CACHE_DIR/rootfs-${SUITE}-${HASH}.tar"

existing="$(docker image inspect --format '{{ index .Config.Labels "agentgym.base.hash" }}' "$BASE_TAG" 2>/dev/null || true)"
if [ "$existing" = "$HASH" ]; then
    echo "bootstrap-base: $BASE_TAG is up to date (hash $HASH)"
    exit 0
fi

for cmd in docker debootstrap; do
    if ! command -v "$cmd" >/dev/null 2>&1; then
        echo "bootstrap-base: '$cmd' is missing; install it with: apt-get install -y ${cmd/docker/docker.io}" >&2
        exit 1
    fi
done
if [ "$(id -u)" != "0" ]; then
    echo "bootstrap-base: debootstrap needs root (try: sudo $0)" >&2
    exit 1
fi

mkdir -p "$CACHE_DIR"
if [ ! -s "$TARBALL" ]; then
    ROOTFS="$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")"
    trap 'rm -rf "$ROOTFS"' EXIT
    echo "bootstrap-base: debootstrap $SUITE ($PACKAGES) -> $ROOTFS"
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR"
    # Trim what a sandbox never needs.
    rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* \
           "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/locale/*
    tar -C "$ROOTFS" --numeric-owner -cf "$TARBALL.partial" .
    mv "$TARBALL.partial" "$TARBALL"
    rm -rf "$ROOTFS"
    trap - EXIT
else
    echo "bootstrap-base: using cached $TARBALL"
fi

docker import \
    --change "LABEL agentgym.base.hash=$HASH" \
    --change "LABEL agentgym.managed=1" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    "$TARBALL" "$BASE_TAG"
echo "bootstrap-base: imported $BASE_TAG (hash $HASH)"
