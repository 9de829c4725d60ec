"""The gymnasium bridge: every cheap registered env passes check_env and is solvable through text actions."""

import importlib.util

import pytest
from gymnasium.utils.env_checker import check_env

import agentgym
from agentgym.gym_bridge import GymnasiumEnv

# (env id, module it needs): cheap to build here; search/kb builds its BM25 index once (~2 s)
BRIDGED = [("toy/maze", None), ("demo/lamps", None), ("tools/calc", "reasoning_gym"), ("search/kb", "bm25s")]


def _needs(module):
    if module and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is needed: pip install 'agentgym[tools]'")


def test_gymnasium_check_env_passes():
    env = GymnasiumEnv("toy/maze", size=3)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=0)
    assert "<move>" in obs and env.observation_space.contains(obs)
    obs, reward, terminated, truncated, info = env.step("<move>north</move>")
    assert isinstance(reward, float) and "channels" in info
    obs, *_ = env.step("gibberish")
    assert "Error" in obs
    env.close()


@pytest.mark.parametrize("env_id,module", BRIDGED, ids=[e for e, _ in BRIDGED])
@pytest.mark.parametrize("fmt", ["tags", "react"])
def test_check_env_passes_for_registered_envs(env_id, module, fmt):
    _needs(module)
    env = GymnasiumEnv(env_id, format=fmt)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=0)
    assert obs and env.observation_space.contains(obs)
    assert env.reset(seed=0)[0] == obs  # same seed, same observation
    env.close()


@pytest.mark.parametrize("env_id,module", BRIDGED, ids=[e for e, _ in BRIDGED])
def test_oracle_text_actions_solve_through_the_bridge(env_id, module):
    _needs(module)
    inner = agentgym.make(env_id, format="tags")
    env = GymnasiumEnv(inner)
    for seed in (0, 1):
        obs, _ = env.reset(seed=seed)
        actions = inner.sync().oracle()
        assert actions, env_id
        for i, action in enumerate(actions):
            assert env.action_space.contains(action.content)
            obs, reward, terminated, truncated, info = env.step(action.content)
            assert env.observation_space.contains(obs) and not truncated
            assert terminated == (i == len(actions) - 1), (env_id, i, obs)
        assert reward == 1.0 and info["success"] is True, (env_id, obs)
        obs, _, terminated, _, info = env.step(actions[-1].content)  # the episode is over
        assert terminated and info["error"] == "episode_over"
    env.close()


def test_observations_are_cut_to_the_space():
    env = GymnasiumEnv("toy/maze", max_length=40)
    obs, _ = env.reset(seed=0)
    assert len(obs) == 40 and env.observation_space.contains(obs)
    env.close()
