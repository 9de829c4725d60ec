"""Terminal output of long jobs: one bar per stage with the few figures that matter, library noise to a log file.

    with quiet_libraries("runs/x/train.log"):            # TRL/transformers dicts, FutureWarnings, loading bars
        bar = StageBar("eval before", total=128)
        bar.update(64, success=0.25, reward=0.31)        # figures shown after the bar
        bar.close()
    trainer.remove_callback(...); trainer.add_callback(train_progress_callback("runs/x/train.log"))

``verbose=True`` (``--verbose``) leaves everything as the libraries print it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Iterator

# per-step figures shown on the training bar: metrics.jsonl key → short label
TRAIN_FIGURES = (("agentgym/success", "success"), ("reward", "reward"), ("agentgym/tool_calls", "tools"),
                 ("frac_reward_zero_std", "zero-std"), ("kl", "kl"))
_NOISY_LOGGERS = ("transformers", "trl", "accelerate", "datasets", "huggingface_hub", "torch", "peft")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


class StageBar:
    """One tqdm bar for one stage (``eval before``, ``GRPO``, ...); silent when ``enabled`` is False."""

    def __init__(self, stage: str, total: int | None, *, unit: str = "ep", enabled: bool = True, initial: int = 0):
        self.stage, self.bar, self.t0 = stage, None, time.perf_counter()
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=initial, desc=stage, unit=unit, dynamic_ncols=True, leave=True,
                            file=sys.stderr)

    def update(self, n: int = 1, **figures: Any) -> None:
        if self.bar is None:
            return
        if figures:
            self.bar.set_postfix_str("  ".join(f"{k} {_fmt(v)}" for k, v in figures.items() if v is not None),
                                     refresh=False)
        self.bar.update(n)

    def say(self, text: str) -> None:
        """A line above the bar (the bar stays at the bottom)."""
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> StageBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class EpisodeBar:
    """The bar of an eval run: episodes done/total, elapsed<remaining, success, mean reward, tool calls per
    episode, errors and episodes/s, updated as each episode lands (constant time per episode).

        bar = EpisodeBar(total=64, initial=0, enabled=True)
        bar.update(results, t0)     # results: {episode: Trajectory}, the newest last
    """

    def __init__(self, total: int, initial: int, enabled: bool):
        self.initial, self.seen = initial, 0
        self.wins = self.errors = self.calls = 0
        self.reward = 0.0
        self.bar = StageBar("eval", total, unit="ep", enabled=enabled, initial=initial)

    def _add(self, t: Any) -> None:
        from .summary import ERROR_TERMINATIONS

        self.seen += 1
        self.wins += bool(t.success)
        self.reward += t.reward if isinstance(t.reward, (int, float)) and t.reward == t.reward else 0.0
        self.errors += bool(getattr(t, "is_error", None) if hasattr(t, "is_error") else t.termination in ERROR_TERMINATIONS)
        self.calls += sum(len(m.tool_calls or []) for m in t.messages if m.role == "assistant")

    def update(self, results: dict[int, Any], t0: float) -> None:
        if self.bar.bar is None:
            return
        if len(results) - self.seen == 1:
            self._add(next(reversed(results.values())))
        else:  # first call (resumed episodes are in results too) or a skipped update: count everything
            self.seen = self.wins = self.errors = self.calls = 0
            self.reward = 0.0
            for t in results.values():
                self._add(t)
        n = max(self.seen, 1)
        rate = (self.seen - self.initial) / max(time.perf_counter() - t0, 1e-9)
        self.bar.update(1, success=f"{self.wins / n:.2f}", reward=f"{self.reward / n:.3g}", tools=f"{self.calls / n:.3g}",
                        errors=self.errors, **{"ep/s": f"{rate:.2f}"})

    def close(self) -> None:
        self.bar.close()


@contextlib.contextmanager
def quiet_libraries(log_file: str | Path | None, verbose: bool = False) -> Iterator[Path | None]:
    """Sends library chatter to ``log_file``: warnings (FutureWarning, UserWarning...), the loggers of
    transformers/TRL/accelerate/datasets, and the weight-loading / map progress bars. Restored on exit.
    With ``verbose`` nothing changes."""
    if verbose or log_file is None:
        yield Path(log_file) if log_file else None
        return
    path = Path(log_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    restore_bars = _library_bars_off()  # first: importing transformers' logging installs its own handler
    saved = []
    for name in (*_NOISY_LOGGERS, "py.warnings"):
        lg = logging.getLogger(name)
        saved.append((lg, lg.handlers[:], lg.propagate))
        lg.handlers = [handler]
        lg.propagate = False
    old_showwarning = warnings.showwarning

    def to_log(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001 (warnings' signature)
        handler.emit(logging.LogRecord("py.warnings", logging.WARNING, filename, lineno,
                                       f"{category.__name__}: {message}", None, None))

    warnings.showwarning = to_log
    try:
        yield path
    finally:
        warnings.showwarning = old_showwarning
        restore_bars()
        for lg, handlers, propagate in saved:
            lg.handlers, lg.propagate = handlers, propagate
        handler.close()


def _library_bars_off():
    """Turns off transformers' / datasets' / huggingface_hub's own bars (weight loading, map); returns the undo."""
    undo = []
    for module, off, on in (("transformers.utils.logging", "disable_progress_bar", "enable_progress_bar"),
                            ("datasets.utils.logging", "disable_progress_bar", "enable_progress_bar"),
                            ("huggingface_hub.utils", "disable_progress_bars", "enable_progress_bars")):
        mod = sys.modules.get(module)
        if mod is None:
            try:
                mod = __import__(module, fromlist=[off])
            except Exception:  # library not installed
                continue
        try:
            getattr(mod, off)()
            undo.append(getattr(mod, on))
        except Exception:
            continue
    return lambda: [f() for f in undo]


def train_progress_callback(log_file: str | Path | None = None, *, stage: str = "GRPO", enabled: bool = True):
    """A transformers ``TrainerCallback``: one bar over the training steps with success, reward, tool calls,
    zero-std share and KL; each step's full log dict goes to ``log_file``; a run of steps with no learning
    signal is said once, with what to do (:class:`~agentgym.report.diagnose.ZeroSignalWatch`).

    Replace TRL's own printing with it: ``trainer.remove_callback(ProgressCallback)``,
    ``trainer.remove_callback(PrinterCallback)``, ``trainer.add_callback(train_progress_callback(...))``.
    """
    from transformers import TrainerCallback

    from .report.diagnose import ZeroSignalWatch

    class TrainProgress(TrainerCallback):
        def __init__(self) -> None:
            self.bar: StageBar | None = None
            self.watch = ZeroSignalWatch()
            self.step = 0
            self.warnings: list[str] = []

        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                self.bar = StageBar(stage, state.max_steps, unit="step", enabled=enabled, initial=state.global_step)
                self.step = state.global_step

        def on_step_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.update(state.global_step - self.step)
                self.step = state.global_step

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or not state.is_world_process_zero:
                return
            if log_file is not None:
                with open(log_file, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"step": state.global_step, **{k: v for k, v in logs.items()
                                                                      if isinstance(v, (int, float, str))}}) + "\n")
            if self.bar is not None and self.bar.bar is not None:
                figures = {label: logs[key] for key, label in TRAIN_FIGURES if isinstance(logs.get(key), (int, float))}
                if figures:  # the final log (runtime, flos) keeps the last step's figures on the bar
                    self.bar.bar.set_postfix_str("  ".join(f"{k} {_fmt(v)}" for k, v in figures.items()), refresh=True)
            message = self.watch.update(logs)
            if message:
                self.warnings.append(message)
                (self.bar.say if self.bar else lambda t: print(t, file=sys.stderr))(f"warning: {message}")

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.close()

    return TrainProgress()


def use_train_progress(trainer: Any, log_file: str | Path | None, *, stage: str = "GRPO", enabled: bool = True) -> Any:
    """Swaps TRL/transformers' per-step printing on ``trainer`` for :func:`train_progress_callback`; returns it."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    callback = train_progress_callback(log_file, stage=stage, enabled=enabled)
    trainer.add_callback(callback)
    return callback


def end_table(rows: list[tuple[str, str]], files: list[tuple[str, str | Path]] = ()) -> str:
    """The few lines printed when a job ends: ``label  value`` rows, then where the files are."""
    width = max((len(k) for k, _ in [*rows, *files]), default=0)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    if files:
        lines.append("")
        lines += [f"{k:<{width}}  {v}" for k, v in files]
    return "\n".join(lines)
