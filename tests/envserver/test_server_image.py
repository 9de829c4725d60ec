"""The env-server image (docker/server): built from the registry-less base with no network inside the
build, started with host networking on a loopback port, driven by RemoteEnv through oracle episodes,
stopped gracefully; no container is left behind."""

from __future__ import annotations

import socket
import time
import uuid

import httpx
import pytest

import agentgym
from agentgym import OraclePolicy
from agentgym.remote import RemoteEnv

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def server_image() -> str:
    from agentgym.sandboxes.docker import docker_client
    from agentgym.sandboxes.errors import SandboxUnavailableError
    from agentgym.server.image import build_server_image

    try:
        docker_client()
    except SandboxUnavailableError as e:
        pytest.skip(f"no Docker daemon: {e}")
    return build_server_image(log=lambda line: None)  # kept when the checkout did not change


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_server_image_serves_oracle_episodes_and_leaves_nothing(server_image):
    from agentgym.sandboxes.docker import docker_client

    client = docker_client()
    label = f"envserver-image-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    container = client.containers.run(
        server_image, ["toy/maze", "--host", "127.0.0.1", "--port", str(port), "--env-arg", "size=3", "--workers", "1"],
        network_mode="host", detach=True, labels={"agentgym.test": label})
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
                break
            except httpx.HTTPError:
                container.reload()
                assert container.status in ("created", "running"), container.logs().decode()[-2000:]
                assert time.monotonic() < deadline, "the server in the container did not come up: " + \
                    container.logs().decode()[-2000:]
                time.sleep(0.3)
        assert health["env_id"] == "toy/maze" and health["workers_alive"] == [True]
        assert container.exec_run(["id", "-u"]).output.decode().strip() == "1000"  # not root
        url = f"http://127.0.0.1:{port}"
        summary = await agentgym.arun(lambda: RemoteEnv(url), OraclePolicy(), episodes=4, concurrency=2,
                                      progress=False)
        assert summary.episodes == 4 and summary.success_rate == 1.0 and summary.errors == 0
        env = RemoteEnv(url)
        await env.reset(seed=7)
        twin = await env.fork()
        plan = await env.oracle()
        for action in plan:
            a, b = await env.step(action), await twin.step(action)
            assert [m.content for m in a.messages] == [m.content for m in b.messages]
        assert a.success and b.success
        await twin.close()
        await env.close()
        assert httpx.get(f"{url}/sessions", timeout=5).json()["sessions"] == 0
        container.stop(timeout=20)  # SIGTERM: uvicorn shuts down, closing its workers
        assert container.wait(timeout=30)["StatusCode"] == 0, container.logs().decode()[-2000:]
    finally:
        container.remove(force=True)
    assert client.containers.list(all=True, filters={"label": f"agentgym.test={label}"}) == []


def test_a_missing_base_image_says_what_to_do(server_image):
    from agentgym.server.image import ImageBuildError, _docker, find_base, platform_tags

    with pytest.raises(ImageBuildError, match="agentgym sandbox build"):
        find_base(_docker(), "agentgym/no-such-base:0")
    tags = platform_tags("2.28", "x86_64")  # wheels a glibc-2.28 image can load, newest first
    assert tags[0] == "manylinux_2_28_x86_64" and "manylinux2014_x86_64" in tags
    assert "manylinux_2_31_x86_64" not in tags and tags[-1] == "linux_x86_64"
