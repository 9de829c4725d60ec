"""TextWorld game generation: tw-make's challenges and custom games, seeded and cached.

Every game is made by TextWorld's own generator (Inform7 ships in the wheel; no network) and
stored in the content-addressed :class:`GameCache`. Train and test games never overlap:
game index ``i`` of split ``train`` uses generator seed ``2*i``, of split ``test`` ``2*i+1``
(and the challenges' own held-out distributions where they have one: ``tw-simple --test``,
``tw-cooking --split test``).

    settings = GameSettings(challenge="cooking", recipe=2, take=1, go=6, open=True)
    game = ensure_game(settings, index=0, split="train")   # generates once, then cache hits
    game.path, game.walkthrough, game.max_score
"""

from __future__ import annotations

import json
import threading
import warnings
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentgym.errors import MissingDependencyError

from .cache import GameCache
from .engine_thread import call_on_engine

GENERATOR_VERSION = 1
Challenge = Literal["simple", "cooking", "coin_collector", "treasure_hunter", "custom"]
Split = Literal["train", "test"]

# Fields that determine each challenge's games (the rest are ignored for the cache key).
CHALLENGE_FIELDS: dict[str, tuple[str, ...]] = {
    "simple": ("rewards", "goal"),
    "cooking": ("recipe", "take", "go", "open", "cook", "cut", "drop", "recipe_seed"),
    "coin_collector": ("level",),
    "treasure_hunter": ("level",),
    "custom": ("world_size", "nb_objects", "quest_length"),
}



class GameSettings(BaseModel):
    """tw-make difficulty options. Only the fields of ``challenge`` matter (see ``CHALLENGE_FIELDS``)."""

    model_config = ConfigDict(extra="forbid")

    challenge: Challenge = "simple"
    rewards: Literal["dense", "balanced", "sparse"] = Field("dense", description="tw-simple reward frequency")
    goal: Literal["detailed", "brief", "none"] = Field("detailed", description="tw-simple objective text")
    recipe: int = Field(1, ge=1, le=5, description="tw-cooking: ingredients in the recipe")
    take: int = Field(1, ge=0, le=5, description="tw-cooking: ingredients to find")
    go: Literal[1, 6, 9, 12] = Field(1, description="tw-cooking: number of rooms")
    open: bool = Field(False, description="tw-cooking: containers/doors must be opened")
    cook: bool = Field(False, description="tw-cooking: ingredients must be cooked")
    cut: bool = Field(False, description="tw-cooking: ingredients must be cut")
    drop: bool = Field(False, description="tw-cooking: limited inventory")
    recipe_seed: int = Field(0, ge=0, description="tw-cooking: recipe shuffling seed (needs take >= 1)")
    level: int = Field(1, ge=1, le=300, description="coin_collector 1-300, treasure_hunter 1-30")
    world_size: int = Field(5, ge=1, le=20, description="custom: number of rooms")
    nb_objects: int = Field(10, ge=0, le=60, description="custom: minimum number of objects")
    quest_length: int = Field(5, ge=1, le=20, description="custom: actions the quest needs")

    @model_validator(mode="after")
    def _check(self) -> GameSettings:
        if self.challenge == "cooking":
            if self.take > self.recipe:
                raise ValueError(f"cooking: take ({self.take}) must be <= recipe ({self.recipe})")
            if self.recipe_seed > 0 and self.take < 1:
                raise ValueError("cooking: recipe_seed > 0 needs take >= 1 (the recipe shuffles found ingredients)")
        if self.challenge == "treasure_hunter" and self.level > 30:
            raise ValueError(f"treasure_hunter levels are 1-30, got {self.level}")
        return self

    def relevant(self) -> dict[str, Any]:
        """The settings that determine this challenge's games."""
        return {"challenge": self.challenge, **{k: getattr(self, k) for k in CHALLENGE_FIELDS[self.challenge]}}


class GameInfo(BaseModel):
    """A generated game on disk and what the env needs to know about it."""

    path: str
    challenge: str
    seed: int
    split: Split
    index: int
    walkthrough: list[str]
    max_score: int
    objective: str = ""


def generator_seed(index: int, split: Split) -> int:
    """Train games use even seeds, test games odd ones: the splits never share a game."""
    if index < 0:
        raise ValueError(f"game index must be >= 0, got {index}")
    return 2 * index + (1 if split == "test" else 0)


def _import_textworld():
    try:
        import textworld
        import textworld.challenges  # noqa: F401  (registers tw-simple, tw-cooking, ...)
    except ImportError as e:  # pragma: no cover - CI has textworld
        raise MissingDependencyError("textworld", "textworld", "TextWorld games") from e
    _route_temp_dirs(textworld)
    return textworld


_building = threading.local()  # .folder: the cache entry being built on this thread


def _route_temp_dirs(textworld: Any) -> None:
    """TextWorld compiles in folders of its own (``/tmp/tw_*``, ``/tmp/tmp_inform*``) that a killed process
    leaves behind for good. While agentgym builds a game they are made inside the entry being built,
    which the cache removes after a killed build (see ``cache.py``)."""
    from textworld.generator import maker
    from textworld.generator.inform7 import world2inform7

    original = textworld.utils.make_temp_directory
    if getattr(original, "agentgym_routed", False):
        return

    def make_temp_directory(suffix: str = "", prefix: str = "tw_", dir: str | None = None):
        return original(suffix, prefix, dir or getattr(_building, "folder", None))

    make_temp_directory.agentgym_routed = True  # type: ignore[attr-defined]
    for module in (textworld.utils, maker, world2inform7):
        module.make_temp_directory = make_temp_directory


def _make_game(settings: GameSettings, seed: int, split: Split, out: Path):
    textworld = _import_textworld()
    options = textworld.GameOptions()
    options.seeds = seed
    options.path = str(out / "game.z8")
    options.file_ext = ".z8"
    options.force_recompile = True
    if settings.challenge == "custom":
        options.nb_rooms = settings.world_size
        options.nb_objects = settings.nb_objects
        options.chaining.min_length = options.chaining.max_length = settings.quest_length
        options.chaining.max_depth = settings.quest_length
        options.chaining.min_breadth = options.chaining.max_breadth = 1
        return textworld.make(options)[1]
    challenge_settings: dict[str, Any] = dict(settings.relevant())
    if settings.challenge == "simple":
        challenge_settings["test"] = split == "test"
    elif settings.challenge == "cooking":
        challenge_settings["split"] = split
    _, make, _ = textworld.challenges.CHALLENGES["tw-" + settings.challenge]
    game = make(settings=challenge_settings, options=options)
    textworld.generator.compile_game(game, options)
    return game


def ensure_game(settings: GameSettings, index: int, split: Split = "train", cache: GameCache | None = None) -> GameInfo:
    """The game ``index`` of ``split`` for ``settings``: from the cache, generated on a miss (~5 s).

    Blocking; call it through ``asyncio.to_thread`` from async code. Runs on the engine thread:
    TextWorld's generator (module-level ``g_rng``) and its tatsu parsers are not thread-safe.
    """
    return call_on_engine(_ensure_game, settings, index, split, cache)


def _ensure_game(settings: GameSettings, index: int, split: Split, cache: GameCache | None) -> GameInfo:
    cache = cache or GameCache()
    seed = generator_seed(index, split)
    payload = {"generator": GENERATOR_VERSION, **settings.relevant(), "seed": seed, "split": split}

    def build(tmp: Path) -> None:
        _building.folder = str(tmp)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # jericho's "not fully supported" while TextWorld checks the game
                game = _make_game(settings, seed, split, tmp)
        finally:
            _building.folder = None
        info = GameInfo(
            path="game.z8", challenge=settings.challenge, seed=seed, split=split, index=index,
            walkthrough=list(game.metadata.get("walkthrough") or game.main_quest.commands),
            max_score=int(game.max_score), objective=game.objective or "",
        )
        (tmp / "info.json").write_text(info.model_dump_json(indent=1))
        for leftover in tmp.glob("*.ni"):  # Inform7 source: not needed to play
            leftover.unlink()

    entry = cache.get_or_create("textworld", payload, build)
    info = GameInfo.model_validate(json.loads((entry / "info.json").read_text()))
    info.path = str(entry / "game.z8")
    return info
