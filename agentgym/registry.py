"""Environment registry: ``make``, ``register``, ``list_envs``.

    agentgym.register("my/env", "my_pkg.envs:MyEnv", max_turns=10, level=2)
    env = agentgym.make("my/env", level=3)      # kwargs override registered defaults

Entry points are lazily imported ``"module:Class"`` strings. Third-party packages (and
agentgym's own families) register from the entry-point group ``agentgym.environments``:
each entry point names a module or a zero-argument callable that calls :func:`register`.

Thread-safe: ``make`` runs in worker threads during ``agentgym.run``, so the first lookup from
several threads at once loads the plugins exactly once while the others wait for it to finish
(never seeing a half-filled registry), and entry-point modules are imported one at a time
(Python hands a partially initialised module to the loser of a cross-thread import cycle).
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import threading
from importlib import metadata
from typing import Any, Callable

from .errors import ConfigError, EnvNotFoundError, MissingDependencyError, RegistrationError
from .types import EnvSpec

ENTRY_POINT_GROUP = "agentgym.environments"

_REGISTRY: dict[str, EnvSpec] = {}
_plugins_loaded = False      # set only once every plugin has registered
_plugins_loading = False     # True while the thread holding _LOCK runs the plugins (re-entrant lookups)
_plugin_errors: dict[str, str] = {}
# Guards _REGISTRY/_CALLABLES writes, plugin loading and entry-point imports. Re-entrant: a
# plugin's register_envs() calls register(), and may call list_envs()/spec().
_LOCK = threading.RLock()


def register(
    id: str,
    entry_point: str | Callable[..., Any],
    *,
    description: str = "",
    max_turns: int = 20,
    tags: list[str] | None = None,
    requirements: list[str] | None = None,
    override: bool = False,
    **kwargs: Any,
) -> EnvSpec:
    """Registers an env id. ``kwargs`` become default constructor arguments."""
    if "/" not in id or id.startswith("/") or id.endswith("/"):
        raise RegistrationError(f"env id {id!r} must be namespaced like 'family/name' (e.g. 'toy/maze')")
    with _LOCK:
        return _register_locked(id, entry_point, description, max_turns, tags, requirements, override, kwargs)


def _register_locked(id: str, entry_point: str | Callable[..., Any], description: str, max_turns: int,
                     tags: list[str] | None, requirements: list[str] | None, override: bool,
                     kwargs: dict[str, Any]) -> EnvSpec:
    if id in _REGISTRY and not override:
        existing = _REGISTRY[id]
        if existing.entry_point == _ep_string(entry_point):
            return existing
        raise RegistrationError(f"env id {id!r} is already registered to {existing.entry_point}; pass override=True")
    spec = EnvSpec(
        id=id, description=description, max_turns=max_turns, tags=tags or [], requirements=requirements or [],
        entry_point=_ep_string(entry_point), kwargs=kwargs,
    )
    _REGISTRY[id] = spec
    if callable(entry_point):
        _CALLABLES[spec.entry_point] = entry_point
    return spec


_CALLABLES: dict[str, Callable[..., Any]] = {}


def _ep_string(ep: str | Callable[..., Any]) -> str:
    if isinstance(ep, str):
        return ep
    return f"{ep.__module__}:{ep.__qualname__}"


def _load_plugins() -> None:
    """Runs every ``agentgym.environments`` entry point once per process.

    Other threads wait until all plugins have registered; a lookup from inside a plugin (same
    thread, lock held) returns at once and sees what is registered so far.
    """
    global _plugins_loaded, _plugins_loading
    if _plugins_loaded:
        return
    with _LOCK:
        if _plugins_loaded or _plugins_loading:
            return
        _plugins_loading = True
        try:
            for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
                try:
                    obj = ep.load()
                    if callable(obj):
                        obj()
                except Exception as e:  # a broken plugin must not break the others
                    _plugin_errors[ep.name] = f"{type(e).__name__}: {e}"
        finally:
            _plugins_loading = False
            _plugins_loaded = True


def reload_plugins() -> None:
    """Re-reads the entry points (after installing a plugin package in this process)."""
    global _plugins_loaded
    with _LOCK:
        _plugins_loaded = False
        importlib.invalidate_caches()
        _load_plugins()


def list_envs(tag: str | None = None) -> list[EnvSpec]:
    """Registered env specs, sorted by id, optionally filtered by tag or namespace."""
    _load_plugins()
    with _LOCK:
        specs = sorted(_REGISTRY.values(), key=lambda s: s.id)
    if tag:
        specs = [s for s in specs if tag in s.tags or s.id.startswith(tag.rstrip("/") + "/")]
    return specs


def spec(id: str) -> EnvSpec:
    """The spec of a registered id, or :class:`EnvNotFoundError` with close matches."""
    _load_plugins()
    found = _REGISTRY.get(id)
    if found is not None:
        return found
    with _LOCK:
        known = list(_REGISTRY)
    close = difflib.get_close_matches(id, known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    broken = "".join(f"\n  plugin {k!r} failed to load: {v}" for k, v in _plugin_errors.items())
    raise EnvNotFoundError(
        f"Environment {id!r} doesn't exist.{hint} Run `agentgym list` to see all ids; "
        f"did you install and register the package that provides it?{broken}"
    )


def load_entry_point(ep: str) -> Callable[..., Any]:
    if ep in _CALLABLES:
        return _CALLABLES[ep]
    module, _, attr = ep.partition(":")
    try:
        with _LOCK:  # one import at a time: no thread ever gets a partially initialised module
            mod = importlib.import_module(module)
    except ImportError as e:
        if isinstance(e, MissingDependencyError):
            raise
        raise RegistrationError(f"cannot import {module!r} for entry point {ep!r}: {e}") from e
    obj: Any = mod
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def check_kwargs(id: str, kwargs: dict[str, Any]) -> None:
    """Raises :class:`ConfigError` naming the accepted arguments when ``id``'s factory would reject a key.

    Cheap (no env is built), so a run can fail on ``--env-arg bogus=1`` before it writes anything.
    """
    _check_factory_kwargs(id, load_entry_point(spec(id).entry_point), kwargs)


@functools.lru_cache(maxsize=None)
def _accepted_kwargs(factory: Callable[..., Any]) -> tuple[str, ...] | None:
    """Keyword arguments ``factory`` takes, or None when it takes any (``**kwargs``) or cannot be inspected."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # builtins / C callables: let the call decide
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return tuple(n for n, p in params.items()
                 if n != "self" and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY))


def _check_factory_kwargs(id: str, factory: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    try:
        accepted = _accepted_kwargs(factory)
    except TypeError:  # an unhashable callable: inspect it uncached
        accepted = _accepted_kwargs.__wrapped__(factory)
    if accepted is None:
        return
    for key in kwargs:
        if key not in accepted and key != "max_turns":
            close = difflib.get_close_matches(key, accepted, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{id} takes no argument {key!r}.{hint} It takes: "
                              f"{', '.join(accepted) or 'no arguments'} (and max_turns).")


def make(id: str, *, format: str | None = None, **kwargs: Any):
    """Builds a registered env. ``format`` (``tags`` | ``react``) wraps it for text-only models.

    Example::

        env = agentgym.make("toy/maze", size=7)
        env = agentgym.make("toy/maze", format="tags")   # <move>{"direction": "north"}</move>
    """
    s = spec(id)
    factory = load_entry_point(s.entry_point)
    _check_factory_kwargs(id, factory, kwargs)
    max_turns = kwargs.pop("max_turns", None)
    env = factory(**{**s.kwargs, **kwargs})
    env.spec = s.model_copy(update={"max_turns": max_turns or s.max_turns, "kwargs": {**s.kwargs, **kwargs}})
    if format and format != "openai":
        from .formats import TextFormatEnv

        env = TextFormatEnv(env, format=format)
    return env


def _unregister(id: str) -> None:
    """Test helper."""
    with _LOCK:
        _REGISTRY.pop(id, None)


register(
    "toy/maze", "agentgym.envs.maze:MazeEnv", description="Reach the exit of a grid maze with look/move tools.",
    max_turns=30, tags=["toy", "tools"],
)

__all__ = ["register", "make", "check_kwargs", "list_envs", "spec", "reload_plugins", "ENTRY_POINT_GROUP"]
