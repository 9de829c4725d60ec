"""Loading an ALFWorld game on the ``alfworld`` TextWorld-PDDL engine.

    engine = open_engine("path/to/game.tw-pddl")     # or the game's dict
    state = engine.reset()                            # state.feedback, state["admissible_commands"]

The engine is textworld's ``PddlEnv`` wrapped like ALFWorld's own ``AlfredTWEnv`` does
(``AlfredDemangler`` turns ``Apple_bar_...`` into ``apple 1``; ``AlfredInfos``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentgym.errors import MissingDependencyError

from ..textworld.engine_thread import call_on_engine


def open_engine(game: str | Path | dict[str, Any], extras: list[str] | None = None, **infos: bool):
    """A loaded, wrapped ``PddlEnv`` for a game file or game dict (not yet reset).

    Loading runs on the engine thread; call the returned engine's ``reset``/``step``/``close``
    there too (``run_on_engine``/``call_on_engine``): its tatsu parsers are not thread-safe.
    """
    return call_on_engine(_open_engine, game, extras, infos)


def _open_engine(game: str | Path | dict[str, Any], extras: list[str] | None, infos: dict[str, bool]):
    try:
        import textworld
        from alfworld.agents.environment.alfred_tw_env import AlfredDemangler, AlfredInfos
        from textworld.envs.pddl import PddlEnv
    except ImportError as e:  # pragma: no cover - CI has alfworld
        raise MissingDependencyError("alfworld", "textworld", "ALFWorld games") from e
    request = textworld.EnvInfos(won=True, lost=True, admissible_commands=True, extras=list(extras or []), **infos)
    data = json.loads(Path(game).read_text()) if isinstance(game, (str, Path)) else game
    env = AlfredInfos(AlfredDemangler(PddlEnv(request), shuffle=False))
    env.load(data)
    return env
