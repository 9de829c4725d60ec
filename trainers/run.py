"""Deprecated module name: training jobs live in :mod:`agentgym.trainers.training` (``train``, ``evaluate``).

    from agentgym.trainers.training import train      # was: from agentgym.trainers.run import train
"""

from .training import (  # noqa: F401
    build_rollout, check_env, check_shaping_channels, evaluate, load_model, metrics_callback, plot_learning_curve, task_split, train,
)

__all__ = ["train", "evaluate", "check_env", "check_shaping_channels", "load_model", "plot_learning_curve", "metrics_callback", "build_rollout", "task_split"]
