"""A run directory's ``config.json`` and the checks that make ``resume`` safe.

A run directory holds the episodes of exactly one configuration: env, env arguments, action
format, policy, model, max_turns and seeds. Resuming with any of them changed would mix two
runs under one summary, so it is refused, naming each difference::

    identity = RunIdentity(env="toy/maze", env_args={"size": 7}, ...)
    saved = check_resume(Path("runs/maze"), identity, trajectories)   # ConfigError on a mismatch

Settings that do not change what an episode means (concurrency, timeout, retries, base_url,
sampling limits) may change on resume; each resume appends them under ``"resumes"`` and
never rewrites the settings the episodes were made with. ``episodes`` means the total: a
resume may extend the seeds (``0..19`` → ``0..29``) but never shrink them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Sequence

from pydantic import BaseModel

from .errors import ConfigError
from .types import Trajectory

_FIX = ("use a new --out (out=) for these settings, or repeat the original ones to continue this run "
        "(see its config.json)")


class RunIdentity(BaseModel):
    """What the episodes of a run directory were made with; two runs may share a directory only if equal."""

    env: str
    env_args: dict[str, Any]
    format: str = "openai"
    policy: str | None = None
    model: str
    max_turns: int | None = None
    seeds: list[int]

    @classmethod
    def of(cls, env: str, env_kwargs: dict[str, Any], policy: Any, model: str, max_turns: int | None,
           seeds: Sequence[int]) -> RunIdentity:
        """The identity of a run about to start (values normalised through JSON, as config.json stores them)."""
        args = _json_roundtrip({k: v for k, v in env_kwargs.items() if k != "format"})
        return cls(env=env, env_args=args, format=env_kwargs.get("format") or "openai",
                   policy=type(policy).__name__, model=model, max_turns=max_turns, seeds=list(seeds))

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RunIdentity:
        """The identity recorded in a ``config.json`` (also those written before ``policy``/``format`` were)."""
        kwargs = dict(config.get("env_kwargs") or {})
        return cls(env=config["env"], env_args={k: v for k, v in kwargs.items() if k != "format"},
                   format=config.get("format") or kwargs.get("format") or "openai", policy=config.get("policy"),
                   model=config["model"], max_turns=config.get("max_turns"), seeds=config["seeds"])


def read_config(out_dir: Path) -> dict[str, Any] | None:
    """``config.json`` of a run directory, or None when it has none."""
    path = out_dir / "config.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read {path}: {e}; fix or remove it, or use a new --out") from e


def check_resume(out_dir: Path, new: RunIdentity, recorded: list[Trajectory]) -> None:
    """Raises :class:`ConfigError` when ``out_dir``'s recorded episodes were made with other settings than ``new``.

    Checks ``config.json`` when there is one, then the recorded trajectories themselves
    (seed and model per episode), so a hand-made or older directory is checked as well.
    """
    if not recorded:
        return
    config = read_config(out_dir)
    problems: list[str] = []
    if config is not None:
        try:
            old = RunIdentity.from_config(config)
        except (KeyError, ValueError) as e:
            raise ConfigError(f"{out_dir}/config.json is incomplete ({e}); cannot check it before resuming: {_FIX}")
        for field in ("env", "policy", "model", "format", "env_args", "max_turns"):
            was, now = getattr(old, field), getattr(new, field)
            if was != now and not (field == "policy" and was is None):  # older config.json: no policy
                problems.append(f"{field} {was!r}; this run has {now!r}")
        problems += _seed_problems(old.seeds, new.seeds)
    for t in [] if problems else recorded:
        if t.episode is None:
            continue
        if t.episode >= len(new.seeds):
            if config is None:  # (with a config, its seeds were checked above)
                problems.append(f"episode {t.episode} recorded; this run has only {len(new.seeds)} episodes")
                break
            continue
        if t.seed != new.seeds[t.episode]:
            problems.append(f"seed {t.seed} for episode {t.episode}; this run has seed {new.seeds[t.episode]}")
            break
        if t.model != new.model:
            problems.append(f"model {t.model!r} (episode {t.episode}); this run has {new.model!r}")
            break
    if problems:
        lines = "".join(f"\n  run dir was made with {p}" for p in dict.fromkeys(problems))
        raise ConfigError(f"cannot resume {out_dir}: its episodes were made with other settings than this run:"
                          f"{lines}\nA run directory holds one configuration: {_FIX}.")


def _seed_problems(old: list[int], new: list[int]) -> list[str]:
    if new[: len(old)] == old:
        return []  # the same seeds, maybe extended
    if old[: len(new)] == new:
        return [f"seeds {_seeds(old)}: it holds {len(old)} episodes and episodes={len(new)} would drop "
                f"{len(old) - len(new)} of them (on resume, --episodes is the total: pass --episodes {len(old)} "
                f"or more, or omit it)"]
    return [f"seeds {_seeds(old)}; this run has {_seeds(new)}"]


def _seeds(seeds: Sequence[int]) -> str:
    """``0..19`` for a contiguous range, else the list (cut after 8)."""
    seeds = list(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}..{seeds[-1]}"
    return str(seeds[:8])[:-1] + (", ...]" if len(seeds) > 8 else "]")


def resolve_seeds(seeds: Sequence[int] | None, episodes: int | None, seed: int | None,
                  saved: dict[str, Any] | None) -> list[int]:
    """The seeds of a run: explicit ``seeds``, else ``episodes`` from ``seed``; on resume the saved ones fill gaps.

    ``saved`` is the config of the directory being resumed (None for a new run): omitting
    ``episodes`` continues its total, omitting ``seed`` its first seed.
    """
    if seeds is not None:
        seeds = list(seeds)
        if not seeds:
            raise ConfigError("seeds is empty: give at least one seed")
        if episodes is not None and episodes != len(seeds):
            raise ConfigError(f"episodes={episodes} but {len(seeds)} seeds were given: give one of them")
        return seeds
    old = list(saved.get("seeds") or []) if saved else []
    if episodes is None and seed is None and old:
        return old
    if episodes is None:
        if not old:
            raise ConfigError("give `episodes` (--episodes) or `seeds`")
        episodes = len(old)
    if episodes < 1:
        raise ConfigError(f"episodes must be >= 1, got {episodes}")
    start = seed if seed is not None else (old[0] if old else 0)
    return list(range(start, start + episodes))


def write_config(out_dir: Path, identity: RunIdentity, run_settings: dict[str, Any], resumed: bool) -> None:
    """Writes ``config.json``: run settings and the identity (first run), or one more ``resumes`` entry.

    ``resumed`` means the directory already holds episodes (checked by :func:`check_resume`):
    the identity they were made with is kept, only the seeds may grow.
    """
    old = read_config(out_dir) if resumed else None
    if old is None:
        config = {"env": identity.env, "policy": identity.policy, "model": identity.model, "format": identity.format,
                  "seeds": identity.seeds, "max_turns": identity.max_turns, "env_kwargs": _env_kwargs(identity)}
        config.update({k: v for k, v in run_settings.items() if k not in config})
    else:  # keep what the episodes were made with; record how this resume ran
        config = {**old, "seeds": identity.seeds, "policy": old.get("policy") or identity.policy,
                  "format": old.get("format") or identity.format,
                  "resumes": [*old.get("resumes", []), {"at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **run_settings}]}
    tmp = out_dir / "config.json.tmp"
    tmp.write_text(json.dumps(config, indent=2, default=str) + "\n")
    os.replace(tmp, out_dir / "config.json")


def _env_kwargs(identity: RunIdentity) -> dict[str, Any]:
    return {**identity.env_args, **({"format": identity.format} if identity.format != "openai" else {})}


def _json_roundtrip(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


__all__ = ["RunIdentity", "check_resume", "read_config", "resolve_seeds", "write_config"]
