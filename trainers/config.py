"""``TrainConfig``: the YAML of ``agentgym train CONFIG.yaml``, validated before anything runs.

    algo: grpo                      # grpo | arpo
    output_dir: runs/maze-grpo
    model: {path: runs/demo/sft}    # or {tiny: {hidden_size: 64, layers: 2}} to build one
    env: {id: toy/maze, kwargs: {size: 2}, max_turns: 6}   # or {remote: http://host:8000} (agentgym serve)
    executor: local                 # local | ray: envs held by Ray actors (ray: {address: auto, actors: 4})
    tasks: {train_seeds: [0, 512], eval_seeds: [100000, 100064]}
    rollout: {max_new_tokens: 48, max_completion_length: 512}
    reward: {shaping: gated, step_channel: progress, step_weight: 0.1, threshold: 1.0}
    arpo: {budget: 8, initial: 4}
    horizon: {rounds: [4, 6], every: 20}
    replay: {enabled: true}
    trl: {num_generations: 4, per_device_train_batch_size: 8, max_steps: 40, learning_rate: 1e-4,
          loss_type: dapo, beta: 0.0, epsilon: 0.2, epsilon_high: 0.28}

Every section is a pydantic model with ``extra="forbid"``: an unknown key fails with its
name. ``trl`` is passed to TRL's ``GRPOConfig``; unknown fields get a "did you mean".
``load_config(path, overrides=["trl.max_steps=10"])`` applies dotted ``--set`` overrides.
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from agentgym.errors import ConfigError

from .arpo import ArpoConfig
from .gated import ShapingConfig
from .schedule import HorizonSchedule, ReplayConfig

CPU_TRL_DEFAULTS: dict[str, Any] = {
    "use_cpu": True, "bf16": False, "fp16": False, "use_vllm": False, "report_to": "none",
    "logging_steps": 1, "save_strategy": "steps", "save_steps": 50, "save_total_limit": 2,
    "remove_unused_columns": False, "dataloader_num_workers": 0,
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelConfig(_Section):
    path: str | None = None                       # a HF checkpoint directory or hub id
    tiny: dict[str, Any] | None = None             # build a tiny model with agentgym.models.tiny.cached_tiny(**tiny)


class EnvConfig(_Section):
    id: str | None = None                          # a registered env id (with `remote`: the served env's, checked)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    max_turns: int | None = Field(None, gt=0)
    remote: str | None = None                      # an `agentgym serve` URL: every episode is a RemoteEnv session
    token_env: str = "AGENTGYM_SERVER_TOKEN"       # environment variable holding the server's token


class RayConfig(_Section):
    """``executor: ray``: envs held by Ray actors (``trainers/env_source.py``)."""

    address: str | None = None                     # `auto`, ray://host:10001; None starts a local Ray instance
    actors: int = Field(2, gt=0)                   # actors holding envs (each hosts many)
    cpus_per_actor: float = Field(0.5, gt=0)
    num_cpus: int | None = Field(None, gt=0)       # a local instance's CPUs (None: Ray's default)


class TaskConfig(_Section):
    """Training and held-out tasks (``trainers/tasks.py``).

    ``split: task`` (default) keeps held-out evaluation disjoint from training by task identity: a share
    ``held_out`` of all tasks (by fingerprint) is evaluation-only; training uses the seeds of
    ``train_seeds`` whose task is not held out, evaluation ``eval_seeds[1] - eval_seeds[0]`` seeds from
    ``eval_seeds[0]`` on whose task is. ``split: seed`` only separates seeds (for envs too slow to
    fingerprint every training seed); the run then reports the held-out distinct tasks, unchecked.
    """

    train_seeds: tuple[int, int] = (0, 1024)      # [start, stop) candidate seeds of training tasks
    eval_seeds: tuple[int, int] = (100_000, 100_064)  # from the first, stop - start held-out episodes
    split: Literal["task", "seed"] = "task"
    held_out: float = Field(0.25, gt=0.0, lt=1.0)  # share of tasks kept for evaluation (split: task)


class RolloutConfig(_Section):
    max_new_tokens: int = Field(64, gt=0)          # per turn
    max_completion_length: int | None = None       # whole episode after the first prompt (default: trl's)


class EvalConfig(_Section):
    before: bool = True
    after: bool = True
    temperature: float | None = None               # default: trl.temperature


class TrainConfig(_Section):
    algo: Literal["grpo", "arpo"] = "grpo"
    output_dir: str = "runs/train"
    model: ModelConfig = Field(default_factory=ModelConfig)
    env: EnvConfig
    tasks: TaskConfig = Field(default_factory=TaskConfig)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    reward: ShapingConfig = Field(default_factory=ShapingConfig)
    arpo: ArpoConfig = Field(default_factory=ArpoConfig)
    horizon: HorizonSchedule | None = None
    replay: ReplayConfig = Field(default_factory=ReplayConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    trl: dict[str, Any] = Field(default_factory=dict)
    seed: int = 0
    executor: Literal["local", "ray"] = "local"
    ray: RayConfig = Field(default_factory=RayConfig)
    _served_max_turns: int | None = PrivateAttr(None)

    def check_env_source(self) -> None:
        """``env`` names an id or a ``remote`` server (then no ``kwargs``, no Ray: the server hosts the envs)."""
        if self.env.remote is None:
            if not self.env.id:
                raise ConfigError("`env` needs `id` (a registered env) or `remote` (an `agentgym serve` URL)")
            return
        if self.env.kwargs:
            raise ConfigError("`env.kwargs` with `env.remote`: the server runs the env it was started with; give "
                              "them to `agentgym serve ENV_ID --env-arg k=v` instead")
        if self.executor != "local":
            raise ConfigError("`executor: ray` with `env.remote`: the server already hosts the envs; drop one of them")

    def resolve_remote(self) -> None:
        """With ``env.remote``: fills ``env.id`` from the server's ``/schema`` (a given id must match it)."""
        import os

        from agentgym.remote import fetch_schema

        served = fetch_schema(self.env.remote, os.environ.get(self.env.token_env) or None, cached=False)["spec"]
        if self.env.id and self.env.id != served["id"]:
            raise ConfigError(f"`env.remote` {self.env.remote} serves {served['id']}, not `env.id` {self.env.id}: "
                              "drop env.id or point env.remote elsewhere")
        self.env.id = served["id"]
        self._served_max_turns = int(served["max_turns"])

    def grpo_args(self, build: bool = True) -> Any:
        """TRL's ``GRPOConfig`` from the ``trl`` section (CPU defaults underneath), checked field by field.

        ``build=False`` checks names and sizes only (a GPU config on a CPU machine)."""
        from trl import GRPOConfig

        fields = {f.name for f in dataclasses.fields(GRPOConfig)}
        for key in self.trl:
            if key not in fields:
                close = difflib.get_close_matches(key, sorted(fields), n=1)
                hint = f"; did you mean `trl.{close[0]}`?" if close else ""
                raise ConfigError(f"unknown field `trl.{key}`: it is not a GRPOConfig option{hint}")
        kwargs = {**CPU_TRL_DEFAULTS, "output_dir": self.output_dir, "seed": self.seed, **self.trl}
        if self.reward.shaping != "none":
            kwargs.setdefault("scale_rewards", "none")  # group std would undo the gate (trainers/gated.py)
        if self.algo == "arpo":
            given = kwargs.get("num_generations")
            if given is not None and given != self.arpo.budget:
                raise ConfigError(f"`trl.num_generations` ({given}) must equal `arpo.budget` ({self.arpo.budget}) "
                                  "with algo: arpo (ARPO returns exactly M completions per task); drop one of them")
            kwargs["num_generations"] = self.arpo.budget
        gens = kwargs.get("num_generations", 8)
        batch = kwargs.get("generation_batch_size") or (
            kwargs.get("per_device_train_batch_size", 8) * kwargs.get("steps_per_generation",
                                                                      kwargs.get("gradient_accumulation_steps", 1)))
        if batch % gens:
            raise ConfigError(
                f"the generation batch ({batch} = trl.per_device_train_batch_size × steps_per_generation) is not "
                f"divisible by `trl.num_generations` ({gens}): every GRPO group needs all its {gens} episodes in "
                "one batch; change one of them")
        if self.reward.shaping == "none" and self.replay.enabled and self.replay.min_reward < 0:
            raise ConfigError("`replay.min_reward` must be >= 0")
        if not build:
            return kwargs
        try:
            return GRPOConfig(**kwargs)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"invalid `trl` section: {e}") from e

    def env_max_turns(self) -> int:
        """The env's turn limit: ``env.max_turns``, else the registered spec's (ConfigError for an unknown id)."""
        if self.env.max_turns is not None:
            return self.env.max_turns
        if self.env.remote is not None:
            if self._served_max_turns is None:
                self.resolve_remote()
            return self._served_max_turns
        from agentgym.errors import EnvNotFoundError
        from agentgym.registry import spec

        try:
            return spec(self.env.id).max_turns
        except EnvNotFoundError as e:
            raise ConfigError(f"`env.id`: {e}") from None

    def check_schedule_and_shaping(self) -> None:
        """Horizon rounds within the env's ``max_turns``; shaping rules (:meth:`ShapingConfig.check`)."""
        if self.horizon is None and self.reward.shaping == "none":
            return
        turns = self.env_max_turns()
        if self.horizon is not None and max(self.horizon.rounds) > turns:
            raise ConfigError(
                f"`horizon.rounds` {self.horizon.rounds} go beyond the env's max_turns ({turns}): the env would end "
                f"episodes at {turns} turns whatever the schedule says. Raise env.max_turns to "
                f"{max(self.horizon.rounds)} or lower the rounds.")
        horizon = max(self.horizon.rounds) if self.horizon is not None else turns
        self.reward.check(horizon, self.grpo_args(build=False).get("scale_rewards", "group"))

    @property
    def max_completion_length(self) -> int:
        return self.rollout.max_completion_length or int(self.trl.get("max_completion_length", 512))


def _set_dotted(data: dict[str, Any], dotted: str) -> None:
    if "=" not in dotted:
        raise ConfigError(f"override {dotted!r} must look like key.sub=value (e.g. trl.max_steps=10)")
    key, raw = dotted.split("=", 1)
    value = yaml.safe_load(raw) if raw else ""
    node = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {dotted!r}: `{part}` is not a section")
    node[parts[-1]] = value


def bundled_configs() -> dict[str, Path]:
    """The configs shipped with agentgym, by name: ``{"maze-grpo-cpu": Path(...), ...}``.

    Found next to the package: ``configs/`` in a source checkout, ``agentgym/configs/`` in a wheel.
    """
    folder = Path(__file__).resolve().parent.parent / "configs"
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def resolve_config_path(source: str | Path) -> Path:
    """A config file by path, or a bundled config by name (``maze-grpo-cpu``, also with ``.yaml``)."""
    path = Path(source)
    if path.exists():
        return path
    bundled = bundled_configs()
    name = path.name[:-5] if path.name.endswith(".yaml") else path.name
    if name in bundled and (len(path.parts) == 1 or path.parent.name == "configs"):
        return bundled[name]
    hint = difflib.get_close_matches(name, list(bundled), n=3)
    names = ", ".join(hint or list(bundled))
    raise ConfigError(f"config file {path} does not exist; bundled configs (by name): {names}")


def load_config(source: str | Path | dict[str, Any], overrides: list[str] | None = None, *,
                build_trl: bool = True) -> TrainConfig:
    """Reads and validates a config (YAML path or dict) with dotted overrides; errors name the field.

    ``build_trl=False`` skips building TRL's GRPOConfig (which checks the hardware, e.g. bf16 on CPU)."""
    if isinstance(source, dict):
        data = dict(source)
    else:
        path = resolve_config_path(source)
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path} must hold a YAML mapping of sections (algo, env, model, trl, ...)")
    for o in overrides or []:
        _set_dotted(data, o)
    try:
        config = TrainConfig.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"`{'.'.join(str(p) for p in err['loc'])}`: {err['msg']}" for err in e.errors())
        raise ConfigError(f"invalid training config: {problems}") from None
    config.check_env_source()
    if config.env.remote is not None:
        config.resolve_remote()  # the server answers now (and names its env), not halfway through
    if config.model.path is None and config.model.tiny is None:
        raise ConfigError("`model` needs `path` (a checkpoint) or `tiny` (build a tiny model), e.g. model: {path: runs/sft}")
    config.grpo_args(build=build_trl)  # validates the trl section and batch sizes now, not halfway through
    config.check_schedule_and_shaping()
    return config


def register_trainer_envs(env_id: str) -> None:
    """Deprecated, does nothing: ``demo/lamps`` and ``bench/farm`` live in ``agentgym.environments`` and are
    registered by its entry points like every bundled env."""


__all__ = ["TrainConfig", "ModelConfig", "EnvConfig", "RayConfig", "TaskConfig", "RolloutConfig", "EvalConfig", "load_config",
           "register_trainer_envs", "CPU_TRL_DEFAULTS"]
