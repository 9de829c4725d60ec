"""Your own environments on the command line: ``module:Class`` references and ``--import``.

    agentgym eval my_envs:Guess --policy random          # my_envs.py in the current directory
    agentgym eval ./envs/guess.py:Guess --policy random  # or a file path
    agentgym eval demo/guess --import my_envs --policy random   # a module that calls agentgym.register

    env_id = resolve_env("my_envs:Guess")    # 'my_envs/Guess' (or the id the module registered it under)

Modules are looked up on ``sys.path`` plus the current directory (appended, so an installed
package of the same name wins). Installed packages register through the entry-point group
``agentgym.environments`` instead and need neither.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

from .errors import ConfigError


def _with_cwd_on_path() -> None:
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)


def import_module(name: str) -> ModuleType:
    """Imports ``name`` (dotted, or a path to a ``.py`` file) with errors that say what to check."""
    if name.endswith(".py") or os.sep in name:
        path = Path(name).expanduser()
        if not path.is_file():
            raise ConfigError(f"no such file: {path} (give a module name, or the path of a .py file)")
        mod_name = path.stem
        if mod_name in sys.modules and getattr(sys.modules[mod_name], "__file__", None) == str(path.resolve()):
            return sys.modules[mod_name]
        spec = importlib.util.spec_from_file_location(mod_name, path.resolve())
        if spec is None or spec.loader is None:
            raise ConfigError(f"cannot import {path}: not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as e:
            sys.modules.pop(mod_name, None)
            raise ConfigError(f"importing {path} failed: {type(e).__name__}: {e}") from e
        return module
    _with_cwd_on_path()
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name and (name == e.name or name.startswith(e.name + ".")):
            raise ConfigError(f"no module named {name!r}: run from the directory that holds {name.split('.')[0]}.py, "
                              "install the package that provides it, or give a file path (./path/to/file.py)") from e
        raise ConfigError(f"importing {name!r} failed: {type(e).__name__}: {e}") from e
    except Exception as e:
        raise ConfigError(f"importing {name!r} failed: {type(e).__name__}: {e}") from e


def import_modules(names: Sequence[str] | None) -> None:
    """``--import a --import b``: imports each module (they register their envs as a side effect)."""
    for name in names or []:
        import_module(name)


def is_reference(env: str) -> bool:
    """``module:Class`` / ``file.py:Class`` (an env id is ``namespace/name`` and has no colon)."""
    module, sep, attr = env.rpartition(":")
    return bool(sep and module and attr.replace(".", "_").isidentifier())


def resolve_env(env: str) -> str:
    """The registry id for ``env``: ids pass through; ``module:Class`` is imported and registered.

    A class the module already registered keeps its id (and its registered defaults); otherwise
    it is registered as ``module/Class`` with its docstring as description.
    """
    if not is_reference(env):
        return env
    from .registry import factory, list_envs, register

    module_name, _, attr = env.rpartition(":")
    module = import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            found = [n for n, v in vars(module).items() if inspect.isclass(v) and hasattr(v, "reset")]
            raise ConfigError(f"{module_name} has no attribute {attr!r}"
                              + (f"; env classes there: {', '.join(found)}" if found else ""))
        obj = getattr(obj, part)
    from .env import Env

    if inspect.isclass(obj) and not issubclass(obj, Env):
        raise ConfigError(f"{env} is a class but not an agentgym Env (subclass agentgym.Env or agentgym.ToolEnv)")
    if not callable(obj):
        raise ConfigError(f"{env} is not an Env class or a factory function (got {type(obj).__name__})")
    names = {f"{getattr(obj, '__module__', '')}:{getattr(obj, '__qualname__', '')}", f"{module_name}:{attr}"}
    for s in list_envs():
        if s.entry_point in names:
            return s.id
        try:
            if factory(s.id) is obj:
                return s.id
        except Exception:
            continue
    stem = Path(module_name).stem if module_name.endswith(".py") else module_name
    env_id = f"{stem}/{attr}"
    doc = (inspect.getdoc(obj) or "").split("\n", 1)[0]
    register(env_id, obj, description=doc, override=True)
    return env_id


__all__ = ["import_module", "import_modules", "is_reference", "resolve_env"]
