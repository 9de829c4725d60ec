#!/usr/bin/env bash
# Prints the Debian mirror this machine's apt uses (the first non-security `.../debian` URI).
#
#   docker/apt-mirror.sh                         # -> http://deb.debian.org/debian
#   APT_ETC=/tmp/fake-etc-apt docker/apt-mirror.sh   # read another apt config tree (tests)
#
# Reads both layouts: deb822 files (sources.list.d/*.sources, `URIs:` lines, several URIs
# allowed) and one-line files (sources.list and sources.list.d/*.list, `deb [opts] URI suite`).
# Exits 1 with a message saying what to set when no mirror is found. Never fails silently:
# missing files are simply skipped.
set -u
ETC="${APT_ETC:-/etc/apt}"

candidates() {
    local f
    for f in "$ETC"/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        # deb822: "URIs: a b" (the field name is case-insensitive); skip disabled stanzas' comments.
        sed -n 's/^[Uu][Rr][Ii][Ss]:[[:space:]]*//p' "$f" | tr ' \t' '\n\n'
    done
    for f in "$ETC"/sources.list "$ETC"/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        # one-line: "deb [arch=amd64 signed-by=...] URI suite comp..."; drop the [options] block.
        sed -n 's/^[[:space:]]*deb[[:space:]]\+//p' "$f" | sed 's/^\[[^]]*\][[:space:]]*//' | awk '{print $1}'
    done
}

mirror="$(candidates | grep -v -e '-security' -e '^$' | grep -E '/debian/?$' | head -n1 || true)"
if [ -z "$mirror" ]; then
    echo "apt-mirror: no Debian mirror found in $ETC/sources.list or $ETC/sources.list.d/*.sources|*.list;" \
         "set DEBIAN_MIRROR=<url of a Debian mirror>, e.g. DEBIAN_MIRROR=http://deb.debian.org/debian" >&2
    exit 1
fi
printf '%s\n' "${mirror%/}"
