"""ALFWorld's official games, when ``ALFWORLD_DATA`` points at the downloaded data.

The layout is ALFWorld's: ``$ALFWORLD_DATA/json_2.1.1/<split>/<task folder>/<trial>/`` with
``game.tw-pddl`` and ``traj_data.json``. Like ``AlfredTWEnv``, only solvable games are kept
and movable-receptacle/sliced trials are skipped.

    games = official_games("valid_unseen", "pick_heat_then_place_in_recep")
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

DATA_ENV_VAR = "ALFWORLD_DATA"
SPLITS = ("train", "valid_seen", "valid_unseen")


def data_root() -> Path | None:
    """``$ALFWORLD_DATA/json_2.1.1`` if it exists, else None."""
    root = os.environ.get(DATA_ENV_VAR)
    if not root:
        return None
    path = Path(root).expanduser() / "json_2.1.1"
    return path if path.is_dir() else None


@functools.lru_cache(maxsize=32)
def _scan(root: str, split: str) -> tuple[tuple[str, str], ...]:
    found = []
    for traj in sorted(Path(root, split).glob("*/*/traj_data.json")):
        game = traj.with_name("game.tw-pddl")
        folder = str(traj.parent)
        if not game.is_file() or "movable" in folder or "Sliced" in folder:
            continue
        try:
            if not json.loads(game.read_text()).get("solvable"):
                continue
            task_type = json.loads(traj.read_text())["task_type"]
        except (ValueError, KeyError):
            continue
        found.append((task_type, str(game)))
    return tuple(found)


def official_games(split: str, task_type: str | None = None) -> list[Path]:
    """Solvable official game files of ``split`` (optionally of one task type), sorted."""
    if split not in SPLITS:
        raise ValueError(f"official ALFWorld splits are {', '.join(SPLITS)}; got {split!r}")
    root = data_root()
    if root is None:
        raise FileNotFoundError(
            f"${DATA_ENV_VAR} is not set or has no json_2.1.1/ folder; run `alfworld-download` where there is "
            "network access and set ALFWORLD_DATA, or use source='generated'")
    return [Path(g) for t, g in _scan(str(root), split) if task_type is None or t == task_type]
