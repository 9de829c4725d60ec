"""A ``gymnasium.Env`` view of any agentgym env, with text observations and text actions.

    genv = GymnasiumEnv("toy/maze", format="tags")
    obs, info = genv.reset(seed=0)
    obs, reward, terminated, truncated, info = genv.step('<move>north</move>')

Tool envs are wrapped in a text format (``tags`` by default) so actions are plain strings.
Observations are the new messages' text, limited to ``max_length`` characters of the
space's charset (other characters become ``?``).
"""

from __future__ import annotations

import string
from typing import Any

from .env import Env, SyncEnv
from .errors import MissingDependencyError
from .formats import TextFormatEnv
from .registry import make

try:
    import gymnasium as gym
    from gymnasium import spaces
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError("gymnasium", "gym", "the gymnasium bridge") from e

CHARSET = string.printable


class GymnasiumEnv(gym.Env):
    """Gymnasium adapter (``Text`` observation and action spaces)."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, env: str | Env, *, format: str = "tags", max_length: int = 8192,
                 render_mode: str | None = None, **env_kwargs: Any):
        inner = make(env, **env_kwargs) if isinstance(env, str) else env
        if inner.tools and not isinstance(inner, TextFormatEnv):
            inner = TextFormatEnv(inner, format=format)
        self._env = SyncEnv(inner)
        self.max_length = max_length
        self.render_mode = render_mode
        self.observation_space = spaces.Text(max_length=max_length, min_length=0, charset=CHARSET)
        self.action_space = spaces.Text(max_length=max_length, min_length=0, charset=CHARSET)
        self._last = ""

    def _text(self, result: Any) -> str:
        text = "\n".join(f"[{m.role}] {m.content}" for m in result.messages if m.content)
        allowed = set(CHARSET)
        text = "".join(c if c in allowed else "?" for c in text)[: self.max_length]
        self._last = text
        return text

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(0, 2**31 - 1))
        result = self._env.reset(seed=seed, task=(options or {}).get("task"))
        return self._text(result), dict(result.info)

    def step(self, action: str):
        result = self._env.step(str(action))
        info = {**result.info, "channels": dict(result.channels), "success": result.success}
        return self._text(result), float(result.reward), bool(result.done and not result.truncated), bool(result.truncated), info

    def render(self) -> str | None:
        return self._last if self.render_mode == "ansi" else None

    def close(self) -> None:
        self._env.close()
        super().close()
