"""The agentgym exception hierarchy.

    AgentGymError
    ├── EnvNotFoundError        unknown env id (with "did you mean")
    ├── RegistrationError       bad register() call or entry point
    ├── EnvStateError           an Env used out of order (step before reset, after close)
    ├── MissingDependencyError  an optional extra is not installed (names the pip command)
    ├── ConfigError             invalid CLI / YAML configuration (names the field)
    ├── InfraError              the env's infrastructure failed (server, session, worker, browser,
    │                           sandbox): the episode is an ``infra_error`` wherever it is raised,
    │                           also inside a policy that called the env
    └── PolicyError             the model endpoint failed for good (after retries)
        ├── TransientPolicyError  429 / 5xx / timeout: retried with backoff
        └── ContextLengthError    the conversation no longer fits the model's context: the
                                  episode ends with termination ``context_length`` (not an error)

Bad *actions* are never exceptions: envs turn them into feedback messages.
"""

from __future__ import annotations


class AgentGymError(Exception):
    """Base class of every error agentgym raises on purpose."""


class EnvNotFoundError(AgentGymError, KeyError):
    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class RegistrationError(AgentGymError):
    pass


class EnvStateError(AgentGymError):
    pass


class MissingDependencyError(AgentGymError, ImportError):
    """Raised with the exact install command, e.g. ``pip install "agentgym[web]"``."""

    def __init__(self, package: str, extra: str, purpose: str = ""):
        what = f" for {purpose}" if purpose else ""
        super().__init__(f"`{package}` is needed{what} but is not installed: pip install \"agentgym[{extra}]\"")
        self.package, self.extra = package, extra


class ConfigError(AgentGymError, ValueError):
    pass


class InfraError(AgentGymError):
    """The environment's infrastructure failed, not the policy: never scored as the policy's failure."""


class PolicyError(AgentGymError):
    pass


class TransientPolicyError(PolicyError):
    """A failure worth retrying (rate limit, server error, timeout, connection reset)."""


class ContextLengthError(PolicyError):
    """The messages leave no room for a completion in the model's context window.

    Not a failure of the run: the rollout engine ends the episode with termination
    ``context_length``, as ``max_turns`` ends it at the turn limit.
    """
