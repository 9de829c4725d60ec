"""Training runs that explain themselves: notes on what the metrics say, for the terminal and the report.

    notes = training_notes(read_metrics(Path("runs/x/metrics.jsonl")), summary)
    for n in notes: print(n["title"], "-", n["text"])

The main one: when every group of ``num_generations`` episodes gets the same reward
(TRL's ``frac_reward_zero_std`` = 1) there is no advantage and nothing to learn from — the
loss is 0 and the weights do not move. :class:`ZeroSignalWatch` says so while training runs.
"""

from __future__ import annotations

from typing import Any

ZERO_STD_KEY = "frac_reward_zero_std"
ZERO_SIGNAL_STEPS = 5            # this many consecutive logged steps with no signal make a warning
NO_SIGNAL_HELP = ("every group of generations got the same reward, so GRPO advantages are 0 and the weights "
                  "do not move. What to do: start from an SFT checkpoint (`model.path`, see `make demo`) so "
                  "some episodes succeed; raise the sampling temperature (`trl.temperature`) or "
                  "`trl.num_generations` so episodes of a group differ; use an easier curriculum (smaller "
                  "env, fewer turns) or a denser reward (`reward.shaping: gated` with a step channel).")


def _series(metrics: dict[str, list[Any]], key: str) -> list[float]:
    return [v for v in metrics.get(key) or [] if isinstance(v, (int, float))]


def zero_signal_steps(metrics: dict[str, list[Any]]) -> tuple[int, int]:
    """(logged steps whose groups all had zero reward std, logged steps with the metric)."""
    zs = _series(metrics, ZERO_STD_KEY)
    return sum(v >= 0.999 for v in zs), len(zs)


def training_notes(metrics: dict[str, list[Any]], summary: dict[str, Any]) -> list[dict[str, str]]:
    """Diagnostics of a train run: ``[{"level": "warn"|"info", "title": ..., "text": ...}]``."""
    notes: list[dict[str, str]] = []
    dead, logged = zero_signal_steps(metrics)
    if logged and dead >= min(ZERO_SIGNAL_STEPS, logged) and dead >= logged / 2:
        losses = _series(metrics, "loss")
        zero_loss = bool(losses) and all(abs(v) < 1e-12 for v in losses)
        notes.append({"level": "warn", "title": "no learning signal",
                      "text": f"{dead} of {logged} logged steps had frac_reward_zero_std = 1"
                              + (" and the loss was 0 at every step" if zero_loss else "") + ": " + NO_SIGNAL_HELP})
    before, after = summary.get("before") or summary.get("sft"), summary.get("after") or summary.get("grpo")
    if isinstance(before, dict) and isinstance(after, dict):
        b, a = before.get("success_rate"), after.get("success_rate")
        if isinstance(b, (int, float)) and isinstance(a, (int, float)):
            lo, hi = (after.get("success_ci95") or [a, a])[:2]
            same = lo <= b <= hi
            notes.append({"level": "warn" if a <= b else "info", "title": "held-out success",
                          "text": f"{b:.1%} before, {a:.1%} after training (95% CI of after: {lo:.1%}-{hi:.1%})"
                                  + ("; the change is within noise" if same else "")})
    succ = _series(metrics, "agentgym/success")
    if len(succ) >= 4:
        q = max(1, len(succ) // 4)
        first, last = sum(succ[:q]) / q, sum(succ[-q:]) / q
        notes.append({"level": "info", "title": "training success",
                      "text": f"{first:.1%} in the first quarter of logged steps, {last:.1%} in the last"})
    errs = _series(metrics, "agentgym/errors")
    if errs and sum(errs):
        notes.append({"level": "warn", "title": "errored episodes",
                      "text": f"{int(sum(errs))} training episodes errored (left out of their group's baseline); "
                              "see the run's log file"})
    return notes


class ZeroSignalWatch:
    """Feed it each logged step; it returns a message once, when the last N steps carried no signal.

        watch = ZeroSignalWatch()
        msg = watch.update({"frac_reward_zero_std": 1.0, "loss": 0.0})   # None until 5 such steps
    """

    def __init__(self, steps: int = ZERO_SIGNAL_STEPS):
        self.steps, self.run, self.warned = steps, 0, False

    def update(self, logs: dict[str, Any]) -> str | None:
        value = logs.get(ZERO_STD_KEY)
        if not isinstance(value, (int, float)):
            return None
        self.run = self.run + 1 if value >= 0.999 else 0
        if self.run >= self.steps and not self.warned:
            self.warned = True
            return f"no learning signal for {self.run} steps (frac_reward_zero_std = 1): {NO_SIGNAL_HELP}"
        return None
