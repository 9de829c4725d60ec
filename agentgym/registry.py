"""Environment registry: ``make``, ``register``, ``list_envs``.

    agentgym.register("my/env", "my_pkg.envs:MyEnv", kwargs={"level": 2}, max_turns=10)
    agentgym.register("my/small", functools.partial(MyEnv, level=1))    # any callable works too
    env = agentgym.make("my/env", level=3)      # keyword arguments override the registered kwargs

As in Gymnasium, the env's constructor arguments (``kwargs={...}``) are kept apart from the
registry's own options (``description``, ``max_turns``, ``tags``, ``requirements``), so an env
may take an argument called ``description``. Entry points are lazily imported
``"module:Class"`` strings, or callables, stored under the env id. Third-party packages (and
agentgym's own families) register from the entry-point group ``agentgym.environments``: each
entry point names a module or a zero-argument callable that calls :func:`register`.

Nothing is registered at import: the bundled ``toy/maze`` on the first call of any function
here, the plugins on the first lookup (``make``, ``spec``, ``list_envs``).

Thread-safe: ``make`` runs in worker threads during ``agentgym.run``, so the first lookup from
several threads at once loads the plugins exactly once while the others wait for it to finish
(never seeing a half-filled registry), and entry-point modules are imported one at a time
(Python hands a partially initialised module to the loser of a cross-thread import cycle).

.. versionchanged:: 0.2
   ``register(id, ep, level=2)`` became ``register(id, ep, kwargs={"level": 2})``: env
   arguments shared ``**kwargs`` with the registry's options (TextWorld's ``description``
   argument could not be set). Callable entry points are stored by env id (two lambdas used to
   collide under one ``module:qualname``).
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
MAKE_OPTIONS = ("format", "max_turns")   # make()'s own keyword arguments; every other one goes to the env

_REGISTRY: dict[str, EnvSpec] = {}
_FACTORIES: dict[str, Callable[..., Any]] = {}   # env id -> callable entry point (strings are imported on use)
_builtins_registered = False
_plugins_loaded = False      # set only once every plugin has registered
_plugins_loading = False     # True while the thread holding _LOCK runs the plugins (re-entrant lookups)
_plugin_errors: dict[str, str] = {}
# Guards registry writes, plugin loading and entry-point imports. Re-entrant: a plugin's
# register_envs() calls register(), and may call list_envs()/spec().
_LOCK = threading.RLock()

BUILTINS: dict[str, dict[str, Any]] = {
    "toy/maze": dict(entry_point="agentgym.envs.maze:MazeEnv", max_turns=30, tags=["toy", "tools"],
                     description="Reach the exit of a grid maze with look/move tools."),
}


def register(
    id: str,
    entry_point: str | Callable[..., Any],
    *,
    kwargs: dict[str, Any] | None = None,
    description: str = "",
    max_turns: int = 20,
    tags: list[str] | None = None,
    requirements: list[str] | None = None,
    override: bool = False,
    **unexpected: Any,
) -> EnvSpec:
    """Registers an env id.

    Args:
        id: ``namespace/name``, e.g. ``toy/maze``.
        entry_point: ``"module:Class"`` (imported on first use) or any callable returning an Env.
        kwargs: default constructor arguments; ``make(id, **kw)`` overrides them key by key.
        description, max_turns, tags, requirements: the registry's options (the :class:`EnvSpec`).
        override: replace an existing registration of ``id``.

    Registering the same id again with the same entry point and options is a no-op.
    """
    if unexpected:
        raise RegistrationError(
            f"register({id!r}) takes no option(s) {', '.join(map(repr, sorted(unexpected)))}; env constructor "
            f"arguments go in kwargs={{...}}, e.g. register({id!r}, ..., kwargs={unexpected!r})")
    if not isinstance(id, str) or "/" not in id or id.startswith("/") or id.endswith("/"):
        raise RegistrationError(f"env id {id!r} must be namespaced like 'family/name' (e.g. 'toy/maze')")
    if not (isinstance(entry_point, str) and ":" in entry_point) and not callable(entry_point):
        raise RegistrationError(f"entry point of {id!r} must be 'module:attr' or a callable, got {entry_point!r}")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise RegistrationError(f"kwargs of {id!r} must be a dict of constructor arguments, got {type(kwargs).__name__}")
    spec = EnvSpec(id=id, description=description, max_turns=max_turns, tags=list(tags or []),
                   requirements=list(requirements or []), entry_point=_ep_string(entry_point), kwargs=dict(kwargs or {}))
    with _LOCK:
        _register_builtins()
        return _store(spec, entry_point, override)


def _store(spec: EnvSpec, entry_point: str | Callable[..., Any], override: bool) -> EnvSpec:
    existing = _REGISTRY.get(spec.id)
    if existing is not None and not override:
        same_factory = _FACTORIES.get(spec.id) is entry_point if callable(entry_point) else spec.id not in _FACTORIES
        if same_factory and existing == spec:
            return existing
        raise RegistrationError(f"env id {spec.id!r} is already registered to {existing.entry_point}; "
                                "pass override=True")
    _REGISTRY[spec.id] = spec
    if callable(entry_point):
        _FACTORIES[spec.id] = entry_point
    else:
        _FACTORIES.pop(spec.id, None)
    return spec


def _ep_string(ep: str | Callable[..., Any]) -> str:
    """How an entry point is shown (``module:qualname``; for a partial, its function and arguments)."""
    if isinstance(ep, str):
        return ep
    if isinstance(ep, functools.partial):
        args = [repr(a) for a in ep.args] + [f"{k}={v!r}" for k, v in ep.keywords.items()]
        return f"functools.partial({_ep_string(ep.func)}, {', '.join(args)})"
    name = getattr(ep, "__qualname__", None) or getattr(ep, "__name__", None) or type(ep).__qualname__
    return f"{getattr(ep, '__module__', None) or type(ep).__module__}:{name}"


def _register_builtins() -> None:
    global _builtins_registered
    if _builtins_registered:
        return
    with _LOCK:
        if _builtins_registered:
            return
        _builtins_registered = True
        for env_id, options in BUILTINS.items():
            if env_id not in _REGISTRY:  # a user's own registration of the id wins
                options = dict(options)
                _store(EnvSpec(id=env_id, **options), options["entry_point"], override=False)


def _load_plugins() -> None:
    """Runs every ``agentgym.environments`` entry point once per process.

    Other threads wait until all plugins have registered; a lookup from inside a plugin (same
    thread, lock held) returns at once and sees what is registered so far.
    """
    global _plugins_loaded, _plugins_loading
    if _plugins_loaded:
        return
    with _LOCK:
        _register_builtins()
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
    close = difflib.get_close_matches(str(id), known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    broken = "".join(f"\n  plugin {k!r} failed to load: {v}" for k, v in _plugin_errors.items())
    raise EnvNotFoundError(
        f"Environment {id!r} doesn't exist.{hint} Run `agentgym list` to see all ids; "
        f"did you install and register the package that provides it?{broken}"
    )


def factory(id: str) -> Callable[..., Any]:
    """The callable that builds ``id`` (its class, or the callable it was registered with)."""
    s = spec(id)
    found = _FACTORIES.get(id)
    return found if found is not None else load_entry_point(s.entry_point or "")


def load_entry_point(ep: str) -> Callable[..., Any]:
    """Imports a ``"module:attr"`` entry point. (Callables registered directly: :func:`factory`.)"""
    module, _, attr = ep.partition(":")
    try:
        with _LOCK:  # one import at a time: no thread ever gets a partially initialised module
            mod = importlib.import_module(module)
    except ImportError as e:
        if isinstance(e, MissingDependencyError):
            raise
        raise RegistrationError(f"cannot import {module!r} for entry point {ep!r}: {e}") from e
    obj: Any = mod
    try:
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise RegistrationError(f"entry point {ep!r}: module {module!r} has no attribute {attr!r}") from None
    return obj


def check_kwargs(id: str, kwargs: dict[str, Any]) -> None:
    """Raises :class:`ConfigError` naming the accepted arguments when ``id``'s factory would reject a key.

    Cheap (no env is built), so a run can fail on ``--env-arg bogus=1`` before it writes anything.
    ``max_turns`` and ``format`` are :func:`make`'s own options and always accepted.
    """
    _check_factory_kwargs(id, factory(id), {k: v for k, v in kwargs.items() if k not in MAKE_OPTIONS})


def accepted_kwargs(factory: Callable[..., Any]) -> tuple[str, ...] | None:
    """Keyword arguments ``factory`` takes, or None when it cannot tell (``**kwargs`` without an
    ``accepted_kwargs`` declaration on the class, or a callable without a signature)."""
    try:
        return _accepted_kwargs(factory)
    except TypeError:  # an unhashable callable: inspect it uncached
        return _accepted_kwargs.__wrapped__(factory)


@functools.lru_cache(maxsize=None)
def _accepted_kwargs(factory: Callable[..., Any]) -> tuple[str, ...] | None:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # builtins / C callables: let the call decide
        return None
    names = tuple(n for n, p in params.items()
                  if n != "self" and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY))
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        declared = getattr(factory, "accepted_kwargs", None)  # an Env subclass that forwards **kwargs names them
        if not isinstance(declared, (tuple, list, frozenset, set)):
            return None
        names += tuple(n for n in declared if n not in names)
    return names


def _check_factory_kwargs(id: str, factory: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    accepted = accepted_kwargs(factory)
    if accepted is None:
        return
    for key in kwargs:
        if key not in accepted:
            close = difflib.get_close_matches(str(key), accepted, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{id} takes no argument {key!r}.{hint} It takes: "
                              f"{', '.join(accepted) or 'no arguments'} (and max_turns, format).")


def make(id: str, *, format: str | None = None, max_turns: int | None = None, **kwargs: Any):
    """Builds a registered env. ``format`` (``tags`` | ``react``) wraps it for text-only models.

    Keyword arguments go to the env's constructor, over the registered ``kwargs``; unknown ones
    are refused before anything is built. An error of the constructor is re-raised naming the id
    and the arguments (``ValueError: toy/maze(size=1): maze size must be ...``).

    Example::

        env = agentgym.make("toy/maze", size=7)
        env = agentgym.make("toy/maze", format="tags", max_turns=10)   # <move>{"direction": "north"}</move>
    """
    s = spec(id)
    build = factory(id)
    _check_factory_kwargs(id, build, kwargs)
    if max_turns is not None and (isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1):
        raise ConfigError(f"{id}: max_turns must be a positive integer, got {max_turns!r}")
    args = {**s.kwargs, **kwargs}
    env = _construct(id, build, args)
    env.spec = s.model_copy(update={"max_turns": max_turns or s.max_turns, "kwargs": args})
    env._factory = functools.partial(_construct, id, build, args)
    if format and format != "openai":
        from .formats import TextFormatEnv

        env = TextFormatEnv(env, format=format)
    return env


_RETYPED = (ValueError, TypeError, IndexError, RuntimeError)  # plain types re-raised with the id in the message


def _construct(id: str, build: Callable[..., Any], args: dict[str, Any]):
    """``build(**args)``; an error names the env id and the arguments (same exception type)."""
    try:
        return build(**args)
    except Exception as e:
        where = f"{id}({', '.join(f'{k}={v!r}'[:80] for k, v in args.items())})"
        if type(e) in _RETYPED:
            raise type(e)(f"{where}: {e}") from e
        e.add_note(f"while building env {where}")
        raise


def _unregister(id: str) -> None:
    """Test helper."""
    with _LOCK:
        _REGISTRY.pop(id, None)
        _FACTORIES.pop(id, None)


__all__ = ["register", "make", "factory", "check_kwargs", "accepted_kwargs", "list_envs", "spec", "reload_plugins",
           "ENTRY_POINT_GROUP"]
