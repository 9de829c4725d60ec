"""Network opt-in: off by default (tests/security/), on when asked, a clear error when it cannot be had.

Only loopback is ever a target: a listener on the host's 127.0.0.1 that the sandbox reaches
when it shares the host's network.
"""

from __future__ import annotations

import socket

import pytest

from agentgym.sandboxes import Limits, make_sandbox
from agentgym.sandboxes.errors import SandboxUnavailableError
from agentgym.sandboxes.factory import bwrap_status, docker_status

SMALL = Limits(timeout=10, memory_mb=512, pids=64, disk_mb=64)

CONNECT = (
    "import socket, sys\n"
    "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=3)\n"
    "print(s.recv(16).decode())\n"
)


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(10)
    yield server
    server.close()


async def _reaches(sb, server: socket.socket) -> str:
    import asyncio

    port = server.getsockname()[1]

    def accept_and_greet() -> None:
        conn, _ = server.accept()
        conn.sendall(b"hello")
        conn.close()

    greeter = asyncio.get_running_loop().run_in_executor(None, accept_and_greet)
    r = await sb.exec(["python3", "-c", CONNECT, str(port)], timeout=10)
    await greeter
    return r.stdout.strip()


@pytest.mark.parametrize("backend", [pytest.param("docker", marks=pytest.mark.docker),
                                     pytest.param("bwrap", marks=pytest.mark.bwrap)])
async def test_network_opt_in_reaches_host_loopback(backend, listener):
    status = docker_status() if backend == "docker" else bwrap_status()
    if not status.ok:
        pytest.skip(f"{backend} unavailable: {status.detail}")
    network = "host" if backend == "docker" else True
    async with make_sandbox(backend, limits=SMALL, network=network) as sb:
        assert await _reaches(sb, listener) == "hello"


@pytest.mark.docker
async def test_docker_network_that_does_not_exist_is_a_clear_error_and_leaks_nothing(docker_ready):
    import docker

    client = docker.from_env()
    before = {v.name for v in client.volumes.list(filters={"label": "agentgym.managed=1"})}
    sb = make_sandbox("docker", limits=SMALL, network="agentgym-no-such-net")
    with pytest.raises(SandboxUnavailableError, match="agentgym-no-such-net.*does not exist.*network='host'"):
        await sb.start()
    await sb.close()
    after = {v.name for v in client.volumes.list(filters={"label": "agentgym.managed=1"})}
    assert after <= before
    client.close()
