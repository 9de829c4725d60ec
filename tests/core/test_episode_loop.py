"""The core episode loop: every failure path is a recorded termination, and schema-1 files still load."""

import json

import agentgym
from agentgym.engine import arun, rollout
from agentgym.env import Env
from agentgym.episode import Episode
from agentgym.policies.simple import OraclePolicy
from agentgym.rundir import load_trajectories
from agentgym.types import EnvSpec, Message, StepResult, Trajectory


class Flaky(Env):
    """Breaks where told: in reset, step or close; counts how many instances are still open."""

    spec = EnvSpec(id="test/flaky", max_turns=3)
    open_now = 0

    def __init__(self, where: str = ""):
        self.where = where
        Flaky.open_now += 1

    async def _reset(self, *, seed, task):
        if self.where == "reset":
            raise RuntimeError("simulator would not start")
        return "Say anything."

    async def _step(self, action: Message) -> StepResult:
        if self.where == "step":
            raise RuntimeError("sandbox died")
        return StepResult(messages=[Message.user("ok")], reward=1.0, done=True, success=True)

    async def close(self) -> None:
        Flaky.open_now -= 1
        if self.where == "close":
            raise OSError("container would not stop")


class Say:
    name = "say"

    async def act(self, messages, tools):
        return Message.assistant("hello")


def _factory(plan):
    it = iter(plan)

    def make():
        where = next(it)
        if where == "make":
            raise ConnectionError("no docker daemon")
        return Flaky(where)

    return make


async def test_each_failure_path_is_a_recorded_infra_error_and_no_env_leaks():
    Flaky.open_now = 0
    plan = ["", "", "make", "reset", "step", "close", ""]  # the first env is arun's preflight check
    s = await arun(_factory(plan), Say(), episodes=6, concurrency=6, progress=False, warn_errors=False)
    assert Flaky.open_now == 0  # every env that was built was closed, whatever broke
    assert s.episodes == 6 and s.errors == 4 and s.terminations == {"done": 2, "infra_error": 4}


async def test_causes_name_where_it_broke(tmp_path):
    causes = []
    for where in ["make", "reset", "step", "close"]:
        ep = await Episode.open(_factory([where]), seed=0)
        if not ep.finished:
            await ep.step(Message.assistant("hi"))
        t = await ep.close()
        causes.append((t.termination, t.cause))
        assert t.is_error and t.error
    assert causes == [("infra_error", "make"), ("infra_error", "reset"), ("infra_error", "step"),
                      ("infra_error", "close")]


async def test_a_policy_that_raises_is_a_policy_error_not_an_infra_error():
    class Broken:
        name = "broken"

        async def act(self, messages, tools):
            raise ValueError("bad model output")

    t = await rollout(Flaky(), Broken(), seed=0)
    assert t.termination == "policy_error" and t.cause == "policy" and "bad model output" in t.error


async def test_schema_1_files_still_load(tmp_path):
    good = await rollout(agentgym.make("toy/maze", size=2), OraclePolicy(), seed=0)
    v1 = json.loads(good.model_dump_json())
    v1.update(schema_version=1, episode=0)
    for key in ("env_version", "cause", "prompt_ids", "tokens"):
        v1.pop(key)
    failed = dict(v1, episode=1, termination="error", error="PolicyError: gave up after 5 attempts", success=False)
    crashed = dict(v1, episode=2, termination="error", error="RuntimeError: sandbox died\n  File x.py")
    local = dict(v1, episode=3)  # a local policy's episode: token records on the assistant messages
    local["messages"] = [{"role": "user", "content": "go"},
                         {"role": "assistant", "content": "a", "tokens": {"prompt_ids": [1, 2], "completion_ids": [3],
                                                                          "logprobs": [-0.5]}},
                         {"role": "user", "content": "again"},
                         {"role": "assistant", "content": "b", "tokens": {"prompt_ids": [1, 2, 3, 7, 8],
                                                                          "completion_ids": [4, 5],
                                                                          "logprobs": [-0.1, -0.2]}}]
    path = tmp_path / "trajectories.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (v1, failed, crashed, local)))
    a, b, c, d = load_trajectories(path)
    assert a.success and a.termination == "done" and a.reward == good.reward
    assert (b.termination, c.termination) == ("policy_error", "infra_error") and b.is_error and c.is_error
    view = d.token_view()
    assert (view.prompt_ids, view.completion_ids, view.loss_mask) == ([1, 2], [3, 7, 8, 4, 5], [1, 0, 0, 1, 1])
    assert view.logprobs == [-0.5, 0.0, 0.0, -0.1, -0.2]
    again = Trajectory.model_validate_json(d.model_dump_json())  # written back as schema 2, tokens once
    assert again.schema_version == 2 and again.token_view() == view
    assert all(m.tokens is None for m in again.messages)


async def test_an_infra_failure_reached_through_the_policy_is_an_infra_error():
    """An oracle policy asks the env for its plan; when the env's server or browser is what broke
    (any InfraError), the episode is an infra_error, not the policy's failure (seen once in CI: a
    killed env-server worker scored as policy_error)."""
    from agentgym.errors import InfraError
    from agentgym.remote import SessionLostError

    class AsksTheEnv:
        name = "asks"

        def __init__(self, exc):
            self.exc = exc

        async def begin_episode(self, env):
            raise self.exc

        async def act(self, messages, tools):
            raise self.exc

    for exc, expected in [(SessionLostError("session abc was closed"), "infra_error"),
                          (InfraError("browser died"), "infra_error"),
                          (RuntimeError("my bug"), "policy_error")]:
        traj = await rollout(Flaky(), AsksTheEnv(exc), seed=0)
        assert traj.termination == expected, (exc, traj.termination)
        assert traj.cause == "policy" and str(exc) in traj.error
