"""Checks a run makes once, before its run directory is written, so bad input fails once, not per episode.

    await preflight("toy/maze", {"size": 1}, OraclePolicy(), seeds=[0, 1], make_env=...)
    # ConfigError: toy/maze rejected its arguments {'size': 1}: ValueError: maze size must be >= 2, got 1 ...

* the env is built once with the run's arguments: a bad value (``--env-arg size=1``), a
  missing extra or a broken constructor is one clear error instead of N errored episodes;
* an :class:`~agentgym.policies.simple.OraclePolicy` needs an env that implements ``oracle()``
  and returns a plan for the first seed; otherwise the run is refused;
* a policy with a ``preflight()`` coroutine checks itself (``OpenAIPolicy``: the endpoint
  answers, ``max_tokens`` fits the server's context).

Missing extras are reported before this by :func:`check_requirements` (from the env's spec).
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Sequence

from .env import Env
from .errors import AgentGymError, ConfigError, MissingDependencyError

_INSTEAD = "use --policy random or --policy noop, or a model (--model), instead"


async def preflight(env_name: str, env_kwargs: dict[str, Any], policy: Any, seeds: Sequence[int],
                    make_env: Callable[[], Awaitable[Env]], timeout: float | None = None) -> None:
    """Builds one env (and probes its oracle when ``policy`` replays it); raises :class:`ConfigError` on bad input."""
    check_requirements(env_name)
    if callable(getattr(policy, "preflight", None)):
        try:
            await policy.preflight()
        except BaseException:
            if callable(getattr(policy, "aclose", None)):  # its HTTP session: no "Unclosed client session"
                await policy.aclose()
            raise
    try:
        env = await make_env()
    except AgentGymError:
        raise  # already says what to do (unknown id, missing extra, bad key)
    except Exception as e:
        shown = {k: v for k, v in env_kwargs.items() if k != "format"}
        raise ConfigError(f"{env_name} rejected its arguments {shown}: {type(e).__name__}: {e}\n"
                          f"fix the value (--env-arg KEY=VALUE, env_kwargs=) and run again; nothing was written") from e
    try:
        if _replays_oracle(policy):
            await _check_oracle(env_name, env, seeds[0], timeout)
    finally:
        try:
            await env.close()
        except Exception:
            pass


def check_requirements(env_name: str) -> None:
    """Raises :class:`MissingDependencyError` with the pip command when a registered env's extra is missing."""
    from .registry import spec
    from .requirements import missing_requirements

    try:
        s = spec(env_name)
    except AgentGymError:
        return  # a factory, not an id
    missing = missing_requirements(s.requirements)
    if not missing:
        return
    first = missing[0]
    if first.extra:
        raise MissingDependencyError(first.package, first.extra, env_name)
    raise ConfigError(f"{env_name} needs {first.name}, which is not installed: {first.pip}")


def _replays_oracle(policy: Any) -> bool:
    from .policies.simple import OraclePolicy

    return isinstance(policy, OraclePolicy)


def _innermost(env: Env) -> Env:
    """The env under format wrappers (``TextFormatEnv.inner``)."""
    seen = 0
    while getattr(env, "inner", None) is not None and seen < 10:
        env, seen = env.inner, seen + 1
    return env


async def _check_oracle(env_name: str, env: Env, seed: int, timeout: float | None) -> None:
    inner = _innermost(env)
    if getattr(type(inner), "oracle", None) is Env.oracle:
        raise ConfigError(f"{env_name} has no oracle ({type(inner).__name__} does not implement oracle()), "
                          f"so --policy oracle cannot play it: {_INSTEAD}")
    try:
        reset = env.reset(seed=seed)
        await (asyncio.wait_for(reset, timeout) if timeout else reset)
        plan = await env.oracle()
    except Exception:
        return  # the env itself fails on this seed: the run records that per episode, with its error
    if plan is None:
        raise ConfigError(f"{env_name} has no oracle for seed {seed} (its oracle() returned None), "
                          f"so --policy oracle cannot play it: {_INSTEAD}")


__all__ = ["preflight", "check_requirements"]
