"""Pieces :class:`AgentGRPOTrainer` adds to TRL's ``GRPOTrainer`` (kept apart so each is small and testable).

- :func:`exclude_errored`: rows whose episode ended in an error get reward NaN; TRL's
  advantage code is NaN-aware (``nanmean``/``nanstd`` per group, NaN advantage -> 0), so an
  infrastructure failure is neither a reward 0 in its group's baseline nor a learning signal.
- :func:`reference_is_policy`: with ``beta > 0`` TRL builds the KL reference by reloading
  the model's path from disk; inside this context it is a frozen copy of the policy object
  instead, i.e. the policy at the start of RL (after an in-memory SFT, say).

    with reference_is_policy(model):
        trainer = GRPOTrainer(model, ...)          # trainer.ref_model == copy of model
    rewards = exclude_errored(rewards_per_func, [x.get("error") for x in inputs], gather=accelerator.gather)
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
from typing import Any, Callable, Iterator, Sequence

_patch_lock = threading.Lock()


def exclude_errored(rewards_per_func: Any, errors: Sequence[str | None], gather: Callable[[Any], Any]) -> Any:
    """Sets every reward of an errored row to NaN (``rewards_per_func`` is gathered: rows of all processes)."""
    import torch

    local = torch.tensor([bool(e) for e in errors], dtype=torch.int64, device=rewards_per_func.device)
    errored = gather(local).bool()
    if errored.shape[0] != rewards_per_func.shape[0]:
        raise ValueError(f"{errored.shape[0]} error flags for {rewards_per_func.shape[0]} reward rows")
    rewards_per_func[errored] = float("nan")
    return rewards_per_func


class _DropUnscorableWarning(logging.Filter):
    """TRL logs a whole row (all token ids) when every reward function returned None; for errored
    episodes that is expected and already counted in ``agentgym/errors``."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith("All reward functions returned None")


@contextlib.contextmanager
def quiet_unscorable(active: bool) -> Iterator[None]:
    """Silences TRL's 'All reward functions returned None' warning while ``active`` (errored rows present)."""
    if not active:
        yield
        return
    log = logging.getLogger("trl.trainer.grpo_trainer")
    flt = _DropUnscorableWarning()
    log.addFilter(flt)
    try:
        yield
    finally:
        log.removeFilter(flt)


def frozen_copy(model: Any) -> Any:
    """A deep copy of ``model`` with gradients off, in eval mode."""
    ref = copy.deepcopy(model)
    ref.requires_grad_(False)
    ref.eval()
    return ref


@contextlib.contextmanager
def reference_is_policy(model: Any) -> Iterator[None]:
    """While TRL's ``GRPOTrainer.__init__`` runs, its reference model is a frozen copy of ``model``.

    A model given as a path needs nothing: TRL loads both from the same path.
    """
    if isinstance(model, str):
        yield
        return
    import trl.trainer.grpo_trainer as grpo_module

    original = getattr(grpo_module, "create_model_from_path", None)
    if original is None:  # pragma: no cover - a TRL without the hook; checked by tests on the pinned version
        raise RuntimeError("trl.trainer.grpo_trainer.create_model_from_path is gone: update reference_is_policy "
                           "for this TRL version")

    def policy_copy(model_id: str, **kwargs: Any) -> Any:
        return frozen_copy(model)

    with _patch_lock:
        grpo_module.create_model_from_path = policy_copy
        try:
            yield
        finally:
            grpo_module.create_model_from_path = original


# TRL internals AgentGRPOTrainer relies on: overridden methods (name -> parameters), a patched module function,
# and attributes read off the trainer. Checked on first use (check_trl_internals) and by tests/trainers/test_trl_internals.py.
TRL_METHODS = {
    "_calculate_rewards": ("self", "inputs", "prompts", "completions", "completion_ids_list"),
    "_generate_and_score_completions": ("self", "inputs"),
    "_log_metric": ("self", "name", "value"),
}
TRL_MODULE_FUNCTIONS = {"create_model_from_path": ("model_id",)}
TRL_TRAINER_ATTRIBUTES = ("num_generations", "max_completion_length", "temperature", "top_p", "use_vllm", "rollout_func")


def check_trl_internals() -> None:
    """Raises ``RuntimeError`` naming what changed when the installed TRL no longer has the private methods,
    module function or attributes agentgym overrides or reads (see ``TRL_METHODS`` above)."""
    import inspect

    import trl
    import trl.trainer.grpo_trainer as grpo_module

    cls = grpo_module.GRPOTrainer
    problems = []
    for name, params in TRL_METHODS.items():
        fn = getattr(cls, name, None)
        if fn is None:
            problems.append(f"GRPOTrainer.{name} is gone")
        elif tuple(inspect.signature(fn).parameters)[: len(params)] != params:
            problems.append(f"GRPOTrainer.{name}{inspect.signature(fn)} no longer takes {params}")
    for name, params in TRL_MODULE_FUNCTIONS.items():
        fn = getattr(grpo_module, name, None)
        if fn is None or tuple(inspect.signature(fn).parameters)[: len(params)] != params:
            problems.append(f"trl.trainer.grpo_trainer.{name}({', '.join(params)}, ...) is gone or changed")
    init = inspect.getsource(cls.__init__)
    problems += [f"GRPOTrainer.__init__ no longer sets self.{a}" for a in TRL_TRAINER_ATTRIBUTES if f"self.{a} =" not in init]
    if problems:
        raise RuntimeError(
            f"trl {trl.__version__} changed private GRPOTrainer internals that agentgym's trainer overrides: "
            + "; ".join(problems) + ". Install the TRL version agentgym supports (see pyproject.toml, extra `train`) "
            "or update agentgym/trainers/grpo.py and grpo_parts.py for this TRL.")


__all__ = ["exclude_errored", "quiet_unscorable", "reference_is_policy", "frozen_copy", "check_trl_internals",
           "TRL_METHODS", "TRL_MODULE_FUNCTIONS", "TRL_TRAINER_ATTRIBUTES"]
