"""agentgym — build, evaluate and train LLM agents.

    import agentgym
    env = agentgym.make("toy/maze")
    traj = await agentgym.rollout(env, agentgym.OraclePolicy(), seed=0)
    summary = agentgym.run("toy/maze", agentgym.RandomPolicy(), episodes=16, out="runs/maze")  # or await agentgym.arun(...)

Importing agentgym prints, creates and starts nothing; heavy parts load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from .engine import arun, rollout, run
from .env import Env, SyncEnv, ToolEnv, ToolError, ToolResult
from .errors import (
    AgentGymError, ConfigError, EnvNotFoundError, EnvStateError, MissingDependencyError, PolicyError,
    RegistrationError, TransientPolicyError,
)
from .registry import list_envs, make, register, spec
from .tools import tool
from .types import EnvSpec, Message, StepResult, Task, TokenInfo, ToolCall, ToolSpec, Trajectory, Usage

__version__ = "0.1.0"

_LAZY = {
    "RunSummary": "agentgym.summary",
    "TextFormatEnv": "agentgym.formats",
    "Policy": "agentgym.policies",
    "OpenAIPolicy": "agentgym.policies.openai",
    "HFPolicy": "agentgym.policies.hf",
    "OraclePolicy": "agentgym.policies.simple",
    "RandomPolicy": "agentgym.policies.simple",
    "NoopPolicy": "agentgym.policies.simple",
    "trajectories_to_dataset": "agentgym.datasets",
    "GymnasiumEnv": "agentgym.gym_bridge",
    "RemoteEnv": "agentgym.remote",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'agentgym' has no attribute {name!r}")


__all__ = [
    "Env", "SyncEnv", "ToolEnv", "ToolError", "ToolResult", "tool",
    "EnvSpec", "Message", "StepResult", "Task", "TokenInfo", "ToolCall", "ToolSpec", "Trajectory", "Usage",
    "make", "register", "list_envs", "spec", "rollout", "arun", "run",
    "AgentGymError", "ConfigError", "EnvNotFoundError", "EnvStateError", "MissingDependencyError", "PolicyError",
    "RegistrationError", "TransientPolicyError",
    *_LAZY,
]
