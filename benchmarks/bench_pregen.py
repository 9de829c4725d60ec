"""`agentgym textworld pregen`: games per second with worker processes (--jobs N) vs one process.

Both runs generate the same games (same settings and indices) into fresh, separate caches in the
same run, alternating which goes first; the figure is the ratio of their wall times. A control
measured in the same run says how much parallelism the machine has to give right now: the same
pure-Python CPU loop run twice in one process vs in N spawned processes (on a shared, saturated
machine it is ~1x or below, and no tool can beat it).

    .venv/bin/python benchmarks/bench_pregen.py [N_GAMES]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_section  # noqa: E402

from agentgym.environments.textworld.cli import default_jobs  # noqa: E402

ENV, SETTINGS = "textworld/cooking", {"recipe": 2, "go": 6}


def timed(n: int, jobs: int, start: int) -> float:
    """Wall time of the CLI as a user runs it: a fresh process (TextWorld's first game in a process
    pays its grammar/logic loading, in each worker too)."""
    cli = [sys.executable, "-m", "agentgym.cli", "textworld", "pregen", "--env", ENV, "--n", str(n),
           "--start", str(start), "--jobs", str(jobs), *[f"--set={k}={v}" for k, v in SETTINGS.items()]]
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        subprocess.run(cli, check=True, capture_output=True, env={**os.environ, "AGENTGYM_CACHE": cache})
        return time.perf_counter() - t0


def _spin(_: int) -> None:
    x = 0
    for i in range(15_000_000):
        x += i


def control(jobs: int) -> float:
    """Serial / parallel wall time of ``jobs`` identical CPU loops: the speed-up the machine offers now."""
    import multiprocessing

    t0 = time.perf_counter()
    for i in range(jobs):
        _spin(i)
    serial = time.perf_counter() - t0
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        pool.map(_spin, [0])  # workers started before timing
        t0 = time.perf_counter()
        pool.map(_spin, range(jobs), chunksize=1)
        return serial / (time.perf_counter() - t0)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    jobs = default_jobs()
    serial = parallel = 0.0
    controls = []
    for rnd, order in enumerate([(1, jobs), (jobs, 1)]):  # alternate the order: the machine is shared
        controls.append(control(jobs))
        for j in order:
            dt = timed(n, j, start=rnd * n)
            serial, parallel = (serial + dt, parallel) if j == 1 else (serial, parallel + dt)
    controls.append(control(jobs))
    load = os.getloadavg()[0]
    body = (f"## TextWorld pregen (`bench_pregen.py`)\n\n"
            f"`agentgym textworld pregen --env {ENV}` with {SETTINGS}, {n} games per run, each run a fresh "
            f"process and a fresh cache; two rounds, order alternated ({2 * n} games per side).\n\n"
            f"| | wall | games/s |\n|---|---|---|\n"
            f"| one process (`--jobs 1`) | {serial:.1f} s | {2 * n / serial:.2f} |\n"
            f"| `--jobs {jobs}` (default here: one per CPU) | {parallel:.1f} s | {2 * n / parallel:.2f} |\n\n"
            f"Speed-up {serial / parallel:.2f}x with {jobs} worker processes on {os.cpu_count()} CPUs; control "
            f"(a CPU loop in {jobs} processes vs one, same run): {', '.join(f'{c:.2f}x' for c in controls)} "
            f"(1-minute load average at the end: {load:.1f}; other jobs share the machine).")
    write_section("pregen", body)


if __name__ == "__main__":
    main()
