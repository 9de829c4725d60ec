"""``AlfWorldEnv``: ALFWorld household tasks on the ``alfworld`` TextWorld-PDDL engine.

Games come from the official data when ``$ALFWORLD_DATA`` is set (``source="auto"`` or
``"official"``; splits ``train``/``valid_seen``/``valid_unseen``), otherwise from problems
generated offline from the wheel's domain, grammar and floor plans (splits ``train``/``test``,
test in ALFRED's unseen rooms). ``oracle()`` is the fast-downward plan.

    env = agentgym.make("alfworld/pick_heat_then_place", split="test")
    first = await env.reset(seed=0)
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Literal

from agentgym.types import Task

from ..textworld.cache import GameCache
from ..textworld.game_env import OpenedGame, RewardMode, TextGameEnv
from .engine import open_engine
from .generator import TASK_TYPES, ensure_problem
from .official import data_root, official_games

SHORT_NAMES = {"pick_and_place": "pick_and_place_simple", "look_at_obj_in_light": "look_at_obj_in_light",
               "pick_clean_then_place": "pick_clean_then_place_in_recep",
               "pick_heat_then_place": "pick_heat_then_place_in_recep",
               "pick_cool_then_place": "pick_cool_then_place_in_recep",
               "pick_two_obj_and_place": "pick_two_obj_and_place"}
Source = Literal["auto", "official", "generated"]


class AlfWorldEnv(TextGameEnv):
    """One ALFWorld task type (or ``all``); ``seed`` selects the game."""

    system_prompt = (
        "You are a household robot in a text-based room. Complete the task by sending one command "
        "per turn (e.g. 'go to countertop 1', 'take apple 1 from countertop 1', 'open fridge 1', "
        "'heat apple 1 with microwave 1', 'move apple 1 to diningtable 1'), as text or with the act tool."
    )

    def __init__(self, task_type: str = "all", *, source: Source = "auto", split: str = "train",
                 n_games: int | None = None, max_receptacles: int | None = 10, n_distractors: int = 6,
                 admissible_commands: bool = True, reward: RewardMode = "sparse", tools: bool = True,
                 cache_dir: str | None = None):
        super().__init__(admissible_commands=admissible_commands, reward=reward, tools=tools)
        task_type = SHORT_NAMES.get(task_type, task_type)
        if task_type != "all" and task_type not in TASK_TYPES:
            raise ValueError(f"unknown ALFWorld task type {task_type!r}; choose 'all' or one of "
                             f"{', '.join(sorted(SHORT_NAMES))}")
        if source not in ("auto", "official", "generated"):
            raise ValueError(f"source must be 'auto', 'official' or 'generated', got {source!r}")
        if source == "auto":
            source = "official" if data_root() is not None else "generated"
        if source == "official":
            split = {"test": "valid_unseen"}.get(split, split)
        elif split not in ("train", "test"):
            raise ValueError(f"generated ALFWorld problems have splits 'train' and 'test', got {split!r}")
        if n_games is not None and n_games < 1:
            raise ValueError(f"n_games must be >= 1 (or None for one game per seed), got {n_games}")
        self.task_type, self.source, self.split, self.n_games = task_type, source, split, n_games
        self.max_receptacles, self.n_distractors = max_receptacles, n_distractors
        self.cache = GameCache(cache_dir)

    def _pick(self, seed: int) -> tuple[str, int]:
        """(task type, index within that type) for a seed."""
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        if self.n_games:
            seed %= self.n_games
        if self.task_type == "all":
            return TASK_TYPES[seed % len(TASK_TYPES)], seed // len(TASK_TYPES)
        return self.task_type, seed

    def game_file(self, seed: int) -> Path:
        """The game file ``seed`` selects (generating it on a cache miss). Blocking."""
        task_type, index = self._pick(seed)
        if self.source == "official":
            games = official_games(self.split, None if self.task_type == "all" else task_type)
            if not games:
                raise FileNotFoundError(f"no official {task_type} games in split {self.split!r} under $ALFWORLD_DATA")
            return games[seed % len(games)]
        return ensure_problem(task_type, index, self.split, max_receptacles=self.max_receptacles,
                              n_distractors=self.n_distractors, cache=self.cache) / "game.tw-pddl"

    def fresh_seed(self) -> int:
        """An unseeded reset plays a random game of the pool (of the first 2**20 games without ``n_games``)."""
        return random.SystemRandom().randrange(self.n_games or 2**20)

    def _open_game(self, seed: int, task: Task | None) -> OpenedGame:
        if task is not None and task.data.get("game_file"):
            path = Path(task.data["game_file"]).expanduser()
            if not path.is_file():
                raise FileNotFoundError(f"ALFWorld game file not found: {path}")
        else:
            path = self.game_file(seed)
        data = json.loads(path.read_text())
        traj_path = path.with_name("traj_data.json")
        traj: dict[str, Any] = json.loads(traj_path.read_text()) if traj_path.is_file() else {}
        if "UNKNOWN GOAL" in data["grammar"] and traj:
            data["grammar"] = data["grammar"].replace("UNKNOWN GOAL", _goal_text(traj, seed))
        engine = self._loaded((str(path), data["grammar"]), lambda: open_engine(data, extras=["walkthrough"]))
        task = Task(id=f"alfworld/{traj.get('task_type', self.task_type)}/{self.split}/{path.parent.name}",
                    instruction=traj.get("task_desc", ""), split=self.split,
                    data={"game_file": str(path), "task_type": traj.get("task_type"), "source": self.source})
        return OpenedGame(engine=engine, task=task, walkthrough=None,
                          info={"game_file": str(path), "task_type": traj.get("task_type")})


def _goal_text(traj: dict[str, Any], seed: int) -> str:
    """ALFWorld's templated goal description for an official trial (seeded template choice)."""
    import alfworld.gen.goal_library as glib

    params = traj.get("pddl_params", {})
    goal = traj["task_type"] + ("_slice" if params.get("object_sliced") else "")
    template = random.Random(seed).choice(glib.gdict[goal]["templates"])
    return template.format(obj=params.get("object_target", "").lower(), recep=params.get("parent_target", "").lower(),
                           toggle=params.get("toggle_target", "").lower(), mrecep=params.get("mrecep_target", "").lower())
