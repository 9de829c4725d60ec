"""Replay buffer: what it keeps (reward > min_reward, FIFO of capacity 8) and no duplicates from replays."""

from agentgym.trainers.schedule import ReplayBuffer, ReplayConfig


class Rollout:
    """A stand-in for an EpisodeRecord (equal-looking records are still distinct rollouts)."""

    def __init__(self, name):
        self.name = name

    def __eq__(self, other):
        return isinstance(other, Rollout) and other.name == self.name

    __hash__ = None


def _kept(buf, key="t"):
    return [(item.name, r) for item, r in buf.store.get(key, [])]


def test_only_rewards_above_min_reward_are_kept():
    buf = ReplayBuffer()  # defaults: min_reward 0.1, capacity 8
    rewards = {"neg": -1.0, "zero": 0.0, "low": 0.05, "edge": 0.1, "above": 0.1001, "win": 1.0}
    buf.update("t", [Rollout(n) for n in rewards], list(rewards.values()))
    assert _kept(buf) == [("above", 0.1001), ("win", 1.0)]
    strict = ReplayBuffer(ReplayConfig(enabled=True, min_reward=0.5))
    strict.update("t", [Rollout("a"), Rollout("b")], [0.5, 0.6])
    assert _kept(strict) == [("b", 0.6)]


def test_fifo_keeps_the_newest_eight_per_task():
    buf = ReplayBuffer()
    assert buf.config.capacity == 8
    for step in range(3):
        buf.update("t", [Rollout(f"s{step}-{i}") for i in range(4)], [1.0] * 4)
    buf.update("other", [Rollout("o")], [1.0])
    assert [n for n, _ in _kept(buf)] == [f"s{s}-{i}" for s in (1, 2) for i in range(4)]
    assert [n for n, _ in _kept(buf, "other")] == ["o"]
    group, _ = buf.fill("t", [Rollout("x"), Rollout("y")], [0.0, 0.0])
    assert group[0].name == "s2-3"  # the newest success is replayed


def test_a_replayed_success_is_not_added_again():
    buf = ReplayBuffer()
    win = Rollout("win")
    buf.update("t", [win, Rollout("f1")], [1.0, 0.0])
    for step in range(5):  # every later group of the task fails: the same success is replayed each time
        group, rewards = buf.fill("t", [Rollout(f"x{step}"), Rollout(f"y{step}")], [0.0, 0.0])
        assert group[0] is win and rewards == [1.0, 0.0]
        buf.update("t", group, rewards)
        assert _kept(buf) == [("win", 1.0)]
    assert buf.replayed == 5
    # a new, equal-looking success is a different rollout and is kept; a later mixed group is left alone
    again = Rollout("win")
    group, rewards = buf.fill("t", [again, Rollout("z")], [1.0, 0.0])
    assert group[0] is again and buf.replayed == 5
    buf.update("t", group, rewards)
    assert [item for item, _ in buf.store["t"]] == [win, again] and buf.store["t"][1][0] is again


def test_replays_never_evict_other_successes():
    buf = ReplayBuffer(ReplayConfig(enabled=True, capacity=3))
    a, b, c = Rollout("a"), Rollout("b"), Rollout("c")
    buf.update("t", [a, b, c], [1.0, 0.5, 0.9])
    for _ in range(4):
        group, rewards = buf.fill("t", [Rollout("x"), Rollout("y"), Rollout("z")], [0.0, 0.01, 0.0])
        buf.update("t", group, rewards)
    assert _kept(buf) == [("a", 1.0), ("b", 0.5), ("c", 0.9)]


def test_horizon_rounds_beyond_the_envs_max_turns_are_a_config_error():
    import pytest

    from agentgym.errors import ConfigError
    from agentgym.registry import spec
    from agentgym.trainers.config import load_config
    from agentgym.trainers.schedule import HorizonSchedule

    base = {"env": {"id": "toy/maze", "kwargs": {"size": 2}, "max_turns": 3}, "model": {"path": "x"},
            "trl": {"num_generations": 4, "per_device_train_batch_size": 8}}
    with pytest.raises(ConfigError, match=r"horizon\.rounds.*\[2, 6\].*max_turns \(3\)"):
        load_config({**base, "horizon": {"rounds": [2, 6], "every": 10}}, build_trl=False)
    assert load_config({**base, "horizon": {"rounds": [2, 3], "every": 10}}, build_trl=False).horizon.rounds == [2, 3]
    # without env.max_turns the registered spec's limit applies
    limit = spec("toy/maze").max_turns
    no_limit = {**base, "env": {"id": "toy/maze", "kwargs": {"size": 2}}}
    with pytest.raises(ConfigError, match=f"max_turns \\({limit}\\)"):
        load_config({**no_limit, "horizon": {"rounds": [2, limit + 1], "every": 10}}, build_trl=False)
    with pytest.raises(ValueError):
        HorizonSchedule(rounds=[0, 2], every=5)
