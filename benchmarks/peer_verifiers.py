"""Peer row of ``bench_rollout.py``: agentgym's ``toy/maze`` workload through PyPI ``verifiers`` 0.4.

Measures the wall time of EPISODES size-6 maze episodes (at most TURNS model turns each,
CONCURRENCY at once) run by verifiers' own rollout machinery against an OpenAI-compatible
server, and counts the chat requests that reached it. Separate venv; never imports agentgym.
verifiers 0.4 (``verifiers.v1``) has no in-process ToolEnv: a tool env is a ``vf.Taskset`` whose
``vf.Task`` brings a per-rollout ``vf.Toolset`` (MCP server), played by the built-in ``null`` chat
harness in the ``subprocess`` runtime (model calls: harness → interception → ``EvalClient``).
Episodes fan out as ``vf-eval`` does (``env.run_slot`` under a semaphore); wall time includes
verifiers' per-rollout processes (harness + tool server). Needs ``uv`` in the venv too.

    /tmp/vf-venv/bin/python benchmarks/peer_verifiers.py http://127.0.0.1:8000/v1 64 16 8
"""

import asyncio
import json
import os
import random
import shutil
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Literal

import verifiers
import verifiers.v1 as vf

DELTAS = {"north": (-1, 0), "south": (1, 0), "east": (0, 1), "west": (0, -1)}
EXIT_TEXT = "You found the exit!"
__all__ = ["MazeTaskset"]  # verifiers loads the taskset `peer_verifiers` from this module


class Maze:
    """The seeded grid maze of agentgym's ``toy/maze`` (same carving, start, goal and texts)."""

    def __init__(self, size: int, seed: int):
        rng, n = random.Random(seed), 2 * size + 1
        self.grid = grid = [["#"] * n for _ in range(n)]
        stack, seen = [(0, 0)], {(0, 0)}
        grid[1][1] = "."
        while stack:  # randomized DFS carving a perfect maze
            r, c = stack[-1]
            options = [(r + dr, c + dc, dr, dc) for dr, dc in DELTAS.values()
                       if 0 <= r + dr < size and 0 <= c + dc < size and (r + dr, c + dc) not in seen]
            if not options:
                stack.pop()
                continue
            nr, nc, dr, dc = rng.choice(options)
            grid[2 * r + 1 + dr][2 * c + 1 + dc] = grid[2 * nr + 1][2 * nc + 1] = "."
            seen.add((nr, nc))
            stack.append((nr, nc))
        cells = [(r, c) for r in range(n) for c in range(n) if grid[r][c] == "."]
        self.pos = rng.choice(cells)
        dist, frontier = {self.pos: 0}, [self.pos]
        for r, c in frontier:  # BFS from the start; the list grows while it is walked
            for dr, dc in DELTAS.values():
                if grid[r + dr][c + dc] == "." and (r + dr, c + dc) not in dist:
                    dist[(r + dr, c + dc)] = dist[(r, c)] + 1
                    frontier.append((r + dr, c + dc))
        self.goal = max(cells, key=lambda cell: (dist[cell], rng.random()))

    def view(self) -> str:
        free = [d for d, (dr, dc) in DELTAS.items() if self.grid[self.pos[0] + dr][self.pos[1] + dc] == "."]
        dr, dc = self.goal[0] - self.pos[0], self.goal[1] - self.pos[1]
        hint = [f"{abs(dr)} {'south' if dr > 0 else 'north'}"] if dr else []
        hint += [f"{abs(dc)} {'east' if dc > 0 else 'west'}"] if dc else []
        return f"Open directions: {', '.join(free)}. The exit is {' and '.join(hint) or 'here'}."

    def move(self, direction: str) -> str:
        nxt = (self.pos[0] + DELTAS[direction][0], self.pos[1] + DELTAS[direction][1])
        if self.grid[nxt[0]][nxt[1]] != ".":
            return f"A wall blocks the way {direction}. {self.view()}"
        self.pos = nxt
        return EXIT_TEXT if nxt == self.goal else f"You moved {direction}. {self.view()}"


class MazeData(vf.TaskData):
    seed: int
    size: int


class MazeToolset(vf.Toolset[vf.ToolsetConfig]):
    TOOL_PREFIX = None  # one MCP server per rollout, advertising bare `look` / `move` as toy/maze does

    async def setup_task(self, task: MazeData) -> None:
        self.maze = Maze(task.size, task.seed)

    @vf.tool
    async def look(self) -> str:
        """Describe the open directions from here and where the exit is."""
        return self.maze.view()

    @vf.tool
    async def move(self, direction: Literal["north", "south", "east", "west"]) -> str:
        """Move one cell in `direction` (one of north, south, east, west)."""
        return self.maze.move(direction)


class MazeTask(vf.Task[MazeData]):
    @classmethod
    def toolsets(cls, config: vf.TaskConfig) -> list[vf.Toolset]:
        return [MazeToolset(vf.ToolsetConfig(colocated=True))]

    @vf.stop
    async def found_exit(self, request: vf.Request) -> bool:  # ends the episode like toy/maze's done=True
        return request.messages[-1].role == "tool" and EXIT_TEXT in str(request.messages[-1].content)

class MazeConfig(vf.TasksetConfig):
    num_tasks: int = 256
    size: int = 6


class MazeTaskset(vf.Taskset[MazeTask, MazeConfig]):
    def load(self) -> list[MazeTask]:
        size, system = self.config.size, "You are in a maze. Use the tools to reach the exit. Be efficient."
        return [MazeTask(MazeData(seed=seed, size=size, system_prompt=system, prompt=f"You are in a {size}x{size}"
                                  f" maze. Find the exit.\n{Maze(size, seed).view()}"), self.config.task)
                for seed in range(self.config.num_tasks)]


def start_sse_shim(upstream: str) -> tuple[str, list[int]]:
    """A counting pass-through to ``upstream`` in its own thread. verifiers' chat harness always
    streams, agentgym's stub answers JSON: ask unstreamed, re-frame with ``ChatDialect.stream_events``."""
    from aiohttp import ClientError, ClientSession, web
    from verifiers.v1.dialects.chat import ChatDialect

    dialect, count, sock = ChatDialect(), [0], socket.create_server(("127.0.0.1", 0))

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        stream = body.pop("stream", False)
        body.pop("stream_options", None)
        count[0] += 1
        try:
            async with request.app["http"].post(f"{upstream}/chat/completions", json=body) as reply:
                raw, status = await reply.json(), reply.status
        except ClientError as e:
            raw, status = {"error": {"message": f"cannot reach {upstream}: {e}", "type": "peer"}}, 502
        if status >= 400 or not stream:
            return web.json_response(raw, status=status)
        return web.Response(body=b"".join(dialect.stream_events(raw)), content_type="text/event-stream")

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        async with ClientSession(headers={"Authorization": "Bearer x"}) as app["http"]:
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            await asyncio.Event().wait()

    threading.Thread(target=asyncio.run, args=(serve(),), daemon=True).start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}/v1", count


async def run(url: str, episodes: int, concurrency: int, turns: int) -> dict:
    url, requests = start_sse_shim(url.rstrip("/"))
    here = str(Path(__file__).resolve().parent)  # tool servers run as `python -m peer_verifiers`
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    if not shutil.which("uv"):
        raise RuntimeError(f"verifiers' null harness runs as a uv script: `{sys.executable} -m pip install uv`")
    env = vf.load_environment(vf.resolve_env_config({
        "taskset": {"id": "peer_verifiers", "num_tasks": episodes, "size": 6},
        "agent": {"harness": {"id": "null"}, "runtime": {"type": "subprocess"}, "max_turns": turns}}))
    ctx = vf.ModelContext(model="stub", client=vf.EvalClientConfig(base_url=url, api_key_var="PEER_STUB_API_KEY"))
    gate = asyncio.Semaphore(concurrency)
    async with env.serving():
        async with vf.runtimes.provision_runtime(vf.SubprocessConfig()) as box:  # untimed: uv-sync the harness
            await vf.load_harness(env.config.agent.harness).setup(box)
        slots = [slot for task in env.taskset for slot in env.slots(task)]
        t0 = time.perf_counter()
        results = await asyncio.gather(*(env.run_slot(slot, ctx, gate) for slot in slots))
        wall = time.perf_counter() - t0
    traces = [trace for episode in results for trace in episode.traces]
    errors = [t.last_error.message for t in traces if t.last_error]
    if errors and len(errors) == len(traces):
        raise RuntimeError(f"every verifiers rollout failed, e.g.: {errors[0][-300:]}")
    return {"version": verifiers.__version__, "wall": wall, "requests": requests[0], "episodes": len(traces),
            "errors": len(errors), "solved": sum(t.stop_condition == "found_exit" for t in traces)}


def main() -> int:
    if len(sys.argv) != 5:
        sys.exit("usage: peer_verifiers.py URL EPISODES CONCURRENCY TURNS")
    try:
        result = asyncio.run(run(sys.argv[1], *map(int, sys.argv[2:])))
    except Exception as e:  # one clear line for bench_rollout's table
        print(f"verifiers peer failed: {type(e).__name__}: {e}".replace("\n", " "), file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":  # verifiers starts each rollout's tool server as `python -m peer_verifiers`
    sys.exit(MazeToolset.run() if "VF_CONFIG" in os.environ else main())
