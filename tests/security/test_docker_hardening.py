"""DockerSandbox's container settings, read back from the daemon, and their effect seen from inside.

docs/security.md promises these for the docker backend; the escape battery shows what
they stop, this file that every one of them is actually set on the container.
"""

from __future__ import annotations

import functools

import pytest

from agentgym.sandboxes import Limits, make_sandbox
from agentgym.sandboxes.factory import docker_status

pytestmark = pytest.mark.docker

# Distinct from every default, so a value that is not taken from Limits shows up.
LIMITS = Limits(timeout=10, memory_mb=300, cpus=0.5, pids=50, file_size_mb=8, output_bytes=4096, disk_mb=32)


@functools.cache
def _skip_reason() -> str | None:
    status = docker_status()
    return None if status.ok else f"docker unavailable: {status.detail}"


@pytest.fixture
async def container():
    """A started DockerSandbox with LIMITS, and the container's `docker inspect` attributes."""
    if _skip_reason():
        pytest.skip(_skip_reason())
    import docker

    client = docker.from_env()
    try:
        async with make_sandbox("docker", limits=LIMITS) as sb:
            yield sb, client.containers.get(sb._container.id).attrs, client
    finally:
        client.close()


async def test_container_is_hardened(container):
    sb, attrs, _ = container
    host = attrs["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd")
    assert "no-new-privileges" in (host["SecurityOpt"] or [])
    assert host["Privileged"] is False and not host.get("Devices")
    assert host["PidMode"] in ("", None) and host["IpcMode"] in ("private", "none")  # not the host's
    assert host["UsernsMode"] in ("", None)  # not "host"


async def test_resource_limits_are_the_ones_given(container):
    _, attrs, _ = container
    host = attrs["HostConfig"]
    assert host["NanoCpus"] == int(LIMITS.cpus * 1e9)
    assert host["Memory"] == LIMITS.memory_mb << 20
    assert host["MemorySwap"] == LIMITS.memory_mb << 20  # no swap on top
    assert host["PidsLimit"] == LIMITS.pids
    ulimits = {u["Name"]: (u["Soft"], u["Hard"]) for u in host["Ulimits"]}
    assert ulimits["fsize"] == (LIMITS.file_size_mb << 20,) * 2
    assert ulimits["core"] == (0, 0)


async def test_no_host_mounts(container):
    sb, attrs, client = container
    mounts = attrs["Mounts"]
    assert [(m["Type"], m["Name"], m["Destination"]) for m in mounts] == [
        ("volume", f"agentgym-{sb.id}", "/workspace")
    ], mounts
    assert not any(m["Type"] == "bind" for m in mounts)
    assert attrs["HostConfig"]["Tmpfs"] == {"/tmp": f"size={LIMITS.disk_mb}m,mode=1777,exec"}
    options = client.volumes.get(f"agentgym-{sb.id}").attrs["Options"]
    assert options["type"] == "tmpfs" and f"size={LIMITS.disk_mb}m" in options["o"]  # memory, not host disk


async def test_labels_mark_it_managed(container):
    sb, attrs, client = container
    labels = attrs["Config"]["Labels"]
    assert labels["agentgym.managed"] == "1" and labels["agentgym.sandbox"] == sb.id
    assert labels["agentgym.pid"].isdigit()
    volume_labels = client.volumes.get(f"agentgym-{sb.id}").attrs["Labels"]
    assert volume_labels["agentgym.managed"] == "1" and volume_labels["agentgym.sandbox"] == sb.id
    assert attrs["Config"]["User"] == "65534:65534"  # init is not the commands' uid (timeouts kill -1)


async def test_seen_from_inside(container):
    sb, _, _ = container
    r = await sb.exec("grep NoNewPrivs /proc/self/status; id -u; grep CapEff /proc/self/status; "
                      "awk '$2 == \"/workspace\" || $2 == \"/\" {print $2, $3, $4}' /proc/mounts")
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NoNewPrivs:", "1"]
    assert lines[1] != "0" and int(lines[1]) > 0
    assert lines[2].split() == ["CapEff:", "0000000000000000"]
    mounts = {line.split()[0]: line.split()[1:] for line in lines[3:]}
    assert mounts["/"][1].startswith("ro")
    assert mounts["/workspace"][0] == "tmpfs"
