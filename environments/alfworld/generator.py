"""Offline ALFWorld problems: ALFWorld-format games generated from what the wheel ships.

A problem is a room (an ALFRED floor plan), its receptacles at their agent poses, object
instances placed only where ``VAL_RECEPTACLE_OBJECTS`` allows, and a goal from
``alfworld.gen.goal_library`` for one of the six task types. It is written as ALFWorld's own
``game.tw-pddl`` (domain ``alfred.pddl``, grammar ``alfred.twl2`` with the goal text) plus a
``traj_data.json`` (``task_type``, ``pddl_params``), so ``AlfredTWEnv`` could load it too.
Every problem is planned with fast-downward before it is kept: ``solvable`` and
``walkthrough`` (the oracle plan) are always set, and the goal is never true at the start.

    game_dir = ensure_problem("pick_heat_then_place_in_recep", index=0, split="train")
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..textworld.cache import GameCache
from ..textworld.engine_thread import call_on_engine
from .scenes import LAMP_HOLDERS, LAMPS, Scene, can_hold, constants, load_scene, pickupable_types, scene_numbers

GENERATOR_VERSION = 1
TASK_TYPES = ("pick_and_place_simple", "look_at_obj_in_light", "pick_clean_then_place_in_recep",
              "pick_heat_then_place_in_recep", "pick_cool_then_place_in_recep", "pick_two_obj_and_place")
# The appliance each state-change task needs, and the ability its object must have.
APPLIANCE = {"pick_clean_then_place_in_recep": ("SinkBasin", "Cleanable"),
             "pick_heat_then_place_in_recep": ("Microwave", "Heatable"),
             "pick_cool_then_place_in_recep": ("Fridge", "Coolable")}
MAX_ATTEMPTS = 40


class ProblemSpec(BaseModel):
    """The sampled content of one problem (before planning)."""

    task_type: str
    scene: int
    object_target: str
    parent_target: str = ""
    toggle_target: str = ""
    receptacles: list[str]
    objects: dict[str, str]              # object id -> receptacle id
    agent_location: str
    goal_text: str


def mangle(name: str) -> str:
    """ALFRED's PDDL-safe ids (``Apple|+00.1`` -> ``Apple_bar__plus_00_dot_1``)."""
    for a, b in (("-", "_minus_"), ("|", "_bar_"), ("+", "_plus_"), (".", "_dot_"), (",", "_comma_")):
        name = name.replace(a, b)
    return name


def _data_file(name: str) -> str:
    import alfworld

    return (Path(alfworld.__file__).parent / "data" / name).read_text()


def _candidates(task_type: str, scene: Scene) -> list[tuple[str, str, str]]:
    """(object, parent receptacle type, toggle) triples this scene can host for ``task_type``."""
    c = constants()
    rtypes = scene.receptacle_types()
    objs = sorted(set(scene.object_types) & pickupable_types())
    out = []
    if task_type == "look_at_obj_in_light":
        lamps = [t for t in LAMPS if t in scene.object_types]
        if not lamps or not rtypes & set(LAMP_HOLDERS):
            return []
        return [(o, "", lamp) for o in objs for lamp in lamps if any(can_hold(r, o) for r in rtypes)]
    appliance, ability = APPLIANCE.get(task_type, (None, None))
    if appliance and appliance not in rtypes:
        return []
    for o in objs:
        if ability and o not in c.VAL_ACTION_OBJECTS[ability]:
            continue
        for r in sorted(rtypes):
            if r == appliance or not can_hold(r, o):
                continue
            if any(can_hold(other, o) for other in rtypes - {r}):  # somewhere else to start from
                out.append((o, r, ""))
    return out


def sample_problem(task_type: str, rng: random.Random, held_out: bool, max_receptacles: int | None,
                   n_distractors: int) -> ProblemSpec:
    """One random problem of ``task_type`` (not yet checked for solvability)."""
    import alfworld.gen.goal_library as glib

    rooms = {r for r in constants().GOALS_VALID[task_type]}
    scenes = [n for n in scene_numbers(rooms, held_out) if _candidates(task_type, load_scene(n))]
    scene = load_scene(rng.choice(scenes))
    obj, parent, toggle = rng.choice(_candidates(task_type, scene))
    appliance = APPLIANCE.get(task_type, (None, None))[0]

    # Receptacles: everything the task needs, then random others up to max_receptacles.
    by_type: dict[str, list] = {}
    for r in scene.receptacles:
        by_type.setdefault(r.type, []).append(r)
    required = []
    for rtype in filter(None, (parent, appliance)):
        required.append(rng.choice(by_type[rtype]))
    starts = [r for r in scene.receptacles if r.type != parent and can_hold(r.type, obj)]
    required.append(rng.choice(starts))
    if toggle:
        required.append(rng.choice([r for r in scene.receptacles if r.type in LAMP_HOLDERS]))
    rest = [r for r in scene.receptacles if r not in required]
    rng.shuffle(rest)
    limit = max(len(required), max_receptacles or len(scene.receptacles))
    chosen = sorted(set(required + rest[: limit - len(required)]), key=lambda r: r.id)
    start_recs = [r for r in chosen if r.type != parent and can_hold(r.type, obj)]

    objects: dict[str, str] = {}

    def place(otype: str, where: list) -> None:
        rec = rng.choice(where)
        oid = "%s|%+06.2f|%+06.2f|%+06.2f" % (otype, rng.uniform(-3, 3), rng.uniform(0, 2), rng.uniform(-3, 3))
        objects[oid] = rec.id

    n_targets = rng.randint(2, 3) if task_type == "pick_two_obj_and_place" else rng.randint(1, 2)
    for _ in range(n_targets):
        place(obj, start_recs)
    if toggle:
        place(toggle, [r for r in chosen if r.type in LAMP_HOLDERS])
    others = sorted(set(scene.object_types) & pickupable_types() - {obj})
    rng.shuffle(others)
    for otype in others[:n_distractors]:
        where = [r for r in chosen if can_hold(r.type, otype)]
        if where:
            place(otype, where)

    taken = {r.pose[:2] for r in chosen}
    floor = [p for p in scene.floor_points if p not in taken] or [(0, 0)]
    fx, fz = rng.choice(floor)
    template = rng.choice(glib.gdict[task_type]["templates"])
    goal_text = template.format(obj=obj.lower(), recep=parent.lower(), toggle=toggle.lower(), mrecep="")
    return ProblemSpec(task_type=task_type, scene=scene.number, object_target=obj, parent_target=parent,
                       toggle_target=toggle, receptacles=[r.id for r in chosen], objects=objects,
                       agent_location="loc|%d|%d|%d|%d" % (fx, fz, rng.randrange(4), 30), goal_text=goal_text)


def problem_pddl(spec: ProblemSpec) -> str:
    """The PDDL problem text of ``spec`` (ALFRED's conventions: mangled ids, typed objects)."""
    import alfworld.gen.goal_library as glib

    c = constants()
    scene = load_scene(spec.scene)
    recs = {r.id: r for r in scene.receptacles if r.id in spec.receptacles}
    otypes = {oid: oid.split("|")[0] for oid in spec.objects}
    locations = sorted({r.location for r in recs.values()} | {spec.agent_location})
    used_otypes = sorted(set(otypes.values()))
    used_rtypes = sorted({r.type for r in recs.values()})
    m = mangle
    objects = (["agent1 - agent"] + [f"{m(l)} - location" for l in locations]
               + [f"{m(r)} - receptacle" for r in sorted(recs)] + [f"{m(o)} - object" for o in sorted(spec.objects)]
               + [f"{t}Type - otype" for t in used_otypes] + [f"{t}Type - rtype" for t in used_rtypes])
    init = [f"(atLocation agent1 {m(spec.agent_location)})"]
    for rid, r in sorted(recs.items()):
        init += [f"(receptacleType {m(rid)} {r.type}Type)", f"(receptacleAtLocation {m(rid)} {m(r.location)})"]
        if r.type in c.OPENABLE_CLASS_SET:
            init.append(f"(openable {m(rid)})")
    for oid, rid in sorted(spec.objects.items()):
        t = otypes[oid]
        init += [f"(objectType {m(oid)} {t}Type)", f"(inReceptacle {m(oid)} {m(rid)})",
                 f"(objectAtLocation {m(oid)} {m(recs[rid].location)})"]
        if t in LAMPS:
            init.append(f"(toggleable {m(oid)})")
        else:
            init.append(f"(pickupable {m(oid)})")
        for ability, pred in (("Cleanable", "cleanable"), ("Heatable", "heatable"), ("Coolable", "coolable"),
                              ("Sliceable", "sliceable")):
            if t in c.VAL_ACTION_OBJECTS[ability]:
                init.append(f"({pred} {m(oid)})")
        if t in c.MOVABLE_RECEPTACLES_SET:
            init.append(f"(isReceptacleObject {m(oid)})")
    init += [f"(canContain {rt}Type {ot}Type)" for rt in used_rtypes for ot in used_otypes if can_hold(rt, ot)]
    goal = glib.gdict[spec.task_type]["pddl"].format(
        obj=spec.object_target, recep=spec.parent_target, toggle=spec.toggle_target, mrecep="").replace("#", "-")
    body = "\n        ".join
    return (f"(define (problem agentgym_{spec.task_type}_{spec.scene})\n    (:domain alfred)\n"
            f"    (:objects\n        {body(objects)}\n    )\n    (:init\n        {body(init)}\n    )\n{goal}")


def traj_data(spec: ProblemSpec) -> dict[str, Any]:
    """ALFWorld's ``traj_data.json`` fields that its loaders and expert read."""
    return {"task_type": spec.task_type, "scene": {"floor_plan": f"FloorPlan{spec.scene}", "scene_num": spec.scene},
            "pddl_params": {"object_target": spec.object_target, "parent_target": spec.parent_target,
                            "toggle_target": spec.toggle_target, "mrecep_target": "", "object_sliced": False},
            "task_desc": spec.goal_text, "generator": f"agentgym-{GENERATOR_VERSION}"}


def game_data(spec: ProblemSpec) -> dict[str, Any]:
    grammar = _data_file("alfred.twl2").replace("UNKNOWN GOAL", spec.goal_text)
    return {"pddl_domain": _data_file("alfred.pddl"), "grammar": grammar, "pddl_problem": problem_pddl(spec)}


def plan(data: dict[str, Any]) -> list[str] | None:
    """The planner's command list for a game (None if unsolvable or already solved).

    Runs on the engine thread: fast-downward is not re-entrant and the PDDL/grammar parsers
    (tatsu) are not thread-safe.
    """
    return call_on_engine(_plan, data)


def _plan(data: dict[str, Any]) -> list[str] | None:
    from .engine import open_engine

    try:
        engine = open_engine(data, extras=["walkthrough"])
        state = engine.reset()
    except Exception:  # unsolvable problems fail inside PddlEnv.load/replan
        return None
    try:
        if state.get("won"):
            return None
        commands = list(state.get("extra.walkthrough") or [])
        return commands or None
    finally:
        engine.close()


def ensure_problem(task_type: str, index: int, split: str = "train", *, max_receptacles: int | None = 10,
                   n_distractors: int = 6, cache: GameCache | None = None) -> Path:
    """The directory of generated problem ``index`` of ``split`` (``game.tw-pddl`` + ``traj_data.json``).

    Seeds are split by parity (train even, test odd) and test problems use ALFRED's unseen rooms.
    Blocking; call through ``asyncio.to_thread`` from async code. Runs on the engine thread.
    """
    return call_on_engine(_ensure_problem, task_type, index, split, max_receptacles, n_distractors, cache)


def _ensure_problem(task_type: str, index: int, split: str, max_receptacles: int | None, n_distractors: int,
                    cache: GameCache | None) -> Path:
    if task_type not in TASK_TYPES:
        raise ValueError(f"unknown ALFWorld task type {task_type!r}; choose one of {', '.join(TASK_TYPES)}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test' for generated problems, got {split!r}")
    seed = 2 * index + (split == "test")
    cache = cache or GameCache()
    payload = {"generator": GENERATOR_VERSION, "task_type": task_type, "seed": seed, "split": split,
               "max_receptacles": max_receptacles, "n_distractors": n_distractors}

    def build(tmp: Path) -> None:
        rng = random.Random(f"alfworld/{task_type}/{seed}")
        for _ in range(MAX_ATTEMPTS):
            spec = sample_problem(task_type, rng, split == "test", max_receptacles, n_distractors)
            data = game_data(spec)
            commands = plan(data)
            if commands:
                data.update(solvable=True, walkthrough=commands)
                (tmp / "game.tw-pddl").write_text(json.dumps(data))
                (tmp / "traj_data.json").write_text(json.dumps(traj_data(spec), indent=1))
                return
        raise RuntimeError(f"no solvable {task_type} problem after {MAX_ATTEMPTS} attempts (seed {seed})")

    return cache.get_or_create("alfworld", payload, build)
