"""``toy/maze`` — the reference environment every family follows.

A grid maze carved from the seed. The agent sees its surroundings with ``look()`` and moves
with ``move(direction)``; reaching the goal ends the episode with reward 1. ``oracle()``
is a BFS path. Channels: ``format`` (malformed calls), ``tool_ok``, ``progress`` (+1 when a
move reaches a cell closer to the goal than any before: only new progress pays, so a detour
earns no more than the shortest path; used to show gated rewards), ``outcome`` (1 at the exit).

    env = agentgym.make("toy/maze", size=5)
    first = await env.reset(seed=3)
"""

from __future__ import annotations

import collections
import json
import random
from typing import Literal

from ..env import ToolEnv, ToolResult
from ..tools import tool
from ..types import Message, StepResult, Task, ToolCall

Direction = Literal["north", "south", "east", "west"]
DELTAS = {"north": (-1, 0), "south": (1, 0), "east": (0, 1), "west": (0, -1)}
MIN_SIZE, MAX_SIZE = 2, 100   # size 1500 once took 2.3 GB and never finished; 100 carves in ~20 ms


def carve(size: int, rng: random.Random) -> list[list[str]]:
    """A perfect maze on a (2*size+1)^2 grid of '#' and '.' (randomized DFS)."""
    n = 2 * size + 1
    grid = [["#"] * n for _ in range(n)]
    stack = [(0, 0)]
    seen = {(0, 0)}
    grid[1][1] = "."
    while stack:
        r, c = stack[-1]
        options = [(r + dr, c + dc, dr, dc) for dr, dc in DELTAS.values()
                   if 0 <= r + dr < size and 0 <= c + dc < size and (r + dr, c + dc) not in seen]
        if not options:
            stack.pop()
            continue
        nr, nc, dr, dc = rng.choice(options)
        grid[2 * r + 1 + dr][2 * c + 1 + dc] = "."
        grid[2 * nr + 1][2 * nc + 1] = "."
        seen.add((nr, nc))
        stack.append((nr, nc))
    return grid


def distances(grid: list[list[str]], source: tuple[int, int]) -> dict[tuple[int, int], int]:
    """BFS distance from ``source`` to every reachable open cell."""
    dist = {source: 0}
    queue = collections.deque([source])
    while queue:
        r, c = queue.popleft()
        for dr, dc in DELTAS.values():
            nxt = (r + dr, c + dc)
            if grid[nxt[0]][nxt[1]] == "." and nxt not in dist:
                dist[nxt] = dist[(r, c)] + 1
                queue.append(nxt)
    return dist


def bfs(grid: list[list[str]], start: tuple[int, int], goal: tuple[int, int]) -> list[str]:
    """Shortest list of directions from start to goal."""
    prev: dict[tuple[int, int], tuple[tuple[int, int], str] | None] = {start: None}
    queue = collections.deque([start])
    while queue:
        cur = queue.popleft()
        if cur == goal:
            break
        for d, (dr, dc) in DELTAS.items():
            nxt = (cur[0] + dr, cur[1] + dc)
            if grid[nxt[0]][nxt[1]] == "." and nxt not in prev:
                prev[nxt] = (cur, d)
                queue.append(nxt)
    path: list[str] = []
    node = goal
    while prev[node] is not None:
        node, d = prev[node]  # type: ignore[misc]
        path.append(d)
    return path[::-1]


class MazeEnv(ToolEnv):
    """Find the exit of a maze using ``look`` and ``move``."""

    system_prompt = "You are in a maze. Use the tools to reach the exit. Be efficient."

    # episode state (set by _reset)
    grid: list[list[str]]
    start: tuple[int, int]
    pos: tuple[int, int]
    goal: tuple[int, int]
    to_goal: dict[tuple[int, int], int]
    moves: int = 0
    best: int = 0

    def __init__(self, size: int = 4):
        if not isinstance(size, int) or isinstance(size, bool):
            raise ValueError(f"maze size must be an integer, got {type(size).__name__} {size!r}")
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise ValueError(f"maze size must be between {MIN_SIZE} and {MAX_SIZE} (a {MAX_SIZE}x{MAX_SIZE} maze "
                             f"has {MAX_SIZE * MAX_SIZE} cells), got {size}")
        self.size = size

    async def _reset(self, *, seed: int, task: Task | None) -> StepResult:
        rng = self.rng  # random.Random(seed), seeded by reset()
        self.grid = carve(self.size, rng)
        cells = [(r, c) for r in range(len(self.grid)) for c in range(len(self.grid)) if self.grid[r][c] == "."]
        self.pos = self.start = rng.choice(cells)
        from_start = distances(self.grid, self.pos)
        self.goal = max(cells, key=lambda c: (from_start[c], rng.random()))
        self.to_goal = distances(self.grid, self.goal)
        self.set_task(Task(id=f"maze-{self.size}-{seed}", instruction="Reach the exit."))
        self.moves = 0
        self.best = self.to_goal[self.pos]   # closest distance to the goal so far (progress pays only new records)
        n = len(self.grid)  # size rooms per side, with walls between them: a (2*size+1)-cell grid
        text = f"You are in a {n}x{n} grid maze; each move goes one cell. Find the exit.\n{self._view()}"
        return StepResult(messages=[Message.user(text)], info={"optimal_moves": self.to_goal[self.pos]})

    def _distance(self) -> int:
        return self.to_goal[self.pos]

    def _view(self) -> str:
        free = [d for d, (dr, dc) in DELTAS.items() if self.grid[self.pos[0] + dr][self.pos[1] + dc] == "."]
        dr, dc = self.goal[0] - self.pos[0], self.goal[1] - self.pos[1]
        hint = []
        if dr:
            hint.append(f"{abs(dr)} {'south' if dr > 0 else 'north'}")
        if dc:
            hint.append(f"{abs(dc)} {'east' if dc > 0 else 'west'}")
        return f"Open directions: {', '.join(free)}. The exit is {' and '.join(hint) or 'here'}."

    @tool(inline=True)  # O(1) on a grid bounded at make()
    def look(self) -> str:
        """Describe the open directions from here and where the exit is."""
        return self._view()

    @tool(inline=True)
    def move(self, direction: Direction) -> ToolResult:
        """Move one cell.

        Args:
            direction: one of north, south, east, west.
        """
        dr, dc = DELTAS[direction]
        nxt = (self.pos[0] + dr, self.pos[1] + dc)
        if self.grid[nxt[0]][nxt[1]] != ".":
            return ToolResult(content=f"A wall blocks the way {direction}. {self._view()}", ok=True,
                              channels={"progress": 0.0})
        self.pos = nxt
        self.moves += 1
        closer = self._distance() < self.best
        self.best = min(self.best, self._distance())
        if self.pos == self.goal:
            return ToolResult(content="You found the exit!", reward=1.0, done=True, success=True,
                              channels={"progress": 1.0, "outcome": 1.0})
        return ToolResult(content=f"You moved {direction}. {self._view()}", channels={"progress": float(closer)})

    async def oracle(self) -> list[Message]:
        """The BFS path from the episode's start."""
        return [Message.assistant(tool_calls=[ToolCall(name="move", arguments=json.dumps({"direction": d}))])
                for d in bfs(self.grid, self.start, self.goal)]
