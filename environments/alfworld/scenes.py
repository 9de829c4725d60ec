"""The AI2-THOR floor plans the ``alfworld`` wheel ships, as plain data for problem generation.

``FloorPlan<N>-openable.json`` maps receptacle ids to agent poses (``[x, z, rotation,
horizon]``: used as the receptacle's location), ``-objects.json`` lists the object types in
the room, ``-layout.npy`` the reachable floor points. Object/receptacle compatibility and the
heat/cool/clean/toggle abilities come from ``alfworld.gen.constants``.

    scene = load_scene(7)
    scene.receptacles[:2]   # [Receptacle(id='Cabinet|+00.68|+00.50|-02.20', type='Cabinet', pose=(0, -5, 2, 30)), ...]
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from agentgym.errors import MissingDependencyError

ROOM_TYPES = {"Kitchen": range(1, 31), "LivingRoom": range(201, 231), "Bedroom": range(301, 331),
              "Bathroom": range(401, 431)}
# ALFRED's own scene split: the first six rooms of each type are held out (valid_unseen/test).
HELD_OUT = {n for r in ROOM_TYPES.values() for n in list(r)[:6]}
LAMPS = ("DeskLamp", "FloorLamp")
LAMP_HOLDERS = ("SideTable", "Desk", "Dresser", "DiningTable", "CoffeeTable", "Shelf", "TVStand")


def constants():
    try:
        import alfworld.gen.constants as c
    except ImportError as e:  # pragma: no cover - CI has alfworld
        raise MissingDependencyError("alfworld", "textworld", "ALFWorld games") from e
    return c


def layouts_dir() -> Path:
    import alfworld.gen

    return Path(alfworld.gen.__file__).parent / "layouts"


@dataclass(frozen=True)
class Receptacle:
    id: str
    type: str
    pose: tuple[int, int, int, int]   # grid x, grid z, rotation/90, horizon

    @property
    def location(self) -> str:
        return "loc|%d|%d|%d|%d" % self.pose


@dataclass(frozen=True)
class Scene:
    number: int
    room: str
    receptacles: tuple[Receptacle, ...]
    object_types: tuple[str, ...]
    floor_points: tuple[tuple[int, int], ...]

    def receptacle_types(self) -> set[str]:
        return {r.type for r in self.receptacles}


def room_of(number: int) -> str:
    for room, numbers in ROOM_TYPES.items():
        if number in numbers:
            return room
    raise ValueError(f"FloorPlan{number} is not an ALFRED scene (1-30, 201-230, 301-330, 401-430)")


def scene_numbers(rooms: set[str], held_out: bool) -> list[int]:
    """Scenes of the given room types, from ALFRED's seen (train) or unseen (held-out) split."""
    return [n for room in sorted(rooms) for n in ROOM_TYPES[room] if (n in HELD_OUT) == held_out]


def _pose(values: list[float]) -> tuple[int, int, int, int]:
    step = constants().AGENT_STEP_SIZE
    x, z, rot, horizon = values
    return int(round(x / step)), int(round(z / step)), int(round(rot / 90)) % 4, int(horizon)


@functools.lru_cache(maxsize=None)
def load_scene(number: int) -> Scene:
    """Reads one floor plan from the wheel (cached per process)."""
    c = constants()
    base = layouts_dir() / f"FloorPlan{number}"
    try:
        openable = json.loads(Path(f"{base}-openable.json").read_text())
        object_types = json.loads(Path(f"{base}-objects.json").read_text())
    except FileNotFoundError as e:
        raise ValueError(f"FloorPlan{number} is not shipped with the alfworld wheel ({e.filename})") from e
    static = c.RECEPTACLES - c.MOVABLE_RECEPTACLES_SET
    receptacles = []
    for rid, pose in sorted(openable.items()):
        parts = rid.split("|")
        rtype = parts[-1] if len(parts) > 4 else parts[0]
        if rtype in static:
            receptacles.append(Receptacle(rid, rtype, _pose(pose)))
    points: tuple[tuple[int, int], ...] = ()
    layout = Path(f"{base}-layout.npy")
    if layout.is_file():
        import numpy as np

        step = c.AGENT_STEP_SIZE
        arr = np.load(layout)
        points = tuple(sorted({(int(round(p[0] / step)), int(round(p[1] / step))) for p in arr.tolist()}))
    return Scene(number, room_of(number), tuple(receptacles), tuple(sorted(set(object_types))), points)


def pickupable_types() -> set[str]:
    """Object types that some receptacle accepts (what the agent can carry and place)."""
    c = constants()
    accepted = set().union(*c.VAL_RECEPTACLE_OBJECTS.values())
    return {t for t in accepted if t in c.OBJECTS_SET and (t not in c.RECEPTACLES or t in c.MOVABLE_RECEPTACLES_SET)
            and not t.endswith("Sliced")}


def can_hold(receptacle_type: str, object_type: str) -> bool:
    return object_type in constants().VAL_RECEPTACLE_OBJECTS.get(receptacle_type, ())
