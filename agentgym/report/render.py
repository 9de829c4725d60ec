"""One self-contained HTML page from run directories: inline CSS/JS, SVG plots, no network.

    from agentgym.report import build_report
    build_report(["runs/maze-a", "runs/maze-b"], "report.html")   # open it in any browser

The page carries the summaries, learning curves and a compact episode index as JSON; full
trajectories are gzip-compressed in chunks of :data:`CHUNK` episodes (base64 in inert
``<script type="text/plain">`` blocks) and decompressed by the browser only when one is
opened, so a 10,000-episode run opens as fast as a small one.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import os
import re
import time
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from ..errors import ConfigError
from .data import RunData, finite, load_run

CHUNK = 100                  # episodes per compressed block
MAX_SCREENSHOT_BYTES = 4_000_000
_SLOTS = re.compile(r"__TITLE__|/\*__STYLE__\*/|__DATA__|<!--__CHUNKS__-->|/\*__APP__\*/")
_BASE64_IMAGES = {"iVBORw0KGgo": "image/png", "/9j/": "image/jpeg", "UklGR": "image/webp"}
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}


def _asset(name: str) -> str:
    return resources.files("agentgym.report").joinpath(name).read_text(encoding="utf-8")


def _json_for_html(data: Any) -> str:
    """JSON that cannot end its ``<script>`` element early (every ``<`` escaped)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def _pack(records: list[dict[str, Any]]) -> str:
    try:
        text = json.dumps(records, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a NaN/inf reward: browsers' JSON has no such numbers
        text = json.dumps(finite(records), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    raw = text.encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")


def _embed_screenshots(record: dict[str, Any], root: Path) -> None:
    """Screenshots recorded as files (``infos[i]["screenshot"]`` = a path in the run dir) become data URLs."""
    for info in record.get("infos") or []:
        if not isinstance(info, dict):
            continue
        for key in ("screenshot", "screenshot_path"):
            value = info.get(key)
            if not isinstance(value, str) or value.startswith("data:"):
                continue
            b64_mime = next((m for prefix, m in _BASE64_IMAGES.items() if value.startswith(prefix)), None)
            if b64_mime:  # the image itself, base64 (environments/web with screenshot=True)
                info["screenshot"] = f"data:{b64_mime};base64," + value
                continue
            path = (root / value) if not os.path.isabs(value) else Path(value)
            mime = _IMAGE_TYPES.get(path.suffix.lower())
            if mime and path.is_file() and path.stat().st_size <= MAX_SCREENSHOT_BYTES:
                info["screenshot"] = f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _token_records(record: dict[str, Any]) -> list[tuple[dict[str, Any], str, str]]:
    """(holder, ids key, pieces key) of every token list of a record, schema 1 (on messages) or 2 (top level)."""
    out = []
    if record.get("prompt_ids"):
        out.append((record, "prompt_ids", "prompt_pieces"))
    for turn in record.get("tokens") or [] if isinstance(record.get("tokens"), list) else []:
        out += [(turn, "completion_ids", "completion_pieces"), (turn, "env_ids", "env_pieces")]
    for m in record.get("messages") or []:
        if isinstance(m.get("tokens"), dict):
            out += [(m["tokens"], "prompt_ids", "prompt_pieces"), (m["tokens"], "completion_ids", "completion_pieces")]
    return out


_BYTE_LEVEL = str.maketrans({"Ġ": " ", "Ċ": "↵", "ĉ": "⇥"})  # byte-level BPE's space, newline, tab


def _readable(piece: Any) -> str:
    return piece.translate(_BYTE_LEVEL) if isinstance(piece, str) else str(piece)


def _token_pieces(run: RunData) -> None:
    """Token records get their text pieces when the run directory holds the tokenizer (``model/``)."""
    if not any(_token_records(r) for r in run.trajectories):
        return
    root = Path(run.path)
    tok_dir = next((root / d for d in ("model", "sft/model") if (root / d / "tokenizer_config.json").exists()), None)
    if tok_dir is None:
        return
    try:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(tok_dir))
    except Exception:  # no transformers, or an unreadable tokenizer: ids are shown instead
        return
    for r in run.trajectories:
        for holder, ids, pieces in _token_records(r):
            if holder.get(ids):
                holder[pieces] = [_readable(p) for p in tok.convert_ids_to_tokens(list(holder[ids]))]


def render(runs: Sequence[RunData], *, title: str = "agentgym report") -> str:
    """The report page for already-loaded runs."""
    pages = []
    blocks = []
    for ri, run in enumerate(runs):
        root = Path(run.path)
        for r in run.trajectories:
            _embed_screenshots(r, root)
        _token_pieces(run)
        data = run.page_data()
        data["chunk"] = CHUNK
        data["chunks"] = (len(run.trajectories) + CHUNK - 1) // CHUNK
        pages.append(data)
        for ci in range(data["chunks"]):
            packed = _pack(run.trajectories[ci * CHUNK:(ci + 1) * CHUNK])
            blocks.append(f'<script type="text/plain" id="agc-{ri}-{ci}">{packed}</script>')
    payload = {"title": title, "generated": time.strftime("%Y-%m-%d %H:%M:%S"), "runs": pages}
    parts = {"__TITLE__": html.escape(title), "/*__STYLE__*/": _asset("style.css"), "__DATA__": _json_for_html(payload),
             "<!--__CHUNKS__-->": "\n".join(blocks), "/*__APP__*/": _asset("plots.js") + _asset("app.js")}
    return _SLOTS.sub(lambda m: parts[m.group()], _asset("page.html"))  # one pass: data never fills a slot


def build_report(run_dirs: Sequence[str | Path], out: str | Path | None = None, *, title: str | None = None) -> Path:
    """Writes the report of ``run_dirs`` to ``out`` (default: ``report.html`` in the first run dir).

        build_report(["runs/maze-gpt"])                       # runs/maze-gpt/report.html
        build_report(["runs/a", "runs/b"], "compare.html")    # with the A-vs-B comparison
    """
    if not run_dirs:
        raise ConfigError("build_report needs at least one run directory")
    runs = load_runs(run_dirs)
    target = Path(out) if out else Path(run_dirs[0]) / "report.html"
    if target.is_dir():
        raise ConfigError(f"report output {target} is a directory: name the HTML file, e.g. {target / 'report.html'}")
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render(runs, title=title or "agentgym report: " + ", ".join(r.name for r in runs))
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target


def load_runs(run_dirs: Sequence[str | Path]) -> list[RunData]:
    """Loads each run dir; runs with the same directory name get a suffix so the page can tell them apart."""
    runs = [load_run(d) for d in run_dirs]
    names = [r.name for r in runs]
    for i, r in enumerate(runs):
        if names.count(r.name) > 1:
            r.name = f"{r.name} ({i + 1})"
    return runs
