"""HTML report at scale: a 10,000-episode run opened in headless Chromium (target: usable in < 2 s).

* build: `build_report` on the run directory (seconds, page size)
* open: navigation → page ready (summary drawn, first page of the trajectory list), measured by the
  page itself (performance.now) and as the wall time of goto + wait
* use: filter the list (success = no), open one trajectory (its gzip chunk decompressed on demand)
* peer, same run, same data: Chromium opening the raw `trajectories.jsonl` (what one reads without a
  viewer) and a pandas `DataFrame.to_html` table of the episode index (a typical quick dashboard)

    .venv/bin/python benchmarks/bench_report.py [--episodes 10000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_section  # noqa: E402

import agentgym  # noqa: E402
from agentgym.engine import load_trajectories, trajectory_line  # noqa: E402
from agentgym.policies.simple import OraclePolicy, RandomPolicy  # noqa: E402
from agentgym.report import build_report, load_run  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def make_run(root: Path, episodes: int) -> Path:
    """``episodes`` real toy/maze episodes: 500 played (oracle and random), repeated with new numbers."""
    seedrun = root / "seed"
    agentgym.run("toy/maze", OraclePolicy(), episodes=250, out=seedrun / "o", progress=False)
    agentgym.run("toy/maze", RandomPolicy(seed=1), episodes=250, out=seedrun / "r", progress=False)
    played = load_trajectories(seedrun / "o" / "trajectories.jsonl") + load_trajectories(seedrun / "r" / "trajectories.jsonl")
    run = root / "big"
    run.mkdir()
    with open(run / "trajectories.jsonl", "wb") as f:  # one write, not 10,000 fsyncs (TrajectoryWriter's)
        f.writelines(trajectory_line(played[i % len(played)].model_copy(update={"episode": i})) for i in range(episodes))
    return run


def timed_open(browser, url: str, ready: str, timeout_s: float = 60) -> tuple[float, float]:
    """(wall s from navigation to ``ready``, the page's own ready time); inf when it never got there."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = browser.new_page()
    t = time.perf_counter()
    try:
        page.goto(url, timeout=timeout_s * 1000)
        page.wait_for_selector(ready, state="attached", timeout=timeout_s * 1000)
    except PlaywrightTimeout:
        page.close()
        return float("inf"), float("inf")
    wall = time.perf_counter() - t
    inner = page.evaluate("Number(document.body.dataset.ready || 0)") / 1000
    page.close()
    return wall, inner


def _secs(s: float) -> str:
    return f"{s:.2f} s" if s != float("inf") else "> 60 s (did not finish loading)"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run = make_run(root, args.episodes)
        jsonl_mb = (run / "trajectories.jsonl").stat().st_size / 1e6
        t, cpu = time.perf_counter(), time.process_time()
        html = build_report([run], root / "report.html")
        build_s, build_cpu = time.perf_counter() - t, time.process_time() - cpu
        html_mb = html.stat().st_size / 1e6
        import pandas as pd

        index = load_run(run).episodes
        (root / "pandas.html").write_text(pd.DataFrame(index).to_html())
        raw_txt = root / "trajectories.txt"  # .jsonl would be a download, not a page
        raw_txt.write_bytes((run / "trajectories.jsonl").read_bytes())
        print(f"run built, report in {build_s:.2f} s", flush=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            timed_open(browser, html.as_uri(), "body[data-ready]")  # warm the browser once
            ours = [timed_open(browser, html.as_uri(), "body[data-ready]") for _ in range(args.repeats)]
            raw = [timed_open(browser, raw_txt.as_uri(), "pre")[0]]  # once: it is slow
            pandas = [timed_open(browser, (root / "pandas.html").as_uri(), "table")[0] for _ in range(args.repeats)]
            page = browser.new_page()
            page.goto(html.as_uri() + "#episodes")
            page.wait_for_selector("body[data-ready]")
            t = time.perf_counter()
            page.select_option("#f-success", "0")
            filter_s = time.perf_counter() - t
            shown = page.inner_text("#f-count")
            t = time.perf_counter()
            page.locator("#episodes tbody tr").nth(7).click()
            page.wait_for_selector("#steps .step")
            open_s = time.perf_counter() - t
            browser.close()
    wall = statistics.median(w for w, _ in ours)
    inner = statistics.median(i for _, i in ours)
    raw_s, pandas_s = statistics.median(raw), statistics.median(pandas)
    body = f"""## Report (`bench_report.py`)

{args.episodes:,} toy/maze episodes (500 played by the oracle and a random policy, repeated; trajectories.jsonl
{jsonl_mb:.1f} MB) in headless Chromium, median of {args.repeats} opens after one warm-up.

| | time | ratio vs ours |
|---|---|---|
| `build_report` (Python; most of it `load_trajectories` validating 10,000 records) | {build_s:.1f} s wall, {build_cpu:.1f} s CPU → report.html {html_mb:.1f} MB | |
| **report opens** (navigation → summary + first page drawn, wall) | **{wall:.2f} s** (page's own clock: {inner:.2f} s) | 1.00 |
| peer: Chromium opening the raw trajectories.jsonl as text | {_secs(raw_s)} | {raw_s / wall:.2f} |
| peer: pandas `DataFrame.to_html` of the episode index | {pandas_s:.2f} s | {pandas_s / wall:.2f} |
| filter the list (success = no; {shown}) | {filter_s * 1000:.0f} ms | |
| open one trajectory (decompress its chunk of 100, draw its steps) | {open_s * 1000:.0f} ms | |

Target: the report opens in < 2 s with {args.episodes:,} episodes: {"met" if wall < 2 else "NOT met"}. The page
embeds the episode index (column-wise JSON) and keeps trajectories gzip-compressed in chunks of 100 that are
decompressed only when one is opened; the list is paginated (50 rows)."""
    write_section("report", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
