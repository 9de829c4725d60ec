"""Reports of run directories: one self-contained HTML page, or the same page served locally.

    from agentgym.report import build_report, ReportServer
    build_report(["runs/maze-gpt"], "report.html")       # summary, curves, trajectories, comparison
    ReportServer(["runs/maze-gpt"], port=0).url          # what `agentgym view` serves

Command line: ``agentgym report RUN_DIR [RUN_DIR ...] -o report.html`` and ``agentgym view RUN_DIR``.
"""

from __future__ import annotations

from .data import RunData, load_run
from .diagnose import ZeroSignalWatch, training_notes
from .readme import finish_run, readme_text, run_end_text
from .render import build_report, load_runs, render
from .server import ReportServer

__all__ = ["build_report", "render", "load_run", "load_runs", "RunData", "ReportServer", "training_notes",
           "ZeroSignalWatch", "finish_run", "readme_text", "run_end_text"]
