"""Writes one benchmark's markdown section into benchmarks/RESULTS.md (between its markers)."""

from __future__ import annotations

import platform
import re
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = ("# Benchmark results\n\nWritten by `make bench` (each `benchmarks/bench_*.py` replaces its own section). "
          "Figures are ratios against a baseline measured in the same run where possible: the machine is shared "
          "and noisy.\n")


def write_section(area: str, body: str) -> None:
    stamp = f"_{time.strftime('%Y-%m-%d %H:%M')} · {platform.machine()} · Python {platform.python_version()}_"
    section = f"<!-- bench:{area} -->\n{body.strip()}\n\n{stamp}\n<!-- /bench:{area} -->"
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    pattern = re.compile(rf"<!-- bench:{re.escape(area)} -->.*?<!-- /bench:{re.escape(area)} -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(text)
    print(section)
